"""The benchmark cases: each one's programs' arguments (timed, and for the
counted runs), the libraries that have it, how its metrics come from the
programs' result lines, and the metrics themselves.

A case is a dict: bench, name, libs, and args (single-process) or conns
with ms / secs (network). A metric is (key, label, unit, better), better
being "lower", "higher" or "info" (shown, not ranked)."""
from .env import LIBS, fd_limit


def pipes_cases(env):
    lim = fd_limit()
    nmax = ((lim - 200) // 2) // 100 * 100
    if env.quick:
        grid = [(1000, 100)]
        writes, cg_writes = 20000, 5000
    else:
        grid = [(100, 100), (1000, 100), (1000, 1000), (nmax, 100), (nmax, 1000)]
        writes, cg_writes = 100000, 10000
    cases = []
    for n, a in grid:
        for t in (0, 1):
            name = f"pipes n={n} a={a}" + (" timeouts" if t else "")
            args = [f"n={n}", f"active={a}", f"writes={writes}", f"timeouts={t}", "rounds=2"]
            cases.append(dict(bench="pipes", name=name, args=args,
                              count_args=[f"n={n}", f"active={a}", f"timeouts={t}", "rounds=1"],
                              count_writes=(cg_writes, 2 * cg_writes),
                              libs=LIBS))
    return cases


def pipes_metrics(lines):
    r1 = [l for l in lines if l["round"] == 1][0]
    last = lines[-1]
    return {
        "run": last["run_ns"] / last["events"],
        "setup": r1["setup_ns"] / r1["n"],
        "resetup": last["setup_ns"] / last["n"],
    }


PIPES_METRICS = [("instr", "run: instructions (callgrind)", "instr/event", "lower"),
                 ("run", "run, warm round", "ns/event", "lower"),
                 ("instr_setup", "setup: instructions (callgrind)", "instr/pair", "lower"),
                 ("setup", "setup (register)", "ns/pair", "lower"),
                 ("instr_resetup", "re-setup: instructions (callgrind)", "instr/pair", "lower"),
                 ("resetup", "re-setup (del+add)", "ns/pair", "lower")]


def timers_cases(env):
    n = 200000 if env.quick else 10000000
    return [dict(bench="timers", name=f"timers n={n}", args=[f"n={n}"],
                 cg_args=["n=100000"], libs=[l for l in LIBS if l != "epoll"])]


def timers_metrics(lines):
    l = lines[0]
    n = l["n"]
    return {"start": l["start_ns"] / n, "stop": l["stop_ns"] / n,
            "dispatch": l["dispatch_cpu_ns"] / n, "dispatch_wall": l["dispatch_ns"] / 1e9}


TIMERS_METRICS = [("instr_start", "start: instructions (callgrind)", "instr/timer", "lower"),
                  ("instr_stop", "stop: instructions (callgrind)", "instr/timer", "lower"),
                  ("instr_dispatch", "dispatch: instructions (callgrind)", "instr/timer", "lower"),
                  ("start", "start", "ns/timer", "lower"),
                  ("stop", "stop (pending)", "ns/timer", "lower"),
                  ("dispatch", "dispatch CPU", "ns/timer", "lower")]


def wake_cases(env):
    total = 4000 if env.quick else 40000
    return [dict(bench="wake", name=f"wake threads={t}", args=[f"threads={t}", f"rt={total // t}"],
                 cg_args=[f"threads={t}", f"rt={200 // t}"],
                 cg_args2=[f"threads={t}", f"rt={400 // t}"],
                 libs=[l for l in LIBS if l != "epoll"]) for t in (1, 2, 4, 8)]


def wake_metrics(lines):
    l = lines[0]
    return {"rate": l["round_trips"] / (l["elapsed_ns"] / 1e9),
            "cpu": l["cpu_ns"] / l["round_trips"]}


WAKE_METRICS = [("rate", "round trips", "1/s", "higher"),
                ("instr", "instructions (callgrind)", "instr/round trip", "lower"),
                ("cpu", "process CPU", "ns/round trip", "lower")]


def pingpong_cases(env):
    ms = 300 if env.quick else 2000
    return [dict(bench="pingpong", name=f"pingpong conns={c}", conns=c, ms=ms, libs=LIBS)
            for c in (1, 100)]


PINGPONG_METRICS = [("rate", "round trips", "1/s", "higher"),
                    ("instr", "server instructions (callgrind)", "instr/round trip", "lower"),
                    ("cpu", "server CPU", "ns/round trip", "lower"),
                    ("busy", "server busy (<100: client-bound)", "% of a core", "info")]


def http_cases(env):
    return [dict(bench="http", name="http wrk c=100", conns=100,
                 secs=1 if env.quick else 3, libs=LIBS)]


HTTP_METRICS = [("rate", "requests", "1/s", "higher"),
                ("instr", "server instructions (callgrind)", "instr/request", "lower"),
                ("p50", "latency p50", "us", "lower"),
                ("p99", "latency p99", "us", "lower"),
                ("cpu", "server CPU", "ns/request", "lower"),
                ("busy", "server busy (<100: client-bound)", "% of a core", "info")]

def churn_cases(env):
    return [dict(bench="churn", name="churn conns=16", conns=16,
                 ms=300 if env.quick else 2000, libs=LIBS)]


CHURN_METRICS = [("rate", "connections", "1/s", "higher"),
                 ("instr", "server instructions (callgrind)", "instr/connection", "lower"),
                 ("cpu", "server CPU", "ns/connection", "lower"),
                 ("busy", "server busy (<100: client-bound)", "% of a core", "info")]

# In the order a run takes them: (name, cases, metrics from result lines,
# metrics). Single-process programs print their own figures; network
# cases are measured from outside (rounds.network_round), hence None.
SINGLE = [("pipes", pipes_cases, pipes_metrics, PIPES_METRICS),
          ("timers", timers_cases, timers_metrics, TIMERS_METRICS),
          ("wake", wake_cases, wake_metrics, WAKE_METRICS)]
NETWORK = [("pingpong", pingpong_cases, None, PINGPONG_METRICS),
           ("http", http_cases, None, HTTP_METRICS),
           ("churn", churn_cases, None, CHURN_METRICS)]
BENCHES = [b[0] for b in SINGLE + NETWORK]
