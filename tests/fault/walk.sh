#!/bin/sh
# walk.sh SCENARIO LIBEVQ_A NM OBJDUMP ADDR2LINE WORKDIR: the fault walk
# (ctest fault.walk, make faults). docs/reliability.md explains it.
#
#  1. Every function libevq.a calls outside itself must be classified in
#     functions.h (faultable with its errors, or why it cannot fail).
#  2. The scenario runs once per backend, recording every call site of the
#     library it reaches (a site: one call instruction, known by the
#     wrapper's return address).
#  3. Then once per (backend, site, error, hit): the first hit of the site
#     from each distinct calling context (up to 8: the same call reached
#     from callers that clean up differently), and its last hit, fail with
#     that error. Each
#     run must end cleanly (tests/fault/scenario.c says what that means).
#     A site first reached by a faulted run (a close after a failed bind)
#     is walked in the next round, with that run's fault made first.
#  4. Every call site of a faultable function in the library must have been
#     failed at least once, unless functions.h names it as code this build
#     cannot run (DEAD): none is skipped silently.
# Ends with one line: sites, functions, runs, and whether all were clean.
# FAULT_JOBS runs in parallel (default 2); FAULT_BACKENDS limits the
# backends (default: every one compiled in).
set -eu
scn=$1
lib=$2
nm=${3:-nm}
objdump=${4:-objdump}
a2l=${5:-addr2line}
work=$6
jobs=${FAULT_JOBS:-2}
LC_ALL=C
export LC_ALL

for t in "$nm" "$objdump" "$a2l" timeout; do
  command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t not found (Debian: binutils, coreutils)"; exit 77; }
done
rm -rf "$work"
mkdir -p "$work/runs"
fail() {
  echo "fault walk: FAILED: $*"
  exit 1
}

