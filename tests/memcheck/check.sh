#!/bin/sh
# check.sh PROGRAM VALGRIND ARGS...: memcheck.epoll_pwait2_fallback. Runs
# pwait2.c under valgrind; it must pass, memcheck clean; and valgrind's
# warning about epoll_pwait2 (syscall 441 on x86-64), which it prints at
# every call it refuses, must appear at most once: evq tried the call once,
# took ENOSYS, and used epoll_wait from then on.
set -eu
prog=$1
shift
log=$(mktemp "${TMPDIR:-/tmp}/evq-pwait2.XXXXXX")
trap 'rm -f "$log"' EXIT
rc=0
"$@" "$prog" 2>"$log" || rc=$?
cat "$log"
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || { echo "FAIL: exit status $rc under valgrind"; exit 1; }
n=$(grep -c 'unhandled .*syscall: 441' "$log" || true)
case $n in
0) echo "pwait2: valgrind handles epoll_pwait2 here: no fallback needed, memcheck clean" ;;
1) echo "pwait2: valgrind refused epoll_pwait2 once; evq kept to epoll_wait after it: waits right, memcheck clean" ;;
*) echo "FAIL: epoll_pwait2 was tried $n times: evq does not remember that the kernel (valgrind) refused it"; exit 1 ;;
esac
