#!/bin/sh
# Fails when the README's usage example and examples/readme.c (which the
# suite compiles and runs) differ, so the README never shows dead code.
top=$(dirname "$0")/..
awk '/^```c$/{f=1;next} /^```$/{if(f)exit} f' "$top/README.md" |
  diff -u "$top/examples/readme.c" - && echo "README example in sync"
