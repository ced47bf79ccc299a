#!/bin/sh
# tools/win32-calls.sh EVQ_HTTP_EXE [--completion]: the Win32 calls
# evq_http.exe makes per keep-alive request under wine, counted by wine's
# relay log (every call from the program into a system DLL), as
# docs/windows.md ("Calls per request") gives them. Two runs, of 20 and 220
# requests on one connection, each reply read before the next request;
# their difference over 200 leaves start-up and the connection out.
# Needs wine and python3; by hand, not part of the suite (a run takes
# about a minute: relay logging is slow).
set -eu
export LC_ALL=C
exe=$1
mode=${2:-}
export WINEPREFIX=${WINEPREFIX:-$HOME/.wine-evq}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evq-w32.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/client.py" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for _ in range(int(sys.argv[2])):
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    got = b""
    while b"Hello, World!" not in got:
        d = s.recv(4096)
        if not d:
            sys.exit("connection closed")
        got += d
s.close()
EOF
run() { # run N: the calls of a run serving N requests, "count name" lines
  port=$((20000 + ($$ + $1) % 20000))
  WINEDEBUG=+relay,-all wine "$exe" "$port" $mode 2>"$tmp/relay" >"$tmp/out" &
  pid=$!
  i=0
  until grep -q listening "$tmp/out" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 240 ] || { echo "evq_http did not start" >&2; exit 1; }
    sleep 0.5
  done
  port=$(sed -n "s/.*listening on [0-9.]*:\([0-9]*\).*/\1/p" "$tmp/out")
  python3 "$tmp/client.py" "$port" "$1"
  sleep 2
  kill "$pid" 2>/dev/null || true
  pkill -f "$(basename "$exe") $port" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # A call whose return address lies in the program (image base 0x140000000).
  sed -n 's/^[0-9a-f]*:Call \([A-Za-z0-9_]*\.[A-Za-z0-9_]*\)(.*ret=1400.*/\1/p' \
    "$tmp/relay" | sort | uniq -c
}
run 20 >"$tmp/a"
run 220 >"$tmp/b"
join -1 2 -2 2 -a 1 -a 2 -e 0 -o 0,1.1,2.1 "$tmp/a" "$tmp/b" |
  awk '$3 - $2 > 0 { printf "%8.2f  %s\n", ($3 - $2) / 200, $1 }' | sort -rn
