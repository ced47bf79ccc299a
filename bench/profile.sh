#!/bin/sh
# bench/profile.sh PROGRAM [ARGS...]: runs one benchmark program under
# callgrind, counting only its measured phase, and prints the functions
# that cost the most instructions, self and inclusive. Example:
#   bench/profile.sh bench/build/pipes_evq n=1000 active=100 writes=20000 timeouts=1 rounds=1
# The raw profile is kept for callgrind_annotate --auto=yes (path printed).
set -eu
[ $# -ge 1 ] || { echo "usage: $0 PROGRAM [key=value...]" >&2; exit 2; }
out=${TMPDIR:-/tmp}/evq-profile.$(basename "$1").$$
valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$out" "$@" 2>/dev/null
for f in "$out"*; do
  echo "== $f"
  callgrind_annotate --inclusive=no "$f" 2>/dev/null | sed -n '/file:function/,/^$/p' | sed -n 3,22p
  echo "-- inclusive"
  callgrind_annotate --inclusive=yes "$f" 2>/dev/null | sed -n '/file:function/,/^$/p' | sed -n 3,14p
done
