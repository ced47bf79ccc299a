#!/bin/sh
# changelog.sh CHANGELOG HEADER: CHANGELOG.md (Keep a Changelog) has an
# Unreleased section and, as its newest release, the version evq.h declares,
# so a version bump cannot ship without its entry.
set -eu
. "$(dirname "$0")/lib.sh"
log=$1 header=$2
[ -f "$log" ] || fail "$log does not exist"
version=$(awk '/^#define EVQ_VERSION_(MAJOR|MINOR|PATCH) /{v = v sep $3; sep = "."}
               END{print v}' "$header")
grep -q '^## \[Unreleased\]' "$log" || fail "$log has no '## [Unreleased]' section"
newest=$(sed -n 's/^## \[\([0-9][^]]*\)\].*/\1/p' "$log" | head -n 1)
[ "$newest" = "$version" ] ||
  fail "newest release in $log is '${newest:-none}', evq.h says $version"
echo "$log: Unreleased, then $version as evq.h says"
