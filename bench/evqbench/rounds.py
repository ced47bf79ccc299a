"""The timed rounds: every case runs `rounds` times, each round running
every library once in an order rotated from round to round, so drift on
the machine falls on all libraries alike. Also the memory figures."""
import time

from .env import LIBS, log, result_lines, run
from .servers import Server, client, wrk


def network_round(env, case, lib):
    """One timed load against lib's server: its metrics."""
    srv = Server(env, env.prog(case["bench"], lib), environ=env.lib_env(lib))
    try:
        c0, w0 = srv.cpu_ns(), time.monotonic_ns()
        if case["bench"] in ("pingpong", "churn"):
            l = client(env, case["bench"], srv.port, case["conns"], case["ms"],
                       case.get("count"), timeout=120)
            c1 = srv.cpu_ns()
            pp = case["bench"] == "pingpong"
            reqs = l["round_trips" if pp else "connections"]
            m = {"rate": l["rt_per_s" if pp else "conn_per_s"], "cpu": (c1 - c0) / max(reqs, 1)}
            m["busy"] = 100.0 * (c1 - c0) / (time.monotonic_ns() - w0)
        else:
            w, out = wrk(env, srv.port, case["conns"], case["secs"], latency=True)
            c1 = srv.cpu_ns()
            if w["errors"] or not w["requests"]:
                raise RuntimeError(f"wrk against {lib}: errors\n{out}")
            reqs = w["requests"]
            m = {"rate": w["rate"], "p50": w.get("p50", 0), "p99": w.get("p99", 0),
                 "cpu": (c1 - c0) / reqs,
                 "busy": 100.0 * (c1 - c0) / (time.monotonic_ns() - w0)}
        return m
    finally:
        srv.stop()


def timed_rounds(env, res, cases, metrics_fn, metrics, rounds):
    """Runs cases, adding their samples to res; metrics_fn makes a
    single-process program's metrics from its result lines (None: a
    network case)."""
    for case in cases:
        res.add_case(case, metrics)
        libs = [l for l in case["libs"] if env.prog(case["bench"], l)]
        for rnd in range(rounds):
            order = libs[rnd % len(libs):] + libs[:rnd % len(libs)]
            for lib in order:
                if metrics_fn is None:
                    m = network_round(env, case, lib)
                else:
                    prog = env.prog(case["bench"], lib)
                    out = run(env.pin(env.core_main) + [prog] + case["args"], timeout=900)
                    m = metrics_fn(result_lines(out, case["bench"]))
                res.add(case, lib, rnd, m)
            log(f"  {case['name']}: round {rnd + 1}/{rounds} done")


def memory(env):
    """{lib: the mem program's result line} (heap growth per fd, per timer)."""
    rows = {}
    for lib in LIBS:
        prog = env.prog("mem", lib)
        if not prog:
            continue
        args = ["fds=8000", "timers=100000" if env.quick else "timers=1000000"]
        l = result_lines(run([prog] + args), "mem")[0]
        rows[lib] = l
    return rows
