#!/usr/bin/env python3
"""evq's backends against each other in one run: io_uring against epoll (and
poll, with --all), the same evq programs with EVQ_BACKEND set.

Usage: backends.py --bin DIR [--out FILE] [--rounds N] [--backends a,b]

DIR holds the programs `make -C bench` builds (pipes_evq, pingpong_evq,
pingpong_client, http_evq, churn_evq, churn_client; churn_epoll too, for
raw epoll's figure). For each case and backend: the rate, as the median of
--rounds timed runs, the backends taking turns round by round; the system
calls per delivered event (strace -c, or perf's raw_syscalls tracepoint);
and the instructions per event (callgrind) where the program counts its
measured phase or the server's idle start is subtracted.

Writes a markdown table to --out (default bench/results/backends.md) and
prints it. Uses the evqbench package (servers, counters), as run.py does;
only the standard library otherwise.
"""
import argparse
import os
import statistics

from evqbench.counters import callgrind_run, counted_cmd, parse_syscalls
from evqbench.env import Env, log, result_lines, run
from evqbench.servers import Server, client, server_instructions, server_syscalls, wrk


def set_backend(b):
    os.environ["EVQ_BACKEND"] = b


def pipes(env, backend, rounds_only=False):
    prog = env.prog("pipes", "evq")
    args = ["n=1000", "active=100", "writes=20000", "timeouts=0", "rounds=2"]
    out = run(env.pin(env.core_main) + [prog] + args)
    last = result_lines(out, "pipes")[-1]
    m = {"rate": last["events"] / (last["run_ns"] / 1e9)}
    if rounds_only:
        return m
    f = os.path.join(env.tmp, f"pipes.{backend}")
    out = run(counted_cmd(env, f) + [prog] + args[:-1] + ["rounds=1"])
    ev = sum(l["events"] for l in result_lines(out, "pipes"))
    s = parse_syscalls(f)
    m["sys"] = s / ev if s else None
    tot, out = callgrind_run(prog, args, env.tmp)
    m["instr"] = tot.get("run-2", 0) / result_lines(out, "pipes")[-1]["events"]
    return m


def client_run(env, bench, port, case, count=None, ms=None):
    """(requests, rate) of one load: bench's client, or wrk for http."""
    if bench == "pingpong":
        l = client(env, bench, port, case, ms or 1000, count)
        return l["round_trips"], l["rt_per_s"]
    if bench == "churn":
        l = client(env, bench, port, case, ms or 1000, count)
        return l["connections"], l["conn_per_s"]
    w, _ = wrk(env, port, case, (ms or 1000) // 1000)
    return w["requests"], w["rate"]


def network(env, bench, lib, case, backend, rounds_only=False):
    prog = env.prog(bench, lib)
    srv = Server(env, prog)
    try:
        _, rate = client_run(env, bench, srv.port, case, ms=2000)
    finally:
        srv.stop()
    m = {"rate": rate}
    if rounds_only:
        return m
    s, reqs = server_syscalls(
        env, prog, lambda srv: client_run(env, bench, srv.port, case, ms=1000)[0])
    m["sys"] = s / reqs if s and reqs else None
    if env.valgrind:
        count = 2000 if bench != "http" else None
        m["instr"] = server_instructions(
            env, prog, lambda srv: client_run(env, bench, srv.port, case, count=count,
                                              ms=60000 if count else 2000)[0])
    return m


def fmt(v, unit=""):
    if v is None:
        return "-"
    if v >= 1000:
        return f"{v:,.0f}{unit}"
    return f"{v:.2f}{unit}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "results", "backends.md"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--backends", default="epoll,io_uring")
    ap.add_argument("--only", default="",
                    help="run only the cases whose name starts with this (e.g. churn)")
    a = ap.parse_args()
    env = Env(a.bin, os.path.dirname(a.out))
    backends = a.backends.split(",")
    cases = [("pipes n=1000 a=100", "events/s", "event", None),
             ("pingpong 1 conn", "round trips/s", "round trip", ("pingpong", 1)),
             ("pingpong 100 conns", "round trips/s", "round trip", ("pingpong", 100)),
             ("churn 16 conns", "connections/s", "connection", ("churn", 16))]
    if env.wrk:
        cases.append(("http wrk c=100", "requests/s", "request", ("http", 100)))
    cases = [c for c in cases if c[0].startswith(a.only)]
    res = {}
    for name, _, _, net in cases:
        for b in backends:
            set_backend(b)
            log(f"{name} on {b}: counting")
            res[name, b] = (pipes(env, b) if net is None else
                            network(env, net[0], "evq", net[1], b))
            res[name, b]["rates"] = []
        for r in range(a.rounds):
            order = backends[r % len(backends):] + backends[:r % len(backends)]
            for b in order:
                set_backend(b)
                m = (pipes(env, b, True) if net is None else
                     network(env, net[0], "evq", net[1], b, True))
                res[name, b]["rates"].append(m["rate"])
            log(f"{name}: round {r + 1}/{a.rounds}")
    raw = None
    if env.prog("churn", "epoll") and any(c[0].startswith("churn") for c in cases):
        os.environ.pop("EVQ_BACKEND", None)
        raw = network(env, "churn", "epoll", 16, "raw")
        raw["rates"] = [network(env, "churn", "epoll", 16, "raw", True)["rate"]
                        for _ in range(a.rounds)]
    lines = [f"# evq backends, one run ({a.rounds} rounds, median rate; counts from one "
             "counted run)", "",
             "| case | figure | " + " | ".join(backends) + " | " +
             " / ".join(backends[1:]) + " vs " + backends[0] + " |",
             "|---|---|" + "---|" * len(backends) + "---|"]
    for name, rate_unit, per, _ in cases:
        rows = [("rate, " + rate_unit, "rates"), ("system calls per " + per, "sys"),
                ("instructions per " + per, "instr")]
        for label, key in rows:
            vals = []
            for b in backends:
                v = res[name, b].get(key)
                vals.append(statistics.median(v) if key == "rates" and v else v)
            ratio = "-"
            if vals[0] and all(v is not None for v in vals[1:]):
                ratio = " / ".join(f"{v / vals[0]:.2f}" for v in vals[1:])
            lines.append(f"| {name} | {label} | " + " | ".join(fmt(v) for v in vals) +
                         f" | {ratio} |")
    if raw:
        lines += ["", "Raw epoll on the churn case (accept4, EPOLL_CTL_ADD, read, write, "
                  f"close): {fmt(statistics.median(raw['rates']))} connections/s, "
                  f"{fmt(raw.get('sys'))} system calls and {fmt(raw.get('instr'))} "
                  "instructions per connection."]
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
