#!/usr/bin/env python3
"""Runs evq's benchmarks against libuv, libev, libevent and raw epoll; for
the network cases (ping-pong, http, connection churn) also evq's completion
server (evq_io.h) on epoll and on io_uring, raw io_uring, and Asio on its
epoll reactor and on its io_uring backend.

Usage: run.py --bin DIR [--out DIR] [--quick] [--rounds N] [--only B,...] (B: pipes,timers,wake,pingpong,http,churn)
              [--no-callgrind] [--no-syscalls]

Every benchmark case runs `rounds` times; each round runs every library once,
in an order rotated from round to round, so drift on the machine (thermal,
noisy neighbours) spreads over all libraries alike. Single-process programs
are pinned to one core; network servers to one core and their load (the
ping-pong client, wrk) to another. Medians are reported with their ratio to
evq. Separate, untimed runs count system calls (perf's raw_syscalls:sys_enter
tracepoint, or strace -c -f) and instructions (valgrind --tool=callgrind) per
delivered event. Writes results.csv (medians), samples.csv (every sample),
table.md, machine.txt and chart.png (gnuplot) under --out.

Only the Python 3 standard library is used.
"""
# The driver is the evqbench package beside this file (its __init__.py
# lists the modules).
from evqbench import cli

if __name__ == "__main__":
    cli.main(__doc__)
