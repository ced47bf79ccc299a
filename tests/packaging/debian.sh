#!/bin/sh
# debian.sh BUILD_DIR SOURCE_DIR: the Debian packages (debian/), as a
# Debian maintainer builds and checks them, then used as a user would:
#   1. dpkg-buildpackage -us -uc -b in a copy of the source tree, offline;
#   2. lintian --pedantic on the result: no tag at all (debian/README.source
#      says why the package looks as it does);
#   3. libevq0.1 holds the shared library and its symbols file, libevq-dev
#      the header, static library, evq.pc and CMake package;
#   4. both unpacked into a scratch root (dpkg -x: nothing is installed on
#      this machine), and a program built against that root with
#      pkg-config and with find_package(evq), each run.
# Skipped, with the reason, without Debian's tools (dpkg-dev, debhelper,
# lintian) or in a sanitizer build (the packages do not depend on it: the
# plain leg builds them).
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
. "$src/tests/packaging/lib.sh"

dpkg-buildpackage --version >/dev/null 2>&1 ||
  skip "dpkg-buildpackage not installed (Debian: dpkg-dev)"
dh_assistant supported-compat-levels >/dev/null 2>&1 ||
  skip "debhelper not installed (Debian: debhelper)"
lintian --version >/dev/null 2>&1 || skip "lintian not installed (Debian: lintian)"
pc=$(command -v pkg-config || command -v pkgconf || true)
[ -n "$pc" ] && "$pc" --version >/dev/null 2>&1 ||
  skip "pkg-config not installed (Debian: pkg-config)"
[ -z "$(cache_get "$build" EVQ_SANITIZE)" ] ||
  skip "a sanitizer build: the Debian packages are the same in every leg, and the plain one builds them"

tmpdir
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
tree=$TMP/evq-$version
header=$(awk '/^#define EVQ_VERSION_(MAJOR|MINOR|PATCH) /{v = v sep $3; sep = "."}
              END{print v}' "$src/include/evq.h")
[ "${version%%-*}" = "$header" ] ||
  fail "debian/changelog is at $version, evq.h at $header: add a changelog entry"

# The source tree as a checkout has it: git's files where git knows the
# tree (those present: another change may be under way), else everything
# but build directories.
mkdir "$tree"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\n" "$f"; done' sh |
    tar cf - -T -) | tar xf - -C "$tree"
else
  (cd "$src" && tar cf - --exclude='./build*' --exclude=./dist .) | tar xf - -C "$tree"
fi

# 1. Built offline, in parallel on the machine's two cores.
start=$(date +%s)
(cd "$tree" && DEB_BUILD_OPTIONS="parallel=2" dpkg-buildpackage -us -uc -b) \
  >"$TMP/build.log" 2>&1 || fail "dpkg-buildpackage: $(tail -n 30 "$TMP/build.log")"
echo "dpkg-buildpackage -us -uc -b: $(($(date +%s) - start)) s"
# The symbols file lists exactly what the library exports: a function
# added to evq.h goes in with the version that adds it.
if grep -q 'dpkg-gensymbols: warning' "$TMP/build.log"; then
  fail "debian/libevq0.1.symbols is out of date: $(sed -n '/dpkg-gensymbols: warning/,/^ dh_/p' "$TMP/build.log" | head -n 30)"
fi
lib=$(ls "$TMP"/libevq0.1_*.deb 2>/dev/null) || fail "no libevq0.1 package built"
dev=$(ls "$TMP"/libevq-dev_*.deb 2>/dev/null) || fail "no libevq-dev package built"

# 2. lintian, as pedantic as it gets; its note about running as root is
# not about the package.
lintian --pedantic --display-info --display-experimental \
  "$TMP"/evq_*.changes >"$TMP/lintian.log" 2>&1 || true
grep -v 'running with root privileges is not recommended' "$TMP/lintian.log" \
  >"$TMP/tags" || true
[ ! -s "$TMP/tags" ] || fail "lintian: $(cat "$TMP/tags")"
echo "lintian --pedantic: no tag"

# 3. What each package holds.
has() { # PACKAGE PATTERN WHAT
  dpkg-deb -c "$1" >"$TMP/contents" || fail "dpkg-deb -c $1"
  grep -q -- "$2" "$TMP/contents" || fail "$(basename "$1") has no $3"
}
has "$lib" '/libevq\.so\.0\.1 -> libevq\.so\.0\.1\.0$' "libevq.so.0.1 (the SONAME's link)"
dpkg-deb -I "$lib" symbols >"$TMP/symbols" 2>/dev/null ||
  fail "libevq0.1 has no symbols file"
grep -q '^ evq_create@Base' "$TMP/symbols" || fail "the symbols file lists no evq_create"
has "$dev" '/usr/include/evq\.h$' "evq.h"
has "$dev" '/usr/include/evq_net\.h$' "evq_net.h"
has "$dev" '/usr/include/evq_io\.h$' "evq_io.h"
has "$dev" '/libevq\.a$' "static library"
has "$dev" '/libevq\.so -> ' "libevq.so link"
has "$dev" '/pkgconfig/evq\.pc$' "evq.pc"
has "$dev" '/cmake/evq/evqConfig\.cmake$' "CMake package"
echo "libevq0.1 and libevq-dev hold what they should"

# 4. A scratch root, and a consumer each way.
root=$TMP/root
dpkg -x "$lib" "$root"
dpkg -x "$dev" "$root"
pcfile=$(find "$root" -name evq.pc)
libdir=$(dirname "$(dirname "$pcfile")")
! grep -q rpath "$pcfile" || fail "the packaged evq.pc carries an rpath: $(grep Libs "$pcfile")"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc=$(build_cc "$build")
# shellcheck disable=SC2046 # flags are lists of words
$cc "$src/tests/consumer/main.c" \
  $("$pc" --define-variable=prefix="$root/usr" --cflags --libs evq) \
  -o "$TMP/pc_consumer" || fail "build with pkg-config"
lib_of() { LD_LIBRARY_PATH=$libdir ldd "$1" | awk '/libevq/{print $3}'; }
case $(lib_of "$TMP/pc_consumer") in
"$libdir"/*) ;;
*) fail "the pkg-config consumer loads libevq from '$(lib_of "$TMP/pc_consumer")'" ;;
esac
LD_LIBRARY_PATH=$libdir run_ok "$TMP/pc_consumer"
echo "pkg-config: built and ran against the packages"

cp -R "$src/tests/consumer" "$TMP/src"
cmake -S "$TMP/src" -B "$TMP/cmake" -DCMAKE_C_COMPILER="$cc" \
  -DEVQ_FROM=package -DEVQ_VERSION="${version%%-*}" \
  -DCMAKE_PREFIX_PATH="$root/usr" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON \
  >"$TMP/cfg.log" 2>&1 || fail "consumer configure: $(tail -n 15 "$TMP/cfg.log")"
case $(cache_get "$TMP/cmake" evq_DIR) in
"$root"/*) ;;
*) fail "find_package(evq) used $(cache_get "$TMP/cmake" evq_DIR), not the packages" ;;
esac
cmake --build "$TMP/cmake" >"$TMP/cmake.log" 2>&1 ||
  fail "consumer build: $(tail -n 15 "$TMP/cmake.log")"
run_ok "$TMP/cmake/consumer_shared"
run_ok "$TMP/cmake/consumer_static"
echo "find_package(evq): built and ran against the packages"
