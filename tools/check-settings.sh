#!/bin/sh
# tools/check-settings.sh [TOP]: every EVQ_* environment variable src/ reads
# (evq__getenv or getenv) is listed in docs/reliability.md's "Settings that
# force a path", except EVQ_BACKEND (evq.h documents it for programs), and
# the table lists no variable src/ no longer reads. Prints the difference
# and exits 1 otherwise. (ctest docs.settings_table.)
set -eu
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evq-settings.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
find "$top/src" -name '*.[ch]' -exec cat {} + |
  sed -n 's/.*getenv("\(EVQ_[A-Z0-9_]*\)").*/\1/p' |
  grep -v '^EVQ_BACKEND$' | sort -u >"$tmp/code"
sed -n '/^## Settings that force a path/,/^## /p' "$top/docs/reliability.md" |
  sed -n 's/^| `\(EVQ_[A-Z0-9_]*\)=.*/\1/p' | sort -u >"$tmp/doc"
[ -s "$tmp/code" ] || { echo "no EVQ_* variable read in src/: the pattern is stale"; exit 1; }
if ! cmp -s "$tmp/code" "$tmp/doc"; then
  echo "src/ and docs/reliability.md's settings table differ:"
  diff "$tmp/code" "$tmp/doc" | sed -n 's/^</  read by src\/, not listed:/p; s/^>/  listed, not read by src\/:/p'
  exit 1
fi
echo "docs/reliability.md lists the $(wc -l <"$tmp/code") test settings src/ reads"
