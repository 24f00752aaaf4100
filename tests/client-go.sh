#!/usr/bin/env bash
# client/go's tests (go test -race) with one Go toolchain, for ctest (label go): the
# module's own, then those of client/go/exectracetest (a module of its own, which
# reads execution traces with golang.org/x/exp/trace, and runs against its go.mod's
# OpenTelemetry):
#
#   tests/client-go.sh GO [TOOLCHAIN [OTEL]]
#
# GO is the go command. TOOLCHAIN becomes GOTOOLCHAIN: "local" (the default) runs
# GO's own Go; a version such as go1.27.3 makes GO fetch that toolchain from the
# module proxy and run it. OTEL (e.g. v1.47.0) runs the tests against that release
# of the OpenTelemetry modules instead of the oldest one client/go/go.mod names,
# through a copy of go.mod in a temporary directory (-modfile): the module's own
# files are not touched. Modules come from the module proxy into the module cache;
# with neither GOPATH nor HOME set, the cache is MW_GO_PATH.
set -euo pipefail
go=$1
export GOTOOLCHAIN=${2:-local}
otel=${3:-}
cd "$(dirname "$0")/../client/go"
if [[ -z ${GOPATH:-} && -z ${HOME:-} ]]; then
  export GOPATH=${MW_GO_PATH:?neither GOPATH nor HOME nor MW_GO_PATH is set} GOCACHE=$MW_GO_PATH/cache
fi
"$go" version
# readonly: go.mod and go.sum as committed must be complete
flags=(-mod=readonly)
if [[ -n $otel ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cp go.mod go.sum "$tmp/"
  "$go" get -modfile="$tmp/go.mod" "go.opentelemetry.io/otel@$otel" \
    "go.opentelemetry.io/otel/sdk@$otel" "go.opentelemetry.io/otel/trace@$otel"
  flags=(-modfile="$tmp/go.mod")
fi
"$go" list "${flags[@]}" -m go.opentelemetry.io/otel/trace go.opentelemetry.io/otel/sdk
"$go" test "${flags[@]}" -race -count=1 ./...
cd exectracetest
"$go" test -mod=readonly -race -count=1 ./...
