#!/usr/bin/env python3
"""Writes models/<name>/README.md (a model card) for a bundled model from its training run.

Usage: scripts/write_model_card.py NAME RUN_DIR TEST_JSON COMMAND
  RUN_DIR    the `cadenza train` run folder (config.json, metrics.jsonl)
  TEST_JSON  the output of `cadenza evaluate --json` on the test split
  COMMAND    the command line that reproduces the model
Everything in the card comes from those files; nothing is typed in by hand.
"""
import json
import os
import sys


def main():
    name, run_dir, test_json, command = sys.argv[1:5]
    config = json.load(open(os.path.join(run_dir, "config.json")))
    records = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]
    test = json.load(open(test_json))
    end = [r for r in records if r["kind"] == "end"][-1]
    valid = [r for r in records if r["kind"] == "valid"]
    train = [r for r in records if r["kind"] == "train"]
    model_path = os.path.join("models", name, "model.safetensors")
    size = os.path.getsize(model_path)
    m, t = config["model"], config["train"]
    best = min(valid, key=lambda r: r["nll"]) if valid else None
    lines = [
        f"# {name}",
        "",
        f"A `{m['family']}` model of Nottingham folk-tune melodies ({config['data']['encoding']} encoding: one token",
        "per 16th-note step, note-on / note-off events, pitches 48..84), bundled with Cadenza.",
        "",
        "```bash",
        f"cadenza generate --model {name} --out samples -n 4 --bars 16 --wav",
        "```",
        "",
        "| | |",
        "| --- | --- |",
        f"| architecture | {m['family']}, hidden {m['hidden_size']}, {m['num_layers']} layers"
        + (f", {m.get('num_heads', 4)} heads, feed-forward {m.get('feedforward_size', 0)}, relative attention" if m["family"] == "transformer" else "")
        + f", dropout {m.get('dropout', 0)} |",
        f"| parameters | {end['parameters']:,} |",
        f"| file | model.safetensors, {size / 1e6:.2f} MB (float32, no optimizer state) |",
        f"| training data | Nottingham Music Database (Jukedeck's cleaned MIDI), melody track of each tune; "
        f"Cadenza's stable hash split (80/10/10) |",
        f"| data licence | GPLv3 (the Nottingham database); this model is derived from it |",
        f"| training | {end['step']:,} steps of batch {t['batch_size']} x {t['crop_length']} tokens, AdamW lr {t['learning_rate']}, "
        f"{t.get('schedule', 'cosine')} schedule, transposition augmentation +-{t['max_transpose']}; "
        f"{end['elapsed_seconds'] / 60:.1f} min on a 2-core CPU machine shared with other work (threads: see the command below); stopped by {end['stop_reason']} |",
        f"| checkpoint | best validation NLL (step {best['step'] if best else '-'}) |",
        f"| test NLL | **{test['model']['nll']:.3f} nats/token** (perplexity {test['model']['perplexity']:.2f}, "
        f"accuracy {test['model']['accuracy']:.3f}) on {test['model']['elements']:,} tokens of "
        f"{test['model']['pieces']} held-out tunes |",
        f"| unigram baseline | {test['unigram_baseline']['nll']:.3f} nats/token (perplexity "
        f"{test['unigram_baseline']['perplexity']:.2f}) |",
    ]
    if best:
        lines.append(f"| validation NLL | {best['nll']:.3f} |")
    if train:
        lines.append(f"| training speed | {train[-1]['elements_per_second']:.0f} tokens/s at the end of training |")
    lines += [
        "",
        "Reproduce:",
        "",
        "```bash",
        command,
        "```",
        "",
        "Limitations: trained for minutes on CPU, so it knows the idiom (keys, dotted rhythms, phrase lengths) better",
        "than long-range form; melodies only (no chords); 4/4 bars are assumed when generating by bars.",
        "",
    ]
    with open(os.path.join("models", name, "README.md"), "w") as out:
        out.write("\n".join(lines))


if __name__ == "__main__":
    main()
