#!/bin/sh
# Rebuilds the captures (README.md): builds main.go and runs it.
#   ./capture.sh            Go 1.26 (the local toolchain) with GOEXPERIMENT=goroutineleakprofile, into .
#   ./capture.sh go1.27     Go 1.27 (GOTOOLCHAIN=go1.27.3, the leak profile is standard), into go1.27/,
#                           built as a module of `go 1.27`, so that debug=2 headers carry the labels
set -eu
cd "$(dirname "$0")"
GO=${GO:-/usr/local/go/bin/go}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "${1:-}" = go1.27 ]; then
  out=go1.27
  mkdir -p "$out"
  mkdir "$tmp/src"
  cp main.go "$tmp/src/"
  printf 'module meanwhile.test/growth\n\ngo 1.27\n' > "$tmp/src/go.mod"
  (cd "$tmp/src" && GOTOOLCHAIN=go1.27.3 "$GO" build -trimpath -buildvcs=false -o "$tmp/growth" .)
else
  out=.
  GOTOOLCHAIN=local GOPROXY=off GOEXPERIMENT=goroutineleakprofile "$GO" build -trimpath -buildvcs=false -o "$tmp/growth" .
fi
rm -f "$out"/goroutine-*.pb.gz "$out"/goroutine-*.debug2.txt "$out"/goroutineleak.pb.gz "$out"/expected.json
"$tmp/growth" -out "$out" -rounds 6 -k 3 -every 200ms
