#!/bin/sh
# tools/check-design.sh [TOP]: docs/design.md's table of the backend
# interface ("## The backend interface") must name every operation of
# src/backend.h's evq__backend_t, each with as many arguments, and no
# other, so that the map cannot drift from the code again. Prints the
# difference and exits 1 if it does. (ctest docs.design_table.)
set -eu
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evq-design.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# NAME ARGS: one line per operation.
count() { awk '{ name = $1; $1 = ""; n = split($0, a, ","); print name, n }'; }
sed -n 's/^ *[a-z_0-9]* *(\*\([a-z_]*\))(\(.*\));.*/\1 \2/p' \
  "$top/src/backend.h" | count | sort >"$tmp/code"
sed -n '/^## The backend interface/,/^## /p' "$top/docs/design.md" |
  sed -n 's/^| `\([a-z_]*\)(\([^)]*\))`.*/\1 \2/p' | count | sort >"$tmp/doc"
[ -s "$tmp/code" ] || { echo "no operation found in src/backend.h"; exit 1; }
if ! cmp -s "$tmp/code" "$tmp/doc"; then
  echo "docs/design.md's backend table and src/backend.h differ (operation, arguments):"
  diff "$tmp/code" "$tmp/doc" | sed -n 's/^</  backend.h:/p; s/^>/  design.md:/p'
  exit 1
fi
echo "docs/design.md names the $(wc -l <"$tmp/code") backend operations of src/backend.h"
