#!/usr/bin/env bash
# The Windows leg: cross-compile with mingw-w64, run the conformance suite
# and the demo under wine (ctest uses wine as CMAKE_CROSSCOMPILING_EMULATOR).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_WIN:-build-win}
export WINEDEBUG=${WINEDEBUG:--all}
export WINEPREFIX=${WINEPREFIX:-${HOME:-/tmp}/.wine-evq}
WINE=$(command -v wine64 || command -v wine)
if [ ! -d "$WINEPREFIX" ]; then
  echo "test-windows: creating wine prefix $WINEPREFIX"
  WINEDLLOVERRIDES="mscoree,mshtml=" "$WINE" wineboot -i >/dev/null 2>&1 || true
fi
# One persistent wineserver for the whole run: without it every case pays
# wine's start-up (seconds) instead of a fraction of a second.
WINESERVER=$(command -v wineserver || echo /usr/lib/wine/wineserver)
"$WINESERVER" -p60 </dev/null >/dev/null 2>&1 || true
cmake -S . -B "$BUILD" -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j2
"$WINE" "$BUILD/examples/evq_demo.exe" 20 0.5
# The JUnit report carries each case's output: make test's summary reads
# skip reasons from it.
cd "$BUILD" && ctest --output-on-failure -j"${JOBS:-2}" \
  --output-junit "$(pwd)/ctest-junit.xml"
