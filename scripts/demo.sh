#!/usr/bin/env bash
# The Cadenza demo: set up, build, then walk the data path on real music —
# fetch Nottingham and the JSB chorales (verified against pinned SHA-256 manifests), inspect a tune, prepare
# compact dataset shards in every encoding, and render a tune to WAV / PNG / SVG.
# Output lands in demo-output/ (or $CADENZA_DEMO_OUT).
#
# With no network, point CADENZA_DATA_SOURCE at a folder holding nottingham/ and jsb-chorales/ copies; the
# project's own CI machines use ../shared/data that way.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/build.sh cadenza
cadenza="$root/build/cadenza"
out=${CADENZA_DEMO_OUT:-$root/demo-output}
mkdir -p "$out"

source_dir=${CADENZA_DATA_SOURCE:-}
if [ -z "$source_dir" ] && [ -d "$root/../shared/data/nottingham" ]; then source_dir="$root/../shared/data"; fi
fetch() {  # fetch NAME: prints the verified dataset folder
  if [ -n "$source_dir" ]; then
    "$cadenza" dataset fetch "$1" --from "$source_dir/$1" --cache "$out/cache" | tail -n 1
  else
    "$cadenza" dataset fetch "$1" --cache "$out/cache" | tail -n 1
  fi
}

step() { printf '\n==> %s\n' "$*"; }

step "Fetching and verifying the data sets"
nottingham=$(fetch nottingham)
jsb=$(fetch jsb-chorales)
echo "Nottingham: $nottingham"
echo "JSB Chorales: $jsb"

tune="$nottingham/MIDI/ashover1.mid"
[ -f "$tune" ] || tune=$(find "$nottingham/MIDI" -maxdepth 1 -name '*.mid' | sort | head -n 1)
step "A tune: cadenza midi info $(basename "$tune")"
"$cadenza" midi info "$tune"

step "Preparing dataset shards (all cores)"
"$cadenza" dataset prepare --input "$nottingham/MIDI" --no-recursive --encoding melody --out "$out/nottingham-melody.cdz"
"$cadenza" dataset prepare --input "$nottingham/MIDI" --no-recursive --encoding performance --out "$out/nottingham-performance.cdz"
"$cadenza" dataset prepare --input "$nottingham/MIDI" --no-recursive --encoding remi --set use_programs=true --out "$out/nottingham-remi.cdz"
"$cadenza" dataset prepare --input "$jsb/jsb-chorales-quarter.json" --encoding pianoroll --set steps_per_quarter=1 \
  --set merge_all_tracks=true --out "$out/jsb-quarter-roll.cdz"

step "What is in the melody shards: cadenza dataset info"
"$cadenza" dataset info "$out/nottingham-melody.cdz"

step "Rendering the tune to audio and pictures"
"$cadenza" render "$tune" --wav "$out/tune.wav" --png "$out/tune.png" --svg "$out/tune.svg"

step "Done. Outputs in $out:"
ls -la "$out"
