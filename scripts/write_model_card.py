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


def latent_card(name, config, records, test, size, command):
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
    lines += ["", "Reproduce:", "", "```bash", command, "```", ""]
    lines += ["Limitations: trained for minutes on one CPU core where the published models trained for days on GPUs; the",
              "samples are valid MIDI; nobody has listened to them yet (the build machine has no audio output).", ""]
    with open(os.path.join("models", name, "README.md"), "w") as out:
        out.write("\n".join(lines))


def main():
    name, run_dir, test_json, command = sys.argv[1:5]
    config = json.load(open(os.path.join(run_dir, "config.json")))
    if config["model"]["family"] in ("vae", "musegan"):
        records = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]
        size = os.path.getsize(os.path.join("models", name, "model.safetensors"))
        latent_card(name, config, records, json.load(open(test_json)), size, command)
        return
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
        *fine_tune_rows(config),
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
