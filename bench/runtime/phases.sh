#!/bin/sh
# Where the time of one runtime ingest request goes, phase by phase, measured
# with uprobes on a running meanwhiled (no change to the server): receiving the
# body, parsing it, grouping (stack texts, labels, groups), zstd of the
# payload, waiting for the writer, applying the batch, commit + resume.
#
#   bench/runtime/phases.sh BUILD_DIR [KIND] [POSTS]
#   KIND: goroutine_debug2 (default), goroutine_debug1, goroutine_pprof, cpu_profile
#
# Needs root and perf with uprobes (perf probe). The inputs are the ones
# bench-runtime caches (run it once first). The probes are in their own group
# (rtbench) and are removed on exit.
set -eu
BUILD=${1:?usage: phases.sh BUILD_DIR [KIND] [POSTS]}
KIND=${2:-goroutine_debug2}
POSTS=${3:-20}
SERVER=$BUILD/meanwhiled
BENCH=$BUILD/bench/runtime/bench-runtime
ZSTD=$(ldd "$SERVER" | awk '/libzstd/ {print $3}')
ZSTD=$(readlink -f "$ZSTD")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mw-rtphases-XXXXXX")
SPID=
cleanup() {
  [ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null || true
  perf probe -q -d 'rtbench:*' 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

perf probe -q -d 'rtbench:*' 2>/dev/null || true
# perf names a return probe NAME__return
for p in body=mw__body_decoder_new build=mw__runtime_build build=mw__runtime_build%return \
         text=mw__goroutines_parse_text text=mw__goroutines_parse_text%return \
         pprof=mw__pprof_decode pprof=mw__pprof_decode%return \
         apply=mw__apply_runtime apply=mw__apply_runtime%return resume=resume_ingest reply=mw__reply_buf; do
  perf probe -q -x "$SERVER" -a "rtbench:$p" >/dev/null
done
perf probe -q -x "$ZSTD" -a 'rtbench:zstd=ZSTD_compress' -a 'rtbench:zstd=ZSTD_compress%return' >/dev/null

mkdir "$WORK/data"
"$SERVER" --listen 127.0.0.1:0 --data "$WORK/data" 2>"$WORK/server.log" &
SPID=$!
i=0
until ADDR=$(grep -o 'addr=127\.0\.0\.1:[0-9]*' "$WORK/server.log" | head -1 | cut -d= -f2) && [ -n "$ADDR" ]; do
  i=$((i + 1)); [ $i -lt 500 ] || { echo "phases.sh: the server did not start" >&2; exit 1; }
  sleep 0.01
done
perf record -q -e 'rtbench:*' -p "$SPID" -o "$WORK/perf.data" 2>"$WORK/perf.err" &
PPID_=$!
sleep 0.5
"$BENCH" --url "http://$ADDR" --db "$WORK/data/meanwhile.db" --pid "$SPID" --only "$KIND" --posts "$POSTS" |
  grep -E '_(p50_ms|server_cpu_ms_per_snapshot|raw_bytes)'
kill -INT $PPID_
wait $PPID_ || true

# one line per event: time(ms) name; a request starts at "body"
perf script -i "$WORK/perf.data" -F time,event 2>/dev/null |
  sed -n 's/^ *\([0-9.]*\): *rtbench:\([a-z_]*\):.*/\1 \2/p' |
  awk '
    function flush() {
      if (!("body" in t) || !("reply" in t)) return
      ps = ("text" in t) ? "text" : "pprof"
      print "1_receive", t["build"] - t["body"]
      print "2_parse", t[ps "__return"] - t[ps]
      print "3_group", t["zstd"] - t[ps "__return"]
      print "4_zstd", t["zstd__return"] - t["zstd"]
      print "5_queue", t["apply"] - t["build__return"]
      print "6_apply", t["apply__return"] - t["apply"]
      print "7_commit_resume", t["resume"] - t["apply__return"]
      print "8_total", t["reply"] - t["body"]
    }
    { ms = $1 * 1000 }
    $2 == "body" { flush(); split("", t) }
    !($2 in t) { t[$2] = ms }
    END { flush() }' |
  sort -k1,1 -k2,2n |
  awk '
    function out() { if (n) printf "%-18s median %8.2f ms  min %8.2f  max %8.2f  (n=%d)\n", name, v[int((n + 1) / 2)], v[1], v[n], n }
    $1 != name { out(); name = $1; n = 0 }
    { v[++n] = $2 }
    END { out() }'
