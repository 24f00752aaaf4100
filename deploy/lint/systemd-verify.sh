#!/usr/bin/env bash
# Lints deploy/systemd/*.service with `systemd-analyze verify`, which needs the
# binaries the units start: they are rewritten to the built ones in a copy.
# A template (NAME@.service) is verified as NAME@example.service. Any output
# (systemd prints warnings but still exits 0) fails the check.
#   deploy/lint/systemd-verify.sh BUILD_DIR/meanwhiled BUILD_DIR/client/agent/meanwhile-agent
# Exit 77 (ctest's skip) when systemd-analyze is missing (apt-get install systemd).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
meanwhiled=${1:?usage: systemd-verify.sh MEANWHILED MEANWHILE_AGENT}
agent=${2:?usage: systemd-verify.sh MEANWHILED MEANWHILE_AGENT}
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze not found (apt-get install systemd): skipped" >&2
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for unit in "$here"/systemd/*.service; do
  name=$(basename "$unit")
  sed -e "s|/usr/local/bin/meanwhiled|$meanwhiled|g" -e "s|/usr/local/bin/meanwhile-agent|$agent|g" "$unit" > "$work/$name"
  target=$name
  if [[ $name == *@.service ]]; then
    target=${name%@.service}@example.service
    ln -s "$name" "$work/$target"
  fi
  out=$(cd "$work" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify "./$target" 2>&1) || { status=1; }
  # systemd-analyze may complain about units of the host it cannot see; only lines about ours count
  mine=$(printf '%s\n' "$out" | grep -F -e "$name" -e "$target" || true)
  if [[ -n $mine || $status -ne 0 ]]; then
    echo "FAIL $name"
    printf '%s\n' "$out"
    status=1
  else
    echo "ok   $name"
  fi
done
exit $status
