#!/usr/bin/env bash
# The CUDA check of issue 15, sized for a 10-minute slot on one machine with an NVIDIA GPU and a PyTorch 2.x with
# CUDA: builds Cadenza against that PyTorch (in build-cuda/), runs the tests labelled `gpu` (each runs on the CPU
# and on CUDA), then a short training (fp32 and bf16), evaluation and generation on CUDA, and checks that the
# checkpoint trained on the GPU scores the same on the CPU.
#
# NOT RUN YET: no GPU machine has been available to this project, so this script has only been checked for syntax
# and its CPU fallbacks. Expect to fix things on its first run, and write down what you had to change.
#
# Needs: the packages of scripts/setup.sh, an NVIDIA driver (nvidia-smi), a CUDA toolkit that PyTorch's CMake config
# accepts, and a PyTorch whose C++ ABI matches Debian's libraries (_GLIBCXX_USE_CXX11_ABI=1: pip wheels from 2.7 on,
# or a "cxx11 ABI" libtorch download).
# Usage: scripts/gpu_check.sh [TORCH_CMAKE_PREFIX] [DATA_DIR=../shared/data/nottingham/MIDI]
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
prefix=${1:-$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')}
data=${2:-../shared/data/nottingham/MIDI}
build=${CADENZA_BUILD_DIR:-build-cuda}
work=$build/gpu-check
start=$(date +%s)
step() { echo "== [$(($(date +%s) - start)) s] $*"; }

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
if abi=$("$python" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null) && [ "$abi" != 1 ]; then
  echo "gpu_check: this PyTorch was built with the pre-C++11 ABI (_GLIBCXX_USE_CXX11_ABI=0); Debian's libraries" \
    "(gtest, libcurl's C++ users, ...) use the C++11 ABI. Use PyTorch >= 2.7 or a cxx11-ABI libtorch." >&2
  exit 1
fi

step "build against $prefix"
CADENZA_BUILD_DIR=$build CADENZA_TORCH_PREFIX=$prefix bash scripts/build.sh cadenza cadenza-engine \
  test_gpu_devices test_models_torch_compat

step "tests labelled gpu (CPU and CUDA instances)"
(cd "$build" && ctest -L gpu --output-on-failure)
(cd "$build" && ./tests/test_models_torch_compat)

step "a short training on CUDA, fp32 and bf16"
mkdir -p "$work"
cadenza=$build/cadenza
"$cadenza" dataset prepare --input "$data" --no-recursive --encoding melody --set structure=true \
  --track-index 0 --out "$work/tunes.cdz" > /dev/null
for precision in fp32 bf16; do
  "$cadenza" train --model transformer --preset small --data "$work/tunes.cdz" --out "$work/run-$precision" \
    --device cuda --precision "$precision" --time-budget 90s --seed 1 --overwrite
done
"$cadenza" train --model transformer --preset small --data "$work/tunes.cdz" --out "$work/run-cpu" --device cpu \
  --time-budget 90s --seed 1 --overwrite

step "the GPU checkpoint scores the same on CUDA and on the CPU"
for device in cuda cpu; do
  "$cadenza" evaluate --checkpoint "$work/run-fp32" --data "$work/tunes.cdz" --device "$device" --no-baseline \
    --json > "$work/eval-$device.json"
done
"$python" - "$work" <<'PY'
import json, sys
work = sys.argv[1]
cuda, cpu = (json.load(open(f"{work}/eval-{d}.json"))["model"]["nll"] for d in ("cuda", "cpu"))
print(f"test NLL on cuda {cuda:.6f}, on cpu {cpu:.6f}")
sys.exit(0 if abs(cuda - cpu) < 1e-3 * max(1.0, abs(cpu)) else 1)
PY

step "generation on CUDA and on the CPU (batch 1 and 16): seconds each"
for device in cuda cpu; do
  for count in 1 16; do
    /usr/bin/time -f "generate --device $device -n $count: %e s" "$cadenza" generate --checkpoint "$work/run-fp32" \
      --out "$work/samples-$device-$count" -n "$count" --bars 16 --seed 1 --device "$device" > /dev/null
  done
done

step "throughput (training tokens per second, from the runs' metrics)"
for run in run-fp32 run-bf16 run-cpu; do
  "$python" -c "import json,sys; lines=[json.loads(l) for l in open('$work/$run/metrics.jsonl')]; \
t=[l for l in lines if l.get('kind')=='train' and 'elements_per_second' in l]; \
print('$run', round(sum(l['elements_per_second'] for l in t[-5:])/max(1,len(t[-5:]))), 'elements/s')" || true
done
step "done"
