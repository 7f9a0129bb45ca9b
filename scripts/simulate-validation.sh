#!/usr/bin/env bash
# Checks `distributed simulate` against a real loopback cluster: for each N, a coordinator (`train --cluster`) and N
# `distributed-worker` processes train ResNet-8 for a few steps with --timeline; then simulate-validation.py reads
# the measured step time, compute per sample, server time and transfer time, measures the loopback link, runs the
# simulator with those figures and prints both side by side. Results: docs/scale.md.
# Usage: scripts/simulate-validation.sh [N ...]   (default 2 4 8); STEPS, BATCH, PORT, OUT override.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${STEPS:-40}
BATCH=${BATCH:-128}
PORT=${PORT:-4753}
OUT=${OUT:-runs/simulate-validation}
C=${CLI_DIR:-src/Cli/bin/Release/net10.0}
W=${WORKER_DIR:-src/Worker/bin/Release/net10.0}
counts=("${@:-2 4 8}")
mkdir -p "$OUT"
workers=()
cleanup() { for pid in "${workers[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

for n in ${counts[*]}; do
  dir="$OUT/n$n"
  rm -rf "$dir"
  echo "N=$n: coordinator and $n workers, $STEPS steps of batch $BATCH" >&2
  dotnet "$C/distributed.dll" train --cluster --port "$PORT" --min-workers "$n" --depth 8 --max-steps "$STEPS" --batch-size "$BATCH" \
    --epochs 1 --test-limit 256 --timeline --checkpoint-minutes 0 --output "$dir" > "$OUT/n$n.coordinator.log" 2>&1 &
  coordinator=$!
  workers=()
  for i in $(seq "$n"); do
    dotnet "$W/distributed-worker.dll" --threads 1 --seed-nodes "127.0.0.1:$PORT" > "$OUT/n$n.worker$i.log" 2>&1 &
    workers+=($!)
  done
  wait "$coordinator"
  cleanup
  wait 2>/dev/null || true
done
[ -n "${SKIP_SIMULATION:-}" ] || python3 scripts/simulate-validation.py "$OUT" ${counts[*]}
