#!/bin/sh
# check-windows-table.sh SOURCE_DIR WINDOWS_BUILD_DIR [CTEST]: fails unless
# the table under the heading "Cases that do not run on Windows" in
# docs/windows.md
# names every case the Windows build leaves out, and nothing else, so the
# table cannot drift from the build (ctest docs.windows_table, Windows
# build). Left out, by what the build's ctest runs:
#  - every TEST and UNIT of tests/posix/*.c (never built for Windows);
#  - every guide example docs/examples/NAME.c with no guide.NAME[.MODE].iocp;
#  - every load case load.NAME.<backend> of tests/load/CMakeLists.txt with
#    no load.NAME.iocp.
# The table (the first after that heading) holds the names in its first
# column, each in backquotes.
set -eu
src=$1
bin=$2
ctest=${3:-ctest}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evq-wintable.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

(cd "$bin" && "$ctest" -N) | sed -n 's/^ *Test *#[0-9]*: //p' >"$tmp/runs"
grep -q '\.iocp$' "$tmp/runs" || {
  echo "check-windows-table: $bin runs no iocp case: not a Windows build"
  exit 1
}

grep -ho '^\(TEST\|UNIT\)([a-z0-9_]*)' "$src"/tests/posix/*.c |
  sed 's/^TEST(\(.*\))$/\1/; s/^UNIT(\(.*\))$/unit.\1/' >"$tmp/out"
for f in "$src"/docs/examples/*.c; do
  n=$(basename "$f" .c)
  grep -q "^guide\.$n\(\.[a-z0-9_]*\)\{0,1\}\.iocp\$" "$tmp/runs" ||
    echo "guide.$n" >>"$tmp/out"
done
for n in $(grep -o 'load\.[a-z_]*\.\${b}' "$src/tests/load/CMakeLists.txt" |
           sed 's/^load\.//; s/\.\${b}$//' | sort -u); do
  grep -q "^load\.$n\.iocp\$" "$tmp/runs" || echo "load.$n" >>"$tmp/out"
done
sort -u "$tmp/out" >"$tmp/left_out"

awk '/^#/ { in_t = ($0 ~ /^#+ Cases that do not run on Windows$/); next }
     in_t && /^\|/ { rows = 1; split($0, c, "|"); print c[2]; next }
     rows { in_t = rows = 0 }' "$src/docs/windows.md" |
  grep -o '`[^`]*`' | tr -d '`' | sort >"$tmp/table"
if [ ! -s "$tmp/table" ]; then
  echo "docs/windows.md: no table under \"Cases that do not run on Windows\""
  exit 1
fi

bad=0
for n in $(comm -23 "$tmp/left_out" "$tmp/table"); do
  echo "docs/windows.md: $n does not run on Windows; its row (and why) is missing"
  bad=1
done
for n in $(comm -13 "$tmp/left_out" "$tmp/table"); do
  echo "docs/windows.md: $n is in the table, but the Windows build runs it (or it is no case)"
  bad=1
done
for n in $(uniq -d "$tmp/table"); do
  echo "docs/windows.md: $n is in the table twice"
  bad=1
done
[ $bad = 0 ] && echo "docs/windows.md names the $(wc -l <"$tmp/left_out") cases the Windows build leaves out"
exit $bad
