#!/usr/bin/env bash
# Installs what is missing, builds, and runs meanwhiled in the foreground:
# OTLP/HTTP ingest, the API and the viewer on http://127.0.0.1:4318, data in
# ./meanwhile-data. Extra arguments go to meanwhiled (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMW_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"   # meanwhiled, meanwhile-agent, meanwhile
exec build/meanwhiled --data ./meanwhile-data "$@"
