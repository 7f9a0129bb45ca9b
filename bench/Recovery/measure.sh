#!/usr/bin/env bash
# How long a cluster takes to notice a lost worker and to be back at full speed, for a SIGKILLed worker process and
# for a worker whose cable is pulled. Real processes in network namespaces (deploy/netns-cluster.sh): a coordinator
# and 3 workers; at step KILL_AT the last worker is killed (or cut off), and the run goes on with the other two.
# Figures, not asserts: analyze.py prints them from the run's metrics.jsonl (bench/README.md records them).
#
#   sudo bench/Recovery/measure.sh [kill|cut] [--steps 300] [--kill-at 100] [--depth 8]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FAULT=${1:-kill}; shift || true
STEPS=300 KILL_AT=100 DEPTH=8
while [[ $# -gt 0 ]]; do
  case "$1" in
    --steps) STEPS=$2; shift 2 ;;
    --kill-at) KILL_AT=$2; shift 2 ;;
    --depth) DEPTH=$2; shift 2 ;;
    *) echo "error: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[[ $FAULT == kill || $FAULT == cut ]] || { echo "error: the fault is 'kill' or 'cut', not '$FAULT'" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "error: needs root (network namespaces)" >&2; exit 1; }
PREFIX=rec SUBNET=10.78.0
LOGS=$ROOT/runs/recovery-$FAULT-$(date +%Y%m%d-%H%M%S)
mkdir -p "$LOGS"
"$ROOT/deploy/netns-cluster.sh" --prefix $PREFIX --subnet $SUBNET --workers 3 --logs "$LOGS" run -- \
  --depth "$DEPTH" --max-steps "$STEPS" --output "$LOGS/run" >"$LOGS/script.log" 2>&1 &
RUNNER=$!
METRICS=$LOGS/run/metrics.jsonl
until [[ -f $METRICS ]] && [[ $(grep -c '"type":"step"' "$METRICS") -ge $KILL_AT ]]; do
  kill -0 $RUNNER 2>/dev/null || { echo "error: the run ended before step $KILL_AT; see $LOGS" >&2; exit 1; }
  sleep 0.2
done
if [[ $FAULT == kill ]]; then
  kill -KILL $(ip netns pids $PREFIX-w3)
else
  ip -n $PREFIX-sw link set p-w3 down
fi
date -u +%Y-%m-%dT%H:%M:%S.%N+00:00 >"$LOGS/fault-at"
echo "$FAULT of w3 at step $KILL_AT ($(cat "$LOGS/fault-at")); load: $(cut -d' ' -f1-3 /proc/loadavg)"
wait $RUNNER || { echo "error: the run failed; see $LOGS" >&2; exit 1; }
python3 "$ROOT/bench/Recovery/analyze.py" "$METRICS" "$(cat "$LOGS/fault-at")" | tee "$LOGS/recovery.txt"
