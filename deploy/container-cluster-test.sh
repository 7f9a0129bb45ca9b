#!/usr/bin/env bash
# The multi-container cluster, end to end, with the repository's docker-compose.yml: it builds the two images from
# a local Debian base, brings up a coordinator and 3 workers with mutual TLS, and checks that
#   - a worker with a certificate of another authority never becomes live;
#   - a worker `docker kill`ed mid-run loses its shards to the others and a worker scaled in takes shards, and the
#     run still applies every planned step exactly once;
#   - /metrics answers inside the cluster network, with the training and the runtime series;
#   - checkpoint.bin and metrics.jsonl land in the mounted directory;
#   - `docker-compose stop` makes the coordinator write its checkpoint (exit 143) and bringing the stack up again
#     with --resume finishes the run, every step once.
# It removes its containers and network however it ends. Scripts/test.sh runs it (see there for skipping).
#
#   deploy/container-cluster-test.sh            # exit 0: every check passed
#   DISTRIBUTED_SKIP_CONTAINERS=1 ...            # say so and succeed without a container engine
#
# No image registry is needed. The images use the Dockerfiles' `prebuilt` target on a base made with debootstrap,
# with the application published on the host: the host already has the NuGet packages (libtorch alone is ~1 GB),
# whereas the official build stage needs the SDK image and would restore them again inside the build. What it makes
# is cached under $DISTRIBUTED_CONTAINER_CACHE (default ~/.cache/distributed/containers): the base as a tarball,
# the published application keyed by a hash of the sources, and the images tagged with that hash, so a rerun with
# unchanged sources goes straight to the cluster.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "container-test: $*"; }
die() { echo "container-test: FAILED: $*" >&2; exit 1; }

if [ "${DISTRIBUTED_SKIP_CONTAINERS:-0}" = 1 ]; then
  say "SKIPPED: DISTRIBUTED_SKIP_CONTAINERS=1"
  exit 0
fi

cache=${DISTRIBUTED_CONTAINER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/distributed/containers}
mkdir -p "$cache"
started=$(date +%s)
elapsed() { echo $(( $(date +%s) - started ))s; }

# --- The engine -------------------------------------------------------------------------------------------------
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
need=()
command -v docker >/dev/null || need+=(docker.io)
command -v dockerd >/dev/null || docker info >/dev/null 2>&1 || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v openssl >/dev/null || need+=(openssl)
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  say "installing ${need[*]}"
  as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null || die "could not install ${need[*]} (needs root or sudo and the Debian archive)"
fi

if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || die "no container engine answers and only root can start dockerd here;
  start one (sudo dockerd &) or skip this test with DISTRIBUTED_SKIP_CONTAINERS=1"
  say "starting dockerd (log: $cache/dockerd.log)"
  # The default bridge and every network docker allocates stay in 10.x ranges of their own, clear of the host's.
  nohup dockerd --bip 10.200.0.1/24 --default-address-pool base=10.210.0.0/16,size=24 >"$cache/dockerd.log" 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -20 "$cache/dockerd.log" >&2; die "dockerd did not come up; see $cache/dockerd.log"; }
fi
compose_cmd=(docker-compose)
command -v docker-compose >/dev/null || compose_cmd=(docker compose)
# The legacy builder stops at --target: with BuildKit missing (docker CLI without buildx) it is also the only one.
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0

# --- The compose files parse ------------------------------------------------------------------------------------
(cd "$repo" && "${compose_cmd[@]}" -f docker-compose.yml config -q) || die "docker-compose.yml does not parse"
(cd "$repo" && "${compose_cmd[@]}" -f docker-compose.yml -f deploy/compose.observability.yml config -q) \
  || die "docker-compose.yml with deploy/compose.observability.yml does not parse"
(cd "$repo" && PS_SHARDS=2 SERVER_NODES=2 "${compose_cmd[@]}" -f docker-compose.yml -f deploy/compose.servers.yml config -q) \
  || die "docker-compose.yml with deploy/compose.servers.yml does not parse"
if ! command -v promtool >/dev/null; then
  say "installing promtool (Debian package prometheus)"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends prometheus >/dev/null \
    || die "could not install the prometheus package for promtool"
fi
promtool check config "$repo/deploy/prometheus.yml" >/dev/null || die "promtool rejects deploy/prometheus.yml"
say "compose files and deploy/prometheus.yml are valid ($(elapsed))"

