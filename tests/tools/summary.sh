#!/bin/sh
# tests/tools/summary.sh TOP: tools/test-summary.sh, the counting line of
# `make test`, on made-up legs: it must fail a run whose leg crashed
# without a failed case in its report, a leg with no cases, a case that
# skipped without saying why, and a leg that EVQ_REQUIRE_LEGS requires but
# did not run (CI requires those it installed the tools for); and it must
# pass a clean run in which an optional leg did not run.
set -u
# Each check sets EVQ_REQUIRE_LEGS itself: CI runs make test with it set,
# which would otherwise make every check here require those legs.
unset EVQ_REQUIRE_LEGS
top=$1
summary=$top/tools/test-summary.sh
dir=$(mktemp -d "${TMPDIR:-/tmp}/evq-summary.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
fail=0

# junit FILE CASE STATUS [OUTPUT]: a report of one case.
junit() {
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo '<testsuite name="x" tests="1">'
    echo "<testcase name=\"$2\" classname=\"x\" time=\"0\" status=\"$3\">"
    [ "$3" = notrun ] && echo '<skipped message="SKIP_RETURN_CODE=77"/>'
    echo "<system-out>${4:-}</system-out>"
    echo '</testcase>'
    echo '</testsuite>'
  } >"$1"
}

# expect RC NAME PATTERN [ENV=VALUE]: test-summary.sh on $dir/legs exits RC
# and its last line matches PATTERN.
expect() {
  want=$1 name=$2 pattern=$3
  shift 3
  env "$@" sh "$summary" "$dir/legs" >"$dir/out" 2>&1
  rc=$?
  last=$(tail -n 1 "$dir/out")
  if [ "$rc" != "$want" ] || ! printf '%s\n' "$last" | grep -Eq -- "$pattern"; then
    echo "FAIL: $name: exit $rc (want $want), last line: $last"
    fail=1
  else
    echo "ok - $name"
  fi
}

junit "$dir/pass.xml" a.epoll run
junit "$dir/skip.xml" b.epoll notrun "SKIP: no clang"
junit "$dir/mute.xml" c.epoll notrun ""
printf 'linux|epoll|ran|%s|0|\nwindows||skipped||0|wine not installed\n' \
  "$dir/pass.xml" >"$dir/legs"
expect 0 "an optional leg not run" \
  '^evq tests: 1 passed, 0 failed, 0 skipped .*not run: windows - wine'
expect 1 "a required leg not run" \
  'FAILED: windows leg did not run, and EVQ_REQUIRE_LEGS requires it' \
  EVQ_REQUIRE_LEGS=windows
expect 1 "a required leg unknown" 'kqueue leg, which EVQ_REQUIRE_LEGS requires, is unknown' \
  EVQ_REQUIRE_LEGS=kqueue,windows
printf 'linux|epoll|ran|%s|0|\nwindows|iocp|ran|%s|0|\n' "$dir/pass.xml" \
  "$dir/pass.xml" >"$dir/legs"
expect 0 "a required leg that ran" '^evq tests: 2 passed, 0 failed' \
  EVQ_REQUIRE_LEGS=windows
printf 'linux|epoll|ran|%s|2|\n' "$dir/pass.xml" >"$dir/legs"
expect 1 "a leg whose ctest failed with no failed case" \
  'FAILED: linux leg: ctest exited with status 2'
printf 'linux|epoll|ran|%s|0|\n' "$dir/skip.xml" >"$dir/legs"
expect 0 "a skip that says why" '0 passed, 0 failed, 1 skipped'
printf 'linux|epoll|ran|%s|0|\n' "$dir/mute.xml" >"$dir/legs"
expect 1 "a skip that does not say why" 'skipped without a "SKIP: <reason>"'
printf 'linux||failed||1|configure failed\n' >"$dir/legs"
expect 1 "a leg that did not get to its tests" 'FAILED: linux leg: configure'
exit $fail
