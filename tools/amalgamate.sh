#!/bin/sh
# tools/amalgamate.sh [-v] [OUTDIR]: writes OUTDIR/evq.c, evq.h, evq_net.h and
# evq_io.h (default dist/), the whole library as one source file and its
# headers, for projects that vendor evq as sqlite and wepoll are vendored:
#
#   cc -c evq.c            (POSIX: link with -lpthread)
#   x86_64-w64-mingw32-gcc -c evq.c   (link with -lws2_32 -lntdll)
#
# The file list comes from the tree, so files added or renamed under src/
# need no change here: the core (src/*.c), then src/unix/*.c and
# src/win/*.c, each platform's files inside one #if for that platform. A
# quoted #include is replaced by the header's text where it first appears
# (per platform: "sys.h" from the core means src/unix/sys.h or
# src/win/sys.h); "evq.h", "evq_net.h" and "evq_io.h" stay #includes of
# the shipped headers. The backend table that CMake makes from
# src/backends.c.in is made here with an #if per backend. What the tree
# cannot say is written below: which platforms a backend runs on, and its
# rank (best first).
#
# Putting every file in one translation unit can make names meet that were
# apart: file-scope names (static functions and variables, typedefs, tags,
# enum constants) defined by more than one file are renamed inside the
# amalgamation, per file, and listed at the top of evq.c (and with -v on
# stdout as they are found: it is information, not a warning); the macros a .c file defines
# unconditionally are #undef'd after it. Feature-test macros (_GNU_SOURCE,
# _WIN32_WINNT, ...) move to the top, before any system header.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
AM_VERBOSE=
if [ "${1:-}" = -v ]; then
  AM_VERBOSE=1
  shift
fi
export AM_VERBOSE
out=${1:-$top/dist}
LC_ALL=C
export LC_ALL
die() {
  printf 'amalgamate: %s\n' "$*" >&2
  exit 1
}

# name  directory  condition (besides the directory's)  -- best first
backends='
iocp    src/win   1
epoll   src/unix  defined(__linux__)
io_uring src/unix defined(__linux__)
kqueue  src/unix  defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__) || defined(__DragonFly__)
poll    src/unix  1
'
# directory  condition
platforms='
src/unix  !defined(_WIN32)
src/win   defined(_WIN32)
'

cd "$top"
for d in src/*/; do
  d=${d%/}
  printf '%s\n' "$platforms" | grep -q "^$d " ||
    die "$d/ is not a known platform directory (add it to 'platforms' in $0)"
done
deep=$(find src -mindepth 3 -name '*.[ch]' | head -n 1)
[ -z "$deep" ] || die "$deep: sources below src/<platform>/ are not supported"
[ -f src/backends.c.in ] || die "src/backends.c.in not found"

core=$(ls src/*.c)
plat=$(for d in $(printf '%s\n' "$platforms" | awk 'NF {print $1}'); do
  ls "$d"/*.c 2>/dev/null || true
done)
headers=$(find src -name '*.h' | sort)
version=$(awk '/^#define EVQ_VERSION_(MAJOR|MINOR|PATCH) /{v = v sep $3; sep = "."}
               END{print v}' include/evq.h)

mkdir -p "$out"
# Through the environment: awk -v cannot carry newlines everywhere (BSD awk).
AM_CORE=$core AM_PLAT=$plat AM_HEADERS=$headers AM_BACKENDS=$backends \
  AM_PLATFORMS=$platforms AM_VERSION=$version AM_OUT_C=$out/evq.c.tmp \
  AM_OUT_H=$out/evq.h.tmp ${AWK:-awk} -f "$top/tools/amalgamate.awk" || {
  rm -f "$out/evq.c.tmp" "$out/evq.h.tmp"
  die "failed"
}
# evq_net.h and evq_io.h as they are: the one #include of each ("evq.h",
# "evq_net.h") is the file beside it.
for h in evq_net.h evq_io.h; do
  { echo "/* evq $version (single-file distribution, made by tools/amalgamate.sh). */"
    cat "include/$h"; } >"$out/$h"
done
mv "$out/evq.c.tmp" "$out/evq.c"
mv "$out/evq.h.tmp" "$out/evq.h"
renamed=$(awk '/File-scope names renamed here/{on = 1} on && /^ \*   /{n++}
                /^ \*\//{if (on) exit} END{print n + 0}' "$out/evq.c")
echo "amalgamate: wrote $out/evq.c, $out/evq.h, $out/evq_net.h and $out/evq_io.h" \
  "(evq $version;" \
  "$renamed file-scope names renamed per file, listed at the top of evq.c)"
