#!/usr/bin/env python3
"""Instruction counts (callgrind) of evq's hot paths, for before/after checks.

Usage: instr.py DIR   (DIR holds pipes_evq, pingpong_evq, pingpong_client,
                      e.g. bench/build after `make -C bench`)

Prints pipes run instructions per event (n=1000 active=100, without and with
timeouts) with setup and re-setup per pair, and ping-pong server
instructions per round trip (1 and 100 connections; the server's idle
start-up and shut-down are subtracted). Counts are deterministic: compare
two builds (e.g. a `git worktree` of the old commit) run by run.
"""
import signal
import subprocess
import sys
import tempfile

from evqbench.counters import callgrind_cmd, callgrind_run, callgrind_totals
from evqbench.env import result_lines


def pipes(b, tmp):
    for t in (0, 1):
        tt, out = callgrind_run(b + "/pipes_evq", ["n=1000", "active=100", "writes=20000",
                                                   f"timeouts={t}", "rounds=2"], tmp)
        ev = [l["events"] for l in result_lines(out, "pipes")]
        print(f"pipes timeouts={t}: run {tt['run-2'] / ev[1]:.2f} instr/event, "
              f"setup {tt['setup-1'] / 1000:.1f}, re-setup {tt['setup-2'] / 1000:.1f} instr/pair")


def server(b, out):
    # Not evqbench.servers.Server: no taskset, and no connection after
    # SIGTERM, so the counts stay those of the bare server.
    p = subprocess.Popen(callgrind_cmd(out, True) + [b + "/pingpong_evq", "port=0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return p, int(p.stdout.readline().split("=")[1])


def pingpong(b, tmp):
    for conns, count in ((1, 2000), (100, 5000)):
        p, _ = server(b, tmp + "/idle")
        p.send_signal(signal.SIGTERM)
        p.wait()
        idle = callgrind_totals(tmp + "/idle*").get("final", 0)
        p, port = server(b, tmp + "/load")
        out = subprocess.run([b + "/pingpong_client", f"port={port}", f"conns={conns}",
                              "ms=60000", f"count={count}"], capture_output=True, text=True).stdout
        p.send_signal(signal.SIGTERM)
        p.wait()
        load = callgrind_totals(tmp + "/load*").get("final", 0)
        rt = result_lines(out, "pingpong")[0]["round_trips"]
        print(f"pingpong conns={conns}: server {(load - idle) / rt:.2f} instr/round trip")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        pipes(sys.argv[1], tmp)
        pingpong(sys.argv[1], tmp)
