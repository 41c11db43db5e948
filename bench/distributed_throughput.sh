#!/usr/bin/env bash
# Training throughput of one process with T threads against T processes with one thread each (data parallel over
# Gloo on loopback, docs/distributed.md), for each family and preset, on one shard. Each configuration trains
# STEPS steps (no validation) and the throughput is the mean of metrics.jsonl's elements_per_second after the first
# log interval (which pays the one-off start-up costs).
#
#   bash bench/distributed_throughput.sh SHARD [FAMILIES] [PRESETS] [PROCESSES] [STEPS]
#   bash bench/distributed_throughput.sh melodies.cdz "lstm transformer" "small base" 2 40
set -euo pipefail
shard=${1:?usage: distributed_throughput.sh SHARD [FAMILIES] [PRESETS] [PROCESSES] [STEPS]}
families=${2:-"lstm transformer"}
presets=${3:-"small base"}
processes=${4:-2}
steps=${5:-40}
cadenza=${CADENZA:-build/cadenza}
work=$(mktemp -d)

# Every cadenza this script starts runs in the background and is waited for by pid, so that a signal (a timeout's
# SIGTERM, Ctrl-C) reaches the trap at once rather than after the current run; the trap then kills the runs still
# going (by their pids) before removing the work folder.
children=()
cleanup() {
  trap - EXIT INT TERM HUP
  local pid
  for pid in "${children[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in "${children[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP

# Waits for the children started so far; forgets them once they have ended.
wait_children() {
  local pid
  for pid in "${children[@]}"; do
    wait "$pid" || true
  done
  children=()
}

mean_rate() {  # the mean elements_per_second of the train records after the first
  python3 -c '
import json, sys
rates = [r["elements_per_second"] for r in map(json.loads, open(sys.argv[1])) if r.get("kind") == "train"][1:]
print(f"{sum(rates) / len(rates):.0f}" if rates else "nan")' "$1"
}

common() {
  echo "--model $1 --preset $2 --data $shard --steps $steps --set eval_every=100000 --set log_every=5 --set checkpoint_every=100000"
}

printf '%-12s %-6s %18s %18s %8s\n' family preset "1 proc x $processes thr" "$processes proc x 1 thr" ratio
for family in $families; do
  for preset in $presets; do
    # shellcheck disable=SC2046
    "$cadenza" train $(common "$family" "$preset") --out "$work/one-$family-$preset" --threads "$processes" \
      >/dev/null 2>&1 &
    children+=($!)
    wait_children
    port=$((29600 + RANDOM % 1000))
    for ((r = 0; r < processes; r++)); do
      # shellcheck disable=SC2046
      RANK=$r WORLD_SIZE=$processes LOCAL_RANK=$r LOCAL_WORLD_SIZE=$processes MASTER_ADDR=127.0.0.1 \
        MASTER_PORT=$port "$cadenza" train $(common "$family" "$preset") --out "$work/many-$family-$preset" \
        --threads 1 >/dev/null 2>&1 &
      children+=($!)
    done
    wait_children
    one=$(mean_rate "$work/one-$family-$preset/metrics.jsonl")
    many=$(mean_rate "$work/many-$family-$preset/metrics.jsonl")
    ratio=$(python3 -c "print(f'{$many / $one:.2f}')" 2>/dev/null || echo nan)
    printf '%-12s %-6s %18s %18s %8s\n' "$family" "$preset" "$one" "$many" "$ratio"
  done
done
echo "(elements = training tokens or frames per second; ratio = $processes processes / 1 process)"
