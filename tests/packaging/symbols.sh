#!/bin/sh
# symbols.sh NM SHARED_LIB STATIC_LIB HEADER...: the shared library exports
# exactly the functions the public headers (evq.h, evq_net.h, evq_io.h)
# declare with EVQ_API, and the static library defines no global name
# outside the public ones and the evq__ internals (so linking evq into a
# program cannot collide with the program's names).
set -eu
. "$(dirname "$0")/lib.sh"
nm=$1 shared=$2 static=$3
shift 3
command -v "$nm" >/dev/null 2>&1 || skip "$nm not found (Debian: binutils)"
tmpdir

sed -n 's/^EVQ_API[^(]*[ *]\(evq_[a-z0-9_]*\)(.*/\1/p' "$@" |
  sort -u >"$TMP/api"
[ "$(wc -l <"$TMP/api")" -ge 20 ] ||
  fail "found only $(wc -l <"$TMP/api") EVQ_API declarations in $*"

# defined_globals NM-FLAGS LIB: the names, one a line. AddressSanitizer
# adds an ODR indicator per global (gcc: __odr_asan.NAME, clang:
# __odr_asan_gen_NAME): checked as the NAME it guards.
defined_globals() {
  "$nm" "$1" --defined-only "$2" | awk 'NF >= 3 {print $3}' |
    sed 's/^__odr_asan[._]\(gen_\)\{0,1\}//' | sort -u
}
defined_globals -D "$shared" >"$TMP/exported"
extra=$(comm -13 "$TMP/api" "$TMP/exported" | tr '\n' ' ')
missing=$(comm -23 "$TMP/api" "$TMP/exported" | tr '\n' ' ')
[ -z "$extra" ] || fail "$shared exports names the headers do not declare: $extra"
[ -z "$missing" ] || fail "$shared does not export: $missing"
echo "$shared exports the $(wc -l <"$TMP/api") functions of the headers and nothing else"

defined_globals -g "$static" >"$TMP/globals"
[ -s "$TMP/globals" ] || fail "no global symbols in $static"
bad=$(grep -v '^evq__' "$TMP/globals" | comm -23 - "$TMP/api" | tr '\n' ' ')
[ -z "$bad" ] ||
  fail "$static defines globals that are neither API nor evq__: $bad"
echo "$static: $(wc -l <"$TMP/globals") globals, all API or evq__"
