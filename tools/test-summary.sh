#!/bin/sh
# tools/test-summary.sh LEGS_FILE: the end of `make test` (tools/test-all.sh
# writes LEGS_FILE, one leg a line: name|backends|state|junit|rc|reason).
# Reads each leg's ctest JUnit report and prints every skipped case with
# the reason it printed ("SKIP: ..."), every failure, and last one line:
#
#   evq tests: P passed, F failed, S skipped (legs run: ...; not run: ...;
#   skipped: case - reason; ...)
#
# EVQ_REQUIRE_LEGS=windows,... makes a leg that did not run a failure (CI
# sets it for the legs it installed the tools for).
#
# Exits 1 if anything failed. Stricter than ctest on purpose: a case that
# passed but printed a "SKIP:" line, or was skipped without one, counts as
# failed (a skip must be visible, and must say why).
set -eu
LC_ALL=C
export LC_ALL
legs=$1
status=0
awk -f "$(dirname "$0")/test-summary.awk" "$legs" || status=$?
exit $status
