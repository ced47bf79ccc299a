# Sourced by the test scripts in tests/packaging/. The project's convention:
# a test that cannot run prints one line "SKIP: <reason>" and exits 77
# (registered with SKIP_RETURN_CODE 77), so ctest shows it as skipped.
skip() {
  printf 'SKIP: %s\n' "$*"
  exit 77
}
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

# cache_get BUILD_DIR NAME: a value from a CMake build's cache.
cache_get() {
  sed -n "s/^$2:[A-Z]*=//p" "$1/CMakeCache.txt"
}

# The C compiler of the build, and the sanitizer flags it builds with: a
# program linked with a sanitized evq must be built with them too.
build_cc() { cache_get "$1" CMAKE_C_COMPILER; }
build_san_flags() {
  san=$(cache_get "$1" EVQ_SANITIZE)
  [ -z "$san" ] || printf '%s' "-fsanitize=$san -fno-omit-frame-pointer"
}

# Runs the program in $1 and fails the test unless it exits 0.
run_ok() {
  "$@" || fail "$1 exited with status $?"
}

tmpdir() {
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/evq-test.XXXXXX") || fail "mktemp"
  trap 'rm -rf "$TMP"' EXIT
  trap 'exit 1' INT TERM
}
