#!/usr/bin/env bash
# lint/format: every C source of the project is laid out as .clang-format says.
# Prints each file that is not (with clang-format's first complaints) and fails;
# fails too when it found nothing to check. Fix with:
#   git ls-files '*.c' '*.h' | grep -v '^tests/lint/' | xargs clang-format -i
set -euo pipefail
src=${1:?usage: format.sh <source dir> [clang-format]}
cf=${2:-clang-format}
cd "$src"
command -v "$cf" >/dev/null || { echo "format: $cf not found (deploy/install-deps.sh --test installs clang-format)" >&2; exit 1; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.c' '*.h' | grep -v '^tests/lint/')
else
  mapfile -t files < <(find server client include tests bench -name '*.[ch]' -not -path 'tests/lint/*' | sort)
fi
(( ${#files[@]} > 100 )) || { echo "format: only ${#files[@]} C files found under $src: nothing to check" >&2; exit 1; }
bad=0
for f in "${files[@]}"; do
  if ! out=$("$cf" --dry-run -Werror --style=file "$f" 2>&1); then
    echo "$f is not formatted:"; echo "$out" | head -6
    bad=$((bad + 1))
  fi
done
echo "format: ${#files[@]} files checked, $bad not formatted"
(( bad == 0 ))
