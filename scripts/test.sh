#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: the bounded fuzzing run first, then every CTest test
# (labels: fast, data, cli, install, browser; one CTest test per test binary). Usage: scripts/test.sh [extra ctest args],
# e.g. scripts/test.sh -L fast. CADENZA_SKIP_FUZZ=1 skips the fuzzing, CADENZA_FUZZ_SECONDS sets its time per
# target (default 60).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/build.sh
if [ -z "${CADENZA_SKIP_FUZZ:-}" ]; then
  bash scripts/fuzz.sh "${CADENZA_FUZZ_SECONDS:-60}"
fi
cd "${CADENZA_BUILD_DIR:-$root/build}"
# A test is a whole binary: the slowest (the training and CLI suites) take minutes on a loaded 2-core machine.
ctest --output-on-failure -j "$(nproc)" --timeout 1800 "$@"
