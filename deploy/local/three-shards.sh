#!/usr/bin/env bash
# Three meanwhiled shards on one machine, behind the OpenTelemetry Collector that routes
# each process (service.name + service.instance.id) to one of them, and a query front
# that answers over all three (docs/SCALING.md, "Run three shards on one machine").
#
#   deploy/local/three-shards.sh DIR
#
# DIR holds everything: DIR/shard-{0,1,2} (the shards' databases), DIR/collector (the
# tier's disk queue and its resolver file), DIR/logs/*.log. It runs until SIGINT (Ctrl-C)
# or SIGTERM, then stops everything in order (the tier first, so that it hands what it
# holds to the shards) and exits 0 when every process exited 0. A process that dies
# before that stops the rest, and the script exits 1.
#
# The Collector configurations are deploy/sharded/otelcol-tier.yaml and
# otelcol-relay.yaml, the files the Kubernetes form uses; only the resolver differs
# (here a static list of the three relays, written to DIR/collector/resolver.yaml).
#
# Environment:
#   MEANWHILED     meanwhiled            (default: build/meanwhiled of this checkout)
#   OTELCOL        the Collector          (default: build/collector/src/otelcol-meanwhile,
#                  built by: tests/collector/build.sh /usr/local/go/bin/go build/collector;
#                  otelcol-contrib 0.148.0 holds the same components: not tried)
#   MW_PORT_BASE   ports BASE+17 (OTLP/gRPC), BASE+18 (OTLP/HTTP), BASE+88 (the tier's
#                  metrics), BASE+80 (query front), BASE+81..83 (shards), BASE+91..93
#                  (relays); all on 127.0.0.1                              (default 24300)
set -euo pipefail

