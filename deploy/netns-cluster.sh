#!/usr/bin/env bash
# A real multi-host Distributed cluster on one Linux machine: one network namespace per node, each with its own
# IP on a private bridge (itself inside a namespace of its own, so the host's network is never touched), one
# process per namespace. Without root (or without `ip netns`), the same cluster runs on loopback ports instead.
#
#   deploy/netns-cluster.sh run [--workers N] [-- TRAIN OPTIONS]   up, start coordinator + N workers, wait, down
#   deploy/netns-cluster.sh up [--workers N]                       only create the namespaces and the bridge
#   deploy/netns-cluster.sh cut NODE | heal NODE                   unplug / replug a node (coord, w1, w2, ...)
#   deploy/netns-cluster.sh down                                   remove every namespace of this prefix
#
# Options (before the command's own): --prefix P (namespace prefix, default dst), --subnet A.B.C (default
# 10.77.0: the coordinator is A.B.C.1, worker i is A.B.C.(10+i)), --configuration Release|Debug (which build
# outputs to run, default Release, built if missing), --logs DIR (default runs/netns-<time>). Only addresses inside the namespaces
# this script creates are ever used. Traffic never leaves the machine.
set -euo pipefail

PREFIX=dst
SUBNET=10.77.0
WORKERS=2
PORT=4053
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONFIGURATION=Release
LOGS=""

usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --prefix) PREFIX=$2; shift 2 ;;
    --subnet) SUBNET=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --configuration) CONFIGURATION=$2; shift 2 ;;
    --logs) LOGS=$2; shift 2 ;;
    -h|--help) usage ;;
    *) break ;;
  esac
done
[[ $# -ge 1 ]] || usage
COMMAND=$1; shift
while [[ $# -gt 0 && $1 != "--" ]]; do
  case "$1" in
    --workers) WORKERS=$2; shift 2 ;;
    *) NODE_ARG=$1; shift ;;
  esac
done
[[ ${1:-} == "--" ]] && shift
TRAIN_OPTIONS=("$@")

[[ $SUBNET =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "error: --subnet '$SUBNET' is not A.B.C" >&2; exit 2; }
[[ $WORKERS =~ ^[0-9]+$ && $WORKERS -ge 1 && $WORKERS -le 200 ]] || { echo "error: --workers '$WORKERS' must be 1..200" >&2; exit 2; }
SWITCH="$PREFIX-sw"

node_names() { echo coord; for ((i = 1; i <= WORKERS; i++)); do echo "w$i"; done; }
node_ip() { if [[ $1 == coord ]]; then echo "$SUBNET.1"; else echo "$SUBNET.$((10 + ${1#w}))"; fi; }

can_use_netns() {
  [[ $(id -u) -eq 0 ]] && command -v ip >/dev/null || return 1
  local probe="$PREFIX-probe-$$"
  ip netns add "$probe" 2>/dev/null || return 1
  ip netns del "$probe"
}

up() {
  down quiet
  ip netns add "$SWITCH"
  ip -n "$SWITCH" link add br0 type bridge
  ip -n "$SWITCH" link set br0 up
  for node in $(node_names); do
    local ns="$PREFIX-$node"
    ip netns add "$ns"
    # One cable per node: eth0 inside the node, port p-NODE on the switch's bridge.
    ip -n "$SWITCH" link add "p-$node" type veth peer name eth0 netns "$ns"
    ip -n "$SWITCH" link set "p-$node" master br0 up
    ip -n "$ns" addr add "$(node_ip "$node")/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
  done
  echo "namespaces up: $(node_names | sed "s/^/$PREFIX-/" | tr '\n' ' ')on $SUBNET.0/24"
}

down() {
  local quiet=${1:-}
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$PREFIX-(sw|coord|w[0-9]+)$" || true); do
    ip netns del "$ns"
  done
  [[ -n $quiet ]] || echo "namespaces of prefix $PREFIX removed"
}

link() {
  local node=${NODE_ARG:?"name the node: coord, w1, w2, ..."} state=$1
  ip -n "$SWITCH" link set "p-$node" "$state"
  echo "$PREFIX-$node link $state"
}

executables() {
  # Each executable runs from its own project's output: their dependency sets differ.
  COORDINATOR_DLL="$ROOT/src/Cli/bin/$CONFIGURATION/net10.0/distributed.dll"
  WORKER_DLL="$ROOT/src/Worker/bin/$CONFIGURATION/net10.0/distributed-worker.dll"
  if [[ ! -f $COORDINATOR_DLL || ! -f $WORKER_DLL ]]; then
    dotnet build "$ROOT/src/Cli/Distributed.Cli.csproj" -c "$CONFIGURATION" -v q -nologo
  fi
}

PIDS=()
NAMESPACES_UP=0

# Every process this script started ends, and its namespaces go, however the script ends.
cleanup() {
  trap - EXIT INT TERM
  if [[ ${#PIDS[@]} -gt 0 ]]; then
    kill "${PIDS[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
  fi
  [[ $NAMESPACES_UP -eq 0 ]] || down
}

run() {
  executables
  LOGS=${LOGS:-$ROOT/runs/netns-$(date +%Y%m%d-%H%M%S)}
  mkdir -p "$LOGS"
  [[ ${#TRAIN_OPTIONS[@]} -gt 0 ]] || TRAIN_OPTIONS=(--depth 20 --epochs 1 --output "$LOGS/run")
  local coord_host worker_host insecure=()
  trap cleanup EXIT INT TERM
  if can_use_netns; then
    up
    NAMESPACES_UP=1
    coord_host=$(node_ip coord)
    # Nodes refuse a non-loopback address without TLS unless told so. This bridge lives in a namespace of its own
    # and nothing outside this machine can reach it, so clear text is acceptable here (each node still warns);
    # with DISTRIBUTED_CLUSTER__TLS__* set in the environment the nodes use TLS and the flag changes nothing.
    insecure=(--insecure)
    exec_in() { exec ip netns exec "$PREFIX-$1" "${@:2}"; }
  else
    echo "note: not root or no 'ip netns' here: running the same cluster on loopback ports instead"
    coord_host=127.0.0.1
    exec_in() { exec "${@:2}"; }
  fi
  exec_in coord dotnet "$COORDINATOR_DLL" train --cluster "${insecure[@]}" --hostname "$coord_host" --port "$PORT" \
    --min-workers "$WORKERS" "${TRAIN_OPTIONS[@]}" >"$LOGS/coord.log" 2>&1 &
  local coordinator=$!
  PIDS+=("$coordinator")
  local threads=$(( $(nproc) / WORKERS )); [[ $threads -ge 1 ]] || threads=1
  for ((i = 1; i <= WORKERS; i++)); do
    worker_host=$coord_host; [[ $coord_host == 127.0.0.1 ]] || worker_host=$(node_ip "w$i")
    exec_in "w$i" dotnet "$WORKER_DLL" "${insecure[@]}" --hostname "$worker_host" --seed-nodes "$coord_host:$PORT" --threads "$threads" \
      >"$LOGS/w$i.log" 2>&1 &
    PIDS+=("$!")
  done
  echo "coordinator on $coord_host:$PORT, $WORKERS workers; logs in $LOGS (tail -f $LOGS/coord.log)"
  local code=0
  wait "$coordinator" || code=$?
  cat "$LOGS/coord.log" | tail -n 25
  return $code
}

case "$COMMAND" in
  up) can_use_netns || { echo "error: needs root and 'ip netns'" >&2; exit 1; }; up ;;
  down) down ;;
  cut) link down ;;
  heal) link up ;;
  run) run ;;
  *) usage ;;
esac
