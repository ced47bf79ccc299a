#!/bin/sh
# .ci/hide-optional.sh COMMAND...: runs COMMAND in a private mount namespace
# where every optional tool evq's suite can use looks uninstalled, leaving
# what the README asks for (build-essential, cmake). Run it under
# `unshare -m` (root) or `unshare -rm`; .ci/front-door.sh does.
#
# A program is hidden by bind-mounting an empty, non-executable file over
# it (running it fails; a test that runs it anyway fails, it cannot pass),
# a header or .pc file by an empty file (a probe that compiles against it
# fails), and a whole tree (wine's, mingw's sysroot, /opt/libkqueue) by an
# empty directory. Before running COMMAND it checks that each hidden tool
# really fails, so a hiding that stopped working cannot pass for a front
# door that works.
set -eu
[ $# -gt 0 ] || { echo "usage: $0 COMMAND..." >&2; exit 2; }

# Mounts made here must not leak out (unshare -m makes them private; this
# says so again in case it did not).
mount --make-rprivate / 2>/dev/null || true
# The empty stand-ins stay mounted until the namespace ends, so they cannot
# be removed from in here: the caller names a directory it cleans up
# (HIDE_STASH_DIR), else they are left in $TMPDIR.
stash=$(mktemp -d "${HIDE_STASH_DIR:-${TMPDIR:-/tmp}}/evq-hidden.XXXXXX")
: >"$stash/empty"
chmod 644 "$stash/empty"
mkdir "$stash/emptydir"
hidden=0
hide() {
  if [ -d "$1" ]; then
    mount --bind "$stash/emptydir" "$1"
  else
    mount --bind "$stash/empty" "$1"
  fi
  hidden=$((hidden + 1))
}

# Programs, under every name and in every PATH directory they are found
# (a bind mount over a symbolic link covers the file it points to).
tools="wine wine64 wine-stable wineserver wineboot valgrind doxygen wrk
  redis-benchmark redis-server redis-cli clang gnuplot pkg-config pkgconf
  python3 python"
for d in $(printf '%s' "$PATH" | tr ':' ' ') /usr/bin /usr/local/bin; do
  [ -d "$d" ] || continue
  for t in $tools; do
    [ -e "$d/$t" ] && hide "$d/$t"
  done
  for f in "$d"/x86_64-w64-mingw32-* "$d"/clang-[0-9]* "$d"/python3.*; do
    [ -e "$f" ] && [ ! -d "$f" ] && hide "$f"
  done
done
# Debian's packaging tools beyond dpkg-dev (which build-essential brings):
# debhelper and lintian, which install.debian needs.
for d in $(printf '%s' "$PATH" | tr ':' ' ') /usr/bin; do
  for f in "$d"/dh "$d"/dh_* "$d"/lintian; do
    [ -f "$f" ] && hide "$f"
  done
done
# Trees that would still let a hidden tool work under another name.
for d in /usr/lib/wine /usr/lib/x86_64-linux-gnu/wine /usr/lib/i386-linux-gnu/wine \
  /usr/x86_64-w64-mingw32 /usr/lib/gcc/x86_64-w64-mingw32 /opt/libkqueue; do
  [ -d "$d" ] && hide "$d"
done

# Headers, static libraries and pkg-config files of the optional -dev
# packages (regular files only: a symbolic link may point at a run-time
# library something else needs, cmake itself links libuv).
for pkg in libuv1-dev libev-dev libevent-dev liburing-dev libkqueue-dev; do
  dpkg -L "$pkg" 2>/dev/null | while read -r f; do
    case $f in
    *.h | *.a | *.pc) [ -f "$f" ] && [ ! -L "$f" ] && mount --bind "$stash/empty" "$f" ;;
    esac
  done
done
# Asio (libasio-dev) is header-only C++: its top header, which declares
# everything the benchmarks' probe looks for (io_context).
[ -f /usr/include/asio.hpp ] && mount --bind "$stash/empty" /usr/include/asio.hpp
unset PKG_CONFIG_PATH

# The hiding works: each tool fails to run, each header fails to compile,
# and what the README needs still works.
status=0
if dh_assistant supported-compat-levels >/dev/null 2>&1; then
  echo "hide-optional: debhelper still runs" >&2
  status=1
fi
for t in $tools lintian x86_64-w64-mingw32-gcc /usr/lib/wine/wine64; do
  if "$t" --version >/dev/null 2>&1; then
    echo "hide-optional: $t still runs" >&2
    status=1
  fi
done
probe() {
  printf '#include <%s>\n%s\nint main(void) { return 0; }\n' "$1" "$2" >"$stash/p.c"
  if cc -Werror=implicit-function-declaration -c -o "$stash/p.o" "$stash/p.c" \
    >/dev/null 2>&1; then
    echo "hide-optional: <$1> still compiles" >&2
    status=1
  fi
}
probe uv.h 'uv_loop_t l;'
probe ev.h 'int f(void) { return ev_version_major(); }'
probe event2/event.h 'const char *f(void) { return event_get_version(); }'
probe liburing.h 'struct io_uring r;'
if printf '#include <asio.hpp>\nasio::io_context *p;\n' |
  g++ -std=c++17 -fsyntax-only -x c++ - >/dev/null 2>&1; then
  echo "hide-optional: <asio.hpp> still compiles" >&2
  status=1
fi
for t in cc make cmake; do
  "$t" --version >/dev/null 2>&1 || { echo "hide-optional: $t does not run" >&2; status=1; }
done
[ $status = 0 ] || exit 1
echo "hide-optional: $hidden programs and trees hidden, and the -dev files of the peers"

"$@"
