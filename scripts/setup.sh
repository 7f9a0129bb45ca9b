#!/usr/bin/env bash
# Installs what training and the tests need on a fresh Debian/Ubuntu machine: the real Fashion-MNIST
# (Debian's dataset-fashion-mnist package). Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail

need_apt=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need_apt+=(dataset-fashion-mnist)
# `ip netns` for the cluster partition test and deploy/netns-cluster.sh.
command -v ip >/dev/null || need_apt+=(iproute2)
for extra in "$@"; do
  dpkg -s "$extra" >/dev/null 2>&1 || need_apt+=("$extra")
done

if [ ${#need_apt[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "setup: installing ${need_apt[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK (dotnet) is required; see https://dot.net" >&2; exit 1; }
