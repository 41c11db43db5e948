#!/usr/bin/env bash
# Runs the model benchmarks in C++ (bench/bench_models.cpp) and in PyTorch (bench/bench_models_pytorch.py) one
# after the other, with the same thread settings, and prints one table: tokens per second of each family in both
# languages and their ratio, for training and for generation, and the real-time factor of generation.
# Builds nothing: build bench_models first (ninja -C BUILD_DIR bench_models).
#
#   OPENBLAS_NUM_THREADS=2 bench/compare_models.sh [--build-dir DIR] [--min-time SECONDS] [--rounds N]
#
# BUILD_DIR defaults to ./build under the repository root. OpenBLAS threads come from the environment
# (OPENBLAS_NUM_THREADS) in both runs; ATen threads are 1 in both (each program sets it). The machine's load
# (uptime) is printed before and after, since other work on the machine skews every figure. On a shared machine
# use --rounds N: the two programs then run alternately N times and each cell shows the best of its N figures
# (other work only ever slows a run down, so the fastest is the least disturbed one).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$repo_root/build
min_time=1
rounds=1
python=/usr/bin/python3  # Debian's python: the one with torch

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case $1 in
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    --min-time) min_time=${2:?--min-time needs seconds}; shift 2 ;;
    --rounds) rounds=${2:?--rounds needs a count}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "compare_models.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

if ! [[ $rounds =~ ^[1-9][0-9]*$ ]]; then
  echo "compare_models.sh: --rounds must be a positive integer, not '$rounds'" >&2
  exit 2
fi

bench_binary=$build_dir/bench/bench_models
if [[ ! -x $bench_binary ]]; then
  echo "compare_models.sh: $bench_binary not found; build it first: ninja -C $build_dir bench_models" >&2
  exit 1
fi
if [[ ! -x $python ]] || ! "$python" -c 'import torch' 2>/dev/null; then
  echo "compare_models.sh: $python cannot import torch (install python3-torch)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

load_before=$(uptime)
echo "OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS-(unset)}, min time ${min_time}s per benchmark, $rounds round(s)" >&2
for ((round = 1; round <= rounds; round++)); do
  echo "round $round: $bench_binary ..." >&2
  "$bench_binary" --benchmark_min_time="$min_time" --benchmark_format=json >"$work/cpp.$round.json"
  echo "round $round: bench/bench_models_pytorch.py ..." >&2
  "$python" "$repo_root/bench/bench_models_pytorch.py" --min-time "$min_time" --json "$work/python.$round.json" \
    >"$work/python.$round.txt"
done
load_after=$(uptime)

"$python" - "$work" "$rounds" "$load_before" "$load_after" <<'EOF'
import json
import os
import sys

work, rounds, load_before, load_after = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


def load(name):
    with open(os.path.join(work, name)) as f:
        return json.load(f)


cpp_rounds = [load(f"cpp.{r}.json") for r in range(1, rounds + 1)]
python_rounds = [load(f"python.{r}.json") for r in range(1, rounds + 1)]
cpp, python = cpp_rounds[0], python_rounds[0]  # context and families

# The fastest round of each benchmark. "BM_TrainStep/lstm/real_time" -> ("BM_TrainStep", "lstm")
cpp_results = {}
for rounds_cpp in cpp_rounds:
    for run in rounds_cpp["benchmarks"]:
        if run.get("error_occurred"):
            continue
        key = tuple(run["name"].split("/")[:2])
        if key not in cpp_results or run["tokens_per_s"] > cpp_results[key]["tokens_per_s"]:
            cpp_results[key] = run
for section in ("train", "generate"):
    for i, result in enumerate(python[section]):
        python[section][i] = max((r[section][i] for r in python_rounds), key=lambda r: r["tokens_per_s"])


def cpp_value(kind, family, counter):
    run = cpp_results.get((kind, family))
    if run is None or run.get("error_occurred"):
        return None
    return run.get(counter)


def fmt(value, spec):
    return "n/a" if value is None else format(value, spec)


def ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


context = cpp["context"]
print(f"threads: OpenBLAS C++ {context.get('openblas_threads')} / Python {python['context']['openblas_threads']} "
      f"(OPENBLAS_NUM_THREADS={python['context']['OPENBLAS_NUM_THREADS']}), "
      f"ATen C++ {context.get('aten_threads')} / Python {python['context']['aten_threads']}; "
      f"torch {python['context']['torch_version']}")
print(f"load before: {load_before.strip()}")
print(f"load after:  {load_after.strip()}")
if rounds > 1:
    print(f"each figure: the fastest of {rounds} alternating rounds")

print("\ntraining step (batch 32 x 256 tokens; forward, loss, backward, clip, AdamW)")
print(f"{'family':<12}{'params':>10}{'C++ tok/s':>12}{'Py tok/s':>12}{'C++/Py':>9}")
for result in python["train"]:
    family = result["family"]
    tokens = cpp_value("BM_TrainStep", family, "tokens_per_s")
    params = cpp_value("BM_TrainStep", family, "parameters")
    if params is not None and int(params) != result["parameters"]:
        print(f"warning: {family}: C++ has {int(params)} parameters, Python {result['parameters']}")
    print(f"{family:<12}{fmt(params, '>10.0f')}{fmt(tokens, '>12.0f')}{result['tokens_per_s']:>12.0f}"
          f"{ratio(tokens, result['tokens_per_s']):>9}")

print("\ngeneration (batch 1, after a 256-token prefix; real-time factor at 0.125 s of music per token)")
print(f"{'family':<12}{'C++ tok/s':>11}{'Py tok/s':>10}{'C++/Py':>9}{'C++ ms/tok':>12}{'Py ms/tok':>11}"
      f"{'C++ x rt':>10}{'Py x rt':>9}  Python method")
for result in python["generate"]:
    family = result["family"]
    tokens = cpp_value("BM_GenerateToken", family, "tokens_per_s")
    seconds = cpp_value("BM_GenerateToken", family, "s_per_token")
    realtime = cpp_value("BM_GenerateToken", family, "realtime_factor")
    print(f"{family:<12}{fmt(tokens, '>11.0f')}{result['tokens_per_s']:>10.0f}"
          f"{ratio(tokens, result['tokens_per_s']):>9}{fmt(None if seconds is None else seconds * 1e3, '>12.3f')}"
          f"{result['s_per_token'] * 1e3:>11.3f}{fmt(realtime, '>10.1f')}{result['realtime_factor']:>9.1f}  "
          f"{result['method']}")
print("C++ generation: step() with its KV cache (transformer) or recurrent state, 512 tokens per iteration.")
EOF
