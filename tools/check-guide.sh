#!/bin/sh
# Fails unless every C block of docs/guide.md is a region of a program in
# docs/examples/ (which the suite builds and runs, guide.<name>.<backend>),
# shown exactly as it is there, and every region there is shown. So the
# guide never shows code that does not compile or no longer runs.
#
# In the guide, the line before each ```c block names its source:
#     <!-- example: docs/examples/edge.c edge -->
# In the example, the region is the lines between
#     /* guide:begin edge */   and   /* guide:end edge */
# with their common indentation removed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
guide=$top/docs/guide.md
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evq-guide.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# 1. Split the guide into blocks: $tmp/N.block, and $tmp/N.src holding
#    "FILE REGION guide-line". A ```c block without its marker is an error.
awk -v tmp="$tmp" '
  /^[ \t]*(```|~~~)[ \t]*[{.]*[cC][}]?[ \t]*$/ && !/^```c[ \t]*$/ {
    printf "docs/guide.md:%d: write C blocks as an unindented ```c fence\n", NR
    bad = 1
  }
  /^```c[ \t]*$/ {
    if (prev !~ /^<!-- example: [^ ]+ [a-z0-9_]+ -->$/) {
      printf "docs/guide.md:%d: C block without <!-- example: FILE REGION --> before it\n", NR
      bad = 1
    }
    n++; inblock = 1
    split(prev, w, " ")
    printf "%s %s %d\n", w[3], w[4], NR > (tmp "/" n ".src")
    printf "" > (tmp "/" n ".block")
    prev = $0; next
  }
  inblock && /^```[ \t]*$/ { inblock = 0; prev = $0; next }
  inblock { print > (tmp "/" n ".block"); prev = $0; next }
  { if ($0 !~ /^[ \t]*$/ || prev ~ /^<!--/) prev = $0 }
  END { if (inblock) { print "docs/guide.md: unterminated C block"; bad = 1 }
        exit bad }
' "$guide" || exit 1

# A region of a file, dedented.
region() { # FILE REGION
  awk -v r="$2" '
    $0 ~ "^[ \t]*/\\* guide:begin " r " \\*/[ \t]*$" { on = 1; found = 1; next }
    $0 ~ "^[ \t]*/\\* guide:end " r " \\*/[ \t]*$" { on = 0; next }
    on { line[++n] = $0
         if ($0 ~ /[^ \t]/) { match($0, /^[ ]*/)
           if (min == "" || RLENGTH < min) min = RLENGTH } }
    END { if (!found) exit 2
          for (i = 1; i <= n; i++) print substr(line[i], min + 1) }
  ' "$1"
}

status=0
shown=""
for src in "$tmp"/*.src; do
  [ -e "$src" ] || { echo "docs/guide.md: no C blocks"; exit 1; }
  read -r file name line <"$src"
  block=${src%.src}.block
  if [ ! -f "$top/$file" ]; then
    echo "docs/guide.md:$line: $file does not exist"; status=1; continue
  fi
  if ! region "$top/$file" "$name" >"$tmp/want"; then
    echo "docs/guide.md:$line: $file has no region '$name'"; status=1; continue
  fi
  if ! diff -u "$tmp/want" "$block" >"$tmp/diff"; then
    echo "docs/guide.md:$line: differs from $file, region '$name':"
    sed 's/^/  /' "$tmp/diff"
    status=1
  fi
  shown="$shown $file:$name"
done

# 2. Every region of every example is shown, and every example has one.
for f in "$top"/docs/examples/*.c; do
  rel=docs/examples/${f##*/}
  regions=$(sed -n 's|^[ \t]*/\* guide:begin \([a-z0-9_]*\) \*/[ \t]*$|\1|p' "$f")
  [ -n "$regions" ] || { echo "$rel: no guide region"; status=1; }
  for r in $regions; do
    case " $shown " in
      *" $rel:$r "*) ;;
      *) echo "$rel: region '$r' is not shown in docs/guide.md"; status=1 ;;
    esac
  done
done

[ "$status" -eq 0 ] && echo "docs/guide.md: $(ls "$tmp"/*.src | wc -l | tr -d ' ') C blocks, each compiled and run from docs/examples/"
exit "$status"
