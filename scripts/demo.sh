#!/usr/bin/env bash
# The Cadenza demo: set up, build, then walk the whole path on real music —
# fetch Nottingham and the JSB chorales (verified against pinned SHA-256 manifests), inspect a tune, prepare
# compact dataset shards in every encoding, render a tune to WAV / PNG / SVG, generate pieces (MIDI + WAV) with
# every bundled model (autoregressive, VAE and GAN), interpolate and reconstruct with the VAE, stitch 16 bars of
# GAN output, and train, evaluate and sample a small model from scratch.
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

step "Generating with every bundled model (models/*/README.md are their model cards)"
for model in $("$cadenza" generate --list-models | tail -n +2); do
  "$cadenza" generate --model "$model" --out "$out/generated/$model" --num-outputs 2 --bars 16 --seed 1 --wav
done

step "The latent models: a MusicVAE interpolating between two tunes, reconstructing one, and 16 stitched bars of MuseGAN"
tune_b="$nottingham/MIDI/$(ls "$nottingham/MIDI" | grep -m1 '^reels')"
"$cadenza" interpolate --model nottingham-vae "$tune" "$tune_b" --steps 5 --out "$out/generated/vae-interpolation" --wav
"$cadenza" reconstruct --model nottingham-vae "$tune" --out "$out/generated/vae-reconstruction"
"$cadenza" sample --model nottingham-gan --bars 16 -n 2 --out "$out/generated/gan-16-bars" --wav

step "Training a tiny LSTM from scratch on the melodies (about a minute), then evaluating and sampling it"
"$cadenza" dataset prepare --input "$nottingham/MIDI" --no-recursive --encoding melody --track-index 0 \
  --out "$out/nottingham-melody-track0.cdz"
"$cadenza" train --model lstm --preset tiny --steps 300 --data "$out/nottingham-melody-track0.cdz" \
  --out "$out/runs/lstm-tiny" --overwrite
"$cadenza" evaluate --checkpoint "$out/runs/lstm-tiny" --data "$out/nottingham-melody-track0.cdz"
"$cadenza" generate --checkpoint "$out/runs/lstm-tiny" --out "$out/generated/lstm-tiny" --num-outputs 2 --bars 8 --wav

step "Done. Outputs in $out:"
ls -la "$out" "$out/generated"
