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
import glob
import os
import re
import signal
import subprocess
import sys
import tempfile


def totals(pattern):
    res = {}
    for f in sorted(glob.glob(pattern)):
        desc, tot = "final", None
        for line in open(f, errors="replace"):
            if line.startswith("desc: Trigger: Client Request: "):
                desc = line.split(": ", 2)[2].strip().split(": ")[-1]
            elif line.startswith(("totals:", "summary:")):
                tot = int(line.split()[1])
        if tot is not None:
            res[desc] = tot
        os.unlink(f)
    return res


def callgrind(out, atstart):
    return ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            f"--collect-atstart={'yes' if atstart else 'no'}"]


def pipes(b, tmp):
    for t in (0, 1):
        out = subprocess.run(callgrind(tmp + "/p", False) + [
            b + "/pipes_evq", "n=1000", "active=100", "writes=20000",
            f"timeouts={t}", "rounds=2"], capture_output=True, text=True).stdout
        ev = [int(x) for x in re.findall(r"events=(\d+)", out)]
        tt = totals(tmp + "/p*")
        print(f"pipes timeouts={t}: run {tt['run-2'] / ev[1]:.2f} instr/event, "
              f"setup {tt['setup-1'] / 1000:.1f}, re-setup {tt['setup-2'] / 1000:.1f} instr/pair")


def server(b, out):
    p = subprocess.Popen(callgrind(out, True) + [b + "/pingpong_evq", "port=0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return p, int(p.stdout.readline().split("=")[1])


def pingpong(b, tmp):
    for conns, count in ((1, 2000), (100, 5000)):
        p, _ = server(b, tmp + "/idle")
        p.send_signal(signal.SIGTERM)
        p.wait()
        idle = totals(tmp + "/idle*").get("final", 0)
        p, port = server(b, tmp + "/load")
        out = subprocess.run([b + "/pingpong_client", f"port={port}", f"conns={conns}",
                              "ms=60000", f"count={count}"], capture_output=True, text=True).stdout
        p.send_signal(signal.SIGTERM)
        p.wait()
        load = totals(tmp + "/load*").get("final", 0)
        rt = int(re.search(r"round_trips=(\d+)", out).group(1))
        print(f"pingpong conns={conns}: server {(load - idle) / rt:.2f} instr/round trip")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        pipes(sys.argv[1], tmp)
        pingpong(sys.argv[1], tmp)
