#!/usr/bin/env bash
# Bounded fuzzing: configures a separate clang build (build-fuzz/, or $CADENZA_FUZZ_BUILD_DIR) with
# CADENZA_BUILD_FUZZ=ON, builds the libFuzzer targets of fuzz/ and runs each for SECONDS (default 60), up to
# $CADENZA_JOBS (default: the core count) at a time. Targets: the MIDI reader, token decoding, token text, shards,
# safetensors (checkpoint) headers, and JSON configs / option text (see the header of each fuzz/fuzz_*.cpp).
# Exits non-zero if any target finds a crash, leak, timeout or failed check; the input that did it is kept
# under BUILD/fuzz-artifacts/TARGET/ (replay it with `BUILD/fuzz/TARGET FILE`), each run's log under
# BUILD/fuzz-logs/TARGET.log.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 120 fuzz_midi_reader
# Corpora grow in BUILD/fuzz-corpus/TARGET/ between runs; fuzz/TARGET.dict is used as a dictionary if present.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "fuzz.sh: SECONDS must be a positive whole number, not '$seconds'" >&2
  exit 2
fi
build_dir=${CADENZA_FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${CADENZA_JOBS:-$(nproc)}
data_dir=${CADENZA_TEST_DATA_DIR:-$root/../shared/data}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for source in "$root"/fuzz/fuzz_*.cpp; do targets+=("$(basename "$source" .cpp)"); done
fi

CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCADENZA_BUILD_FUZZ=ON -DCADENZA_BUILD_TESTS=OFF -DCADENZA_BUILD_BENCH=OFF >/dev/null

# Seeds: a few real files when the data sets are there, plus small synthetic files that reach the corners
# (running status, sysex, pedal, SMPTE, format 2, unknown chunks) even without them.
# write_bytes FILE PIECE...: the pieces, with \xHH escapes, written one after the other.
write_bytes() {
  local file=$1
  shift
  printf '%b' "$@" >"$file"
}

seed_fuzz_midi_reader() {
  local corpus=$1
  if [ -d "$data_dir/nottingham/MIDI" ]; then
    local file
    for file in "$data_dir"/nottingham/MIDI/{ashover1,jigs10,jigs110,reelsa-c1,slip1,waltzes1}.mid \
                "$data_dir"/nottingham/MIDI/melody/hpps1.mid "$data_dir"/nottingham/MIDI/chords/morris1.mid; do
      [ -f "$file" ] || continue
      cp -f --no-preserve=mode "$file" "$corpus/nottingham-$(basename "$(dirname "$file")")-$(basename "$file")"
    done
  fi
  # format 0, 96 tpq: name, tempo, meter, key, running status, velocity-0 off, sysex, pedal, end of track.
  write_bytes "$corpus/synthetic-format0.mid" 'MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60' 'MTrk\x00\x00\x00\x3c' \
    '\x00\xff\x03\x04Tune' '\x00\xff\x51\x03\x07\xa1\x20' '\x00\xff\x58\x04\x06\x03\x18\x08' \
    '\x00\xff\x59\x02\xfe\x01' '\x00\xc0\x28' '\x00\xb0\x40\x7f' '\x00\x90\x3c\x64' '\x30\x3c\x00' '\x00\x40\x50' \
    '\x00\xf0\x03\x7e\x09\xf7' \
    '\x30\xb0\x40\x00' '\x00\xff\x2f\x00'
  # format 1, SMPTE 25 fps x 40: conductor with a tempo, a drum track and an overlapping pair of notes.
  write_bytes "$corpus/synthetic-smpte.mid" 'MThd\x00\x00\x00\x06\x00\x01\x00\x02\xe7\x28' \
    'MTrk\x00\x00\x00\x0b' '\x00\xff\x51\x03\x0f\x42\x40' '\x00\xff\x2f\x00' \
    'MTrk\x00\x00\x00\x1a' '\x00\x99\x24\x70' '\x00\x91\x3c\x40' '\x10\x3c\x40' '\x10\x81\x3c\x00' '\x10\x3c\x00' \
    '\x00\x89\x24\x00' '\x00\xff\x2f\x00'
  # format 2 with an unknown chunk between the tracks and no end-of-track in the last one.
  write_bytes "$corpus/synthetic-format2.mid" 'MThd\x00\x00\x00\x06\x00\x02\x00\x02\x01\xe0' \
    'MTrk\x00\x00\x00\x0c' '\x00\x90\x40\x50' '\x83\x60\x40\x00' '\x00\xff\x2f\x00' 'XYZW\x00\x00\x00\x02\xab\xcd' \
    'MTrk\x00\x00\x00\x08' '\x00\x92\x45\x50' '\x81\x00\x45\x00'
}

# ASan's default 256 MB quarantine alone would take half of -rss_limit_mb; 64 MB still catches use-after-free.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=64}

# Build every target first (ninja spreads the instrumented libraries over the cores); a target that does not
# compile fails the run without stopping the others.
status=0
built=()
for target in "${targets[@]}"; do
  if ninja -C "$build_dir" -j "$jobs" "$target"; then
    built+=("$target")
  else
    echo "fuzz.sh: $target FAILED to build" >&2
    status=1
  fi
done

# run_target TARGET: seeds its corpus, fuzzes it for $seconds, logs to BUILD/fuzz-logs/TARGET.log.
run_target() {
  local target=$1
  local binary="$build_dir/fuzz/$target"
  local corpus="$build_dir/fuzz-corpus/$target"
  local artifacts="$build_dir/fuzz-artifacts/$target"
  local log="$build_dir/fuzz-logs/$target.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  if declare -F "seed_$target" >/dev/null; then "seed_$target" "$corpus"; fi
  # Targets that build their own seeds with the real writers (shards, safetensors, ...) write them into the corpus
  # when CADENZA_FUZZ_WRITE_SEEDS is set and exit; for the others -runs=0 makes this call a no-op.
  CADENZA_FUZZ_WRITE_SEEDS="$corpus" "$binary" -runs=0 >/dev/null 2>&1 || true
  local options=(-max_total_time="$seconds" -max_len=65536 -rss_limit_mb=512 -timeout=5 -print_final_stats=1
                 -artifact_prefix="$artifacts/")
  [ -f "$root/fuzz/$target.dict" ] && options+=(-dict="$root/fuzz/$target.dict")
  "$binary" "${options[@]}" "$corpus" >"$log" 2>&1
}

# Up to $jobs targets at a time, each on one core (libFuzzer itself is single-threaded).
declare -A pids=()
report() {
  local target=$1 code=$2
  local log="$build_dir/fuzz-logs/$target.log"
  local runs
  runs=$(grep -m1 '^stat::number_of_executed_units' "$log" | awk '{print $2}') || runs=""
  if [ "$code" -eq 0 ]; then
    echo "fuzz.sh: $target passed (${runs:-?} runs in $seconds s)"
  else
    echo "fuzz.sh: $target FAILED; reproducer(s) in $build_dir/fuzz-artifacts/$target/; end of its log:" >&2
    tail -n 40 "$log" >&2
    status=1
  fi
}
for target in "${built[@]}"; do
  while [ "${#pids[@]}" -ge "$jobs" ]; do
    for running in "${!pids[@]}"; do
      if ! kill -0 "${pids[$running]}" 2>/dev/null; then
        code=0
        wait "${pids[$running]}" || code=$?
        report "$running" "$code"
        unset "pids[$running]"
      fi
    done
    [ "${#pids[@]}" -ge "$jobs" ] && sleep 1
  done
  echo "fuzz.sh: running $target for $seconds s"
  run_target "$target" &
  pids[$target]=$!
done
for running in "${!pids[@]}"; do
  code=0
  wait "${pids[$running]}" || code=$?
  report "$running" "$code"
done
exit $status
