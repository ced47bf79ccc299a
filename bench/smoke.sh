#!/bin/sh
# bench/smoke.sh [DIR [LIB]]: builds benchmark programs and runs each once on
# tiny parameters, so the benchmarks keep building and working as evq
# changes. No timing is checked. DIR holds libevq.a (a CMake build
# directory); without it, bench/Makefile builds its own evq.
#
# LIB is one of evq, epoll, libuv, libev, libevent, uring, asio (that
# library's programs: evq's include its completion servers, pingpong_evq_io,
# http_evq_io and churn_evq_io, run on epoll and on io_uring; uring is raw
# io_uring through liburing, its servers; asio is Asio's servers, C++ built
# with g++, on its epoll reactor and, where liburing is installed, on
# io_uring) or run.py
# (bench's Python, run.py, backends.py, instr.py and
# every module of the evqbench package they import, still compiles and
# imports, and run.py and backends.py parse --help). The suite runs one case
# per LIB (bench.smoke.<lib>); when LIB is not installed here (its header
# is missing: the -dev package is not there) the case prints "SKIP:
# <reason>" and exits 77, which ctest reports as skipped. A LIB that is
# installed but whose probe program does not compile and link is a
# failure, not a skip: the probe or the Makefile's flags are broken. Without
# LIB every library is tried and the missing ones are only named. A server
# on io_uring where the kernel refuses io_uring (a seccomp filter,
# io_uring_disabled) is named and left out. Anything else that fails makes
# the script exit 1.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/evq-bench-smoke.XXXXXX")
trap 'rm -rf "$out"' EXIT
trap 'exit 1' INT TERM
fail=0
note() { printf 'bench smoke: %s\n' "$*"; }
bad() { printf 'bench smoke: FAIL: %s\n' "$*" >&2; fail=1; }

dir=${1:-}
only=${2:-}
evq_lib=
if [ -n "$dir" ]; then
  evq_lib=$(find "$dir" -name libevq.a 2>/dev/null | head -n 1)
  [ -n "$evq_lib" ] || { bad "no libevq.a under $dir"; exit 1; }
fi

# A sanitizer build of evq needs the programs built with the same sanitizer.
san=
if [ -n "$dir" ] && [ -f "$dir/CMakeCache.txt" ]; then
  san=$(sed -n 's/^EVQ_SANITIZE:[A-Z]*=//p' "$dir/CMakeCache.txt")
fi
cflags="-O2 -g"
[ -n "$san" ] && cflags="-O1 -g -fno-omit-frame-pointer -fsanitize=$san"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"

# usable LIB: 0 if a program calling LIB compiles and links here, with the
# flags bench/Makefile links it with; 1 (why= says so) if LIB is not
# installed (its header is missing); 2 (why= has the first error) if it is
# installed and the program still does not build.
usable() {
  case $1 in
  evq) return 0 ;;
  epoll)
    pkg=linux-libc-dev hdr=sys/epoll.h sym=epoll_create1
    src='#include <sys/epoll.h>
int main(void) { return epoll_create1(0) < 0; }' ;;
  libuv)
    pkg=libuv1-dev hdr=uv.h sym=uv_loop_init
    src='#include <uv.h>
int main(void) { uv_loop_t l; return uv_loop_init(&l) || uv_loop_close(&l); }' ;;
  libev)
    pkg=libev-dev hdr=ev.h sym=ev_loop_new
    src='#include <ev.h>
int main(void) { return ev_loop_new(0) == 0; }' ;;
  libevent)
    pkg=libevent-dev hdr=event2/event.h sym=event_base_new
    src='#include <event2/event.h>
#include <event2/thread.h>
int main(void) { return evthread_use_pthreads() || !event_base_new(); }' ;;
  uring)
    pkg=liburing-dev hdr=liburing.h sym=io_uring_queue_init
    src='#include <liburing.h>
int main(void) { struct io_uring r; return io_uring_queue_init(2, &r, 0) < 0; }' ;;
  asio)
    pkg=libasio-dev hdr=asio.hpp sym=io_context
    src='#include <asio.hpp>