# --- Base image: Debian 12 minbase -------------------------------------------------------------------------------
# The application is self-contained and libtorch brings its own OpenMP, so the base needs only what minbase lacks:
# OpenSSL for TLS.
base_packages=libssl3
base_key=$(echo "bookworm minbase $base_packages" | sha256sum | cut -c1-12)
base_image=distributed-base:bookworm-$base_key
if ! docker image inspect "$base_image" >/dev/null 2>&1; then
  tarball=$cache/base-$base_key.tar
  if [ ! -f "$tarball" ]; then
    say "making the base image with debootstrap (once; cached in $tarball)"
    rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
    debootstrap --variant=minbase --include="$base_packages" bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
      >"$cache/debootstrap.log" 2>&1 || { rm -rf "$rootfs"; die "debootstrap failed; see $cache/debootstrap.log"; }
    tar -C "$rootfs" -cf "$tarball.partial" . && mv "$tarball.partial" "$tarball"
    rm -rf "$rootfs"
  fi
  docker import "$tarball" "$base_image" >/dev/null
fi
say "base image $base_image ($(elapsed))"

# --- Published application, keyed by the sources -----------------------------------------------------------------
cd "$repo"
inputs=(global.json Directory.Build.props Directory.Build.targets Directory.Packages.props build src deploy/entrypoint.sh
        deploy/coordinator.Dockerfile deploy/worker.Dockerfile)
source_hash=$(find "${inputs[@]}" -type f -not -path '*/bin/*' -not -path '*/obj/*' -print0 | sort -z \
  | xargs -0 sha256sum | sha256sum | cut -c1-12)