# where OFFSET: the calling function (innermost, inlined or not) and its
# file:line, for the call that returns to OFFSET.
where() {
  "$a2l" -f -i -C -p -e "$scn" "$(printf '0x%x' $(($1 - 1)))" 2>/dev/null |
    sed 's| at /[^ ]*/src/| at src/|; s/ (discriminator [0-9]*)//' |
    head -n 1
}
# The text of the source line of a site, trimmed.
line_of() {
  loc=$("$a2l" -i -e "$scn" "$(printf '0x%x' $(($1 - 1)))" 2>/dev/null | head -n 1)
  file=${loc%:*}
  n=${loc##*:}
  n=${n%% *}
  [ -f "$file" ] && [ -n "$n" ] && sed -n "${n}p" "$file" | sed 's/^[ \t]*//; s/[ \t]*$//'
}

# ---- 1. every function the library calls is classified ----------------------
"$scn" --functions >"$work/functions.txt"
"$nm" --defined-only "$lib" | awk 'NF == 3 { print $3 }' | sort -u >"$work/defined.txt"
"$nm" -u "$lib" | awk 'NF == 2 && $1 == "U" { print $2 }' | sort -u |
  comm -23 - "$work/defined.txt" |
  grep -Ev '^(__asan_|__ubsan_|__tsan_|__sanitizer_|__lsan_|__msan_|__sancov|__gcov|__llvm|_GLOBAL_OFFSET_TABLE_|__dso_handle|_ITM_|__cxa_|__gmon_start__)' \
    >"$work/imports.txt" || true
unclassified=
for f in $(cat "$work/imports.txt"); do
  grep -Eq "^$f (F|N)( |$)" "$work/functions.txt" || unclassified="$unclassified $f"
done
[ -z "$unclassified" ] ||
  fail "libevq calls$unclassified, not classified in tests/fault/functions.h: add each, with the errors it can return (F, and a wrapper in faultlib.c) or why it cannot fail (N)"
nimports=$(wc -l <"$work/imports.txt")
nfaultable=$(for f in $(cat "$work/imports.txt"); do grep -E "^$f F [A-Z]" "$work/functions.txt" || true; done | wc -l)

# errors FUNCTION [CALLERS]: the NAME=value list for a call of FUNCTION
# (for syscall(2): syscall_<what>) made from the chain of CALLERS (the
# function of the call, then those it is inlined into, space-separated):
# the first SITE line matching one of them, innermost first, else F's.
errors_of() {
  awk -v f="$1" -v chain="${2:-}" '
    BEGIN { n = split(chain, c, " ") }
    $1 == f && $2 == "SITE" { for (j = 1; j <= n; j++) if ($3 == c[j] && (!best || j < best)) {
        best = j; s = ""; for (i = 4; i <= NF; i++) s = s " " $i } }
    $1 == f && $2 == "F" { for (i = 3; i <= NF; i++) d = d " " $i }
    END { print (best ? s : d) }' "$work/functions.txt" | tr ' ' '\n' | grep . || true
}
# chain OFFSET: the function of the call at OFFSET and those it is inlined
# into, innermost first.
chain() {
  "$a2l" -f -i -C -e "$scn" "$(printf '0x%x' $(($1 - 1)))" 2>/dev/null | awk 'NR % 2 == 1' | tr '\n' ' '
}

# ---- the call sites in the code: every call of a wrapper from the library --
# objdump lists each call; its return address is the next instruction's.
"$objdump" -d --no-show-raw-insn "$scn" | awk '
  /^[0-9a-f]+ <.*>:$/ { fn = $2; gsub(/[<>:]/, "", fn); next }
  /^ *[0-9a-f]+:/ {
    addr = $1; sub(/:$/, "", addr)
    if (pending != "") { print "0x" addr, pending, caller; pending = "" }
    if ($0 ~ /call.*<evqf_[a-z0-9_]+>/ && fn !~ /^evqf_/) {
      t = $0; sub(/.*<evqf_/, "", t); sub(/>.*/, "", t)
      pending = t; caller = fn
    }
  }' >"$work/static-sites.txt"
# Only the wrappers of faultable functions count.
awk 'NR == FNR { if ($2 == "F" && (NF > 2 || $1 == "syscall")) f[$1] = 1; next } f[$2]' \
  "$work/functions.txt" "$work/static-sites.txt" >"$work/static-faultable.txt"
nstatic=$(wc -l <"$work/static-faultable.txt")
[ "$nstatic" -gt 0 ] || fail "found no call site of the library in $scn (objdump)"

# ---- 2. record ------------------------------------------------------------
backends=${FAULT_BACKENDS:-$("$scn" --backends | tr '\n' ' ')}
for b in $backends; do
  EVQ_FAULT_MODE=record EVQ_FAULT_OUT="$work/record.$b" \
    timeout 300 "$scn" "$b" >"$work/record.$b.log" 2>&1 || {
    cat "$work/record.$b.log"
    fail "the scenario fails on $b with no fault injected"
  }
  echo "$b - - -" >"$work/record.$b.spec"
done

# ---- 3. one run per (backend, site, error, hit), in rounds -----------------
# A spec: "backend enabling_offset enabling_errno enabling_hit" ("-" for
# none). A run line: id backend offset function errno_name errno hit
# enabling_offset enabling_errno enabling_hit.
: >"$work/done-sites.txt"
: >"$work/results.txt"
cat >"$work/run1.sh" <<'RUN'
id=$1 b=$2 off=$3 fn=$4 ename=$5 e=$6 hit=$7 eoff=$8 ee=$9
shift 9
ehit=$1
out=$W/runs/$id
if [ "$eoff" = - ]; then unset EVQ_FAULT_SITE2 EVQ_FAULT_ERRNO2 EVQ_FAULT_HIT2
else export EVQ_FAULT_SITE2=$eoff EVQ_FAULT_ERRNO2=$ee EVQ_FAULT_HIT2=$ehit; fi
start=$(date +%s%N)
EVQ_FAULT_MODE=inject EVQ_FAULT_SITE=$off EVQ_FAULT_ERRNO=$e EVQ_FAULT_HIT=$hit \
  EVQ_FAULT_OUT=$out.sites timeout 60 "$SCN" "$b" >"$out.log" 2>&1
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
# Only a run with a single fault can open the way for another one.
[ "$eoff" = - ] && echo "$b $off $e $hit" >"$out.spec"
fired=$(cat "$out.sites" "$out.sites".child.* 2>/dev/null | awk '$1 == "fired" && $2 == 1 { f = 1 } END { print f + 0 }')
if [ $rc = 0 ]; then res=PASS; else res=FAIL; fi
echo "$res $b $off $fn $ename $hit $fired $rc $id $eoff $ms" >>"$W/results.txt"
RUN
round=0
while :; do
  round=$((round + 1))
  : >"$work/todo.txt"
  # Every site seen so far, with the fault that opened the way to it.
  for spec in "$work"/record.*.spec "$work"/runs/*.spec; do
    [ -f "$spec" ] || continue
    base=${spec%.spec}
    case $base in */record.*) sites=$base ;; *) sites=$base.sites ;; esac
    read -r b eoff ee ehit <"$spec"
    # offset function hits first-hit-of-each-calling-context...: the hits
    # to fail are those firsts and the last.
    cat "$sites" "$sites".child.* 2>/dev/null |
      awk -v s="$b $eoff $ee $ehit" '$1 ~ /^0x/ {
        delete h; list = ""
        for (i = 4; i <= NF; i++) h[$i] = 1
        h[$3] = 1
        for (k in h) list = list (list == "" ? "" : ",") k
        print s, $1, $2, list }'
  done | sort -k1,1 -k5,5 -k2,2 | awk '!seen[$1 " " $5]++' |
    while read -r b eoff ee ehit off fn hits; do
    # Sites seen in a record or single-fault run need no enabling fault;
    # a site seen only under a fault inherits that fault.
    grep -qx "$b $off" "$work/done-sites.txt" && continue
    if [ "$eoff" != - ] && grep -q "^$b $off " "$work/seen-free.txt" 2>/dev/null; then continue; fi
    echo "$b $off" >>"$work/done-sites.txt"
    errs=$(errors_of "$fn" "$(chain "$off")")
    if [ -z "$errs" ]; then
      [ "$fn" = syscall_other ] && echo "UNCLASSIFIED $b $off $(where "$off")" >>"$work/todo.txt"
      continue
    fi
    for e in $errs; do
      for h in $(echo "$hits" | tr ',' ' '); do
        echo "$b $off $fn ${e%%=*} ${e#*=} $h $eoff $ee $ehit" >>"$work/todo.txt"
      done
    done
  done
  # Remember which sites were reached without any enabling fault.
  for spec in "$work"/record.*.spec "$work"/runs/*.spec; do
    [ -f "$spec" ] || continue
    read -r b eoff ee ehit <"$spec"
    [ "$eoff" = - ] || continue
    base=${spec%.spec}
    case $base in */record.*) sites=$base ;; *) sites=$base.sites ;; esac
    awk -v b="$b" '$1 ~ /^0x/ { print b, $1 }' "$sites" 2>/dev/null
  done | sort -u >"$work/seen-free.txt"
  grep -q UNCLASSIFIED "$work/todo.txt" &&
    fail "the library makes a system call through syscall(2) that functions.h does not name: $(grep UNCLASSIFIED "$work/todo.txt" | head -n 1)"
  [ -s "$work/todo.txt" ] || break
  [ $round -le 5 ] || fail "sites keep appearing after 5 rounds"
  n=$(wc -l <"$work/todo.txt")
  echo "fault walk: round $round: $n runs"
  awk -v r="$round" '{ print r "." NR, $0 }' "$work/todo.txt" >"$work/todo-numbered.txt"
  W=$work SCN=$scn xargs -P "$jobs" -L 1 sh "$work/run1.sh" <"$work/todo-numbered.txt"
