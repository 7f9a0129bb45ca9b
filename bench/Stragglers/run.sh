#!/usr/bin/env bash
# Stragglers (issue 14): one in-process worker slowed by a fault plan, and each remedy against the barrier, run one
# after another and interleaved (every mode once per round, the order reversed every other round). Prints img/s,
# the median step, test accuracy after each epoch and the samples each mode applied or skipped (analyze.py).
# Figures, not asserts: bench/README.md records them with the machine and its load.
#
#   bench/Stragglers/run.sh [--slow 2,4] [--modes sync,speculate,backup,s1,s4] [--rounds 1] [--out DIR] [-- <train options>]
# Defaults: ResNet-20, 3 workers × 1 thread, worker-1 slowed, the first 12,800 training images for 2 epochs (200
# steps of 128), 2,000 test images, no augmentation, one warmup epoch and no label smoothing (the recipe its figures in
# bench/README.md were measured with, before runs of up to 4 epochs defaulted to a shorter warmup and ε = 0.1).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SLOW=2,4 MODES=sync,speculate,backup,s1,s4 ROUNDS=1
OUT=$ROOT/runs/stragglers-$(date +%Y%m%d-%H%M%S)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --slow) SLOW=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "error: unknown option '$1' (train options go after --)" >&2; exit 2 ;;
  esac
done
[[ $SLOW =~ ^[0-9]+(\.[0-9]+)?(,[0-9]+(\.[0-9]+)?)*$ ]] || { echo "error: --slow takes comma-separated factors, not '$SLOW'" >&2; exit 2; }
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "error: --rounds takes a positive integer, not '$ROUNDS'" >&2; exit 2; }
declare -A FLAGS=([sync]="--no-speculate" [speculate]="" [backup]="--no-speculate --backup-workers 1" [s1]="--staleness 1" [s4]="--staleness 4")
IFS=, read -ra MODE_LIST <<<"$MODES"
for mode in "${MODE_LIST[@]}"; do
  [[ -v FLAGS[$mode] ]] || { echo "error: unknown mode '$mode' (sync, speculate, backup, s1, s4)" >&2; exit 2; }
done
IFS=, read -ra SLOW_LIST <<<"$SLOW"
"$ROOT/scripts/setup.sh" >/dev/null
dotnet build -c Release "$ROOT/src/Cli" -v quiet -nologo >/dev/null
mkdir -p "$OUT"
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; extra options: ${*:-(none)}" | tee "$OUT/machine.txt"
for round in $(seq 1 "$ROUNDS"); do
  order=("${MODE_LIST[@]}")
  if (( round % 2 == 0 )); then mapfile -t order < <(printf '%s\n' "${MODE_LIST[@]}" | tac); fi
  for slow in "${SLOW_LIST[@]}"; do
    for mode in "${order[@]}"; do
      run=$OUT/slow${slow}x-$mode-r$round
      before=$(cut -d' ' -f1 /proc/loadavg)
      # shellcheck disable=SC2086 # FLAGS holds several options
      dotnet "$ROOT/src/Cli/bin/Release/net10.0/distributed.dll" train --workers 3 --threads-per-worker 1 \
        --fault "worker-1:slow=${slow}x" --train-limit 12800 --epochs 2 --test-limit 2000 --augment off \
        --warmup-epochs 1 --label-smoothing 0 \
        --no-dashboard --checkpoint-minutes 0 ${FLAGS[$mode]} --output "$run" "$@" >"$run.log" 2>&1 \
        || { echo "error: $run failed; see $run.log" >&2; exit 1; }
      echo "round $round, ${slow}x, $mode: load $before -> $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$OUT/machine.txt"
    done
  done
done
python3 "$ROOT/bench/Stragglers/analyze.py" "$OUT"
