#!/usr/bin/env bash
# Tests how deploy/install-deps.sh --go picks or installs Go, and that --test installs no
# golang package, offline and without touching /usr/local/go: fake `go` commands on a PATH
# of our own, MW_GO_ROOT in a temporary directory, MW_GO_PROXY a file:// proxy holding a zip
# that is not the real toolchain (it must be refused). The real download was checked by
# hand (deploy/install-deps.sh's pins). Exit 77 (ctest's skip) without python3 (it writes
# the zip).
set -euo pipefail
script=$(cd "$(dirname "$0")/.." && pwd)/install-deps.sh
command -v python3 >/dev/null || { echo "python3 not found: skipped" >&2; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
check() { # description, condition...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}

# A fake go that says it is version $2, in directory $1.
fake_go() {
  mkdir -p "$1"
  printf '#!/bin/sh\necho "go version go%s linux/amd64"\n' "$2" > "$1/go"
  chmod +x "$1/go"
}
# The system's tools without any go: the script needs coreutils, curl, unzip.
sys=$work/sys
mkdir -p "$sys"
for t in bash sh env dirname mktemp rm mv mkdir chmod cat cut sed awk sort find xargs sha256sum base64 \
         curl unzip grep id uname; do
  p=$(command -v "$t") && ln -s "$p" "$sys/$t"
done
run() { # PATH-prefix, MW_GO_ROOT, proxy: runs the script, output in $out, status in $rc
  rc=0
  out=$(env -i HOME="$work" PATH="$1${1:+:}$sys" MW_GO_ROOT="$2" MW_GO_PROXY="$3" bash "$script" --go 2>&1) || rc=$?
}
proxy=$work/proxy
mkdir -p "$proxy/golang.org/toolchain/@v"
for arch in amd64 arm64; do # a zip shaped like the toolchain's, with a fake bin/go in it
  python3 - "$proxy/golang.org/toolchain/@v/v0.0.1-go1.26.8.linux-$arch.zip" "$arch" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    root = "golang.org/toolchain@v0.0.1-go1.26.8.linux-%s/" % sys.argv[2]
    z.writestr(root + "VERSION", "go1.26.8\n")
    z.writestr(root + "bin/go", "#!/bin/sh\necho tampered\n")
PY
done

fake_go "$work/new" 1.26.8
run "$work/new" "$work/root-a" "file://$proxy"
check "a go >= 1.25 on PATH is used" test $rc -eq 0
check "  and named" grep -q "using $work/new/go (go version go1.26.8" <<< "$out"
check "  and nothing is installed" test ! -e "$work/root-a"

fake_go "$work/root-b/bin" 1.25.0
run "" "$work/root-b" "file://$proxy"
check "without go on PATH, MW_GO_ROOT's go >= 1.25 is used" test $rc -eq 0
check "  with a hint for PATH" grep -q "using $work/root-b/bin/go .*export PATH=$work/root-b/bin:" <<< "$out"

fake_go "$work/old" 1.19.8
run "$work/old" "$work/root-c" "file://$proxy"
check "an old go on PATH, a zip that is not the toolchain: refused" test $rc -ne 0
check "  saying why" grep -q "not installed" <<< "$out"
check "  and nothing is installed" test ! -e "$work/root-c"

fake_go "$work/root-d/bin" 1.22.0
run "$work/old" "$work/root-d" "file://$proxy"
check "an old Go in MW_GO_ROOT is left alone" test $rc -ne 0
check "  saying so" grep -q "$work/root-d exists but holds no Go >= 1.25; it is left alone" <<< "$out"
check "  untouched" grep -q "go1.22.0" "$work/root-d/bin/go"

run "" "$work/root-e" "file://$work/nowhere"
check "no proxy: refused" test $rc -ne 0
check "  saying so" grep -q "cannot download file://$work/nowhere/golang.org/toolchain/@v/v0.0.1-go1.26.8.linux-" <<< "$out"
check "  and nothing is installed" test ! -e "$work/root-e"

# --test installs Debian's packages, never Debian's Go (golang-go is 1.19; the tests need the
# machine's Go, and it would shadow it on PATH): a dpkg-query that finds nothing installed, an
# apt-get that records its arguments, a go >= 1.25 on PATH
mkdir -p "$work/apt"
printf '#!/bin/sh\nexit 1\n' > "$work/apt/dpkg-query"
printf '#!/bin/sh\necho "$@" >> "%s/apt-get.log"\n' "$work" > "$work/apt/apt-get"
chmod +x "$work/apt/dpkg-query" "$work/apt/apt-get"
rc=0
out=$(env -i HOME="$work" PATH="$work/apt:$work/new:$sys" MW_GO_ROOT="$work/root-f" MW_GO_PROXY="file://$proxy" \
      bash "$script" --test 2>&1) || rc=$?
not() { ! "$@"; }
check "--test installs the packages it lists" grep -q "^install .* build-essential .* nodejs " "$work/apt-get.log"
check "  and no golang package" not grep -qE "(^| )golang" "$work/apt-get.log"
check "  and uses the go on PATH" grep -q "using $work/new/go (go version go1.26.8" <<< "$out"
check "  installing no Go" test ! -e "$work/root-f"

[[ $fails -eq 0 ]] || { echo "$fails failed; the script's last output:"; echo "$out"; exit 1; }
