#!/usr/bin/env bash
# Scale (issue 13): real processes on this machine, N workers × K parameter servers, and the simulator beside them.
# For each N (workers) and each server layout it starts one coordinator (`distributed train --cluster`), N
# `distributed-worker --threads 1` processes and, for server nodes, K `distributed-worker --role server` processes on
# loopback, trains ResNet-8 for WARMUP + STEPS steps, and keeps per run: metrics.jsonl (step times), timeline.json
# (each shard's compute and transfer), the coordinator node's /metrics scraped twice a second (its tensor byte
# counters against distributed_steps_total) and every node's tensor byte totals, printed when it stops.
# analyze.py then prints the table (measured, and `distributed simulate` with the same N, K, model and batch) and
# writes scale.csv and scale.png. Figures, not asserts: bench/README.md and docs/scale.md record them.
#
#   bench/Scale/run.sh [--workers 2,4,8] [--servers 1,4c,2n,4n] [--steps 30] [--warmup 5] [--out DIR] [-- <train options>]
# Servers: K alone or Kc = K range servers on the coordinator's node (`--ps-shards K`); Kn = K server nodes
# (`--ps-shards K --server-nodes K`, K processes with --role server). Defaults: batch 128, Fashion-MNIST (first
# 12,800 training images, 256 test images), no augmentation, no gradient-health probes, --no-speculate (equal
# workers, as the simulator has them).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORKERS=2,4,8 SERVERS=1,4c,2n,4n STEPS=30 WARMUP=5 BATCH=128
OUT=$ROOT/runs/scale-$(date +%Y%m%d-%H%M%S)
PORT=${PORT:-4853}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --workers) WORKERS=$2; shift 2 ;;
    --servers) SERVERS=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "error: unknown option '$1' (train options go after --)" >&2; exit 2 ;;
  esac
done
[[ $WORKERS =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "error: --workers takes comma-separated counts, e.g. 2,4,8, not '$WORKERS'" >&2; exit 2; }
[[ $SERVERS =~ ^[1-9][0-9]*[cn]?(,[1-9][0-9]*[cn]?)*$ ]] || { echo "error: --servers takes K, Kc (on the coordinator's node) or Kn (server nodes), comma-separated, e.g. 1,4c,2n,4n, not '$SERVERS'" >&2; exit 2; }
[[ $STEPS =~ ^[1-9][0-9]*$ ]] || { echo "error: --steps takes a positive integer, not '$STEPS'" >&2; exit 2; }
[[ $WARMUP =~ ^[0-9]+$ ]] || { echo "error: --warmup takes a non-negative integer, not '$WARMUP'" >&2; exit 2; }
IFS=, read -ra WORKER_LIST <<<"$WORKERS"
IFS=, read -ra SERVER_LIST <<<"$SERVERS"
for s in "${SERVER_LIST[@]}"; do
  if [[ $s == *n ]]; then k=${s%n}; else k=${s%c}; fi
  (( k <= 64 )) || { echo "error: --servers '$s': at most 64 parameter servers" >&2; exit 2; }
done
# python3-matplotlib draws scale.png; Debian's python has it, a pyenv python may not.
"$ROOT/scripts/setup.sh" python3-matplotlib >/dev/null
PYTHON=python3
[[ -x /usr/bin/python3 ]] && PYTHON=/usr/bin/python3
dotnet build -c Release "$ROOT/src/Cli" -v quiet -nologo >/dev/null
dotnet build -c Release "$ROOT/src/Worker" -v quiet -nologo >/dev/null
C=$ROOT/src/Cli/bin/Release/net10.0/distributed.dll
W=$ROOT/src/Worker/bin/Release/net10.0/distributed-worker.dll
mkdir -p "$OUT"
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB; warm-up $WARMUP + $STEPS timed steps; extra options: ${*:-(none)}" | tee "$OUT/machine.txt"
echo "batch=$BATCH warmup=$WARMUP steps=$STEPS" >"$OUT/settings.txt"

nodes=()
stop_nodes() {
  # SIGTERM: each node prints its tensor channel's totals as it stops (what analyze.py reads).
  for pid in "${nodes[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${nodes[@]}"; do wait "$pid" 2>/dev/null || true; done
  nodes=()
}
trap stop_nodes EXIT

for n in "${WORKER_LIST[@]}"; do
  for s in "${SERVER_LIST[@]}"; do
    k=${s%[cn]}
    server_nodes=0
    [[ $s == *n ]] && server_nodes=$k
    run=$OUT/n$n-k$s
    mkdir -p "$run"
    before=$(cut -d' ' -f1 /proc/loadavg)
    start=$(date +%s)
    extra=(--ps-shards "$k")
    (( server_nodes > 0 )) && extra+=(--server-nodes "$server_nodes")
    dotnet "$C" train --cluster --port "$PORT" --min-workers "$n" --depth 8 --batch-size "$BATCH" --max-steps $((WARMUP + STEPS)) \
      --epochs 1 --train-limit 12800 --test-limit 256 --augment off --no-speculate --health-every 0 --timeline --checkpoint-minutes 0 \
      --dashboard-port 0 "${extra[@]}" --output "$run" "$@" >"$run/coordinator.log" 2>&1 &
    coordinator=$!
    for i in $(seq "$server_nodes"); do
      dotnet "$W" --role server --seed-nodes "127.0.0.1:$PORT" >"$run/server$i.log" 2>&1 &
      nodes+=($!)
    done
    for i in $(seq "$n"); do
      dotnet "$W" --threads 1 --seed-nodes "127.0.0.1:$PORT" >"$run/worker$i.log" 2>&1 &
      nodes+=($!)
    done
    # The coordinator node's counters, twice a second, from the moment its /metrics answers until it exits.
    (
      url=
      while kill -0 "$coordinator" 2>/dev/null; do
        [[ -n $url ]] || url=$(sed -n 's/^Dashboard: \(http[^ ]*\) .*/\1/p' "$run/coordinator.log" | head -1)
        if [[ -n $url ]]; then
          # A scrape that times out on a loaded machine is skipped, not the end of the scraping (set -e, pipefail).
          sample=$(curl -s --max-time 5 "${url}metrics" | grep -E '^distributed_(steps_total|tensor_(sent|received)_bytes_total)' | awk '{printf "%s %s ", $1, $2}') || sample=
          [[ -n $sample ]] && echo "$(date +%s.%N) $sample"
        fi
        sleep 0.5
      done
    ) >"$run/scrape.txt" &
    scraper=$!
    status=0
    wait "$coordinator" || status=$?
    wait "$scraper" 2>/dev/null || true
    stop_nodes
    echo "N=$n servers=$s: exit $status, $(( $(date +%s) - start )) s, load $before -> $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$OUT/machine.txt"
    (( status == 0 )) || { echo "error: $run failed (exit $status); see $run/coordinator.log" >&2; exit 1; }
  done
done
"$PYTHON" "$ROOT/bench/Scale/analyze.py" "$OUT"
