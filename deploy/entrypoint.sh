#!/bin/sh
# A node must advertise an address the others can reach. Behind a scaled compose service every replica shares
# the service name, so unless DISTRIBUTED_CLUSTER__PUBLICHOSTNAME is set, advertise this container's own IP.
set -e
if [ -z "${DISTRIBUTED_CLUSTER__PUBLICHOSTNAME:-}" ]; then
  DISTRIBUTED_CLUSTER__PUBLICHOSTNAME=$(hostname -i | awk '{print $1}')
  export DISTRIBUTED_CLUSTER__PUBLICHOSTNAME
fi
# exec: the node replaces this shell as PID 1, so `docker stop` / `docker compose stop` signal it directly.
exec "$@"
