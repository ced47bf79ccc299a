#!/bin/sh
# .ci/front-door.sh: the README's two commands, `make demo` and `make test`,
# on a machine with only what the README asks for. Every optional tool is
# hidden (.ci/hide-optional.sh, in a private mount namespace), the commands
# run in a fresh copy of the tree, and then:
#   - both must succeed;
#   - make test's last line must say 0 failed, and name the Windows and
#     kqueue legs as not run;
#   - every case that needs a hidden tool must be reported skipped, never
#     passed: the ones listed below, and any whose name mentions a hidden
#     tool (the suite's convention: such a case names what it needs).
# Needs root (unshare -m) or unprivileged user namespaces (unshare -rm).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/evq-front-door.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM

# A fresh tree: the tracked files (and new ones not ignored), no build/.
mkdir "$work/evq"
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
  xargs -0 tar cf -) | tar xf - -C "$work/evq"

# A private mount namespace: as root, or through a user namespace.
ns=
for try in "unshare -m" "unshare -rm"; do
  # shellcheck disable=SC2086
  if $try true 2>"$work/ns.err"; then
    ns=$try
    break
  fi
done
[ -n "$ns" ] || {
  echo "front door: FAILED: no private mount namespace here (unshare -m, unshare -rm): $(cat "$work/ns.err")" >&2
  exit 1
}
echo "front door: make demo && make test, optional tools hidden ($ns)"
# shellcheck disable=SC2086 # $ns is a command and its flag
HIDE_STASH_DIR=$work $ns sh "$top/.ci/hide-optional.sh" sh -c '
  cd "$1" && make demo >"$2" 2>&1 && make test' sh "$work/evq" "$work/demo.log" \
  >"$work/log" 2>&1 || {
  cat "$work/demo.log"
  tail -n 60 "$work/log"
  echo "front door: FAILED: make demo or make test failed with the optional tools hidden" >&2
  exit 1
}
grep -E '^hide-optional:|^  skipped: ' "$work/log" || true

# make demo shows what a person reads: one line about the build, then the
# demo's own lines (the build's output goes to a log).
before=$(awk '/^backend /{exit} {n++} END{print n + 0}' "$work/demo.log")
[ "$before" -le 1 ] || {
  cat "$work/demo.log"
  echo "front door: FAILED: make demo printed $before lines before the demo" >&2
  exit 1
}
echo "front door: make demo printed $(wc -l <"$work/demo.log") lines"

summary=$(tail -n 1 "$work/log")
echo "$summary"
fail() {
  echo "front door: FAILED: $*" >&2
  exit 1
}
case $summary in
"evq tests: "*" 0 failed, "*) ;;
*) fail "make test did not end with its summary line, or something failed" ;;
esac
case $summary in *"not run: "*"windows - "*) ;; *) fail "the Windows leg is not reported as not run" ;; esac
case $summary in *"not run: "*"kqueue - "*) ;; *) fail "the kqueue leg is not reported as not run" ;; esac
case $summary in
*"legs run: "*"windows["* | *"linux-libkqueue["*) fail "a hidden leg ran" ;;
esac

# Which cases were skipped: the JUnit report of the native leg.
junit=$work/evq/build/ctest-junit.xml
[ -f "$junit" ] || fail "no JUnit report at build/ctest-junit.xml"
status_of() { # NAME -> run | fail | notrun | (empty: no such case)
  awk -v n="$1" 'index($0, "<testcase name=\"" n "\"") {
    sub(/.* status="/, ""); sub(/".*/, ""); print; exit }' "$junit"
}
must_skip="bench.smoke.libuv bench.smoke.libev bench.smoke.libevent
  bench.smoke.asio bench.smoke.run_py dist.clang dist.mingw.build dist.mingw.run
  install.pkg_config install.debian"
named=$(sed -n 's/.*<testcase name="\([^"]*\)".*/\1/p' "$junit" |
  grep -E 'libuv|libev|libevent|liburing|asio|clang|mingw|wine|windows|pkg_config|pkgconfig|valgrind|doxygen|wrk|redis|gnuplot|python|run_py' || true)
checked=0
for t in $(printf '%s\n' $must_skip $named | sort -u); do
  s=$(status_of "$t")
  [ -n "$s" ] || fail "no case $t in the suite"
  [ "$s" = notrun ] || fail "$t needs a hidden tool but its status is '$s', not skipped"
  checked=$((checked + 1))
done
echo "front door: ok ($checked cases that need a hidden tool were skipped)"
