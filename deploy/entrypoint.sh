#!/bin/sh
# Runs a weir program as process ORDINAL of a cluster whose processes are the pods
# NAME-0 … NAME-(WEIR_REPLICAS - 1) of a StatefulSet behind the headless service
# WEIR_SERVICE: sets WEIR_PROCESS_ID from the pod's ordinal (the end of its hostname) and
# WEIR_ADDRESSES to every pod's DNS name, then runs the command given.
#
#   WEIR_REPLICAS    processes in the cluster (the StatefulSet's replicas)
#   WEIR_SERVICE     the headless service's name
#   WEIR_CLUSTER_PORT  the port processes connect on (default 2101)
#   WEIR_DOMAIN      appended to each pod's name (optional, e.g. "ns.svc.cluster.local")
set -eu
: "${WEIR_REPLICAS:?set WEIR_REPLICAS to the number of processes}"
: "${WEIR_SERVICE:?set WEIR_SERVICE to the headless service name}"
port="${WEIR_CLUSTER_PORT:-2101}"
host="${HOSTNAME:-$(hostname)}"
ordinal="${host##*-}"
base="${host%-*}"
case "$ordinal" in
  '' | *[!0-9]*)
    echo "weir-entrypoint: hostname $host does not end in -ORDINAL (not a StatefulSet pod?)" >&2
    exit 2
    ;;
esac
if [ "$ordinal" -ge "$WEIR_REPLICAS" ]; then
  echo "weir-entrypoint: pod ordinal $ordinal is not below WEIR_REPLICAS=$WEIR_REPLICAS" >&2
  exit 2
fi
suffix="${WEIR_DOMAIN:+.$WEIR_DOMAIN}"
addresses=""
i=0
while [ "$i" -lt "$WEIR_REPLICAS" ]; do
  addresses="${addresses:+$addresses;}$base-$i.$WEIR_SERVICE$suffix:$port"
  i=$((i + 1))
done
export WEIR_PROCESS_ID="$ordinal" WEIR_ADDRESSES="$addresses"
exec "$@"
