#!/usr/bin/env bash
# Configures and builds Cadenza into build/ (or $CADENZA_BUILD_DIR).
# Usage: scripts/build.sh [TARGET...]   (no target: everything, including tests and benchmarks)
# Extra CMake arguments: CADENZA_CMAKE_ARGS="-DCADENZA_SANITIZE=ON ...".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${CADENZA_BUILD_DIR:-$root/build}
jobs=${CADENZA_JOBS:-$(nproc)}
# shellcheck disable=SC2086
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${CADENZA_BUILD_TYPE:-RelWithDebInfo}" \
  ${CADENZA_CMAKE_ARGS:-} >/dev/null
ninja -C "$build_dir" -j "$jobs" "$@"
