#!/usr/bin/env python3
"""Writes models/<name>/README.md (a model card) for a bundled model from its training run.

Usage: scripts/write_model_card.py NAME RUN_DIR TEST_JSON COMMAND [FORM_JSON [FORM_COMMAND]] [--out FILE]
                                   [--notes FILE]
  RUN_DIR       the `cadenza train` run folder (config.json, metrics.jsonl)
  TEST_JSON     the output of `cadenza evaluate --json` on the test split (for token models it holds the
                Kneser-Ney n-gram and cached n-gram baselines on the same tokens, shown beside the model's NLL)
  COMMAND       the command line that reproduces the model
  FORM_JSON     optional: the output of `cadenza metrics SAMPLES --reference-shard SHARD --split test --json
                --mean-only ...` on pieces the model generated: the form metrics of their melody beside real tunes'
  FORM_COMMAND  optional: the commands that produced FORM_JSON (shown in the card)
  --out FILE    where to write the card (default models/NAME/README.md; the model file is looked up beside it)
  --notes FILE  Markdown appended to the card as it is: measurements a script wrote (e.g. the chord-tone and
                style-classifier figures of scripts/measure_conditioned_model.sh)
Everything in the card comes from those files; nothing is typed in by hand.
"""
import json
import os
import struct
import sys


def elbo(record):
    """The VAE's held-out ELBO bound per step; runs written before frames models call it elbo_per_token."""
    return record.get("elbo_per_step", record.get("elbo_per_token"))


def fmt(value, digits=3):
    return "-" if value is None else f"{value:.{digits}f}"


def fine_tune_rows(config):
    """The card's provenance row of a model fine-tuned with `cadenza train --init-from` (none for one from scratch)."""
    fine_tune = config.get("fine_tune")
    if not fine_tune:
        return []
    frozen = ", ".join(fine_tune.get("freeze") or []) or "nothing"
    return [
        f"| fine-tuned from | `{fine_tune['init_from']}` ({os.path.basename(os.path.dirname(fine_tune['checkpoint']))}/"
        f"{os.path.basename(fine_tune['checkpoint'])}, sha256 {fine_tune.get('sha256', '-')}) on "
        f"{os.path.basename(config['data']['path'])}; frozen: {frozen} |"
    ]


def form_lines(form, form_command):
    """The form metrics of the generated melodies beside the real tunes' (from `cadenza metrics --json`)."""
    if not form:
        return []
    mine, real = form["form_mean"], form["reference"]["form_mean"]
    reference = form["reference"]
    bars = form.get("options", {}).get("bars", 0)
    lines = [
        "",
        f"Form of the melody: {form['file_count']} generated pieces beside {reference['piece_count']} real tunes "
        f"({reference['source']}, {reference.get('split', 'files')} split)"
        + (f", first {bars} bars of each" if bars else "") + " (docs/metrics.md has the definitions):",
        "",
        "| form metric | generated | real tunes |",
        "| --- | ---: | ---: |",
    ]
    order = ["recurring_2bar_patterns", "self_similarity_4bar", "self_similarity_8bar", "looped_bars", "notes_in_key",
             "offgrid_onsets", "odd_sixteenth_onsets", "ends_on_tonic", "pitch_class_entropy", "pitch_range"]
    for key in [k for k in order if k in mine] + [k for k in mine if k not in order]:
        lines.append(f"| {key} | {fmt(mine[key])} | {fmt(real.get(key))} |")
    if form_command:
        lines += ["", "Measured with:", "", "```bash", form_command, "```"]
    return lines


