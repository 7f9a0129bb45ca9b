#!/usr/bin/env bash
# Wall time to a good model (issue 15): trains one configuration for several seeds with `distributed train`, one
# run after another, and prints per seed the test accuracy after each epoch, the wall time (from the process's
# start, so startup and evaluation count) to 92 % and to 93.5 %, and the steady img/s of each epoch.
# Figures, not asserts: bench/README.md records them with the machine and its load.
#
#   bench/TimeToAccuracy/run.sh [--seeds 1,2,3] [--out DIR] [-- <train options>]
#   e.g. bench/TimeToAccuracy/run.sh --seeds 1,2,3 -- --precision bf16 --epochs 8
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SEEDS=1,2,3
OUT=$ROOT/runs/time-to-accuracy-$(date +%Y%m%d-%H%M%S)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seeds) SEEDS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "error: unknown option '$1' (train options go after --)" >&2; exit 2 ;;
  esac
done
[[ $SEEDS =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "error: --seeds takes comma-separated integers, not '$SEEDS'" >&2; exit 2; }
for option in "$@"; do
  case "$option" in
    --seed|--output|--resume) echo "error: $option is set by this bench (one run per seed, each in its own directory)" >&2; exit 2 ;;
  esac
done
"$ROOT/scripts/setup.sh" >/dev/null
dotnet build -c Release "$ROOT/src/Cli" -v quiet -nologo >/dev/null
mkdir -p "$OUT"
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; options: ${*:-(defaults)}" | tee -a "$OUT/machine.txt"
IFS=, read -ra SEED_LIST <<<"$SEEDS"
for seed in "${SEED_LIST[@]}"; do
  run=$OUT/seed-$seed
  date -u +%Y-%m-%dT%H:%M:%S.%N+00:00 >"$OUT/seed-$seed.started"
  echo "seed $seed: load before $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt"
  dotnet "$ROOT/src/Cli/bin/Release/net10.0/distributed.dll" train --seed "$seed" --output "$run" --no-dashboard \
    --checkpoint-minutes 0 "$@" >"$run.log" 2>&1 || { echo "error: seed $seed failed; see $run.log" >&2; exit 1; }
  date -u +%Y-%m-%dT%H:%M:%S.%N+00:00 >"$OUT/seed-$seed.ended"
  echo "seed $seed: load after $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt"
done
python3 "$ROOT/bench/TimeToAccuracy/analyze.py" "$OUT"
