#!/bin/sh
# The real redis-benchmark against evq_resp (run.sh passes the port):
# every test must complete, with no error and no warning.
if ! command -v redis-benchmark >/dev/null 2>&1; then
  echo "SKIP: redis-benchmark not installed (Debian package redis-tools)"
  exit 77
fi
raw=$(redis-benchmark -h 127.0.0.1 -p "$1" -t ping,set,get -n 2000 -q 2>&1)
rc=$?
# -q prints progress lines ended by CR; keep only the final ones.
out=$(printf '%s\n' "$raw" | tr '\r' '\n' | grep -v '^ *$' | grep -v 'rps=')
echo "$out"
status=0
for t in PING_INLINE PING_MBULK SET GET; do
  if printf '%s\n' "$out" |
     grep -Eq "^$t: [0-9.]+ requests per second"; then
    echo "ok - $t completed"
  else
    echo "FAIL: no result line for $t"; status=1
  fi
done
if printf '%s\n' "$out" | grep -Eiq 'err|warn|fail'; then
  echo "FAIL: redis-benchmark reported a problem"; status=1
fi
[ "$rc" -eq 0 ] || { echo "FAIL: redis-benchmark exited $rc"; status=1; }
exit "$status"
