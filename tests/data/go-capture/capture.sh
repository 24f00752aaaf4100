#!/usr/bin/env bash
# Captures the runtime traces of this directory's program into OUTDIR with the
# go command found on PATH (or the one GOTOOLCHAIN selects):
#   runtime-stderr.log              GODEBUG=gctrace=1,schedtrace=1000, 6 s
#   runtime-stderr.scheddetail.log  GODEBUG=gctrace=1,schedtrace=1000,scheddetail=1, 3 s
#   go-version.txt                  `go version` of the toolchain that built it
# GOMAXPROCS=4 on any machine, so that every SCHED line lists four Ps.
# The binary is built first and run on its own: `go run` would add the go
# command's own SCHED lines to the capture.
set -euo pipefail
out=$(cd "${1:?usage: capture.sh OUTDIR}" && pwd)
cd "$(dirname "$0")"
bin=$(mktemp -d)/capture
trap 'rm -rf "$(dirname "$bin")"' EXIT
go version > "$out/go-version.txt"
go build -trimpath -buildvcs=false -o "$bin" .
GOMAXPROCS=4 GODEBUG=gctrace=1,schedtrace=1000 "$bin" -seconds 6 2> "$out/runtime-stderr.log"
GOMAXPROCS=4 GODEBUG=gctrace=1,schedtrace=1000,scheddetail=1 "$bin" -seconds 3 \
  2> "$out/runtime-stderr.scheddetail.log"