def checkpoint_encoding(model_path):
    """The encoding spec a checkpoint stores (its safetensors header's metadata), {} when it has none."""
    with open(model_path, "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    return json.loads(header.get("__metadata__", {}).get("encoding", "{}"))


def sampling_rows(card_dir):
    """The temperature the model samples at by default (generation.json beside the checkpoint), when it has one."""
    path = os.path.join(card_dir, "generation.json")
    if not os.path.exists(path):
        return []
    temperature = json.load(open(path))["temperature"]
    return [f"| sampling | temperature {temperature:g} by default (generation.json beside the checkpoint; "
            f"`--temperature` sets another); the pieces measured below were generated at it |"]


def context_text(test, train):
    """The context the NLL was measured at: the evaluation window beside the training crops."""
    window = test.get("window")
    if window is None:
        return ""
    crop = test.get("training_crop_length", train.get("crop_length"))
    return f", scored in windows of {window:,} tokens" + (f" (trained on crops of {crop:,})" if crop else "")


def ngram_lines(test):
    """The n-gram baselines `cadenza evaluate` scored on the same tokens as the model, or why they are missing."""
    ngram = test.get("ngram_baseline")
    if ngram is None:
        return ["| n-gram baselines | not in the evaluation (evaluated with --no-baseline or before they existed) |"]
    if "error" in ngram:
        return [f"| n-gram baselines | not measured: {ngram['error']} |"]
    same = "the same tokens" if ngram.get("same_tokens") else "NOT the same tokens as the model (not comparable)"
    lines = [f"| Kneser-Ney {ngram['order']}-gram baseline | {ngram['nll']:.3f} nats/token (order chosen on valid; "
             f"{same}) |"]
    cached = ngram.get("cached")
    if cached:
        lines.append(f"| Kneser-Ney {cached['order']}-gram + piece cache baseline | {cached['nll']:.3f} nats/token "
                     f"(a cache of the tokens already heard in the tune, contexts of {cached['min_context']}.."
                     f"{cached['max_context']} tokens; {same}) |")
    return lines


def latent_card(name, config, records, test, size, command, form=None, form_command="", out_path=None):
    """The card of a vae or musegan model: its held-out figures come from `cadenza evaluate --json`."""
    end = [r for r in records if r["kind"] == "end"][-1]
    valid = [r for r in records if r["kind"] == "valid"]
    m, t = config["model"], config["train"]
    family = m["family"]
    lines = [f"# {name}", ""]
    if family == "vae":
        bars = m["sequence_length"] // 16
        lines += [
            f"A MusicVAE-style variational autoencoder of {bars}-bar Nottingham folk-tune melodies (melody encoding:",
            "one token per 16th-note step, pitches 48..84), bundled with Cadenza.",
            "",
            "```bash",
            f"cadenza sample --model {name} --out samples -n 4 --bars 8 --wav",
            f"cadenza interpolate --model {name} A.mid B.mid --steps 7 --out path",
            f"cadenza reconstruct --model {name} A.mid --out rec",
            "```",
            "",
            "| | |",
            "| --- | --- |",
            f"| architecture | BiLSTM encoder {m['encoder_hidden']} per direction, z = {m['latent_size']}, {m['decoder']} LSTM "
            f"decoder {m['decoder_layers']} x {m['decoder_hidden']}, free bits {m['free_bits']}, beta up to {m['max_beta']} |",
        ]
        best = min(valid, key=elbo) if valid else None
        interp = test.get("interpolation") or {}
        density = interp.get("note_density") or {}
        lines += [
            f"| parameters | {end['parameters']:,} |",
            f"| file | model.safetensors, {size / 1e6:.2f} MB (float32, no optimizer state) |",
            "| training data | Nottingham Music Database (Jukedeck's cleaned MIDI), melody track of each tune, every "
            f"{bars}-bar window with a note; Cadenza's stable hash split (80/10/10) |",
            "| data licence | GPLv3 (the Nottingham database); this model is derived from it |",
            *fine_tune_rows(config),
            f"| training | {end['step']:,} steps of batch {t['batch_size']}, Adam lr {t['learning_rate']}; "
            f"{end['elapsed_seconds'] / 60:.1f} min on a 2-core CPU machine shared with other work; stopped by "
            f"{end['stop_reason']} |",
            f"| checkpoint | best validation ELBO (step {best['step'] if best else '-'}) |",
            f"| held-out (test) reconstruction | **{100 * test['accuracy_sampled']:.1f}%** of steps decoded from the "
            f"posterior mean feeding its own outputs; {100 * test['accuracy_teacher_forced']:.1f}% teacher-forced; over "
            f"{test['windows']:,} test windows |",
            f"| held-out ELBO bound | {elbo(test):.3f} nats/token (reconstruction "
            f"{test.get('reconstruction_per_step', test.get('reconstruction_per_token')):.3f} + KL {test['kl_bits']:.1f} bits per window) |",
            f"| interpolation | {interp.get('pairs', 0)} pairs of test windows, {interp.get('steps', 0)} slerp steps: note "
            f"density changes {fmt(density.get('mean_abs_change_per_step'), 2)} notes/bar per step (endpoints differ by "
            f"{fmt(density.get('mean_abs_endpoint_difference'), 2)}) |",
        ]
    else:
        gen, train_set = test["generated"], test["training"]
        def track_row(key, digits=3):
            return ", ".join(f"{fmt(tr.get(key), digits)}" for tr in gen["tracks"]) + " (training: " + ", ".join(
                f"{fmt(tr.get(key), digits)}" for tr in train_set["tracks"]) + ")"
        lines += [
            f"A MuseGAN-style multi-track piano-roll GAN (hybrid generator, WGAN-GP critic) of {m['num_bars']}-bar windows of "
            f"Nottingham folk tunes, {m['num_tracks']} tracks (melody, chords), {m['num_pitches']} pitches, "
            f"{m['steps_per_bar']} steps per bar; bundled with Cadenza.",
            "",
            "```bash",
            f"cadenza sample --model {name} --out samples -n 4 --bars 16 --wav     # 16 bars: windows stitched along a latent path",
            "```",
            "",
            "| | |",
            "| --- | --- |",
            f"| architecture | generator channels {m['generator_channels']}, critic channels {m['critic_channels']}, latents "
            f"{m['shared_latent']}/{m['shared_temporal_latent']}/{m['track_latent']}/{m['track_temporal_latent']} |",
            f"| parameters | {end['parameters']:,} (generator and critic) |",
            f"| file | model.safetensors, {size / 1e6:.2f} MB (float32, no optimizer state) |",
            "| training data | Nottingham Music Database (Jukedeck's cleaned MIDI), melody and chord tracks as a 2-track "
            "piano roll (C2..B7), every 4-bar window of 4/4 bars; Cadenza's stable hash split (80/10/10) |",
            "| data licence | GPLv3 (the Nottingham database); this model is derived from it |",
            *fine_tune_rows(config),
            f"| training | {end['step']:,} generator steps ({t['critic_steps']} critic steps each, gradient penalty "
            f"{t['gradient_penalty']}), batch {t['batch_size']}, Adam lr {t['learning_rate']} betas ({t['beta1']}, {t['beta2']}); "
            f"{end['elapsed_seconds'] / 60:.1f} min on a 2-core CPU machine shared with other work |",
            "| checkpoint | the final weights (a GAN has no validation likelihood to choose by) |",
            f"| samples vs training windows ({test['samples']} each) | empty-bar rate per track {track_row('empty_bar_rate')}; "
            f"used pitch classes per bar {track_row('used_pitch_classes', 2)}; qualified-note rate "
            f"{track_row('qualified_note_rate')} |",
            f"| diversity (mean pairwise Jaccard distance) | {gen['diversity']:.3f} (training windows {train_set['diversity']:.3f}); "
            f"mode collapse flagged: {'yes' if test['mode_collapse'] else 'no'} |",
        ]
    lines += form_lines(form, form_command)
    lines += ["", "Reproduce:", "", "```bash", command, "```", ""]
    lines += ["Limitations: trained for minutes on one CPU core where the published models trained for days on GPUs; the",
              "samples are valid MIDI; nobody has listened to them yet (the build machine has no audio output).", ""]
    write_card(out_path or os.path.join("models", name, "README.md"), lines)


def write_card(path, lines):
    """Written whole or not at all: a temporary file beside it, then renamed."""
    tmp = path + ".tmp"
    with open(tmp, "w") as out:
        out.write("\n".join(lines))
    os.replace(tmp, path)


def main():
    args = sys.argv[1:]
    out_path = None
    if "--out" in args:
        at = args.index("--out")
        if at + 1 >= len(args):
            sys.exit("write_model_card.py: --out needs a file name")
        out_path = args[at + 1]
        del args[at:at + 2]
    notes = None
    if "--notes" in args:
        at = args.index("--notes")
        if at + 1 >= len(args):
            sys.exit("write_model_card.py: --notes needs a file name")
        notes = open(args[at + 1]).read().rstrip("\n").split("\n")
        del args[at:at + 2]
    if len(args) not in (4, 5, 6):
        sys.exit(__doc__)
    name, run_dir, test_json, command = args[:4]
    form = json.load(open(args[4])) if len(args) > 4 else None
    if form is not None and "reference" not in form:
        sys.exit(f"write_model_card.py: {args[4]}: no real tunes to compare with (run `cadenza metrics` with "
                 "--reference-shard)")
    form_command = args[5] if len(args) > 5 else ""
    card_dir = os.path.dirname(out_path) if out_path else os.path.join("models", name)
    config = json.load(open(os.path.join(run_dir, "config.json")))
    if config["model"]["family"] in ("vae", "musegan"):
        records = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]
        size = os.path.getsize(os.path.join(card_dir, "model.safetensors"))
        latent_card(name, config, records, json.load(open(test_json)), size, command, form, form_command, out_path)
        return
    records = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]
    test = json.load(open(test_json))
    end = [r for r in records if r["kind"] == "end"][-1]
    valid = [r for r in records if r["kind"] == "valid"]
    train = [r for r in records if r["kind"] == "train"]
    model_path = os.path.join(card_dir, "model.safetensors")
    size = os.path.getsize(model_path)
    m, t = config["model"], config["train"]
    best = min(valid, key=lambda r: r["nll"]) if valid else None
    tunes = m.get("context_positions", 0) > 0  # a structured shard: whole tunes with START, meter, key, END
    one_key = checkpoint_encoding(model_path).get("one_key", False)  # tunes moved to C major / A minor
    chords, styles = m.get("chord_conditioning", False), m.get("style_names") if m.get("style_conditioning") else None
    example = f"cadenza generate --model {name} --out samples -n 4 --bars 16 --wav"
    if chords:
        example = (f"cadenza generate --model {name} --out samples -n 4 --wav "
                   + (f"--style {styles[0] if 'reels' not in styles else 'reels'} " if styles else "")
                   + '--chords "D | G | D | A7 | D | G | A7 | D"')
    lines = [
        f"# {name}",
        "",
        f"A `{m['family']}` model of Nottingham folk-tune melodies ({config['data']['encoding']} encoding: one token",
        "per 16th-note step, note-on / note-off events, pitches 48..84"
        + ("; whole tunes: START, the meter, the key, the position in the bar of every step, END" if tunes else "")
        + ("; every tune moved to one key, C major or A minor" if one_key else "")
        + ")" + (", written over given chords" if chords else "")
        + (", in a chosen style or blend of styles" if styles else "") + ", bundled with Cadenza.",
        "",
        "```bash",
        example,
        "```",
        "",
        "| | |",
        "| --- | --- |",
        f"| architecture | {m['family']}, hidden {m['hidden_size']}, {m['num_layers']} layers"
        + (f", {m.get('num_heads', 4)} heads, feed-forward {m.get('feedforward_size', 0)}, relative attention" if m["family"] == "transformer" else "")
        + f", dropout {m.get('dropout', 0)}"
        + (f"; reads the bar position and the tokens {', '.join(str(b) for b in (1, 2, 4, 8)[:m['context_lookback']])} bars back"
           if m.get("context_lookback", 0) > 0 else "")
        + ("; the tune's meter and key at every step" if m.get("context_header", False) else "")
        + ("; the bar number (its bar within an 8-bar phrase and the phrase's number)" if m.get("context_phrase", False) else "")
        + ("; the bars left in the tune (the length asked for, `--bars`; \"unknown\" without one)" if m.get("context_bars_left", False) else "")
        + (f"; attention over its last {m['attention_length']} outputs" if m.get("attention_length", 0) > 0 else "")
        + " |",
        f"| parameters | {end['parameters']:,} |",
        f"| file | model.safetensors, {size / 1e6:.2f} MB (float32, no optimizer state) |",
        f"| training data | Nottingham Music Database (Jukedeck's cleaned MIDI), melody track of each tune"
        + (" and the chord under every step (track 1)" if chords else "")
        + (", moved to C major or A minor (its tonic moved by -6..+5 semitones: the melody encoding's one_key); "
           "`--meter 4/4 --key G` moves a generated tune to G, a primer's continuation is moved back to the primer's "
           "key" + (", a tune over chords to the chords' key (the chords move to C major / A minor with it)"
                    if chords else "")
           + ", otherwise tunes come out in C major or A minor" if one_key else "") + "; "
        f"Cadenza's stable hash split (80/10/10) |",
        *([f"| conditioning | " + ("the chord under every step (12 pitch classes: `--chords`, `--chords-midi`)" if chords else "")
           + ("; " if chords and styles else "")
           + (f"the style of the piece (`--style`, `--style-path`): {', '.join(styles)} (from the file names)" if styles else "")
           + " |"] if chords or styles else []),
        f"| data licence | GPLv3 (the Nottingham database); this model is derived from it |",
        *fine_tune_rows(config),
        f"| training | {end['step']:,} steps of batch {t['batch_size']} x {t['crop_length']} tokens, AdamW lr {t['learning_rate']}, "
        f"{t.get('schedule', 'cosine')} schedule, "
        + (f"transposition augmentation +-{t['max_transpose']}" if t['max_transpose'] else "no transposition augmentation")
        + (f", {t['start_crop_share']:g} of the crops from the tune's START" if t.get('start_crop_share') else "")
        + (f", {t['end_crop_share']:g} ending at its END" if t.get('end_crop_share') else "")
        + (f", {t.get('bars_left_unknown_share', 0.5):g} of the rows told no length" if m.get("context_bars_left", False) else "") + "; "
        f"{end['elapsed_seconds'] / 60:.1f} min on a 2-core CPU machine shared with other work (threads: see the command below); stopped by {end['stop_reason']} |",
        f"| checkpoint | best validation NLL (step {best['step'] if best else '-'}) |",
        *sampling_rows(card_dir),
        f"| test NLL | **{test['model']['nll']:.3f} nats/token** (perplexity {test['model']['perplexity']:.2f}, "
        f"accuracy {test['model']['accuracy']:.3f}) on {test['model']['elements']:,} tokens of "
        f"{test['model']['pieces']} held-out tunes" + (" moved to C major / A minor, as trained" if one_key else "")
        + context_text(test, t) + " |",
        f"| unigram baseline | {test['unigram_baseline']['nll']:.3f} nats/token (perplexity "
        f"{test['unigram_baseline']['perplexity']:.2f}) |",
    ] + ngram_lines(test)
    if best:
        lines.append(f"| validation NLL | {best['nll']:.3f} |")
    if train:
        lines.append(f"| training speed | {train[-1]['elements_per_second']:.0f} tokens/s at the end of training |")
    lines += form_lines(form, form_command)
    if notes:
        lines += [""] + notes
    limits = ("Limitations: trained for minutes on CPU, so it knows the idiom (keys, dotted rhythms, phrase lengths) "
              "better than long-range form")
    if not chords:
        limits += "; melodies only (no chords)"
    if not tunes:
        limits += "; 4/4 bars are assumed when generating by bars"
    # Notes that end with their own "Reproduce:" block (the training command and the measuring ones) replace this
    # one, so that a card has one.
    if not (notes and "Reproduce:" in notes):
        lines += ["", "Reproduce:", "", "```bash", command, "```"]
    lines += ["", limits + ".", ""]
    write_card(out_path or os.path.join(card_dir, "README.md"), lines)


if __name__ == "__main__":
    main()
