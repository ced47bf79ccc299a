#!/bin/sh
# wrk against evq_http (run.sh passes the port): one second of keep-alive
# load over 16 connections; every reply must be a 200, no socket error.
if ! command -v wrk >/dev/null 2>&1; then
  echo "SKIP: wrk not installed (Debian package wrk)"
  exit 77
fi
out=$(wrk -t1 -c16 -d1s "http://127.0.0.1:$1/" 2>&1)
rc=$?
echo "$out"
status=0
[ "$rc" -eq 0 ] || { echo "FAIL: wrk exited $rc"; status=1; }
n=$(printf '%s\n' "$out" | sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p')
if [ -n "$n" ] && [ "$n" -gt 0 ]; then
  echo "ok - $n requests answered"
else
  echo "FAIL: no requests completed"; status=1
fi
if printf '%s\n' "$out" | grep -Eq 'Non-2xx|Socket errors'; then
  echo "FAIL: wrk saw errors"; status=1
fi
exit "$status"
