#!/usr/bin/python3
"""The PyTorch half of the model benchmarks: the same models, shapes and measurements as bench/bench_models.cpp.

Run with Debian's python (it has torch 1.13, the same libtorch_cpu.so the C++ build links):

    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/bench_models_pytorch.py [--min-time 1] [--json FILE]

The models are the PyTorch twins of src/models that the test fixtures are made with, imported from
tests/fixtures/make_model_fixtures.py (RecurrentModel) and tests/fixtures/make_transformer_fixtures.py
(Transformer), at the "small" token-model shape: vocabulary 90, hidden 256, dropout 0.1; recurrent 2 layers;
transformer 4 layers, 4 heads, feed-forward 1024, relative attention (max_relative_distance 2048, as the C++
default max_sequence_length gives). Two adaptations, neither of which copies a module definition:

  * The transformer fixture takes its sizes from module globals (V, C, H, L, FF, MAX_SEQUENCE_LENGTH), set here
    before the model is built.
  * The transformer fixture has no dropout (its fixtures use 0). The C++ model drops out at four places: the input
    embedding, the attention weights, the attention output and the MLP output. The same four are added here: forward
    hooks on embedding, attention and mlp.proj, and the fixture module's `F.softmax` wrapped with dropout (the
    fixture module's own name F is rebound; torch.nn.functional itself is untouched).

Measurements (wall-clock, time.perf_counter; one untimed warm-up first; repeated until --min-time has passed):
  train     one step on (32, 256) random tokens: forward, token_cross_entropy, backward,
            clip_grad_norm_(1.0), AdamW (lr 1e-3, weight decay 0.01) -> tokens per second.
  generate  batch 1, after a 256-token prefix, 512 tokens per repetition, each drawn with torch.multinomial
            (temperature 1) and fed back -> seconds per token, tokens per second, real-time factor.
            Recurrent: incremental, the fixture model's own nn.RNN/LSTM/GRU module called with its state.
            Transformer: the fixture model has no KV cache, so each token re-runs the whole sequence (prefix +
            tokens so far) and keeps the last position's logits. That costs O(length) per token, so rather
            than all 512 the token is timed at 8 evenly spaced lengths in [256, 768) and averaged (the midpoint
            rule over the same span the C++ run covers); the output says "recompute".
Real-time factor: 0.125 s of music per token (melody encoding: one token per 16th-note step at 120 qpm).

Threads: torch.set_num_threads(1) and set_num_interop_threads(1) (docs/threading.md); OpenBLAS as the environment
gives it. The count OpenBLAS really uses is printed.
"""

import argparse
import ctypes
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures")
sys.path.insert(0, FIXTURES)
import make_model_fixtures as recurrent_fixtures  # noqa: E402
import make_transformer_fixtures as transformer_fixtures  # noqa: E402

VOCAB_SIZE = 90
HIDDEN_SIZE = 256
DROPOUT = 0.1
RECURRENT_LAYERS = 2
TRANSFORMER_LAYERS, HEADS, FEEDFORWARD, MAX_SEQUENCE_LENGTH = 4, 4, 1024, 2048
BATCH_SIZE, CROP_LENGTH = 32, 256
PREFIX_LENGTH, TOKENS_PER_REPETITION = 256, 512
RECOMPUTE_SAMPLES = 8
SECONDS_OF_MUSIC_PER_TOKEN = 0.125
CLIP_NORM, LEARNING_RATE, WEIGHT_DECAY = 1.0, 1e-3, 0.01
FAMILIES = ["rnn", "lstm", "gru", "transformer"]


# ---- the models ------------------------------------------------------------------------------------------------------

class _DropoutAfterSoftmax:
    """Stands in for torch.nn.functional inside the transformer fixture module: softmax is followed by dropout while
    `model` is training (the attention-weight dropout of src/models/transformer.h); everything else is F's own."""

    def __init__(self, model, p):
        self._model, self._p = model, p

    def softmax(self, *args, **kwargs):
        return F.dropout(F.softmax(*args, **kwargs), self._p, self._model.training)

    def __getattr__(self, name):
        return getattr(F, name)


def _dropout_output_hook(p):
    return lambda module, inputs, output: F.dropout(output, p, module.training)


def make_transformer():
    fixture = transformer_fixtures
    fixture.V, fixture.C, fixture.H = VOCAB_SIZE, HIDDEN_SIZE, HEADS
    fixture.L, fixture.FF, fixture.MAX_SEQUENCE_LENGTH = TRANSFORMER_LAYERS, FEEDFORWARD, MAX_SEQUENCE_LENGTH
    model = fixture.Transformer("tokens", relative=True, max_relative_distance=0)
    hook = _dropout_output_hook(DROPOUT)
    model.embedding.register_forward_hook(hook)
    for block in model.blocks:
        block.attention.register_forward_hook(hook)
        block.mlp.proj.register_forward_hook(hook)
    fixture.F = _DropoutAfterSoftmax(model, DROPOUT)
    return model


def make_model(family):
    torch.manual_seed(0)
    if family == "transformer":
        return make_transformer()
    return recurrent_fixtures.model_from_config(
        {"family": family, "input_kind": "tokens", "vocab_size": VOCAB_SIZE, "embedding_size": 0,
         "hidden_size": HIDDEN_SIZE, "num_layers": RECURRENT_LAYERS, "dropout": DROPOUT, "residual": False})


