#!/usr/bin/env bash
# Installs the Debian 12 packages Meanwhile needs that are missing.
#   deploy/install-deps.sh          build and run
#   deploy/install-deps.sh --test   also what the test suite needs (Go, Node, clang for fuzzing,
#                                   systemd-analyze and a YAML parser for the lint of deploy/)
set -euo pipefail

build=(build-essential cmake pkg-config libuv1-dev libmicrohttpd-dev libsqlite3-dev libprotobuf-c-dev
       protobuf-c-compiler libzstd-dev zlib1g-dev libcurl4-openssl-dev libjansson-dev)
test=(libcmocka-dev nodejs npm zstd clang libclang-rt-14-dev sqlite3 libjson-c-dev
      protobuf-compiler curl systemd node-yaml valgrind openssl chromium)

want=("${build[@]}")
[[ "${1:-}" == "--test" ]] && want+=("${test[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# node and npm may come from outside Debian's packages on a developer machine
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<< "${missing[*]}"
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
