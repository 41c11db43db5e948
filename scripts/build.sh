#!/usr/bin/env bash
# Configures and builds Cadenza into build/ (or $CADENZA_BUILD_DIR).
# Usage: scripts/build.sh [TARGET...]   (no target: everything, including tests and benchmarks)
# Extra CMake arguments: CADENZA_CMAKE_ARGS="-DCADENZA_SANITIZE=ON ...".
# Another libtorch (e.g. a PyTorch 2.x with CUDA): CADENZA_TORCH_PREFIX=DIR, its CMake prefix, as printed by
#   python3 -c 'import torch; print(torch.utils.cmake_prefix_path)'
# (use a separate CADENZA_BUILD_DIR; scripts/gpu_check.sh does both).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${CADENZA_BUILD_DIR:-$root/build}
jobs=${CADENZA_JOBS:-$(nproc)}
torch_args=()
if [ -n "${CADENZA_TORCH_PREFIX:-}" ]; then torch_args=(-DCMAKE_PREFIX_PATH="$CADENZA_TORCH_PREFIX"); fi
# shellcheck disable=SC2086
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${CADENZA_BUILD_TYPE:-RelWithDebInfo}" \
  "${torch_args[@]}" ${CADENZA_CMAKE_ARGS:-} >/dev/null
ninja -C "$build_dir" -j "$jobs" "$@"
