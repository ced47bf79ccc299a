#!/bin/sh
# tools/test-all.sh: what `make test` runs. Every leg this machine can run:
#   native   the build in $BUILD and its ctest suite on every backend
#            compiled in (Linux: epoll, poll; macOS, BSD: kqueue, poll)
#   libkqueue-wide, libkqueue-narrow  on Linux, when pkg-config finds
#            libkqueue: the kqueue cases through libkqueue, with 64-bit and
#            with narrow udata (tools/test-kqueue.sh; the default build keeps
#            no libkqueue dependency)
#   windows  cross-built with mingw-w64 and run under wine
#            (tools/test-windows.sh), when both work here
# then one summary (tools/test-summary.sh): each skipped case with its
# reason, each leg that did not run with why, and a last line counting
# passed, failed and skipped cases. Exits non-zero if anything failed.
#
# Environment: BUILD (build), JOBS (2), CMAKE_FLAGS, LEGS=native to run
# only the native leg (make test-asan, make test-tsan), and EXCLUDE, a
# ctest regular expression of cases left out of the native leg (the
# sanitizer legs leave out the builds of packages, the single file and
# the benchmarks, which run no library code under the sanitizer and are
# run by make test).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-2}
LEGS=${LEGS:-all}
CMAKE_FLAGS=${CMAKE_FLAGS:-}
mkdir -p "$BUILD"
legs=$(cd "$BUILD" && pwd)/test-legs.txt
: >"$legs"
host=$(uname -s | tr 'A-Z' 'a-z')

# leg NAME BACKENDS STATE JUNIT RC REASON: one line for the summary.
# STATE is ran (JUNIT holds ctest's report, RC its exit status), failed
# (did not get to its tests) or skipped (REASON says why).
leg() {
  printf '%s|%s|%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" "$5" \
    "$(printf '%s' "$6" | tr '|\n' '/ ')" >>"$legs"
}

# run_ctest DIR [CTEST ARGS]: ctest with a JUnit report (carries each
# case's output, hence the skip reasons); its exit status is in $rc.
run_ctest() {
  d=$1
  shift
  rm -f "$d/ctest-junit.xml"
  rc=0
  (cd "$d" && ctest --output-on-failure -j"$JOBS" \
    --output-junit "$(pwd)/ctest-junit.xml" "$@") || rc=$?
}

# configured DIR: the backends a configured build has, comma-separated.
configured() {
  sed -n 's/^EVQ_CONFIGURED_BACKENDS:[A-Z]*=//p' "$1/CMakeCache.txt" | tr ';' ','
}

# ---- native ---------------------------------------------------------------
# shellcheck disable=SC2086 # CMAKE_FLAGS is a list of -D flags
if cmake -S . -B "$BUILD" $CMAKE_FLAGS >"$BUILD/configure.log" 2>&1 &&
  cmake --build "$BUILD" -j"$JOBS"; then
  backends=$(configured "$BUILD")
  if [ -n "${EXCLUDE:-}" ]; then
    echo "test-all: leaving out the cases matching $EXCLUDE (make test runs them)"
    run_ctest "$BUILD" -E "$EXCLUDE"
  else
    run_ctest "$BUILD"
  fi
  leg "$host" "$backends" ran "$BUILD/ctest-junit.xml" "$rc" ""
else
  cat "$BUILD/configure.log"
  backends=
  leg "$host" "" failed "" 1 "configure or build failed (output above)"
fi

# ---- kqueue: native on macOS and the BSDs; on Linux through libkqueue -----
case ",$backends," in
*,kqueue,*) ;; # the native leg ran it
*)
  pc=$(command -v pkg-config || command -v pkgconf || true)
  why=
  if [ "$host" != linux ]; then
    why="the $host build has no kqueue backend"
  elif [ "$LEGS" != all ]; then
    why="only the native leg was asked for"
  elif [ -z "$pc" ] || ! "$pc" --version >/dev/null 2>&1; then
    why="pkg-config not installed, so libkqueue cannot be found"
  elif ! "$pc" --exists libkqueue; then
    why="libkqueue not found by pkg-config"
  fi
  if [ -n "$why" ]; then
    leg kqueue "" skipped "" 0 "$why"
  else
    # Each variant's JUnit report shows its cases' failures and ctest-rc
    # its exit status (a ctest that died with no failed case in its report
    # still fails the leg); a variant without a report did not get to its
    # tests.
    rm -f build-kqueue-wide/ctest-junit.xml build-kqueue-narrow/ctest-junit.xml \
      build-kqueue-wide/ctest-rc build-kqueue-narrow/ctest-rc
    rc=0
    JOBS=$JOBS sh tools/test-kqueue.sh || rc=$?
    if [ "$rc" = 77 ]; then
      leg kqueue "" skipped "" 0 "tools/test-kqueue.sh skipped (see its SKIP line above)"
    else
      for v in wide narrow; do
        if [ -f "build-kqueue-$v/ctest-junit.xml" ]; then
          leg "libkqueue-$v" kqueue ran "build-kqueue-$v/ctest-junit.xml" \
            "$(cat "build-kqueue-$v/ctest-rc" 2>/dev/null || echo 1)" ""
        else
          leg "libkqueue-$v" "" failed "" "$rc" "configure or build failed (output above)"
        fi
      done
    fi
  fi
  ;;
esac

# ---- windows --------------------------------------------------------------
if [ "$LEGS" != all ]; then
  leg windows "" skipped "" 0 "only the native leg was asked for"
elif [ "$host" != linux ]; then
  leg windows "" skipped "" 0 "cross-built from Linux only"
else
  why=
  probe=$(mktemp -d "${TMPDIR:-/tmp}/evq-probe.XXXXXX")
  printf 'int main(void) { return 0; }\n' >"$probe/p.c"
  if ! x86_64-w64-mingw32-gcc -o "$probe/p.exe" "$probe/p.c" >/dev/null 2>&1; then
    why="mingw-w64 not installed or not working (Debian: gcc-mingw-w64-x86-64)"
  elif ! { wine64 --version || /usr/lib/wine/wine64 --version ||
    wine --version; } >/dev/null 2>&1; then
    why="wine not installed or not working (Debian: wine wine64)"
  elif [ ! -f cmake/mingw-w64-x86_64.cmake ]; then
    why="cmake/mingw-w64-x86_64.cmake is missing"
  fi
  rm -rf "$probe"
  if [ -n "$why" ]; then
    leg windows "" skipped "" 0 "$why"
  else
    win=${BUILD_WIN:-build-win}
    rm -f "$win/ctest-junit.xml"
    rc=0
    BUILD_WIN=$win JOBS=$JOBS tools/test-windows.sh || rc=$?
    if [ -f "$win/ctest-junit.xml" ]; then
      leg windows "$(configured "$win")" ran "$win/ctest-junit.xml" "$rc" ""
    else
      leg windows "" failed "" "$rc" "build or demo failed before the suite ran (output above)"
    fi
  fi
fi

exec sh tools/test-summary.sh "$legs"
