#!/usr/bin/env bash
# Builds the sharding tests' OpenTelemetry Collector (manifest.yaml) with the Collector's
# builder, ocb (go.opentelemetry.io/collector/cmd/builder), both from the Go module proxy,
# into OUT_DIR; prints the binary's path on the last line of stdout. A second run with the
# same manifest and Go reuses the binary (OUT_DIR/stamp holds their hash).
#
#   tests/collector/build.sh GO OUT_DIR      e.g. /usr/local/go/bin/go build/collector
#
# Two cores are shared: the go command builds two packages at a time, niced.
set -euo pipefail
GO=${1:?usage: build.sh GO OUT_DIR}
OUT=${2:?usage: build.sh GO OUT_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
OCB_VERSION=v0.148.0
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BIN="$OUT/src/otelcol-meanwhile"

GOVERSION=$("$GO" version)
STAMP=$( (cat "$HERE/manifest.yaml"; echo "$GOVERSION $OCB_VERSION") | sha256sum | cut -c1-16)
if [[ -x "$BIN" && -f "$OUT/stamp" && "$(cat "$OUT/stamp")" == "$STAMP" ]]; then
  echo "cached ($STAMP): $GOVERSION, ocb $OCB_VERSION" >&2
  echo "$BIN"
  exit 0
fi

export PATH="$(dirname "$GO"):$PATH"
export GOFLAGS="$("$GO" env GOFLAGS) -p=2"
export GOTOOLCHAIN=local
[[ -n "${HOME:-}" ]] || export GOCACHE="$OUT/gocache" GOMODCACHE="$OUT/gomodcache"

t0=$(date +%s)
GOBIN="$OUT/bin" nice -n 5 "$GO" install "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION"
# the manifest with the output directory and the go command of this build
sed -e "s|^  output_path: .*|  output_path: $OUT/src|" "$HERE/manifest.yaml" > "$OUT/manifest.yaml"
printf '  go: %s\n' "$GO" > "$OUT/go.line"
awk -v goline="$(cat "$OUT/go.line")" '{print} /^  output_path:/ {print goline}' "$OUT/manifest.yaml" > "$OUT/manifest.yaml.tmp"
mv "$OUT/manifest.yaml.tmp" "$OUT/manifest.yaml"
rm -f "$OUT/go.line" "$BIN"
nice -n 5 "$OUT/bin/builder" --config "$OUT/manifest.yaml" >&2
[[ -x "$BIN" ]] || { echo "ocb made no $BIN" >&2; exit 1; }
echo "$STAMP" > "$OUT/stamp"
echo "built in $(( $(date +%s) - t0 )) s: $GOVERSION, ocb $OCB_VERSION, $("$BIN" --version 2>&1 | head -1)" >&2
echo "$BIN"