def parameter_count(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---- timing ----------------------------------------------------------------------------------------------------------

def time_repeated(run, min_time):
    """Calls run() once untimed, then until min_time seconds have passed (at least once); mean seconds per call."""
    run()
    calls, start = 0, time.perf_counter()
    while True:
        run()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / calls


def bench_train(family, min_time):
    model = make_model(family)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    tokens = torch.randint(VOCAB_SIZE, (BATCH_SIZE, CROP_LENGTH))

    def step():
        optimizer.zero_grad()
        loss = recurrent_fixtures.token_cross_entropy(model(tokens), tokens, -1)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
        optimizer.step()
        return loss.item()

    seconds = time_repeated(step, min_time)
    return {"family": family, "parameters": parameter_count(model), "seconds_per_step": seconds,
            "tokens_per_s": BATCH_SIZE * CROP_LENGTH / seconds}


def sample(logits):
    """One token from (1, V) logits at temperature 1, as a (1, 1) tensor."""
    return torch.multinomial(F.softmax(logits, dim=-1), 1)


def bench_generate_recurrent(model, prefix, min_time):
    """Incremental: the fixture model's own stacked module, called one step at a time with its state."""
    y, primed_state = model.rnn(model.embedding(prefix))  # prime with the prefix (untimed); (1, T, C)
    primed_logits = model.head(y[:, -1])                  # (1, V)

    def generate():
        # nn.RNN/LSTM/GRU return new state tensors and never write into h, so every repetition can start from the
        # primed state itself.
        logits, h = primed_logits, primed_state
        for _ in range(TOKENS_PER_REPETITION):
            y, h = model.rnn(model.embedding(sample(logits)), h)  # (1, 1, C)
            logits = model.head(y[:, -1])                         # (1, V)

    return time_repeated(generate, min_time) / TOKENS_PER_REPETITION, "incremental (nn module state)"


def bench_generate_transformer(model, prefix, min_time):
    """Recompute: the fixture model has no KV cache, so a token costs a forward over the whole sequence so far."""
    span = TOKENS_PER_REPETITION
    lengths = [PREFIX_LENGTH + int((i + 0.5) * span / RECOMPUTE_SAMPLES) for i in range(RECOMPUTE_SAMPLES)]
    sequences = [torch.cat([prefix, torch.randint(VOCAB_SIZE, (1, n - PREFIX_LENGTH))], dim=1) for n in lengths]

    def generate():
        for sequence in sequences:
            sample(model(sequence)[:, -1])

    seconds = time_repeated(generate, min_time) / RECOMPUTE_SAMPLES
    return seconds, f"recompute (no KV cache), mean of {RECOMPUTE_SAMPLES} lengths in [{PREFIX_LENGTH}, " \
                    f"{PREFIX_LENGTH + span})"


def bench_generate(family, min_time):
    model = make_model(family)
    model.eval()
    prefix = torch.randint(VOCAB_SIZE, (1, PREFIX_LENGTH))
    with torch.no_grad():
        if family == "transformer":
            seconds, method = bench_generate_transformer(model, prefix, min_time)
        else:
            seconds, method = bench_generate_recurrent(model, prefix, min_time)
    return {"family": family, "method": method, "s_per_token": seconds, "tokens_per_s": 1.0 / seconds,
            "realtime_factor": SECONDS_OF_MUSIC_PER_TOKEN / seconds}


def openblas_threads():
    """The thread count OpenBLAS uses (-1 when libblas.so.3 is not OpenBLAS)."""
    try:
        return ctypes.CDLL("libblas.so.3").openblas_get_num_threads()
    except (OSError, AttributeError):
        return -1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-time", type=float, default=1.0, help="seconds per measurement (default 1)")
    parser.add_argument("--families", default=",".join(FAMILIES), help="comma-separated (default all)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args()
    families = args.families.split(",")
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        parser.error(f"unknown families {unknown}; choose from {FAMILIES}")

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    context = {"torch_version": torch.__version__, "aten_threads": torch.get_num_threads(),
               "openblas_threads": openblas_threads(),
               "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "(unset)")}
    print("PyTorch model benchmarks:", ", ".join(f"{k}={v}" for k, v in context.items()))
    print("real-time factor assumes 0.125 s of music per token (melody: 16th-note steps at 120 qpm)")

    train, generate = [], []
    print(f"\n{'train step':<12}{'params':>10}{'ms/step':>10}{'tokens/s':>12}")
    for family in families:
        result = bench_train(family, args.min_time)
        train.append(result)
        print(f"{family:<12}{result['parameters']:>10}{result['seconds_per_step'] * 1e3:>10.1f}"
              f"{result['tokens_per_s']:>12.0f}", flush=True)
    print(f"\n{'generate':<12}{'ms/token':>10}{'tokens/s':>12}{'realtime':>10}  method")
    for family in families:
        result = bench_generate(family, args.min_time)
        generate.append(result)
        print(f"{family:<12}{result['s_per_token'] * 1e3:>10.3f}{result['tokens_per_s']:>12.0f}"
              f"{result['realtime_factor']:>10.1f}  {result['method']}", flush=True)

    if args.json:
        with open(args.json, "w") as out:
            json.dump({"context": context, "train": train, "generate": generate}, out, indent=2)


if __name__ == "__main__":
    main()
