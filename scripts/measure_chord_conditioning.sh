#!/usr/bin/env bash
# The chord-conditioning measurement of docs/conditioning.md ("Chords", "Measured"): test NLL of a chord-conditioned
# model and of an unconditioned one trained on the same shard (with the n-gram baselines `evaluate` prints), and
# the share of chord tones in melodies generated over the chords of the first N test tunes, beside the real tunes.
# The conditioned model gets each tune's chords (--chords-midi); the unconditioned one the tune's meter and length
# (START METER_n_d, --bars), and its notes are counted against the same chords.
# Usage: scripts/measure_chord_conditioning.sh SHARD CHORD_RUN PLAIN_RUN [WORK=build/chords-measure] [N=20]
# SHARD: prepared with --chords-track (and structure=true), e.g. as docs/conditioning.md shows.
set -euo pipefail
cd "$(dirname "$0")/.."
shard=$(realpath "$1")
chord_run=$(realpath "$2")
plain_run=$(realpath "$3")
work=${4:-build/chords-measure}
count=${5:-20}
cadenza=$(realpath "${CADENZA:-${CADENZA_BUILD_DIR:-build}/cadenza}")
data=$(realpath "${NOTTINGHAM_DIR:-../shared/data/nottingham/MIDI}")
mkdir -p "$work" && cd "$work"

for run in chord plain; do
  dir=$chord_run
  [ "$run" = plain ] && dir=$plain_run
  "$cadenza" evaluate --checkpoint "$dir" --data "$shard" --split test --threads 1 | tee "${run}_test.txt"
done

# The first N test tunes, sorted by path.
"$cadenza" dataset info "$shard" --pieces | awk -F'\t' '$1 == "test" {print $2}' | sort | head -n "$count" \
  > tunes.txt
rm -rf tunes gen_chords gen_plain && mkdir tunes gen_chords gen_plain
index=0
while read -r name; do
  tune="$data/$name"
  ln -s "$tune" "tunes/$(printf 't%03d' "$index")_$name"
  read -r meter bars < <("$cadenza" midi info --json "$tune" | python3 -c "import json,sys; d=json.load(sys.stdin); \
t=d['time_signatures'][0] if d['time_signatures'] else {'numerator':4,'denominator':4}; \
print(f\"{t['numerator']}_{t['denominator']}\", d['duration']['bars'])")
  prefix=$(printf 't%03d' "$index")
  "$cadenza" generate --checkpoint "$chord_run" --out gen_chords --prefix "$prefix" --seed "$((index + 1))" \
    --chords-midi "$tune" --chords-track 1 --threads 1 > /dev/null
  "$cadenza" generate --checkpoint "$plain_run" --out gen_plain --prefix "$prefix" --seed "$((index + 1))" \
    --primer-tokens "START METER_$meter" --bars "$bars" --threads 1 > /dev/null
  index=$((index + 1))
done < tunes.txt

echo "== real test tunes"
"$cadenza" midi chord-tones tunes
echo "== chord-conditioned, over those tunes' chords"
"$cadenza" midi chord-tones gen_chords --chords-from tunes
echo "== unconditioned, against the same chords"
"$cadenza" midi chord-tones gen_plain --chords-from tunes
