#!/bin/sh
# Runs one network example against its test client.
#
#   run.sh [--expect ERE]... [--fd-limit N] [--stop SIGNAL] CLIENT SERVER
#          [SERVER_ARGS...]
#
# Starts SERVER on port 0 with --until-eof, its standard input a fifo held
# open by this script; reads the port from its line starting "listening
# on 127.0.0.1:PORT" (or a Unix socket's path from "listening on /PATH");
# runs CLIENT PORT (or CLIENT /PATH); when the client exits or prints
# HOLDING (it then keeps a connection open, which the server must close),
# closes the fifo, which is the server's documented stop trigger, and
# requires the server to exit 0 within 20 s, and the client too. Each --expect ERE must match a line of the server's stdout
# after it exits. --fd-limit runs the server under `ulimit -n N`.
# --stop SIGNAL (TERM, INT) stops the server with that signal instead: it
# runs without --until-eof, as a person runs it, and must then end as
# cleanly, summary included. The
# client's exit status 77 (with its "SKIP: reason"
# line) is passed on, so ctest reports a skip, not a pass.
#
# EVQ_EXAMPLE_WRAPPER, if set, is put before the server command (e.g.
# "valgrind --error-exitcode=99 --leak-check=full").
# Needs only POSIX sh and coreutils (mkfifo, mktemp, sleep).
set -u

expects=""
fd_limit=""
stop_signal=""
while [ "$#" -gt 1 ]; do
  case $1 in
    --expect) expects="$expects
$2" ;;
    --fd-limit) fd_limit=$2 ;;
    --stop) stop_signal=$2 ;;
    *) break ;;
  esac
  shift 2
done
if [ "$#" -lt 2 ]; then
  echo "usage: run.sh [--expect ERE]... [--fd-limit N] [--stop SIGNAL] CLIENT SERVER" \
       "[ARGS...]" >&2
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
mkfifo "$dir/stdin" || exit 1

show_server() {
  echo "--- server stdout"; cat "$dir/out"
  echo "--- server stderr"; cat "$dir/err"
}

# The shell opens the fifo for the server; that open completes once this
# script opens the write end (fd 3) just below.
(
  if [ -n "$fd_limit" ]; then ulimit -n "$fd_limit" || exit 1; fi
  if [ -n "$stop_signal" ]; then
    exec ${EVQ_EXAMPLE_WRAPPER:-} "$server" 0 "$@"
  fi
  exec ${EVQ_EXAMPLE_WRAPPER:-} "$server" 0 --until-eof "$@"
) <"$dir/stdin" >"$dir/out" 2>"$dir/err" &
pid=$!
exec 3>"$dir/stdin"

port=""
tries=0
while [ -z "$port" ]; do
  port=$(sed -n -e 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
         -e 's/^listening on \(\/.*\)$/\1/p' "$dir/out")
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
echo "server listening on port $port"

# The client runs in the background: it may end by printing HOLDING and
# keeping a connection open, to check that stopping the server closes
# the connections it still has.
"$client" "$port" >"$dir/client" 2>&1 3>&- &   # not the fifo: only we hold it
cpid=$!
tries=0
while kill -0 "$cpid" 2>/dev/null && ! grep -q '^HOLDING$' "$dir/client"; do
  tries=$((tries + 1))
  if [ "$tries" -gt 900 ]; then
    echo "FAIL: client still running after 90 s"; cat "$dir/client"
    show_server; exit 1
  fi
  sleep 0.1
done

exec 3>&-   # end of the server's standard input: it must stop now
if [ -n "$stop_signal" ]; then
  kill -s "$stop_signal" "$pid"   # or at this signal, without --until-eof
fi
tries=0
while kill -0 "$pid" 2>/dev/null; do
  tries=$((tries + 1))
  if [ "$tries" -gt 200 ]; then
    echo "FAIL: server still running 20 s after its stdin closed${stop_signal:+ and SIG$stop_signal}"
    cat "$dir/client"; show_server; exit 1
  fi
  sleep 0.1
done
wait "$pid"
server_rc=$?
pid=""
wait "$cpid"
client_rc=$?
cpid=""
cat "$dir/client"
show_server

# The server's status first: a client that skips (77) must not hide a
# server that failed.
if [ "$server_rc" -ne 0 ]; then
  echo "FAIL: server exited $server_rc"; exit 1
fi
if [ "$client_rc" -eq 77 ]; then exit 77; fi
status=0
if [ "$client_rc" -ne 0 ]; then
  echo "FAIL: client exited $client_rc"; status=1
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
