#!/usr/bin/env bash
# Measures a chord- and style-conditioned melody model (docs/conditioning.md) as a new user would, from the CLI, and
# writes the figures as Markdown (a model card's --notes, scripts/write_model_card.py):
#   - styles: a style classifier trained on the real train pieces of Nottingham (jigs, reels, hpps, waltzes), its
#     held-out accuracy per style; N pieces generated with --style S for each S (no chords: the model chooses meter
#     and key) and the share classified as S; the even mixture (no --style) for comparison;
#   - a transition: N pieces of 32 bars with --style-path "jigs@0 -> reels@24": the classifier's mean probability
#     of each style per 4-bar window;
#   - chords: melodies over the chords of the first N test tunes (--chords-midi, each tune's own style), the share of
#     chord tones (overall, on beats) beside the real tunes'.
# Usage: scripts/measure_conditioned_model.sh MODEL SHARD [WORK=build/conditioned-measure] [N=20]
#   MODEL  a checkpoint, run folder or bundled name; SHARD  the shard it trained on (with chords and styles)
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1
[ -e "$model" ] && model=$(realpath "$model")
shard=$(realpath "$2")
work=${3:-build/conditioned-measure}
count=${4:-20}
cadenza=$(realpath "${CADENZA:-${CADENZA_BUILD_DIR:-build}/cadenza}")
data=$(realpath "${NOTTINGHAM_DIR:-../shared/data/nottingham/MIDI}")
source_arg=(--model "$model")
[ -e "$model" ] && source_arg=(--checkpoint "$model")
styles=(jigs reels hpps waltzes)
mkdir -p "$work" && cd "$work"
notes=notes.md

"$cadenza" style-classifier train --input "$data" --no-recursive --style-from 'name:^(reels|[a-z]+)' \
  --styles "$(IFS=,; echo "${styles[*]}")" --out classifier.json > classifier.txt
share() {  # share FOLDER STYLE -> "matched/files share"
  "$cadenza" style-classifier classify --classifier classifier.json "$1" --expect "$2" --json |
    python3 -c "import json,sys; e=json.load(sys.stdin)['expect']; print(f\"{e['matched']}/{e['files']} = {e['share']:.2f}\")"
}
predicted() {  # predicted FOLDER -> "jigs 3, reels 12, ..."
  "$cadenza" style-classifier classify --classifier classifier.json "$1" --json |
    python3 -c "import json,sys,collections; c=collections.Counter(f['predicted'] for f in json.load(sys.stdin)['files'] if f.get('predicted')); \
print(', '.join(f'{s} {n}' for s, n in sorted(c.items())))"
}
recall() {  # recall STYLE -> "77/77" (held-out pieces of that style classified as it)
  python3 -c "import json; d=json.load(open('classifier.json')); s=d['styles']; i=s.index('$1'); \
c=d['training']['held_out']['pieces']['confusion']; print(f'{c[i][i]}/{sum(c[i])}')"
}

{
  echo "Measured with \`scripts/measure_conditioned_model.sh\` ($count pieces per row, 16 bars, seeds 1..$count)."
  echo
  python3 -c "import json; h=json.load(open('classifier.json'))['training']['held_out']['pieces']; \
print(f\"Style classifier (\`cadenza style-classifier train\`, real train pieces only): held-out accuracy {h['accuracy']:.3f} \
({h['correct']}/{h['total']} valid+test tunes; always answering the commonest style: {h['majority_baseline']:.3f}).\")"
  echo
  echo "| asked for | classified as asked | the classifier on real held-out tunes of that style | all predictions |"
  echo "| --- | --- | --- | --- |"
} > "$notes"
for style in "${styles[@]}"; do
  rm -rf "gen_$style"
  "$cadenza" generate "${source_arg[@]}" --out "gen_$style" -n "$count" --bars 16 --seed 1 --style "$style" \
    --threads 1 > /dev/null
  echo "| \`--style $style\` | $(share "gen_$style" "$style") | $(recall "$style") | $(predicted "gen_$style") |" >> "$notes"
done
rm -rf gen_mixture
"$cadenza" generate "${source_arg[@]}" --out gen_mixture -n "$count" --bars 16 --seed 1 --threads 1 > /dev/null
echo "| no \`--style\` (the even mixture) | | | $(predicted gen_mixture) |" >> "$notes"

rm -rf gen_transition
"$cadenza" generate "${source_arg[@]}" --out gen_transition -n "$count" --bars 32 --seed 1 --threads 1 \
  --style-path "jigs@0 -> reels@24" > /dev/null
{
  echo
  echo "Transition \`--style-path \"jigs@0 -> reels@24\"\`, 32 bars: the classifier's mean probability per 4-bar window"
  echo "(windows that at least half of the pieces reach; bars of each piece's own meter)"
  echo
  "$cadenza" style-classifier classify --classifier classifier.json gen_transition --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
d['windows'] = [w for w in d['windows'] if 2 * w['files'] >= $count]  # windows most pieces reach
print('| bars | ' + ' | '.join(w and f\"{w['first_bar']}-{w['end_bar']}\" for w in d['windows']) + ' |')
print('| --- |' + ' --- |' * len(d['windows']))
for s in ('jigs', 'reels'):
    print(f'| {s} | ' + ' | '.join(f\"{w['mean'][s]:.2f}\" for w in d['windows']) + ' |')
print('| pieces | ' + ' | '.join(str(w['files']) for w in d['windows']) + ' |')"
} >> "$notes"

# Chords: the first N test tunes (sorted by path), each with its own style.
"$cadenza" dataset info "$shard" --pieces | awk -F'\t' '$1 == "test" {print $2}' | sort | head -n "$count" > tunes.txt
rm -rf tunes gen_chords && mkdir tunes gen_chords
index=0
while read -r name; do
  prefix=$(printf 't%03d' "$index")
  ln -s "$data/$name" "tunes/${prefix}_$name"
  style=$(sed -E 's/^(reels|[a-z]+).*/\1/' <<< "$name")
  "$cadenza" generate "${source_arg[@]}" --out gen_chords --prefix "$prefix" --seed "$((index + 1))" \
    --chords-midi "$data/$name" --chords-track 1 --style "$style" --threads 1 < /dev/null > /dev/null
  index=$((index + 1))
done < tunes.txt
tones() {  # tones ARGS... -> "overall / on beats"
  "$cadenza" midi chord-tones "$@" | awk '/chord tones:/ {gsub(",", ""); print $4 " / " $7}'
}
{
  echo
  echo "Chord tones (share of melody notes on a tone of the chord sounding, overall / on beats; \`cadenza midi chord-tones\`):"
  echo "the first $count test tunes $(tones tunes); melodies generated over their chords (\`--chords-midi\`, each"
  echo "tune's own style) $(tones gen_chords --chords-from tunes)."
} >> "$notes"
cat "$notes"
