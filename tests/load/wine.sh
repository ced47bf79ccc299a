#!/bin/sh
# wine.sh SOURCE_DIR SERVER_EXE connections N [SERVER ARGS]
# wine.sh SOURCE_DIR SERVER_EXE soak CHURN_EXE
# load.connections.iocp and load.soak.iocp, in the Windows build. The IOCP
# load_server.exe (and churn.exe) run under wine; the load generator is
# built here with the host's compiler and runs natively, so its sockets are
# Linux sockets and cost wine nothing. The soak is soak.sh's, with
# SOAK_CONNS (default 1000) at a time.
#
# How many: wineserver keeps one host descriptor for every socket of every
# wine process (20,000 at most here), and for every socket event it walks
# the list of all pending AFD polls (server/sock.c, complete_async_polls);
# evq's IOCP backend, like wepoll and mio, keeps one poll pending per
# socket. 10,000 connect and echo every byte in half a minute, but when
# they end at once wineserver stalls: 2,000 close in about 10 s, 4,000 in
# 376 s, 10,000 none in 20 minutes (docs/windows.md, wine quirk 8). CI
# runs EVQ_LOAD_CONNS_WINE (2,000).
set -eu
src=$1
exe=$2
mode=$3
skip() {
  printf 'SKIP: %s\n' "$*"
  exit 77
}
cc=${HOST_CC:-cc}
command -v "$cc" >/dev/null 2>&1 || skip "no host C compiler ($cc) to build the load generator"
wine=
for w in wine64 /usr/lib/wine/wine64 wine; do
  if "$w" --version >/dev/null 2>&1; then
    wine=$w
    break
  fi
done
[ -n "$wine" ] || skip "wine not installed, or does not run (Debian: wine wine64)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evq-wine-load.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$cc" -O2 -o "$tmp/load_client" "$src/load_client.c" || {
  echo "FAIL: cannot build the load generator"
  exit 1
}
export WINEDEBUG=${WINEDEBUG:--all}
export WINEPREFIX=${WINEPREFIX:-${HOME:-/tmp}/.wine-evq}
export LOAD_PATIENCE=${LOAD_PATIENCE:-10}
if [ "$mode" = soak ]; then
  CHURN_RUNNER=$wine sh "$src/soak.sh" "$tmp/load_client" "$wine $exe" "$4" iocp
  exit
fi
n=$4
shift 4 # what is left goes to the server (io_server's --recv 1)
"$tmp/load_client" --server "$wine $exe iocp --conns $n --seconds 3000 $*" \
  --conns "$n" --procs 2 --bytes 16384
