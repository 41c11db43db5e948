#!/usr/bin/env bash
# Measures a whole-tune melody model (a shard prepared with --set structure=true: START, meter, key, END) as a new
# user would, from the CLI, and writes the figures as Markdown (a model card's --notes, scripts/write_model_card.py):
#   - the repeat probe (`evaluate --repeat-probe`): the first 8 bars of every test tune played twice; a model that
#     reuses what it has just heard scores the second copy far lower; beside the Kneser-Ney n-gram with and without
#     its piece cache, on the same tokens;
#   - N whole tunes (`generate --until-end`, default settings, seed 1): how many end by the model's own END before
#     the 66-bar cap, and their form metrics beside N real test tunes (whole tunes).
# Usage: [GENERATE_ARGS="--bars 32"] [SEED=1] scripts/measure_tune_model.sh MODEL SHARD [WORK=build/tune-measure] [N=50]
#   MODEL  a checkpoint, run folder or bundled name; SHARD  the structure shard it trained on; GENERATE_ARGS  more
#   generate options for the whole tunes (e.g. a planned length for a bars-left model), none by default; SEED  the
#   first seed of the whole tunes (1; another to check a figure on tunes it was not chosen on)
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1
[ -e "$model" ] && model=$(realpath "$model")
shard=$(realpath "$2")
work=${3:-build/tune-measure}
count=${4:-50}
threads=${THREADS:-1}
seed=${SEED:-1}
read -r -a generate_args <<< "${GENERATE_ARGS:-}"
cadenza=$(realpath "${CADENZA:-${CADENZA_BUILD_DIR:-build}/cadenza}")
source_arg=(--model "$model")
[ -e "$model" ] && source_arg=(--checkpoint "$model")
mkdir -p "$work" && cd "$work"

"$cadenza" evaluate "${source_arg[@]}" --data "$shard" --repeat-probe --json --threads "$threads" > probe.json
rm -rf tunes
"$cadenza" generate "${source_arg[@]}" --out tunes -n "$count" --seed "$seed" --until-end "${generate_args[@]}" \
  --threads "$threads" > tunes.log
"$cadenza" metrics tunes --reference-shard "$shard" --split test --reference-count "$count" --json > tunes_form.json
# The length of each tune in bars of its meter (bars + beats / beats per bar), for where the model's own endings fall.
for file in tunes/*.mid; do "$cadenza" midi info "$file" --json; done > tunes_info.jsonl

python3 - "$count" "${GENERATE_ARGS:-}" "$seed" > notes.md <<'EOF'
import json, os, re, sys
count = int(sys.argv[1])
extra = " " + sys.argv[2] if sys.argv[2] else ""
seed = sys.argv[3]
settings = ", ".join(label for option, label in (("--bars", "planned length"), ("--temperature", "a temperature given"))
                     if option in extra) or "default settings"
cap = ("the length asked for; one bar past it for a model that reads the bars left" if "--bars" in extra
       else "66 bars of the tune's meter")
probe = json.load(open("probe.json"))["repeat_probe"]
log = open("tunes.log").read()
ended = re.search(r"(\d+) of (\d+) pieces ended by the model's END", log)
form = json.load(open("tunes_form.json"))
mine, real = form["form_mean"], form["reference"]["form_mean"]
def cell(value):
    return "-" if value is None else f"{value:.3f}"
print(f"Repeat probe (`cadenza evaluate --repeat-probe`): the first {probe['bars']} bars of {probe['pieces']} test "
      f"tunes played twice, {probe['tokens_per_copy']:,} tokens scored in each copy, nats/token:")
print()
print("| | 1st copy | 2nd copy | ratio 2nd / 1st |")
print("| --- | ---: | ---: | ---: |")
for key, label in (("model", "this model"), ("ngram", f"Kneser-Ney {probe['ngram_order']}-gram"),
                   ("ngram_cached", f"Kneser-Ney {probe['ngram_cached_order']}-gram + piece cache")):
    row = probe[key]
    print(f"| {label} | {row['first_nll']:.4f} | {row['second_nll']:.4f} | {row['ratio']:.3f} |")
print()
print(f"Whole tunes (`cadenza generate -n {count} --seed {seed} --until-end{extra}`, {settings}): "
      f"**{ended.group(1)} of {ended.group(2)}** ended by the model's own END, the others were cut at the cap "
      f"({cap}). Their form beside {form['reference']['piece_count']} real test tunes (whole):")
print()
print("| form metric | generated tunes | real tunes |")
print("| --- | ---: | ---: |")
for name in ("recurring_2bar_patterns", "self_similarity_4bar", "self_similarity_8bar", "looped_bars", "notes_in_key",
             "offgrid_onsets", "ends_on_tonic", "pitch_class_entropy", "pitch_range"):
    print(f"| {name} | {cell(mine.get(name))} | {cell(real.get(name))} |")
# The tunes the model ended itself: how many at the end of an 8-bar phrase (a multiple of 8 bars, give or take one
# bar for a pickup) and on the tonic.
own = {m.group(1) for m in re.finditer(r"wrote tunes/(\S+\.mid): .*, ended by the model", log)}
decoder, text, infos = json.JSONDecoder(), open("tunes_info.jsonl").read(), []
while text.strip():
    info, end = decoder.raw_decode(text.lstrip())
    infos.append(info)
    text = text.lstrip()[end:]
bars = {}
for info in infos:
    meter = info["time_signatures"][0]["numerator"] if info["time_signatures"] else 4
    bars[os.path.basename(info["file"])] = info["duration"]["bars"] + info["duration"]["beats"] / meter
phrase_end = sum(1 for name in own if name in bars and min(bars[name] % 8, 8 - bars[name] % 8) <= 1)
tonic = sum(1 for piece in form["files"]
            if os.path.basename(piece["file"]) in own and (piece["form"].get("ends_on_tonic") or 0) > 0.5)
print()
print(f"Of the {len(own)} tunes the model ended itself, {phrase_end} end at the end of an 8-bar phrase (a multiple of "
      f"8 bars, give or take one) and {tonic} on the tonic.")
EOF
cat notes.md
