#!/bin/sh
# Runs a server that is stopped by signals against its test client.
#
#   run_signal.sh [--expect ERE]... [--status N] [--client-arg ARG]...
#                 CLIENT SERVER [SERVER_ARGS...]
#
# Starts SERVER 0 SERVER_ARGS; reads the port from its line "listening on
# 127.0.0.1:PORT"; runs CLIENT [ARG...] PORT PID, which sends the server its
# signals itself (it knows when); then requires the server to exit with
# status N (default 0) within 20 s of the client's end, the client to exit
# 0, the server's stderr to be empty (a sanitizer's or valgrind's report
# goes there, and an exit status 1 is expected of some paths), and each
# --expect ERE to match a line of the server's stdout.
#
# Unlike run.sh the server gets no --until-eof: the signals are the stop
# trigger under test. EVQ_EXAMPLE_WRAPPER, if set, is put before the server
# command, e.g. "valgrind -q --error-exitcode=99 --leak-check=full
# --log-file=/tmp/vg.%p" (a log file: valgrind warns on stderr about system
# calls it does not know, such as epoll_pwait2). It must keep the server's
# pid (valgrind does), since the client signals that pid.
# Needs only POSIX sh and coreutils (mktemp, sleep).
set -u

expects=""
want_status=0
client_args=""
while [ "$#" -gt 1 ]; do
  case $1 in
    --expect) expects="$expects
$2" ;;
    --status) want_status=$2 ;;
    --client-arg) client_args="$client_args $2" ;; # no spaces in ARG
    *) break ;;
  esac
  shift 2
done
if [ "$#" -lt 2 ]; then
  echo "usage: run_signal.sh [--expect ERE]... [--status N]" \
       "[--client-arg ARG]... CLIENT SERVER [ARGS...]" >&2
  exit 2
fi
client=$1
server=$2
shift 2

dir=$(mktemp -d "${TMPDIR:-/tmp}/evq-example.XXXXXX") || exit 1
pid=""
cpid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
  if [ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null; then kill -9 "$cpid"; fi
  rm -rf "$dir"
}
trap cleanup EXIT

show_server() {
  echo "--- server stdout"; cat "$dir/out"
  echo "--- server stderr"; cat "$dir/err"
}

# exec keeps the pid: the client signals the server, not a shell. (A
# background job of a non-interactive shell starts with SIGINT ignored;
# the server's subscription replaces that disposition.)
(exec ${EVQ_EXAMPLE_WRAPPER:-} "$server" 0 "$@") \
  </dev/null >"$dir/out" 2>"$dir/err" &
pid=$!

port=""
tries=0
while [ -z "$port" ]; do
  port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
         "$dir/out")
  [ -n "$port" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "FAIL: server exited before listening"; show_server; exit 1
  fi
  tries=$((tries + 1))
  if [ "$tries" -gt 300 ]; then
    echo "FAIL: no 'listening on' line within 30 s"; show_server; exit 1
  fi
  sleep 0.1
done
echo "server $pid listening on port $port"

"$client" $client_args "$port" "$pid" >"$dir/client" 2>&1 &
cpid=$!
tries=0
while kill -0 "$cpid" 2>/dev/null; do
  tries=$((tries + 1))
  if [ "$tries" -gt 900 ]; then
    echo "FAIL: client still running after 90 s"; cat "$dir/client"
    show_server; exit 1
  fi
  sleep 0.1
done
wait "$cpid"
client_rc=$?
cpid=""
cat "$dir/client"

tries=0
while kill -0 "$pid" 2>/dev/null; do
  tries=$((tries + 1))
  if [ "$tries" -gt 200 ]; then
    echo "FAIL: server still running 20 s after the client ended"
    show_server; exit 1
  fi
  sleep 0.1
done
wait "$pid"
server_rc=$?
pid=""
show_server

status=0
if [ "$client_rc" -ne 0 ]; then
  echo "FAIL: client exited $client_rc"; status=1
fi
if [ "$server_rc" -ne "$want_status" ]; then
  echo "FAIL: server exited $server_rc, not $want_status"; status=1
else
  echo "ok - server exited $server_rc"
fi
if [ -s "$dir/err" ]; then
  echo "FAIL: the server wrote to stderr"; status=1
fi
# The expectations, one per line (an ERE may contain spaces).
set -f
old_ifs=$IFS
IFS='
'
for ere in $expects; do
  if grep -Eq -- "$ere" "$dir/out"; then
    echo "ok - server printed /$ere/"
  else
    echo "FAIL: no server line matches /$ere/"; status=1
  fi
done
IFS=$old_ifs
exit "$status"
