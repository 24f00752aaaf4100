#!/usr/bin/env bash
# Captures this directory's program into OUTDIR with the go command found on
# PATH (or the one GOTOOLCHAIN selects). WHAT is all (the default), traces or
# dumps.
# traces:
#   runtime-stderr.log              GODEBUG=gctrace=1,schedtrace=1000, 6 s
#   runtime-stderr.scheddetail.log  GODEBUG=gctrace=1,schedtrace=1000,scheddetail=1, 3 s
#   go-version.txt                  `go version` of the toolchain that built it
# GOMAXPROCS=4 on any machine, so that every SCHED line lists four Ps.
# The binary is built first and run on its own: `go run` would add the go
# command's own SCHED lines to the capture.
# dumps (dumps.go: the program's own /debug/pprof answers):
#   goroutines-debug1.txt, goroutines-debug2.txt, goroutines.pb.gz, cpu.pb.gz,
#   goroutineleak.pb.gz, goroutineleak-debug1.txt, goroutineleak-debug2.txt
#   goroutines-synctest.txt                 runtime.Stack(all) inside a testing/synctest
#                                           bubble (synctest_test.go)
#   goroutines-debug2.tracebacklabels.txt   Go 1.26 only: GODEBUG=tracebacklabels=1
#   dumps-go-version.txt                    `go version`, the go directive, GOEXPERIMENT
# For the dumps the module's go directive is the toolchain's own version
# (through -modfile), as in a service written for it: that is what turns on
# Go 1.27's labels in goroutine headers. Go 1.26 gets the goroutine leak
# profile from GOEXPERIMENT=goroutineleakprofile; Go 1.27 has it anyway.
set -euo pipefail
out=$(cd "${1:?usage: capture.sh OUTDIR [all|traces|dumps]}" && pwd)
what=${2:-all}
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/capture

if [ "$what" = all ] || [ "$what" = traces ]; then
  go version > "$out/go-version.txt"
  go build -trimpath -buildvcs=false -o "$bin" .
  GOMAXPROCS=4 GODEBUG=gctrace=1,schedtrace=1000 "$bin" -seconds 6 2> "$out/runtime-stderr.log"
  GOMAXPROCS=4 GODEBUG=gctrace=1,schedtrace=1000,scheddetail=1 "$bin" -seconds 3 \
    2> "$out/runtime-stderr.scheddetail.log"
fi

if [ "$what" = all ] || [ "$what" = dumps ]; then
  gover=$(go env GOVERSION)                       # go1.27.3
  minor=$(sed -E 's/^go([0-9]+\.[0-9]+).*/\1/' <<< "$gover")
  sed "s/^go .*/go $minor/" go.mod > "$tmp/go.mod"
  experiment=
  [ "$minor" = 1.26 ] && experiment=goroutineleakprofile
  GOEXPERIMENT=$experiment go build -trimpath -buildvcs=false -modfile "$tmp/go.mod" -o "$bin" .
  { go version; echo "go directive: go $minor"; echo "GOEXPERIMENT=$experiment"; } > "$out/dumps-go-version.txt"
  GOMAXPROCS=4 "$bin" -dumps "$out"
  go test -c -trimpath -buildvcs=false -modfile "$tmp/go.mod" -o "$tmp/synctest.test" .
  "$tmp/synctest.test" -test.run TestSynctestDump -synctest-dump "$out/goroutines-synctest.txt" > /dev/null
  if [ "$minor" = 1.26 ]; then
    mkdir "$tmp/labels"
    GOMAXPROCS=4 GODEBUG=tracebacklabels=1 "$bin" -dumps "$tmp/labels"
    cp "$tmp/labels/goroutines-debug2.txt" "$out/goroutines-debug2.tracebacklabels.txt"
  fi
fi