int main() { asio::io_context io(1); return (int)io.poll(); }' ;;
  *) bad "unknown library $1"; exit 1 ;;
  esac
  # Asio is C++ (header-only); the others C.
  comp=${CC:-cc} lang=c std=-std=c11
  if [ "$1" = asio ]; then
    comp=${CXX:-g++} lang=c++ std=-std=c++17
    command -v "$comp" >/dev/null 2>&1 || {
      why="asio needs a C++ compiler, and $comp is not installed (Debian: g++)"
      return 1
    }
  fi
  # Installed means the header is there and declares what the probe calls:
  # an empty header (as CI's front door mounts over a hidden package's) is
  # no installation, and must skip, not fail.
  if ! printf '#define _GNU_SOURCE\n#include <%s>\n' "$hdr" |
    $comp $std -E -x $lang - 2>/dev/null | grep -q "\\<$sym\\>"; then
    why="$1 not installed (Debian: $pkg)"
    return 1
  fi
  # As bench/common.h does, before any header.
  printf '#define _GNU_SOURCE\n%s\n' "$src" >"$out/probe_$1.$lang"
  # shellcheck disable=SC2046 # the Makefile's flags are a list of words
  if $comp $std -x $lang -pthread $([ $lang = c ] && echo -Werror=implicit-function-declaration) \
    -o "$out/probe_$1" "$out/probe_$1.$lang" -x none \
    $(make -s --no-print-directory -C "$here" LIBRARIES="$1" "libs-$1") \
    >"$out/probe_$1.log" 2>&1; then
    return 0
  fi
  why="$1 is installed ($hdr found) but a program using it does not build: $(grep -m 1 -i 'error' \
    "$out/probe_$1.log" | sed -e 's/^.*error: //' -e 's/ \[-W[^]]*\]$//')"
  return 2
}

# pycheck: every Python file of bench/ compiles (byte code under $out, not
# in the tree), every module imports, and the scripts' --help works.
pycheck() {
  # shellcheck disable=SC2016 # a Python program, not shell
  if ! PYTHONDONTWRITEBYTECODE=1 python3 -c '
import importlib, os, pkgutil, py_compile, sys
out, here = sys.argv[1], sys.argv[2]
files = sorted(os.path.join(d, f) for d in (here, os.path.join(here, "evqbench"))
               for f in os.listdir(d) if f.endswith(".py"))
bad = 0
for i, f in enumerate(files):
    try:
        py_compile.compile(f, cfile=os.path.join(out, "%d.pyc" % i), doraise=True)
    except py_compile.PyCompileError as e:
        print(e.msg, file=sys.stderr)
        bad = 1
if bad:
    sys.exit(1)
sys.path.insert(0, here)
import evqbench
for m in pkgutil.iter_modules(evqbench.__path__):
    importlib.import_module("evqbench." + m.name)
for m in ("run", "backends", "instr"):
    importlib.import_module(m)
print(len(files))
' "$out" "$here" >"$out/pyn" 2>"$out/py"; then
    bad "bench Python: $(tail -n 5 "$out/py")"
    return
  fi
  for s in run.py backends.py; do
    PYTHONDONTWRITEBYTECODE=1 python3 "$here/$s" --help >/dev/null 2>"$out/py" ||
      bad "$s --help: $(tail -n 3 "$out/py")"
  done
}

if [ "$only" = run.py ]; then
  command -v python3 >/dev/null 2>&1 && python3 -c '' 2>/dev/null ||
    { echo "SKIP: python3 not installed (bench/run.py, which make bench uses, needs it)"; exit 77; }
  pycheck
  [ $fail = 0 ] && note "run.py, backends.py, instr.py and evqbench/ compile and import ($(cat "$out/pyn") files)"
  exit $fail
fi

libs=
for lib in ${only:-evq epoll libuv libev libevent uring asio}; do
  rc=0
  usable "$lib" || rc=$?
  if [ $rc = 0 ]; then
    libs="$libs $lib"
  elif [ $rc = 2 ]; then
    bad "$why"
    exit 1
  elif [ -n "$only" ]; then
    echo "SKIP: $why"
    exit 77
  else
    note "skipping $why"
  fi
done

make_args="-s -C $here O=$out/bin"
[ -n "$evq_lib" ] && make_args="$make_args EVQ_LIB=$evq_lib"
# shellcheck disable=SC2086
# Asio's servers unoptimised: nothing here is timed, and -O2 -g takes
# three times as long to compile Asio (20 s a program on a loaded machine).
if ! make $make_args CFLAGS="$cflags" CXXFLAGS=-O0 LIBRARIES="$libs" all; then
  bad "build"
  exit 1
fi
bin=$out/bin

