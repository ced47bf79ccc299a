#!/bin/sh
# dist.sh COMPILER SOURCE_DIR [BACKEND...]: generates the single-file
# distribution (tools/amalgamate.sh), compiles the README example and the
# consumer (tests/consumer/main.c, which includes <evq_io.h>) against it
# alone with COMPILER and runs both on each BACKEND the platform has.
#   gcc, clang                   native, -Wall -Wextra -Werror and more
#   mingw-build                  x86_64-w64-mingw32-gcc, compile only
#   mingw-run                    the same, then run under wine
set -eu
compiler=$1
src=$(cd "$2" && pwd)
shift 2
. "$src/tests/packaging/lib.sh"

# The project's own warnings, which include the -Wall -Wextra -Werror the
# single file promises.
warn="-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror"

# need CC PACKAGE: skips unless CC is installed and builds a C11 program
# (a compiler that is there but broken does not count).
need() {
  command -v "$1" >/dev/null 2>&1 || skip "$1 not installed (Debian: $2)"
  printf '#include <stdatomic.h>\nint main(void) { atomic_int a = 0; return a; }\n' \
    >"$TMP/probe.c"
  "$1" -std=c11 -o "$TMP/probe" "$TMP/probe.c" >"$TMP/probe.log" 2>&1 ||
    skip "$1 cannot build a C11 program here: $(head -n 1 "$TMP/probe.log")"
}

# wine: the 64-bit loader (Debian keeps wine64 out of PATH) or wine.
find_wine() {
  for w in wine64 /usr/lib/wine/wine64 wine; do
    if "$w" --version >/dev/null 2>&1; then
      echo "$w"
      return
    fi
  done
}

tmpdir
case $compiler in
gcc | clang)
  cc=$compiler
  need "$cc" "$cc"
  libs=-pthread
  exe=$TMP/readme
  ext=
  ;;
mingw-build | mingw-run)
  cc=x86_64-w64-mingw32-gcc
  need "$cc" gcc-mingw-w64-x86-64
  libs="-static -lws2_32 -lntdll"
  exe=$TMP/readme.exe
  ext=.exe
  if [ "$compiler" = mingw-run ]; then
    wine=$(find_wine)
    [ -n "$wine" ] || skip "wine not installed, or does not run (Debian: wine wine64)"
  fi
  ;;
*) fail "unknown compiler $compiler" ;;
esac

sh "$src/tools/amalgamate.sh" "$TMP/dist" >"$TMP/gen.log" 2>&1 ||
  fail "tools/amalgamate.sh: $(cat "$TMP/gen.log")"
# make dist says one thing: what it wrote (the renamed names are listed in
# evq.c; -v prints them), nothing that reads like a warning.
[ "$(wc -l <"$TMP/gen.log")" -eq 1 ] && grep -q '^amalgamate: wrote ' "$TMP/gen.log" ||
  fail "tools/amalgamate.sh printed more than the line saying what it wrote: $(cat "$TMP/gen.log")"
for f in evq.c evq.h evq_net.h evq_io.h; do
  [ -f "$TMP/dist/$f" ] || fail "tools/amalgamate.sh did not write $f"
done
# Nothing but the four files: no source tree on the include path.
# shellcheck disable=SC2086 # flag lists
"$cc" -std=c11 -O2 $warn -I"$TMP/dist" -o "$exe" "$src/examples/readme.c" \
  "$TMP/dist/evq.c" $libs || fail "$cc could not build the README example from dist/evq.c"
echo "$cc built the README example from evq.c + evq.h + evq_net.h alone"
# The consumer includes <evq_io.h> (and through it the other two) and
# calls the completion operations: they ship in the single file too.
grep -q '^#include <evq_io.h>$' "$src/tests/consumer/main.c" ||
  fail "tests/consumer/main.c no longer includes <evq_io.h>, which this case checks"
# shellcheck disable=SC2086 # flag lists
"$cc" -std=c11 -O2 $warn -I"$TMP/dist" -o "$TMP/consumer$ext" \
  "$src/tests/consumer/main.c" "$TMP/dist/evq.c" $libs ||
  fail "$cc could not build tests/consumer/main.c (<evq_io.h>) from dist/evq.c"
echo "$cc built the consumer (<evq_io.h>) from evq.c + evq.h + evq_net.h + evq_io.h alone"

# The README's own commands, in a directory holding main.c, evq.c and the
# three headers: "cc -I. main.c evq.c -lpthread" for a program that
# includes <evq_net.h>, and the same without -I. for one that includes
# "evq_net.h".
readme_commands() {
  grep -q '^cc -I\. main\.c evq\.c -lpthread ' "$src/README.md" &&
    grep -q '^cc main\.c evq\.c -lpthread ' "$src/README.md" ||
    fail "README.md no longer shows the two single-file commands this case runs"
  mkdir "$TMP/app"
  cp "$TMP/dist/evq.c" "$TMP/dist/evq.h" "$TMP/dist/evq_net.h" "$TMP/dist/evq_io.h" \
    "$TMP/app/"
  cp "$src/examples/readme.c" "$TMP/app/main.c"
  (cd "$TMP/app" && "$cc" -I. main.c evq.c -lpthread -o angled) ||
    fail "cc -I. main.c evq.c -lpthread failed"
  grep -q '^#include <evq_net.h>$' "$src/examples/readme.c" ||
    fail "examples/readme.c no longer includes <evq_net.h>, which this case rewrites"
  sed 's/#include <evq_net.h>/#include "evq_net.h"/' "$src/examples/readme.c" >"$TMP/app/main.c"
  (cd "$TMP/app" && "$cc" main.c evq.c -lpthread -o quoted) ||
    fail "cc main.c evq.c -lpthread failed for a program that includes \"evq_net.h\""
  run_ok "$TMP/app/angled" >/dev/null
  run_ok "$TMP/app/quoted" >/dev/null
  echo "the README's single-file commands build and run"
}
case $compiler in gcc | clang) readme_commands ;; esac

if [ "$compiler" = mingw-build ]; then
  exit 0
elif [ "$compiler" = mingw-run ]; then
  # Quiet; and no Mono/Gecko installer should wine create its prefix now.
  export WINEDEBUG=-all
  WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=}
  export WINEDLLOVERRIDES
  WINEPREFIX=${WINEPREFIX:-${HOME:-/tmp}/.wine-evq}
  export WINEPREFIX
  run() { "$wine" "$1"; }
else
  run() { "$1"; }
fi

[ $# -gt 0 ] || fail "no backends to check"
for b in "$@"; do
  out=$(EVQ_BACKEND=$b run "$exe" 2>&1) || fail "on $b: exit status $?: $out"
  case $out in
  *"read 5 bytes on $b"*"timer 7 fired"* | *"timer 7 fired"*"read 5 bytes on $b"*) ;;
  *) fail "on $b, the README example printed: $out" ;;
  esac
  out=$(EVQ_BACKEND=$b run "$TMP/consumer$ext" 2>&1) ||
    fail "on $b: the consumer's exit status $?: $out"
  case $out in
  *"backend $b: ok"*) ;;
  *) fail "on $b, the consumer printed: $out" ;;
  esac
  echo "ran on $b (the README example and the consumer)"
done
