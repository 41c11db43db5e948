#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: the bounded fuzzing run first, then every CTest test
# (labels: fast, data, cli). Usage: scripts/test.sh [extra ctest args], e.g. scripts/test.sh -L fast
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/build.sh
if [ -z "${CADENZA_SKIP_FUZZ:-}" ]; then
  bash scripts/fuzz.sh "${CADENZA_FUZZ_SECONDS:-60}"
fi
cd "${CADENZA_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j "$(nproc)" --timeout 900 "$@"
