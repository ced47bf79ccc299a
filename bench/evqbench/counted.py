"""The untimed runs that count, for each case and library, system calls
and instructions per delivered event, into Results.extra (instruction
counts also join the table as samples).

Single-process programs: system calls over two runs of different length,
the difference divided by the difference in events, so setup cancels out;
instructions only around the measured phase, or (wake, multi-threaded) as
the difference of two whole runs. Servers: counted while one load runs,
instructions less an idle run's."""
import os

from .counters import callgrind_run, counted_cmd, parse_syscalls
from .env import log, result_lines, run
from .servers import client, server_instructions, server_syscalls, wrk


def count_single(env, case, lib, args):
    """(syscalls, events) of one untimed, counted run."""
    prog = env.prog(case["bench"], lib)
    f = os.path.join(env.tmp, f"count.{lib}")
    out = run(counted_cmd(env, f) + env.pin(env.core_main) + [prog] + args, timeout=900)
    ev = sum(l["events"] for l in result_lines(out, case["bench"]))
    return parse_syscalls(f), ev


def callgrind_single(env, case, lib, args, atstart=False):
    """(callgrind totals, result lines) of one run under callgrind."""
    tot, out = callgrind_run(env.prog(case["bench"], lib), args, env.tmp, atstart)
    return tot, result_lines(out, case["bench"])


def single_syscalls(env, case, lib):
    if case["bench"] == "pipes":
        w1, w2 = case["count_writes"]
        s1, e1 = count_single(env, case, lib, case["count_args"] + [f"writes={w1}"])
        s2, e2 = count_single(env, case, lib, case["count_args"] + [f"writes={w2}"])
        return (s2 - s1) / (e2 - e1) if s1 is not None and s2 is not None else None
    s, ev = count_single(env, case, lib, case.get("cg_args", case["args"]))
    return s / ev if s is not None else None


def single_instructions(env, case, lib, e):
    """Adds lib's instruction counts for case to e."""
    if case["bench"] == "pipes":
        args = [a for a in case["count_args"] if not a.startswith("rounds=")]
        tot, lines = callgrind_single(env, case, lib, args + [
            "rounds=2", f"writes={case['count_writes'][0]}"])
        n = lines[0]["n"]
        e["instr"] = tot.get("run-2", 0) / lines[1]["events"]
        e["instr_setup"] = tot.get("setup-1", 0) / n
        e["instr_resetup"] = tot.get("setup-2", 0) / n
    elif case["bench"] == "timers":
        tot, lines = callgrind_single(env, case, lib, case["cg_args"])
        n = lines[0]["n"]
        for ph in ("start", "stop", "dispatch"):
            if ph in tot:
                e[f"instr_{ph}"] = tot[ph] / n
    else:
        # Whole runs of two lengths: startup cancels out.
        t1, l1 = callgrind_single(env, case, lib, case["cg_args"], True)
        t2, l2 = callgrind_single(env, case, lib, case["cg_args2"], True)
        d = l2[0]["events"] - l1[0]["events"]
        v = (t2.get("final", 0) - t1.get("final", 0)) / d if d > 0 else -1
        if v > 0:  # a library that spins (libuv 1.44) can give nonsense
            e["instr"] = v


def counts_single(env, res, cases, do_sys, do_cg):
    for case in cases:
        for lib in case["libs"]:
            if not env.prog(case["bench"], lib):
                continue
            e = res.extra.setdefault((case["name"], lib), {})
            if do_sys:
                s = single_syscalls(env, case, lib)
                if s is not None:
                    e["syscalls"] = s
            if do_cg:
                single_instructions(env, case, lib, e)
        res.counted_samples(case)
        log(f"  {case['name']}: counted")


def requests(env, case):
    """A load for servers.server_syscalls / server_instructions: runs case's
    client against the server, returns the requests made."""
    def load(srv):
        if case["bench"] == "pingpong":
            return client(env, "pingpong", srv.port, case["conns"], case["ms"],
                          case.get("count"))["round_trips"]
        if case["bench"] == "churn":
            return client(env, "churn", srv.port, case["conns"], case["ms"],
                          case.get("count"))["connections"]
        return wrk(env, srv.port, case["conns"], case["secs"])[0]["requests"]
    return load


def counts_network(env, res, cases, do_sys, do_cg):
    for case in cases:
        for lib in case["libs"]:
            prog = env.prog(case["bench"], lib)
            if not prog:
                continue
            e = res.extra.setdefault((case["name"], lib), {})
            small = dict(case)
            if case["bench"] in ("pingpong", "churn"):
                small["ms"] = 300 if env.quick else 1000
            else:
                small["secs"] = 1
            if do_sys:
                s, reqs = server_syscalls(env, prog, requests(env, small), env.lib_env(lib))
                if s is not None:
                    e["syscalls"] = s / reqs
            if do_cg:
                if case["bench"] == "pingpong":
                    small["count"] = 2000 if case["conns"] == 1 else 5000
                    small["ms"] = 60000
                elif case["bench"] == "churn":
                    small["count"] = 2000
                    small["ms"] = 60000
                v = server_instructions(env, prog, requests(env, small), env.lib_env(lib))
                if v is not None:
                    e["instr"] = v
        res.counted_samples(case)
        log(f"  {case['name']}: counted")
