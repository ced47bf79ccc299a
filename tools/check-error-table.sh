#!/bin/sh
# Fails unless the list of error codes in evq.h's comment ("- EVQ_EBADF
# (-3): ...") names exactly the codes of the EVQ_ERRNO_MAP table below it,
# with the same values, in the same order. The table is the code; the list
# is what users read (and what the API reference shows).
set -eu
header=$(dirname "$0")/../include/evq.h
table=$(sed -n 's/^ *X(\([A-Z]*\), *\(-[0-9]*\),.*/EVQ_\1 \2/p' "$header")
listed=$(sed -n 's/^ \* - \(EVQ_E[A-Z]*\) (\(-[0-9]*\)): .*/\1 \2/p' "$header")
if [ -z "$table" ]; then
  echo "evq.h: no X(NAME, value, text) lines in EVQ_ERRNO_MAP"
  exit 1
fi
if [ "$table" != "$listed" ]; then
  echo "evq.h: the list of error codes in the comment differs from EVQ_ERRNO_MAP"
  echo "(left: the table; right: the list)"
  tmp=$(mktemp "${TMPDIR:-/tmp}/evq-table.XXXXXX")
  printf '%s\n' "$table" >"$tmp"
  printf '%s\n' "$listed" | diff "$tmp" - || true
  rm -f "$tmp"
  exit 1
fi
echo "evq.h: $(printf '%s\n' "$table" | wc -l | tr -d ' ') error codes, each described"