usage() { echo "usage: $0 DIR   (see the comment at the top of $0)" >&2; exit 2; }
[[ $# -eq 1 && "$1" != -* ]] || usage
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SHARDED="$REPO/deploy/sharded"
MEANWHILED=${MEANWHILED:-$REPO/build/meanwhiled}
OTELCOL=${OTELCOL:-$REPO/build/collector/src/otelcol-meanwhile}
BASE=${MW_PORT_BASE:-24300}
[[ "$BASE" =~ ^[0-9]+$ && "$BASE" -ge 1024 && "$BASE" -le 65400 ]] || { echo "MW_PORT_BASE must be a number from 1024 to 65400" >&2; exit 2; }
[[ -x "$MEANWHILED" ]] || { echo "no meanwhiled at $MEANWHILED: build it (README) or set MEANWHILED" >&2; exit 2; }
[[ -x "$OTELCOL" ]] || { echo "no Collector at $OTELCOL: build it with tests/collector/build.sh /usr/local/go/bin/go build/collector, or set OTELCOL" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is needed (to wait for the servers)" >&2; exit 2; }

DIR=$1
mkdir -p "$DIR/logs" "$DIR/collector/queue"
DIR=$(cd "$DIR" && pwd)

OTLP_GRPC=127.0.0.1:$((BASE + 17))
OTLP_HTTP=127.0.0.1:$((BASE + 18))
METRICS_PORT=$((BASE + 88))
FRONT=127.0.0.1:$((BASE + 80))
SHARDS=() RELAYS=()
for i in 0 1 2; do
  SHARDS+=("127.0.0.1:$((BASE + 81 + i))")
  RELAYS+=("127.0.0.1:$((BASE + 91 + i))")
done

NAMES=() PIDS=()
started() { NAMES+=("$1"); PIDS+=("$2"); }

stop_one() { # name pid: SIGTERM, wait up to 30 s, then SIGKILL; prints and returns the exit status
  local name=$1 pid=$2 st=0 n=0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((n < 300)); do sleep 0.1; n=$((n + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$name did not stop within 30 s of SIGTERM: killed" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" || st=$?
  echo "stopped $name: exit $st"
  return "$st"
}

stop_all() { # the tier first (it hands what it holds to the relays), then relays, front, shards
  local failed=0 i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    stop_one "${NAMES[i]}" "${PIDS[i]}" || failed=1
  done
  PIDS=() NAMES=()
  return "$failed"
}

die() { echo "$*" >&2; stop_all || true; exit 1; }

wait_http() { # name url pid
  local n=0
  until curl -sf -o /dev/null "$2"; do
    kill -0 "$3" 2>/dev/null || die "$1 exited at start: see $DIR/logs/$1.log"
    ((n++ < 300)) || die "$1 did not answer $2 within 30 s: see $DIR/logs/$1.log"
    sleep 0.1
  done
}

wait_ready() { # name log pid: the Collector says "Everything is ready" once its pipelines run
  local n=0
  until grep -q 'Everything is ready' "$2" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || die "$1 exited at start: see $2"
    ((n++ < 300)) || die "$1 was not ready within 30 s: see $2"
    sleep 0.1
  done
}

trap 'die "interrupted while starting"' INT TERM

# the shards (order matters for stop_all: started first, stopped last)
for i in 0 1 2; do
  mkdir -p "$DIR/shard-$i"
  "$MEANWHILED" --listen "${SHARDS[i]}" --data "$DIR/shard-$i" 2>>"$DIR/logs/shard-$i.log" &
  started "shard-$i" $!
done
for i in 0 1 2; do wait_http "shard-$i" "http://${SHARDS[i]}/healthz" "${PIDS[i]}"; done

# the query front: no database, every query federated over the three shards
PEERS=$(printf 'http://%s,' "${SHARDS[@]}")
"$MEANWHILED" --role query --listen "$FRONT" --peers "${PEERS%,}" 2>>"$DIR/logs/query.log" &
started query $!
wait_http query "http://$FRONT/healthz" $!

# a relay beside each shard: OTLP/gRPC in, OTLP/HTTP out
for i in 0 1 2; do
  MW_RELAY_LISTEN="${RELAYS[i]}" MW_SHARD_URL="http://${SHARDS[i]}" \
    "$OTELCOL" --config "$SHARDED/otelcol-relay.yaml" >>"$DIR/logs/relay-$i.log" 2>&1 &
  started "relay-$i" $!
  wait_ready "relay-$i" "$DIR/logs/relay-$i.log" $!
done

# the tier: the ring over the three relays (a static resolver: the names never change here)
{
  echo "# written by $0: the tier's resolver, merged over deploy/sharded/otelcol-tier.yaml"
  echo "exporters:"
  echo "  loadbalancing:"
  echo "    resolver:"
  echo "      static:"
  echo "        hostnames: [$(printf '%s, ' "${RELAYS[@]}" | sed 's/, $//')]"
} >"$DIR/collector/resolver.yaml"
MW_OTLP_GRPC_LISTEN=$OTLP_GRPC MW_OTLP_HTTP_LISTEN=$OTLP_HTTP MW_QUEUE_DIR="$DIR/collector/queue" \
  MW_METRICS_HOST=127.0.0.1 MW_METRICS_PORT=$METRICS_PORT \
  "$OTELCOL" --config "$SHARDED/otelcol-tier.yaml" --config "$DIR/collector/resolver.yaml" >>"$DIR/logs/collector.log" 2>&1 &
started collector $!
wait_ready collector "$DIR/logs/collector.log" $!

cat <<EOF
Three meanwhiled shards behind the Collector, and a query front, are running.
  send OTLP (SDKs, and meanwhile-agent --otlp-runtime --collector http://$OTLP_HTTP):
      OTLP/HTTP http://$OTLP_HTTP   (POST /v1/traces)
      OTLP/gRPC $OTLP_GRPC
  query (viewer, API, Grafana's Tempo data source) every shard at once:
      http://$FRONT
  each shard alone: $(printf 'http://%s ' "${SHARDS[@]}")
  the tier's metrics (otelcol_exporter_queue_size ...): http://127.0.0.1:$METRICS_PORT/metrics
  data and logs: $DIR
Ctrl-C (or SIGTERM) stops them all.
ready otlp_http=http://$OTLP_HTTP otlp_grpc=$OTLP_GRPC query=http://$FRONT shards=$(printf 'http://%s,' "${SHARDS[@]}" | sed 's/,$//') relays=$(printf '%s,' "${RELAYS[@]}" | sed 's/,$//')
EOF

STOP=
trap 'STOP=1' INT TERM
while [[ -z "$STOP" ]]; do
  wait -n "${PIDS[@]}" 2>/dev/null || true
  [[ -n "$STOP" ]] && break
  for i in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[i]}" 2>/dev/null; then
      st=0
      wait "${PIDS[i]}" || st=$?
      name=${NAMES[i]}
      unset 'PIDS[i]' 'NAMES[i]'
      PIDS=("${PIDS[@]}") NAMES=("${NAMES[@]}")
      die "$name exited ($st) on its own: see $DIR/logs/$name.log; stopping the rest"
    fi
  done
done
trap '' INT TERM
echo "stopping"
if stop_all; then
  echo "all stopped, every exit status 0"
else
  echo "some process did not exit 0 (above)" >&2
  exit 1
fi