project_of() { grep -l "<AssemblyName>$1</AssemblyName>" src/*/*.csproj | head -1; }
coordinator_project=$(project_of distributed)
worker_project=$(project_of distributed-worker)
[ -n "$coordinator_project" ] && [ -n "$worker_project" ] || die "no project builds the distributed / distributed-worker executables"
published=$cache/published/$source_hash
coordinator_image=distributed-coordinator:test-$source_hash
worker_image=distributed-worker:test-$source_hash

if ! docker image inspect "$coordinator_image" >/dev/null 2>&1 || ! docker image inspect "$worker_image" >/dev/null 2>&1; then
  if [ ! -f "$published/complete" ]; then
    say "publishing $coordinator_project and $worker_project self-contained for linux-x64 ($source_hash)"
    # From a copy of the sources: a RID-specific restore in the work tree would make the next plain build restore
    # and recompile everything. The copy keeps its bin/ and obj/ between runs and tar keeps the files' times, so
    # only projects whose sources changed compile again; files deleted from the sources go from the copy too.
    stage=$cache/stage
    rm -rf "$published"
    mkdir -p "$stage"
    find "$stage" -mindepth 1 \( -name bin -o -name obj \) -prune -o -type f -print0 | xargs -0 rm -f
    tar -c --exclude=bin --exclude=obj global.json Directory.Build.props Directory.Build.targets Directory.Packages.props build src \
      | tar -x -C "$stage"
    for app in coordinator worker; do
      project=$coordinator_project; [ $app = worker ] && project=$worker_project
      # The distributed executable references Training, which references the worker executable; with a runtime
      # identifier both the RID-less and the linux-x64 build of the worker offer their apphost and .json files. The
      # coordinator image never starts the worker, so which copy lands there does not matter.
      (cd "$stage" && dotnet publish "$project" -c Release -r linux-x64 --self-contained -p:ErrorOnDuplicatePublishOutputFiles=false \
        -o "$published/raw-$app" -nologo -v quiet) \
        || die "dotnet publish $project failed"
      # Native libraries (libtorch, the .NET runtime) in one layer, which only package updates change.
      mkdir -p "$published/$app/native" "$published/$app/managed"
      find "$published/raw-$app" -maxdepth 1 -type f -name '*.so*' -exec mv {} "$published/$app/native/" \;
      mv "$published/raw-$app"/* "$published/$app/managed/"
      rmdir "$published/raw-$app"
    done
    touch "$published/complete"
  fi
  for app in coordinator worker; do
    image=$coordinator_image; [ $app = worker ] && image=$worker_image
    context=$cache/context-$app
    rm -rf "$context"
    mkdir -p "$context/deploy"
    cp deploy/entrypoint.sh "$context/deploy/"
    cp -al "$published/$app" "$context/published" 2>/dev/null || cp -a "$published/$app" "$context/published"
    say "building $image"
    docker build -q -f "deploy/$app.Dockerfile" --target prebuilt --build-arg RUNTIME_IMAGE="$base_image" \
      --label distributed.source="$source_hash" -t "$image" "$context" >"$cache/build-$app.log" 2>&1 \
      || { cat "$cache/build-$app.log" >&2; die "docker build of $image failed"; }
    rm -rf "$context"
  done
  # Only the current sources' images and output are kept.
  for old in $(docker images --filter label=distributed.source --format '{{.Repository}}:{{.Tag}}' | grep -v ":test-$source_hash$"); do
    docker rmi -f "$old" >/dev/null 2>&1 || true
  done
  find "$cache/published" -mindepth 1 -maxdepth 1 -not -name "$source_hash" -exec rm -rf {} +
fi
say "images $coordinator_image and $worker_image ($(elapsed))"

# --- The cluster ------------------------------------------------------------------------------------------------
work=$(mktemp -d /tmp/distributed-container-test.XXXXXX)
project=distributedctest
network=${project}_cluster
export COMPOSE_PROJECT_NAME=$project COORDINATOR_IMAGE=$coordinator_image WORKER_IMAGE=$worker_image
export RUNS_DIR=$work/runs CERTS_DIR=$work/certs/node DATASET_DIR=/usr/share/datasets/fashion-mnist
# Its own subnet (not the compose default), so the test runs beside a user's own compose cluster; a free host port.
export CLUSTER_SUBNET=${DISTRIBUTED_TEST_SUBNET:-10.201.77.0/24} DASHBOARD_PORT=
compose() { "${compose_cmd[@]}" -f "$repo/docker-compose.yml" "$@"; }
rogue=${project}_rogue
cleanup() {
  local status=$?
  if [ $status -ne 0 ]; then
    for c in $(docker ps -aq --filter "label=com.docker.compose.project=$project") $rogue; do
      docker logs "$c" >"$work/$(docker inspect -f '{{.Name}}' "$c" 2>/dev/null | tr -d /).log" 2>&1 || true
    done
    say "logs and run directories kept in $work"
  fi
  docker rm -f "$rogue" >/dev/null 2>&1 || true
  compose down --volumes --remove-orphans --timeout 5 >/dev/null 2>&1 || true
  [ $status -ne 0 ] || rm -rf "$work"
}
trap cleanup EXIT
compose down --volumes --remove-orphans --timeout 5 >/dev/null 2>&1 || true
docker rm -f "$rogue" >/dev/null 2>&1 || true
mkdir -p "$RUNS_DIR"

"$repo/deploy/make-certs.sh" "$work/certs" >/dev/null
# The intruder: a certificate of its own authority, made by the same script, so only the authority differs.
"$repo/deploy/make-certs.sh" "$work/rogue-certs" >/dev/null

coordinator_container() { docker ps -aq --filter "label=com.docker.compose.project=$project" --filter label=com.docker.compose.service=coordinator | head -1; }
worker_containers() { docker ps -q --filter "label=com.docker.compose.project=$project" --filter label=com.docker.compose.service=worker; }
ip_of() { docker inspect -f "{{(index .NetworkSettings.Networks \"$network\").IPAddress}}" "$1"; }
steps_in() { grep -o '"type":"step","step":[0-9]*' "$1" 2>/dev/null | grep -o '[0-9]*$' || true; }
# wait_for DESCRIPTION SECONDS COMMAND...: polls until COMMAND succeeds.
wait_for() {
  local what=$1 seconds=$2; shift 2
  local deadline=$(( $(date +%s) + seconds ))
  until "$@"; do
    [ "$(date +%s)" -lt $deadline ] || die "timed out after ${seconds}s waiting for $what"
    sleep 1
  done
}
# grep without -q reads to the end: with pipefail, -q quitting early would fail the pipeline on SIGPIPE.
logs_have() { docker logs "$1" 2>&1 | grep -E "$2" >/dev/null; }
step_count_at_least() { [ "$(steps_in "$1" | wc -l)" -ge "$2" ]; }
exited() { [ "$(docker inspect -f '{{.State.Status}}' "$1")" = exited ]; }
# GET over bash's /dev/tcp from a throwaway container on the cluster network: the base image has no HTTP client.
scrape() {
  docker run --rm --network "$network" "$base_image" bash -c \
    'exec 3<>/dev/tcp/coordinator/5080 && printf "GET /metrics HTTP/1.0\r\nHost: coordinator\r\n\r\n" >&3 && cat <&3'
}

# Phase 1: 3 workers, one intruder, a kill and a scale-in; every one of 600 steps applied once. Long enough that a worker scaled in after the kill
# (container start, JIT, data load: 10-60 s) joins well before the end, however fast the steps run.
total=600
export MIN_WORKERS=3 DEPTH=8 EPOCHS=3 BATCH_SIZE=64 CHECKPOINT_EVERY=100 RUN_NAME=cluster WORKER_THREADS=1
export TRAIN_ARGS="--max-steps $total --train-limit 12800 --test-limit 1000 --warmup-epochs 0 --lr 0.05 --health-every 0 --shard-timeout 60"
run=$RUNS_DIR/$RUN_NAME
phase_started=$(date +%s)
compose up -d --no-build --scale worker=3 >"$work/compose-up.log" 2>&1 || { cat "$work/compose-up.log" >&2; die "compose up failed"; }
coordinator=$(coordinator_container)
docker run -d --name "$rogue" --network "$network" -v "$work/rogue-certs/node:/certs:ro" -v "$DATASET_DIR:/data/fashion-mnist:ro" \
  -e DISTRIBUTED_CLUSTER__TLS__ENABLED=true -e DISTRIBUTED_CLUSTER__TLS__CERTIFICATEPATH=/certs/node.pfx \
  -e DISTRIBUTED_CLUSTER__TLS__AUTHORITYPATH=/certs/ca.crt -e DISTRIBUTED_WORKER__THREADS=1 "$worker_image" >/dev/null
rogue_ip=$(ip_of "$rogue")
say "coordinator, 3 workers and an intruder ($rogue_ip) up on $network"

wait_for "3 live workers" 180 logs_have "$coordinator" "\(3 live\)"
wait_for "step 60" 240 step_count_at_least "$run/metrics.jsonl" 60

metrics=$(scrape) || die "/metrics did not answer inside $network"
echo "$metrics" >"$work/metrics.txt"
for series in distributed_steps_total distributed_images_per_second dotnet_gc_collections_total process_memory_usage_bytes; do
  grep -q "^$series" <<<"$metrics" || die "/metrics lacks $series"
done
live=$(grep '^distributed_workers{' <<<"$metrics" | grep 'state="live"' | awk '{print $NF}')
[ "$live" = 3 ] || die "/metrics says $live live workers, expected 3 (the intruder must not count)"
say "/metrics answers inside the network: $(grep -c '^[a-z]' <<<"$metrics") samples, 3 live workers"

victim=$(worker_containers | head -1)
victim_ip=$(ip_of "$victim")
docker kill "$victim" >/dev/null
say "killed worker $victim_ip at step $(steps_in "$run/metrics.jsonl" | tail -1)"
wait_for "the killed worker to be noticed" 60 logs_have "$coordinator" "$victim_ip:[0-9]+ is gone"
docker rm "$victim" >/dev/null
before=$(worker_containers)
compose up -d --no-build --no-recreate --scale worker=3 >>"$work/compose-up.log" 2>&1 || die "scaling the workers back to 3 failed"
joiner=$(worker_containers | grep -vxF "$before" | head -1)
[ -n "$joiner" ] || die "scaling to 3 workers started no new container"
# By its node address (IP and port): the new container may well get the killed one's IP.
wait_for "the new worker's node address" 60 logs_have "$joiner" "^worker: node "
joiner_address=$(docker logs "$joiner" 2>&1 | grep -m1 "^worker: node " | grep -oE '@[0-9.]+:[0-9]+' | tr -d @)
wait_for "the new worker $joiner_address to go live" 120 logs_have "$coordinator" "worker@$joiner_address is live"
at_join=$(steps_in "$run/metrics.jsonl" | tail -1)
say "worker $joiner_address scaled in, live at step $at_join"
[ "$at_join" -lt $((total - 20)) ] || die "the run was nearly over (step $at_join) when the new worker joined; the test proves nothing"

wait_for "the coordinator to finish" 600 exited "$coordinator"
code=$(docker inspect -f '{{.State.ExitCode}}' "$coordinator")
docker logs "$coordinator" >"$work/coordinator.log" 2>&1
phase_seconds=$(( $(date +%s) - phase_started ))
[ "$code" = 0 ] || die "the coordinator exited with $code"
grep -q "after $total steps" "$work/coordinator.log" || die "the coordinator did not report $total steps"
[ "$(steps_in "$run/metrics.jsonl" | tr '\n' ' ')" = "$(seq 0 $((total - 1)) | tr '\n' ' ')" ] \
  || die "metrics.jsonl does not hold steps 0..$((total - 1)) exactly once each, in order"
[ -s "$run/checkpoint.bin" ] || die "no checkpoint.bin in the mounted directory"
# The shard report at the end credits each worker that trained; the new one must be among them, the intruder not.
grep -qE "worker@$joiner_address: [1-9][0-9]* training shards" "$work/coordinator.log" \
  || die "the scaled-in worker delivered no training shards"
grep -qF "Refused TLS peer [::ffff:$rogue_ip]" "$work/coordinator.log" \
  || die "the coordinator never refused the intruder $rogue_ip: it did not try, so its exclusion proves nothing"
if grep -qF "worker@$rogue_ip:" "$work/coordinator.log"; then die "the intruder $rogue_ip was taken on as a worker"; fi
docker logs "$rogue" >"$work/rogue.log" 2>&1
if grep -q "training shard" "$work/rogue.log"; then die "the intruder computed shards"; fi
images=$(awk -v b="$BATCH_SIZE" '/"type":"step"/ { match($0, /"step_ms":[0-9.]+/); ms += substr($0, RSTART + 10, RLENGTH - 10); n++ }
  END { printf "%.0f img/s over %d steps", n * b / (ms / 1000), n }' "$run/metrics.jsonl")
say "phase 1 passed in ${phase_seconds}s: $total steps each once, $images (step time), checkpoint.bin and metrics.jsonl in the mount, intruder refused $(grep -cF "Refused TLS peer [::ffff:$rogue_ip]" "$work/coordinator.log") times"
docker rm -f "$rogue" >/dev/null

# Phase 2: `docker-compose stop` mid-run writes the checkpoint; up again with --resume finishes the run.
compose down --timeout 5 >/dev/null 2>&1
total=400  # room for the stop to land mid-run however fast the steps are
export MIN_WORKERS=2 RUN_NAME=resume CHECKPOINT_EVERY=1000
base_args="--max-steps $total --train-limit 12800 --test-limit 1000 --warmup-epochs 0 --lr 0.05 --health-every 0 --shard-timeout 60"
export TRAIN_ARGS=$base_args
run=$RUNS_DIR/$RUN_NAME
compose up -d --no-build --scale worker=2 >>"$work/compose-up.log" 2>&1 || die "compose up (resume phase) failed"
coordinator=$(coordinator_container)
wait_for "step 50" 240 step_count_at_least "$run/metrics.jsonl" 50
compose stop >/dev/null 2>&1
code=$(docker inspect -f '{{.State.ExitCode}}' "$coordinator")
docker logs "$coordinator" >"$work/coordinator-stopped.log" 2>&1
[ "$code" = 143 ] || die "after docker-compose stop the coordinator exited with $code, not 143 (SIGTERM handled)"
stopped_at=$(grep -oE 'Stopped after step [0-9]+' "$work/coordinator-stopped.log" | grep -oE '[0-9]+$') \
  || die "the stopped coordinator did not report its checkpoint"
[ -s "$run/checkpoint.bin" ] || die "docker-compose stop left no checkpoint.bin"
[ "$stopped_at" -lt "$total" ] || die "the run had finished (step $stopped_at) before it was stopped; the test proves nothing"
say "docker-compose stop: checkpoint at step $stopped_at, exit code 143"

export TRAIN_ARGS="$base_args --resume /runs/$RUN_NAME"
compose up -d --no-build --scale worker=2 >>"$work/compose-up.log" 2>&1 || die "compose up --resume failed"
coordinator=$(coordinator_container)
wait_for "the resumed coordinator to finish" 400 exited "$coordinator"
code=$(docker inspect -f '{{.State.ExitCode}}' "$coordinator")
docker logs "$coordinator" >"$work/coordinator-resumed.log" 2>&1
[ "$code" = 0 ] || die "the resumed coordinator exited with $code"
grep -q "after $total steps" "$work/coordinator-resumed.log" || die "the resumed run did not report $total steps"
[ "$(steps_in "$run/metrics.jsonl" | tr '\n' ' ')" = "$(seq 0 $((total - 1)) | tr '\n' ' ')" ] \
  || die "after resume, metrics.jsonl does not hold steps 0..$((total - 1)) exactly once each, in order"
say "resumed from step $stopped_at to $total: every step once"

say "PASSED in $(elapsed)"

# Optional, for docs/cluster.md: the same job in containers and as loopback processes of the very same published
# binaries, back to back, with no faults. Throughput is images over the summed step times (metrics.jsonl), so
# start-up and evaluation are left out of both.
if [ "${DISTRIBUTED_CONTAINER_BENCH:-0}" = 1 ]; then
  bench_steps=${BENCH_STEPS:-400}
  export MIN_WORKERS=${BENCH_WORKERS:-2} RUN_NAME=bench CHECKPOINT_EVERY=1000 DEPTH=${BENCH_DEPTH:-20} BATCH_SIZE=128
  bench_args="--max-steps $bench_steps --train-limit 60000 --test-limit 1000 --warmup-epochs 0 --health-every 0 --shard-timeout 120"
  throughput() { awk -v b="$BATCH_SIZE" '/"type":"step"/ { match($0, /"step_ms":[0-9.]+/); ms += substr($0, RSTART + 10, RLENGTH - 10); n++ }
    END { printf "%.0f", n * b / (ms / 1000) }' "$1"; }
  for round in 1 2; do
    compose down --timeout 5 >/dev/null 2>&1
    rm -rf "$RUNS_DIR/bench"
    export TRAIN_ARGS=$bench_args
    bench_started=$(date +%s)
    compose up -d --no-build --scale worker="$MIN_WORKERS" >>"$work/compose-up.log" 2>&1 || die "compose up (bench) failed"
    wait_for "the benchmark run in containers" 1800 exited "$(coordinator_container)"
    container_wall=$(( $(date +%s) - bench_started ))
    container_rate=$(throughput "$RUNS_DIR/bench/metrics.jsonl")
    compose down --timeout 5 >/dev/null 2>&1

    # The same binaries on the host, on loopback: TLS too, with the same certificates.
    app=$work/app
    rm -rf "$app" "$work/bench-process"
    for part in coordinator worker; do
      mkdir -p "$app/$part"
      cp -al "$published/$part/native/." "$published/$part/managed/." "$app/$part/" 2>/dev/null \
        || cp -a "$published/$part/native/." "$published/$part/managed/." "$app/$part/"
    done
    port=$((20000 + RANDOM % 20000))
    export DISTRIBUTED_CLUSTER__TLS__ENABLED=true DISTRIBUTED_CLUSTER__TLS__CERTIFICATEPATH=$work/certs/node/node.pfx \
      DISTRIBUTED_CLUSTER__TLS__AUTHORITYPATH=$work/certs/node/ca.crt DISTRIBUTED_CLUSTER__TLS__CERTIFICATEPASSWORD=
    bench_started=$(date +%s)
    # shellcheck disable=SC2086
    "$app/coordinator/distributed" train --cluster --min-workers "$MIN_WORKERS" --port "$port" --data "$DATASET_DIR" \
      --depth "$DEPTH" --epochs "$EPOCHS" --batch-size "$BATCH_SIZE" --output "$work/bench-process" --dashboard-port 0 $bench_args \
      >"$work/bench-coordinator.log" 2>&1 &
    coordinator_pid=$!
    worker_pids=()
    for _ in $(seq "$MIN_WORKERS"); do
      "$app/worker/distributed-worker" --threads "$WORKER_THREADS" --seed-nodes "127.0.0.1:$port" >>"$work/bench-workers.log" 2>&1 &
      worker_pids+=($!)
    done
    wait "$coordinator_pid" || die "the process-cluster benchmark run failed; see $work/bench-coordinator.log"
    process_wall=$(( $(date +%s) - bench_started ))
    kill "${worker_pids[@]}" 2>/dev/null || true
    wait "${worker_pids[@]}" 2>/dev/null || true
    unset DISTRIBUTED_CLUSTER__TLS__ENABLED DISTRIBUTED_CLUSTER__TLS__CERTIFICATEPATH DISTRIBUTED_CLUSTER__TLS__AUTHORITYPATH \
      DISTRIBUTED_CLUSTER__TLS__CERTIFICATEPASSWORD
    process_rate=$(throughput "$work/bench-process/metrics.jsonl")
    say "bench round $round, ResNet-$DEPTH, $MIN_WORKERS workers x $WORKER_THREADS thread, batch $BATCH_SIZE, $bench_steps steps, TLS:" \
      "containers $container_rate img/s (${container_wall}s wall), loopback processes $process_rate img/s (${process_wall}s wall)," \
      "ratio $(awk -v c="$container_rate" -v p="$process_rate" 'BEGIN { printf "%.3f", c / p }')"
  done
fi
