#!/bin/sh
# Rebuilds the captures of this directory (README.md): builds main.go with
# the goroutine leak profile experiment and runs it here.
set -eu
cd "$(dirname "$0")"
GO=${GO:-/usr/local/go/bin/go}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOTOOLCHAIN=local GOPROXY=off GOEXPERIMENT=goroutineleakprofile "$GO" build -trimpath -buildvcs=false -o "$tmp/growth" .
rm -f goroutine-*.pb.gz goroutine-*.debug2.txt goroutineleak.pb.gz expected.json
"$tmp/growth" -out . -rounds 6 -k 3 -every 200ms