# run NAME CMD...: runs a program with a time limit, checks it reported.
run() {
  name=$1
  shift
  if ! timeout 60 "$@" >"$out/log" 2>&1; then
    bad "$name: $(tail -n 3 "$out/log")"
  elif ! grep -q "^bench=" "$out/log"; then
    bad "$name: no result line"
  else
    note "ok $name"
  fi
}

# serve NAME BENCH PROGRAM [VAR=VALUE]: starts a ping-pong, churn or http server
# (with VAR set), checks that it answers, stops it.
serve() {
  name=$1 b=$2 s=$3 var=${4:-}
  # A file of its own, emptied first: the server's shell may not have
  # truncated it yet when the loop below reads it, and the previous
  # server's port, still in it, would be taken (seen under load).
  log=$out/srv.$b
  rm -f "$log"
  : >"$log"
  if [ -n "$var" ]; then
    env "$var" "$s" port=0 >>"$log" 2>&1 &
  else
    "$s" port=0 >>"$log" 2>&1 &
  fi
  spid=$!
  port=
  i=0
  while [ $i -lt 100 ] && [ -z "$port" ]; do
    port=$(sed -n 's/^port=//p' "$log")
    [ -n "$port" ] || sleep 0.05
    i=$((i + 1))
  done
  if [ -z "$port" ] && kill -0 "$spid" 2>/dev/null; then
    bad "$name: no port announced: $(cat "$log")"
  elif [ -z "$port" ] && grep -Eq 'EVQ_BACKEND=io_uring:|io_uring_queue_init(_params)?: (Operation not permitted|Function not implemented)' "$log"; then
    note "skipping $name: io_uring refused here: $(head -n 1 "$log")"
  elif [ -z "$port" ]; then
    bad "$name: no port announced: $(cat "$log")"
  elif [ "$b" = pingpong ] || [ "$b" = churn ]; then
    run "$name" "$bin/${b}_client" port="$port" conns=3 ms=100
  else
    # Two pipelined keep-alive requests must get two responses.
    got=$(timeout 10 bash -c '
      exec 3<>/dev/tcp/127.0.0.1/'"$port"' || exit 1
      printf "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n" >&3
      head -c 168 <&3' 2>/dev/null | grep -c hello)
    if [ "$got" = 2 ]; then note "ok $name"; else bad "$name: $got of 2 responses"; fi
  fi
  kill "$spid" 2>/dev/null
  wait "$spid" 2>/dev/null
}

ran=0
for lib in $libs; do
  p=$bin/pipes_$lib
  if [ "$lib" = uring ] || [ "$lib" = asio ]; then # raw io_uring, Asio: only servers
    if [ -x "$bin/http_$lib" ]; then ran=$((ran + 1)); else bad "http_$lib was not built"; fi
  elif [ -x "$p" ]; then
    run "pipes_$lib" "$p" n=50 active=5 writes=500 timeouts=0 rounds=2
    run "pipes_$lib timeouts" "$p" n=50 active=5 writes=500 timeouts=1 rounds=2
    ran=$((ran + 1))
  else
    bad "pipes_$lib was not built"
  fi
  [ -x "$bin/timers_$lib" ] && run "timers_$lib" "$bin/timers_$lib" n=3000
  [ -x "$bin/wake_$lib" ] && run "wake_$lib" "$bin/wake_$lib" threads=2 rt=100
  [ -x "$bin/mem_$lib" ] && run "mem_$lib" "$bin/mem_$lib" fds=100 timers=1000
  for b in pingpong http churn; do
    [ -x "$bin/${b}_$lib" ] && serve "${b}_$lib" "$b" "$bin/${b}_$lib"
    # Asio on io_uring (built where liburing is installed)
    [ -x "$bin/${b}_${lib}_uring" ] && serve "${b}_${lib}_uring" "$b" "$bin/${b}_${lib}_uring"
  done
  for b in pingpong http churn; do
    [ -x "$bin/${b}_${lib}_io" ] || continue
    for backend in epoll io_uring; do
      serve "${b}_${lib}_io on $backend" "$b" "$bin/${b}_${lib}_io" EVQ_BACKEND=$backend
    done
  done
done
[ $ran -gt 0 ] || bad "no benchmark program was built"
if [ -z "$only" ] && command -v python3 >/dev/null 2>&1; then
  pycheck
fi
[ $fail = 0 ] && note "all benchmark programs built and ran:$libs"
exit $fail