done

# ---- 4. results --------------------------------------------------------------
runs=$(wc -l <"$work/results.txt")
nfail=$(grep -c '^FAIL' "$work/results.txt" || true)
# A site is faulted when a run of it fired its fault.
awk '$7 == 1 { print $2, $3 }' "$work/results.txt" | sort -u >"$work/faulted.txt"
awk '{ print $2, $3 }' "$work/results.txt" | sort -u >"$work/tried.txt"
notfired=$(while read -r b off; do
  grep -qx "$b $off" "$work/faulted.txt" || echo "$b $off $(where "$off")"
done <"$work/tried.txt")
cat "$work"/record.* "$work"/runs/*.sites "$work"/runs/*.sites.child.* 2>/dev/null |
  awk '$1 ~ /^0x/ { print $1, $2 }' | sort -u >"$work/reached.txt"

# Every call instruction of a faultable function: faulted, or reached where
# it has nothing to inject (a futex wake, a SITE with no errors), or named
# DEAD.
: >"$work/dead.txt"
unreached=
while read -r off fn caller; do
  grep -q " $off$" "$work/faulted.txt" && continue
  rfn=$(awk -v o="$off" '$1 == o { print $2; exit }' "$work/reached.txt")
  [ -n "$rfn" ] && [ -z "$(errors_of "$rfn" "$(chain "$off")")" ] && continue
  w=$(where "$off")
  cfn=${w%% at *}
  text=$(line_of "$off")
  why=$(awk -F '\t' -v c="$cfn" -v f="$fn" -v t="$text" \
    '$1 == "DEAD" && $2 == c && $3 == f && $4 == t { print "dead"; exit }' "$work/functions.txt")
  if [ -n "$why" ] && [ -z "$rfn" ]; then
    echo "$off $fn $w" >>"$work/dead.txt"
    continue
  fi
  unreached="$unreached
  $off $fn ($w)${rfn:+: reached, but no fault fired there}"
done <"$work/static-faultable.txt"
ndead=$(wc -l <"$work/dead.txt")
nsites=$(awk '{ print $2 }' "$work/faulted.txt" | sort -u | wc -l)

# The report: every site, where it is, what was tried.
{
  echo "# call sites of libevq faulted by tests/fault/walk.sh"
  echo "# backend offset function runs fired failed  where"
  while read -r b off; do
    awk -v b="$b" -v o="$off" '$2 == b && $3 == o { n++; fn = $4; f += $7; x += ($1 == "FAIL") }
      END { printf "%s %s %s %d %d %d  ", b, o, fn, n, f, x }' "$work/results.txt"
    where "$off"
  done <"$work/tried.txt"
  echo "# named DEAD in functions.h (code this build cannot run):"
  sed 's/^/# /' "$work/dead.txt"
} >"$work/sites.txt"

status=0
if [ "$nfail" -gt 0 ]; then
  echo "fault walk: $nfail failed runs:"
  grep '^FAIL' "$work/results.txt" | while read -r res b off fn ename hit fired rc id eoff ms; do
    echo "  $b: $fn fails with $ename at hit $hit of the call in $(where "$off")$([ "$eoff" != - ] && echo ", after the fault at $(where "$eoff")"): exit $rc"
    grep -v '^\s*$' "$work/runs/$id.log" | grep -v '^fault scenario \[[a-z_]*\]: ' | head -n 8 | sed 's/^/      /'
  done | head -n 400
  status=1
fi
if [ -n "$notfired" ]; then
  echo "fault walk: sites walked whose fault never fired:"
  echo "$notfired" | sed 's/^/  /'
  status=1
fi
if [ -n "$unreached" ]; then
  echo "fault walk: call sites of the library never failed (the scenario does not reach them):$unreached"
  status=1
fi
echo "fault walk: site report in $work/sites.txt"
summary="$nsites call sites of $nfaultable faultable functions ($nimports functions imported) faulted on $(echo $backends | tr ' ' ','), $ndead named dead on this build; $runs runs (site x error x calling context)"
if [ $status = 0 ]; then
  echo "fault walk: $summary: all clean"
else
  echo "fault walk: $summary: $nfail failed$([ -n "$unreached" ] && echo ", some sites never failed")"
fi
exit $status
