#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds twice (a release
# build with warnings as errors, and an ASan+UBSan build) and runs every test
# under ctest in both. Exit status is ctest's.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

deploy/install-deps.sh --test
# npm packages of the tests: the OpenTelemetry JS SDK, and playwright-core to
# drive Debian's chromium (it never downloads a browser of its own)
for dir in tests/integration web; do
  if [[ -f $dir/package-lock.json ]]; then
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
done

status=0
run() { # name, cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DMW_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" 2>&1 | grep -E 'warning|error' || true
  cmake --build "$dir" -j"$jobs" >/dev/null
  echo "== ctest in $dir"
  ctest --test-dir "$dir" -j"$jobs" --output-on-failure --timeout 900 || status=1
}

# 1. release build, warnings as errors: every test, plus the integration
#    tests once more with meanwhiled under valgrind
run build -DCMAKE_BUILD_TYPE=RelWithDebInfo
# 2. the whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
  run build-asan -DCMAKE_BUILD_TYPE=Debug -DMW_SANITIZE=ON -DCMAKE_C_COMPILER=clang
# 3. every decoder's libFuzzer target for a fixed time, and every past finding
cmake -S . -B build-fuzz -DMW_WERROR=ON -DMW_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$jobs" >/dev/null
echo "== ctest -L fuzz in build-fuzz"
ctest --test-dir build-fuzz -L fuzz -j"$jobs" --output-on-failure || status=1
exit $status
