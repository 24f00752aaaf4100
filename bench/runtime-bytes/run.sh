#!/usr/bin/env bash
# Measures one busy source's runtime data as a user's setup makes it: meanwhiled on a
# fresh data dir, the agent tests' Go service (tests/agent/service) under
# meanwhile-agent at its DEFAULT settings, a steady load of /work requests
# (bench/runtime-bytes/load), for a while; then runtime_bytes.py on the database.
#
#   bench/runtime-bytes/run.sh [BUILD_DIR] [SECONDS] [RATE] [OUT_DIR]
#       defaults: build 720 300 /tmp/runtime-bytes
#   MW_RB_SERVICE_ARGS  the service's flags (default: -goroutines 500 -churn 20)
#
# Ports 14317 (meanwhiled) and 18717 (the service) must be free. Everything runs
# under nice -n 5. The database stays in OUT_DIR/data; the figures go to
# OUT_DIR/figures.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
secs=${2:-720}
rate=${3:-300}
out=${4:-/tmp/runtime-bytes}
svc_args=${MW_RB_SERVICE_ARGS:--goroutines 500 -churn 20}
go=$(command -v go || echo /usr/local/go/bin/go)

rm -rf "$out" && mkdir -p "$out/data"
(cd bench/runtime-bytes/load && "$go" build -o "$out/load" .)
(cd tests/agent/service && "$go" build -o "$out/service" .)

nice -n 5 "$build/meanwhiled" --listen 127.0.0.1:14317 --data "$out/data" >"$out/meanwhiled.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fsS 127.0.0.1:14317/healthz >/dev/null 2>&1 && break; sleep 0.1; done

# shellcheck disable=SC2086
OTEL_SERVICE_NAME=busy nice -n 5 "$build/client/agent/meanwhile-agent" \
  --collector http://127.0.0.1:14317 --pprof http://127.0.0.1:18717/debug/pprof \
  --log-file "$out/agent.log" --stats-file "$out/agent-stats.json" --spool-dir "$out/spool" \
  run -- "$out/service" -listen 127.0.0.1:18717 $svc_args >"$out/service.out" 2>"$out/service.err" &
agent=$!
sleep 2
nice -n 5 "$out/load" -url http://127.0.0.1:18717/work -rate "$rate" -seconds "$secs" -conns 8 | tee "$out/load.out"
kill -TERM $agent && wait $agent || true # the agent forwards it to the service, sends what is left
kill -TERM $server && wait $server || true
trap - EXIT
grep -c '^gc ' "$out/service.err" | sed 's/^/gc_lines /' | tee -a "$out/load.out"
python3 bench/runtime-bytes/runtime_bytes.py "$out/data/meanwhile.db" | tee "$out/figures.txt"
