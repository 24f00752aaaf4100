#!/usr/bin/env bash
# A first look in two minutes: with meanwhiled running (deploy/quickstart.sh, in
# another terminal), builds the demo shop (deploy/demo/: the official
# OpenTelemetry Go SDK and client/go) and runs it under meanwhile-agent, with a
# load generator inside, so that slow traces and their explanations show up at
# http://127.0.0.1:4318/ within a minute. Stop it with Ctrl-C.
#
#   deploy/demo.sh [--seconds N] [--rate R]     (flags go to the shop: deploy/demo/main.go)
#
# MEANWHILE_URL (default http://127.0.0.1:4318) is where meanwhiled listens;
# MEANWHILE_DEMO_PPROF (127.0.0.1:6060) where the shop serves net/http/pprof;
# MEANWHILE_AGENT the agent to run it under (default: build/'s, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
url=${MEANWHILE_URL:-http://127.0.0.1:4318}
pprof=${MEANWHILE_DEMO_PPROF:-127.0.0.1:6060}
agent=${MEANWHILE_AGENT:-build/client/agent/meanwhile-agent}
out=${MEANWHILE_DEMO_OUT:-build/demo}

deploy/install-deps.sh --go   # a Go >= 1.25 (deploy/install-deps.sh says which)
go=$(command -v go || true)
if [[ -z $go ]] || ! "$go" version | grep -qE 'go1\.(2[5-9]|[3-9][0-9])'; then go=${MW_GO_ROOT:-/usr/local/go}/bin/go; fi

if [[ ! -x $agent ]]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMW_TESTS=OFF >/dev/null
  cmake --build build -j"$(nproc)" --target meanwhile-agent
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
(cd deploy/demo && "$go" build -o "$out/shop" .)

if ! curl -fsS "$url/healthz" >/dev/null 2>&1; then
  echo "demo: meanwhiled does not answer at $url: start it first (deploy/quickstart.sh)" >&2
  exit 1
fi
echo "demo: the shop runs under meanwhile-agent; open $url/ and pick demo-shop's slow traces" >&2
export OTEL_SERVICE_NAME=demo-shop
export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=$url/v1/traces
exec "$agent" --collector "$url" --pprof "http://$pprof/debug/pprof" run -- "$out/shop" -pprof "$pprof" "$@"
