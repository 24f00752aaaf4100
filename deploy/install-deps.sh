#!/usr/bin/env bash
# Installs the Debian 12 packages Meanwhile needs that are missing.
#   deploy/install-deps.sh          build and run
#   deploy/install-deps.sh --test   also what the test suite needs (Node, clang for fuzzing,
#                                   systemd-analyze and a YAML parser for the lint of deploy/,
#                                   python3-venv for the API fuzz's schemathesis from PyPI),
#                                   and a Go >= 1.25 (below)
#   deploy/install-deps.sh --go     only the Go toolchain
#
# Go: the tests build Go services and read what their runtime prints. Debian 12's golang-go
# (1.19) is not used. A `go` on PATH, else $MW_GO_ROOT/bin/go (default /usr/local/go), of
# version >= 1.25 is used as it is. Otherwise the official Go 1.26.8 toolchain is downloaded
# from the Go module proxy (the zip `go` itself fetches for GOTOOLCHAIN switching), checked
# against the SHA-256 pinned here and against the go.sum hash (h1:) the proxy's mirror of
# sum.golang.org states when that answers (else against the h1: pinned here), and unpacked
# into $MW_GO_ROOT, only when that directory does not exist: nothing is overwritten, and the
# go on PATH is not shadowed. CMake finds /usr/local/go/bin/go without PATH; for a shell, add
# it to PATH as the script says. Environment: MW_GO_ROOT, MW_GO_PROXY (default
# https://proxy.golang.org; a file:// URL works).
set -euo pipefail

build=(build-essential cmake pkg-config libuv1-dev libmicrohttpd-dev libsqlite3-dev libprotobuf-c-dev
       protobuf-c-compiler libzstd-dev zlib1g-dev libcurl4-openssl-dev libjansson-dev)
test=(libcmocka-dev nodejs npm zstd clang clang-format libclang-rt-14-dev sqlite3 libjson-c-dev
      protobuf-compiler curl unzip systemd node-yaml valgrind openssl chromium python3 python3-venv)

GO_MIN_MINOR=25 # Go 1.25: the SCHED line of today's runtime
GO_VERSION=1.26.8
# golang.org/toolchain@v0.0.1-go1.26.8.linux-<arch>: sha256sum of the proxy's zip, and the
# module's h1: hash as sum.golang.org records it
declare -A GO_ZIP_SHA256=([amd64]=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7)
declare -A GO_H1=([amd64]=h1:ZOmGe1OnfREDMIdb1Qi4G9JSuDPBLGExZMQ4nis1RXM=
                  [arm64]=h1:sYL/O6MqS68ML0kjsQ36WoYIpJqkw60TxizWUYUKQMc=)
