#!/bin/sh
# The kqueue leg on Linux: the conformance suite on the kqueue backend,
# built against libkqueue (a userspace kqueue; see docs/kqueue.md). It runs
# twice: with 64-bit udata as on 64-bit BSDs and macOS, and with the narrow
# key that 32-bit targets use (EVQ_KQUEUE_NARROW). libkqueue is found by
# pkg-config: point PKG_CONFIG_PATH at it if it is not installed system-wide
# (e.g. PKG_CONFIG_PATH=/opt/libkqueue/lib/pkgconfig).
# Exit status 77 when libkqueue is not found (a skip, for make test).
set -eu
cd "$(dirname "$0")/.."
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists libkqueue; then
  echo "SKIP: kqueue leg not run: libkqueue not found by pkg-config (see docs/kqueue.md)"
  exit 77
fi
# Both variants run even if the first fails; each ctest writes a JUnit
# report (build-kqueue-*/ctest-junit.xml) and its exit status
# (build-kqueue-*/ctest-rc) that make test's summary reads.
status=0
for variant in wide narrow; do
  dir=build-kqueue-$variant
  narrow=OFF
  [ "$variant" = narrow ] && narrow=ON
  rm -f "$dir/ctest-junit.xml" "$dir/ctest-rc"
  cmake -S . -B "$dir" -DEVQ_LIBKQUEUE=ON -DEVQ_KQUEUE_NARROW=$narrow \
    -DEVQ_EXAMPLES=OFF >/dev/null
  cmake --build "$dir" -j"${JOBS:-2}"
  echo "kqueue leg ($variant udata): libkqueue $(pkg-config --modversion libkqueue)"
  rc=0
  (cd "$dir" && ctest --output-on-failure -j"${JOBS:-2}" -R '\.kqueue$' \
    --output-junit "$(pwd)/ctest-junit.xml") || rc=$?
  # Each variant's own status, for make test's summary: a ctest that died
  # without a failed case in its report is still a failure.
  echo "$rc" >"$dir/ctest-rc"
  [ "$rc" = 0 ] || status=1
done
exit $status
