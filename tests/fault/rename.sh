#!/bin/sh
# rename.sh OBJCOPY FUNCTIONS_H IN.a OUT.a: copies the library, its calls
# to every faultable function of functions.h (F) renamed to the wrappers of
# faultlib.c (read -> evqf_read). Only the library's own references change:
# the program it is linked into keeps calling the real functions.
set -eu
objcopy=$1
sed -n 's/^F(\([a-z_0-9]*\),.*/\1 evqf_\1/p' "$2" >"$4.syms"
[ -s "$4.syms" ] || { echo "rename.sh: no F() lines in $2" >&2; exit 1; }
"$objcopy" --redefine-syms="$4.syms" "$3" "$4.tmp"
mv "$4.tmp" "$4"
