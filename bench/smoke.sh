#!/bin/sh
# bench/smoke.sh [DIR]: builds every benchmark program and runs each once on
# tiny parameters, so the benchmarks keep building and working as evq
# changes. No timing is checked. DIR holds libevq.a (a CMake build
# directory); without it, bench/Makefile builds its own evq. A peer whose
# -dev package is not installed is skipped with a message; anything else
# that fails makes the script exit non-zero.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/evq-bench-smoke.XXXXXX")
trap 'rm -rf "$out"' EXIT INT TERM
fail=0
note() { printf 'bench smoke: %s\n' "$*"; }
bad() { printf 'bench smoke: FAIL: %s\n' "$*" >&2; fail=1; }

evq_lib=
if [ $# -ge 1 ] && [ -n "$1" ]; then
  evq_lib=$(find "$1" -name libevq.a 2>/dev/null | head -n 1)
  [ -n "$evq_lib" ] || { bad "no libevq.a under $1"; exit 1; }
fi

# A sanitizer build of evq needs the programs built with the same sanitizer.
san=
if [ $# -ge 1 ] && [ -f "$1/CMakeCache.txt" ]; then
  san=$(sed -n 's/^EVQ_SANITIZE:[A-Z]*=//p' "$1/CMakeCache.txt")
fi
cflags="-O2 -g"
[ -n "$san" ] && cflags="-O1 -g -fno-omit-frame-pointer -fsanitize=$san"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"

make_args="-s -C $here O=$out/bin"
[ -n "$evq_lib" ] && make_args="$make_args EVQ_LIB=$evq_lib"
# shellcheck disable=SC2086
if ! make $make_args CFLAGS="$cflags" all; then
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

ran=0
for lib in evq epoll libuv libev libevent; do
  found=0
  for b in pipes timers wake mem pingpong http; do
    [ -x "$bin/${b}_$lib" ] && found=1
  done
  if [ $found = 0 ]; then
    continue # the build already said which package is missing
  fi
  p=$bin/pipes_$lib
  if [ -x "$p" ]; then
    run "pipes_$lib" "$p" n=50 active=5 writes=500 timeouts=0 rounds=2
    run "pipes_$lib timeouts" "$p" n=50 active=5 writes=500 timeouts=1 rounds=2
    ran=$((ran + 1))
  fi
  [ -x "$bin/timers_$lib" ] && run "timers_$lib" "$bin/timers_$lib" n=3000
  [ -x "$bin/wake_$lib" ] && run "wake_$lib" "$bin/wake_$lib" threads=2 rt=100
  [ -x "$bin/mem_$lib" ] && run "mem_$lib" "$bin/mem_$lib" fds=100 timers=1000
  for b in pingpong http; do
    s=$bin/${b}_$lib
    [ -x "$s" ] || continue
    "$s" port=0 >"$out/srv" 2>&1 &
    spid=$!
    port=
    i=0
    while [ $i -lt 100 ] && [ -z "$port" ]; do
      port=$(sed -n 's/^port=//p' "$out/srv")
      [ -n "$port" ] || sleep 0.05
      i=$((i + 1))
    done
    if [ -z "$port" ]; then
      bad "${b}_$lib: no port announced: $(cat "$out/srv")"
    elif [ $b = pingpong ]; then
      run "pingpong_$lib" "$bin/pingpong_client" port="$port" conns=3 ms=100
    else
      # Two pipelined keep-alive requests must get two responses.
      got=$(timeout 10 bash -c '
        exec 3<>/dev/tcp/127.0.0.1/'"$port"' || exit 1
        printf "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n" >&3
        head -c 168 <&3' 2>/dev/null | grep -c hello)
      if [ "$got" = 2 ]; then note "ok http_$lib"; else bad "http_$lib: $got of 2 responses"; fi
    fi
    kill "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
  done
done
[ $ran -gt 0 ] || bad "no benchmark program was built"
if command -v python3 >/dev/null 2>&1; then
  python3 -m py_compile "$here/run.py" 2>"$out/py" && rm -rf "$here/__pycache__" ||
    bad "run.py: $(cat "$out/py")"
fi
[ $fail = 0 ] && note "all benchmark programs built and ran"
exit $fail
