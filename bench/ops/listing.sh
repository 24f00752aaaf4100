#!/bin/sh
# Times GET /api/v1/services/{s}/operations over a data dir with one
# meanwhiled binary: every service, four windows, REPS runs each; prints one
# line per (window, service): the median and max ms, and keeps each answer in
# OUT/<window>-<service>.json (to diff two binaries' or two stores' answers).
# usage: listing.sh MEANWHILED DATA_DIR OUT_DIR [REPS]
# The windows are those of the 6 h bench-query data sets (first start
# 1767571200 s): default (none), all (6 h), last 1 h, a middle 1 h.
set -eu
BIN=$1 DATA=$2 OUT=$3 REPS=${4:-5}
mkdir -p "$OUT"
LOG=$OUT/meanwhiled.log
"$BIN" --listen 127.0.0.1:0 --data "$DATA" --retention 0 --max-query-range 0 --query-timeout 0 >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT
ADDR=
for i in $(seq 1 600); do
  ADDR=$(sed -n 's/.*msg="listening" addr=\([^ ]*\).*/\1/p' "$LOG" | head -1)
  [ -n "$ADDR" ] && break
  sleep 0.1
done
[ -n "$ADDR" ] || { echo "no listening line in $LOG" >&2; exit 1; }
SERVICES=$(curl -s "http://$ADDR/api/v1/services?limit=100" | grep -o '"name":"[^"]*"' | sed 's/"name":"//; s/"$//')
for w in default all last1h mid1h; do
  case $w in
  default) Q= ;;
  all) Q="&start=1767571200&end=1767592801" ;;
  last1h) Q="&start=1767589201&end=1767592801" ;;
  mid1h) Q="&start=1767578400&end=1767582000" ;;
  esac
  for s in $SERVICES; do
    URL="http://$ADDR/api/v1/services/$s/operations?limit=100$Q"
    curl -s -o "$OUT/$w-$s.json" "$URL" # warm-up, and the answer kept
    TIMES=$(for r in $(seq 1 "$REPS"); do curl -s -o /dev/null -w '%{time_total}\n' "$URL"; done | sort -n)
    MED=$(echo "$TIMES" | sed -n "$(((REPS + 1) / 2))p")
    MAX=$(echo "$TIMES" | tail -1)
    awk -v w="$w" -v s="$s" -v m="$MED" -v x="$MAX" 'BEGIN { printf "%-8s %-16s median %8.1f ms  max %8.1f ms\n", w, s, m * 1000, x * 1000 }'
  done
done
