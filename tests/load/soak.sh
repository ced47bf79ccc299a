#!/bin/sh
# soak.sh LOAD_CLIENT "SERVER" CHURN BACKEND: the soak (ctest load.soak.*,
# make soak). For SOAK_SECONDS (default 20), at the same time on one
# backend: load_client --soak (SOAK_CONNS connections, default 1000, opened,
# used with 64 KiB each way and closed, over and over, every byte checked by
# both ends) and churn (threads changing registrations while one waits).
# Both must end clean; prints both results and one line of totals.
# CHURN_RUNNER, if set, runs churn (wine, for the Windows build: wine.sh).
set -eu
client=$1
server=$2
churn=$3
b=$4
s=${SOAK_SECONDS:-20}
conns=${SOAK_CONNS:-1000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evq-soak.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "soak [$b]: $s s of load ($conns connections at a time) and churn at once"
"$client" --server "$server $b --seconds $((s + 900))" --conns "$conns" --procs 2 \
  --bytes 65536 --soak "$s" >"$tmp/load" 2>&1 &
lp=$!
CHURN_SECONDS=$s ${CHURN_RUNNER:+"$CHURN_RUNNER"} "$churn" "$b" >"$tmp/churn" 2>&1 &
cp=$!
ls=0
cs=0
wait $lp || ls=$?
wait $cp || cs=$?
cat "$tmp/load" "$tmp/churn"
if [ $ls != 0 ] || [ $cs != 0 ]; then
  echo "soak [$b]: FAILED (load exit $ls, churn exit $cs)"
  exit 1
fi
echo "soak [$b]: $s s clean: $(grep '^load: soak' "$tmp/load" | sed 's/^load: soak of [0-9]* s: //; s/, every byte.*//'); churn $(grep -o '[0-9]* events' "$tmp/churn")"