GO_ROOT=${MW_GO_ROOT:-/usr/local/go}
GO_PROXY=${MW_GO_PROXY:-https://proxy.golang.org}

sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
go_tmp=""
trap '[[ -z $go_tmp ]] || rm -rf "$go_tmp"' EXIT

install_packages() { # packages...
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  # node and npm may come from outside Debian's packages on a developer machine
  if command -v node >/dev/null && command -v npm >/dev/null; then
    missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
  fi
  read -r -a missing <<< "${missing[*]}"
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The minor version of a go command's Go 1.x ("go version go1.26.8 linux/amd64",
# "go version devel go1.27-abc ..."), or nothing.
go_minor() {
  local v
  v=$(GOTOOLCHAIN=local "$1" version 2>/dev/null) || return 0
  [[ $v =~ go1\.([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
  return 0
}

# The h1: hash of a module zip's files (golang.org/x/mod/sumdb/dirhash.Hash1): the
# sha256 of the sorted lines "<sha256 hex>  <name>\n", base64. dir holds the unpacked zip.
dirhash_h1() {
  local hex
  hex=$(cd "$1" && find . -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
  # shellcheck disable=SC2059 # the format is the digest as \x escapes, by design
  printf 'h1:%s\n' "$(printf "$(sed 's/../\\x&/g' <<< "$hex")" | base64)"
}

install_go() {
  local arch
  case $(uname -m) in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    *) echo "install-deps: no Go toolchain for $(uname -m) here; install Go >= 1.$GO_MIN_MINOR by hand" >&2; return 1 ;;
  esac
  local mod=golang.org/toolchain ver=v0.0.1-go$GO_VERSION.linux-$arch
  for tool in curl unzip sha256sum base64; do
    command -v "$tool" >/dev/null || { echo "install-deps: $tool is needed to install Go (deploy/install-deps.sh --test)" >&2; return 1; }
  done
  go_tmp=$(mktemp -d)
  local tmp=$go_tmp
  echo "install-deps: downloading Go $GO_VERSION ($mod@$ver) from $GO_PROXY" >&2
  curl -fsSL --retry 3 -o "$tmp/go.zip" "$GO_PROXY/$mod/@v/$ver.zip" || {
    echo "install-deps: cannot download $GO_PROXY/$mod/@v/$ver.zip" >&2; return 1; }

  local pinned=${GO_ZIP_SHA256[$arch]:-} got
  if [[ -n $pinned ]]; then
    got=$(sha256sum "$tmp/go.zip" | cut -d' ' -f1)
    if [[ $got != "$pinned" ]]; then
      echo "install-deps: the Go zip's SHA-256 is $got, not the pinned $pinned: not installed" >&2
      return 1
    fi
    echo "install-deps: SHA-256 matches the pinned $pinned" >&2
  fi
  unzip -q "$tmp/go.zip" -d "$tmp/x"
  local h1 want from
  h1=$(dirhash_h1 "$tmp/x")
  # the checksum database, through the proxy's mirror of it (what go itself asks)
  want=$(curl -fsS --max-time 20 "$GO_PROXY/sumdb/sum.golang.org/lookup/$mod@$ver" 2>/dev/null |
         awk -v m="$mod" -v v="$ver" '$1 == m && $2 == v { print $3 }') || want=""
  from="sum.golang.org (through $GO_PROXY)"
  if [[ -z $want ]]; then
    want=${GO_H1[$arch]:-}
    from="the h1: pinned here (sum.golang.org did not answer)"
  fi
  if [[ -z $want && -z $pinned ]]; then
    echo "install-deps: nothing to check the Go zip against (no pin for $arch, sum.golang.org did not answer): not installed" >&2
    return 1
  fi
  if [[ -n $want && $h1 != "$want" ]]; then
    echo "install-deps: the Go zip's files hash to $h1, $from says $want: not installed" >&2
    return 1
  fi
  [[ -n $want ]] && echo "install-deps: $h1 matches $from" >&2
  # the zip holds one directory, golang.org/toolchain@<ver>/, which is a GOROOT
  local parent as=""
  parent=$(dirname "$GO_ROOT")
  [[ -d $parent && -w $parent ]] || as=$sudo
  $as mkdir -p "$parent"
  $as mv "$tmp/x/$mod@$ver" "$GO_ROOT"
  $as chmod -R a+rX "$GO_ROOT"
  echo "install-deps: installed $(GOTOOLCHAIN=local "$GO_ROOT/bin/go" version) in $GO_ROOT" >&2
}

# How to reach GO_ROOT's go: CMake looks in /usr/local/go/bin itself, a shell needs PATH.
path_hint() {
  if [[ $GO_ROOT == /usr/local/go ]]; then
    echo "CMake finds it there; for a shell: export PATH=$GO_ROOT/bin:\$PATH"
  else
    echo "put it on PATH (CMake searches PATH): export PATH=$GO_ROOT/bin:\$PATH"
  fi
}

ensure_go() {
  local onpath minor
  onpath=$(command -v go || true)
  if [[ -n $onpath ]]; then
    minor=$(go_minor "$onpath")
    if [[ -n $minor && $minor -ge $GO_MIN_MINOR ]]; then
      echo "install-deps: using $onpath ($(GOTOOLCHAIN=local "$onpath" version))" >&2
      return 0
    fi
  fi
  if [[ -x $GO_ROOT/bin/go && $GO_ROOT/bin/go != "$onpath" ]]; then
    minor=$(go_minor "$GO_ROOT/bin/go")
    if [[ -n $minor && $minor -ge $GO_MIN_MINOR ]]; then
      echo "install-deps: using $GO_ROOT/bin/go ($(GOTOOLCHAIN=local "$GO_ROOT/bin/go" version)); $(path_hint)" >&2
      return 0
    fi
  fi
  if [[ -e $GO_ROOT ]]; then
    echo "install-deps: $GO_ROOT exists but holds no Go >= 1.$GO_MIN_MINOR; it is left alone." \
         "Remove it, or set MW_GO_ROOT to another directory, and run this again" >&2
    return 1
  fi
  install_go
  if [[ -n $onpath ]]; then
    echo "install-deps: $onpath ($(GOTOOLCHAIN=local "$onpath" version 2>/dev/null)) is older than Go 1.$GO_MIN_MINOR" \
         "and comes first on PATH: put the new one first: export PATH=$GO_ROOT/bin:\$PATH" >&2
  else
    echo "install-deps: $(path_hint)" >&2
  fi
}

case ${1:-} in
  "") install_packages "${build[@]}" ;;
  --test) install_packages "${build[@]}" "${test[@]}"; ensure_go ;;
  --go) ensure_go ;;
  *) echo "usage: deploy/install-deps.sh [--test | --go]" >&2; exit 2 ;;
esac
