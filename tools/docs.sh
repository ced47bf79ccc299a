#!/bin/sh
# docs.sh OUTDIR [--test]: builds the API reference from the public headers
# (include/evq.h, evq_net.h, evq_io.h) with Doxygen (docs/Doxyfile) into
# OUTDIR/html, and fails on any warning.
#   make docs        runs it into build/docs
#   docs.doxygen     (ctest) runs it with --test: it then exits 77, which
#                    ctest reports as skipped, when doxygen is missing
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: docs.sh OUTDIR [--test]}
mode=${2:-}

# Installed means it runs and names its version (an empty stand-in, as
# .ci/hide-optional.sh mounts, is not installed).
ver=$(doxygen --version 2>/dev/null) || ver=
if [ -z "$ver" ]; then
  if [ "$mode" = --test ]; then
    echo "SKIP: doxygen not installed"
    exit 77
  fi
  echo "make docs: doxygen is not installed; install it (Debian/Ubuntu:" \
       "apt-get install doxygen; macOS: brew install doxygen) and run" \
       "make docs again" >&2
  exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/html"
log="$out/doxygen-warnings.log"
rm -f "$log"
version=$(awk '/^#define EVQ_VERSION_(MAJOR|MINOR|PATCH) /{v = v sep $3; sep = "."}
               END{print v}' "$top/include/evq.h")

# The settings that depend on where this runs come after the file, so
# they override it. Paths in the Doxyfile are relative to the root.
cd "$top"
status=0
{ cat docs/Doxyfile
  echo "OUTPUT_DIRECTORY = \"$out\""
  echo "PROJECT_NUMBER = $version"
  echo "WARN_LOGFILE = \"$log\""
} | doxygen - >"$out/doxygen.log" 2>&1 || status=$?

if [ "$status" -ne 0 ]; then
  cat "$out/doxygen.log" >&2
  echo "docs: doxygen $ver failed (exit $status)" >&2
  exit 1
fi
if [ -s "$log" ]; then
  cat "$log" >&2
  echo "docs: doxygen $ver warned $(wc -l <"$log") times" \
       "(every warning is an error)" >&2
  exit 1
fi

# The reference must hold what the header documents: each group's page,
# every function the header declares, and every error code with its value.
fail=0
check() { # FILE PATTERN WHAT
  if ! grep -q -- "$2" "$out/html/$1" 2>/dev/null; then
    echo "docs: $3 missing from html/$1" >&2
    fail=1
  fi
}
check index.html "A cross-platform event queue" "the main page"
# The guide's links to the other documents are links in the HTML too, and
# its examples are named where they are (docs/examples/, not examples/).
for page in design windows kqueue; do
  check guide-doc.html "href=\"$page-doc.html" "a working link to $page.md"
done
check guide-doc.html "program in <code>docs/examples/</code>" "where the guide's programs are"
check guide-doc.html "Step 1: a first server" "the tutorial"
# The Modules page and the main page's topics, both in reading order and
# complete; "Closing" is a link, wherever the HTML puts it.
order="lifecycle registration events waiting timers signals children sockets operations embedding portability errors version"
for page in modules.html index.html; do
  got=$(grep -o 'href="group__[a-z]*\.html"' "$out/html/$page" |
    sed 's/.*group__\([a-z]*\).*/\1/' | awk '!seen[$0]++' | tr '\n' ' ')
  [ "$got" = "$order " ] || {
    echo "docs: $page lists the groups as '$got', not '$order'" >&2
    fail=1
  }
done
check group__registration.html 'id="closing"' "the Closing anchor"
! grep -q '"Closing" above' "$out/html/group__registration.html" ||
  { echo "docs: evq_deregister_close still says \"Closing\" above" >&2; fail=1; }
! grep -q 'the demo and tests need' "$out/html/group__sockets.html" ||
  { echo "docs: the sockets group still introduces itself as the demo's" >&2; fail=1; }
for g in version errors events lifecycle registration waiting embedding portability \
         signals children timers sockets operations; do
  check "group__$g.html" "evq" "group '$g'"
done
for f in $(sed -n 's/^EVQ_API [^(]*[ *]\(evq_[a-z_]*\)(.*/\1/p' \
           include/evq.h include/evq_net.h include/evq_io.h); do
  grep -q -- "$f" "$out"/html/group__*.html ||
    { echo "docs: function $f is in no group page" >&2; fail=1; }
done
# Each code twice: in the expanded enum ("EVQ_EBADF = -3") and in the
# table of meanings ("EVQ_EBADF (-3): ...").
errors=$(sed 's/<[^>]*>//g' "$out/html/group__errors.html")
codes=$(sed -n 's/^ *X(\([A-Z]*\), *\(-[0-9]*\),.*/\1 \2/p' include/evq.h)
[ -n "$codes" ] || { echo "docs: no EVQ_ERRNO_MAP entries found" >&2; fail=1; }
for want in $(echo "$codes" | sed 's/^\([A-Z]*\) \(.*\)/EVQ_\1=\2 EVQ_\1(\2):/'); do
  text=$(echo "$want" | sed 's/=/ = /; s/(/ (/')
  case $errors in
    *"$text"*) ;;
    *) echo "docs: '$text' missing from the errors page" >&2; fail=1 ;;
  esac
done
[ "$fail" -eq 0 ] || exit 1

echo "docs: API reference in $out/html/index.html (doxygen $ver, no warnings)"
