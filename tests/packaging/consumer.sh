#!/bin/sh
# consumer.sh MODE BUILD_DIR SOURCE_DIR: builds and runs tests/consumer/main.c
# the way a user of evq would, in a temporary directory outside both trees.
#   package     cmake --install into a temporary prefix, find_package(evq),
#               link evq::evq (shared) and evq::evq_static
#   pkg-config  the same prefix through evq.pc, shared and static
#   subdir      add_subdirectory(<evq source>) from the consumer project
# For the installed modes it also proves the build tree played no part: its
# path appears nowhere in the consumer's build, and the shared library the
# program loads is the installed one.
set -eu
mode=$1
build=$(cd "$2" && pwd)
src=$(cd "$3" && pwd)
. "$src/tests/packaging/lib.sh"

tmpdir
cc=$(build_cc "$build")
san=$(build_san_flags "$build")
version=$(awk '/^#define EVQ_VERSION_(MAJOR|MINOR|PATCH) /{v = v sep $3; sep = "."}
               END{print v}' "$src/include/evq.h")
cp -R "$src/tests/consumer" "$TMP/src"

install_prefix() {
  prefix=$TMP/prefix
  cmake --install "$build" --prefix "$prefix" >"$TMP/install.log" 2>&1 ||
    fail "cmake --install: $(tail -n 5 "$TMP/install.log")"
}

# no_trace FILE...: no text file names the evq build or source tree (the
# static library's debug information does, so binaries are not searched).
no_trace() {
  if grep -lIF -e "$build/" -e "$src/" "$@" >"$TMP/hits" 2>/dev/null; then
    fail "the consumer's build refers to the evq tree: $(cat "$TMP/hits")"
  fi
}

# loads_from PROGRAM DIR: the libevq the program loads lives in DIR.
loads_from() {
  lib=$(ldd "$1" | awk '/libevq/{print $3}')
  case $lib in
  "$2"/*) echo "$1 loads $lib" ;;
  *) fail "$1 loads libevq from '${lib:-nowhere}', not from $2" ;;
  esac
}

# static_only PROGRAM: libevq is linked in, not loaded.
static_only() {
  if readelf -d "$1" | grep -q 'NEEDED.*libevq'; then
    fail "$1 needs the shared libevq although it was linked statically"
  fi
}

consumer_cmake() {
  cmake -S "$TMP/src" -B "$TMP/build" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" \
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON "$@" >"$TMP/cfg.log" 2>&1 ||
    fail "consumer configure: $(tail -n 15 "$TMP/cfg.log")"
  cmake --build "$TMP/build" -j2 >"$TMP/build.log" 2>&1 ||
    fail "consumer build: $(tail -n 15 "$TMP/build.log")"
}

case $mode in
package)
  install_prefix
  consumer_cmake -DEVQ_FROM=package -DEVQ_VERSION="$version" \
    -DCMAKE_PREFIX_PATH="$prefix"
  dir=$(cache_get "$TMP/build" evq_DIR)
  case $dir in
  "$prefix"/*) echo "find_package(evq) used $dir" ;;
  *) fail "find_package(evq) used '$dir', not the prefix $prefix" ;;
  esac
  no_trace -r "$TMP/build"
  loads_from "$TMP/build/consumer_shared" "$prefix"
  static_only "$TMP/build/consumer_static"
  run_ok "$TMP/build/consumer_shared"
  run_ok "$TMP/build/consumer_static"
  ;;
pkg-config)
  pc=$(command -v pkg-config || command -v pkgconf || true)
  [ -n "$pc" ] && "$pc" --version >/dev/null 2>&1 ||
    skip "pkg-config not installed (Debian: pkg-config)"
  install_prefix
  pcfile=$(find "$prefix" -name evq.pc)
  [ -n "$pcfile" ] || fail "no evq.pc under $prefix"
  # The prefix's evq.pc comes first (the checks below prove it was used).
  PKG_CONFIG_PATH=$(dirname "$pcfile")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  export PKG_CONFIG_PATH
  "$pc" --exists --print-errors "evq = $version" || fail "evq.pc is not $version"
  cflags=$("$pc" --cflags evq)
  libs=$("$pc" --libs evq)
  static_libs=$("$pc" --static --libs evq)
  libdir=$("$pc" --variable=libdir evq)
  echo "pkg-config: --cflags: $cflags; --libs: $libs; --static --libs: $static_libs"
  printf '%s\n' "$cflags $libs $static_libs $libdir" >"$TMP/flags"
  no_trace "$TMP/flags"
  case $libdir in "$prefix"/*) ;; *) fail "libdir $libdir is not in $prefix" ;; esac
  # shellcheck disable=SC2086 # flags are lists of words
  $cc -std=c11 -Wall -Wextra -Werror $san $cflags "$TMP/src/main.c" $libs \
    -Wl,-rpath,"$libdir" -o "$TMP/shared" || fail "link with --libs"
  # Static: the archive instead of -levq, plus what Libs.private adds.
  static_libs=$(printf '%s' "$static_libs" | sed 's/-levq\b/-l:libevq.a/')
  # shellcheck disable=SC2086
  $cc -std=c11 -Wall -Wextra -Werror $san $cflags "$TMP/src/main.c" \
    $static_libs -o "$TMP/static" || fail "link with --static --libs"
  loads_from "$TMP/shared" "$prefix"
  static_only "$TMP/static"
  run_ok "$TMP/shared"
  run_ok "$TMP/static"
  ;;
subdir)
  consumer_cmake -DEVQ_FROM="$src"
  # A parent project gets the library only: no evq tests or examples.
  for t in conformance evq_demo; do
    if [ -n "$(find "$TMP/build/evq" -name "$t" -type f)" ]; then
      fail "add_subdirectory(evq) also built $t"
    fi
  done
  run_ok "$TMP/build/consumer_vendored"
  ;;
*) fail "unknown mode $mode" ;;
esac
echo "consumer ($mode): ok"
