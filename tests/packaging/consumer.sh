#!/bin/sh
# consumer.sh MODE BUILD_DIR SOURCE_DIR: builds and runs tests/consumer/main.c
# the way a user of evq would, in a temporary directory outside both trees.
#   package     cmake --install into a temporary prefix, find_package(evq),
#               link evq::evq (shared) and evq::evq_static
#   pkg-config  the same prefix through evq.pc, shared and static, with the
#               README's commands as written; each program runs with no
#               LD_LIBRARY_PATH (evq.pc's rpath finds the library)
#   make-install  the README's `make install PREFIX=...` in a fresh build
#               directory, which must build the libraries and nothing else
#               (no test, example or benchmark), then a consumer through
#               pkg-config and through find_package, each run
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

# find_pc: the pkg-config program, or a skip.
find_pc() {
  pc=$(command -v pkg-config || command -v pkgconf || true)
  [ -n "$pc" ] && "$pc" --version >/dev/null 2>&1 ||
    skip "pkg-config not installed (Debian: pkg-config)"
}

# readme_has TEXT: the README shows this command, which the case runs.
readme_has() {
  grep -qF -- "$1" "$src/README.md" ||
    fail "README.md no longer shows '$1', which this case runs"
}

# pc_consumers: the README's two pkg-config commands, as written (with
# the compiler of the build and its sanitizer flags), each program run
# with nothing in LD_LIBRARY_PATH.
pc_consumers() {
  readme_has 'cc app.c $(pkg-config --cflags --libs evq)'
  readme_has 'cc app.c $(pkg-config --cflags evq) "$(pkg-config --variable=libdir evq)/libevq.a" -lpthread'
  # shellcheck disable=SC2046 # flags are lists of words
  $cc $san "$TMP/src/main.c" $("$pc" --cflags --libs evq) -o "$TMP/shared" ||
    fail "cc app.c \$(pkg-config --cflags --libs evq) failed"
  # shellcheck disable=SC2046
  $cc $san "$TMP/src/main.c" $("$pc" --cflags evq) \
    "$("$pc" --variable=libdir evq)/libevq.a" -lpthread -o "$TMP/static" ||
    fail "the README's static link command failed"
  loads_from "$TMP/shared" "$prefix"
  static_only "$TMP/static"
  env -u LD_LIBRARY_PATH "$TMP/shared" || fail "$TMP/shared exited with status $?"
  run_ok "$TMP/static"
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
  find_pc
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
  case $libs in
  *"-Wl,-rpath,$libdir"*) ;;
  *) fail "evq.pc gives no rpath to $libdir, outside the loader's directories" ;;
  esac
  pc_consumers
  ;;
make-install)
  find_pc
  # The fresh build is a plain one whatever this build is: the same case
  # in every leg, so the plain leg alone runs it.
  [ -z "$(cache_get "$build" EVQ_SANITIZE)" ] ||
    skip "a sanitizer build: make install's fresh build is plain in every leg, and the plain one runs it"
  prefix=$TMP/prefix
  # CMAKE_FLAGS= : a plain build, whatever leg this suite runs in.
  make -C "$src" install BUILD="$TMP/evq-build" PREFIX="$prefix" CMAKE_FLAGS= \
    JOBS=2 >"$TMP/install.log" 2>&1 ||
    fail "make install: $(tail -n 20 "$TMP/install.log")"
  built=$(find "$TMP/evq-build" -type f -perm -u+x ! -name '*.so*' ! -name '*.sh' \
    ! -path '*/CMakeFiles/*' | head -n 5)
  [ -z "$built" ] || fail "make install built more than it installs: $built"
  echo "make install built only the libraries"
  san=
  PKG_CONFIG_PATH=$(dirname "$(find "$prefix" -name evq.pc)")
  export PKG_CONFIG_PATH
  pc_consumers
  consumer_cmake -DEVQ_FROM=package -DEVQ_VERSION="$version" \
    -DCMAKE_PREFIX_PATH="$prefix"
  run_ok "$TMP/build/consumer_shared"
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
