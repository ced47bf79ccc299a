#!/usr/bin/env python3
"""Runs evq's benchmarks against libuv, libev, libevent and raw epoll.

Usage: run.py --bin DIR [--out DIR] [--quick] [--rounds N] [--only B,...]
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
import argparse
import csv
import glob
import os
import platform
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

LIBS = ["evq", "epoll", "libuv", "libev", "libevent"]
PEERS = [l for l in LIBS if l != "evq"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------

class Env:
    def __init__(self, args):
        self.bin = os.path.abspath(args.bin)
        self.out = os.path.abspath(args.out)
        os.makedirs(self.out, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="evq-bench-")
        self.quick = args.quick
        try:
            cores = sorted(os.sched_getaffinity(0))
        except AttributeError:
            cores = [0]
        self.cores = cores
        self.taskset = shutil.which("taskset")
        # Servers and single-process benchmarks on one core, load on another.
        self.core_main = cores[0]
        self.core_load = cores[1] if len(cores) > 1 else cores[0]
        self.perf = self._perf_ok()
        self.strace = shutil.which("strace")
        self.valgrind = shutil.which("valgrind")
        self.wrk = shutil.which("wrk")
        self.gnuplot = shutil.which("gnuplot")

    def _perf_ok(self):
        if not shutil.which("perf"):
            return False
        try:
            r = subprocess.run(["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter",
                                "--", "true"], capture_output=True, text=True, timeout=20)
            return r.returncode == 0 and "raw_syscalls" in r.stderr
        except Exception:
            return False

    def prog(self, bench, lib):
        p = os.path.join(self.bin, f"{bench}_{lib}")
        return p if os.access(p, os.X_OK) else None

    def pin(self, core):
        return [self.taskset, "-c", str(core)] if self.taskset else []


def fd_limit():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return hard if hard != resource.RLIM_INFINITY else 1 << 20


def parse_kv(line):
    d = {}
    for tok in line.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            for conv in (int, float, str):
                try:
                    d[k] = conv(v)
                    break
                except ValueError:
                    pass
    return d


def result_lines(text, bench):
    return [parse_kv(l) for l in text.splitlines() if l.startswith(f"bench={bench} ")]


def run(cmd, timeout=600, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()[-400:]}")
    return r.stdout


# --------------------------------------------------------------------------
# Servers (ping-pong, http)
# --------------------------------------------------------------------------

class Server:
    """A benchmark server pinned to the main core; port read from stdout."""

    def __init__(self, env, prog, wrap=None):
        cmd = env.pin(env.core_main) + (wrap or []) + [prog, "port=0"]
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        deadline = time.time() + 30
        line = ""
        while time.time() < deadline:
            r, _, _ = select.select([self.p.stdout], [], [], 0.5)
            if r:
                line = self.p.stdout.readline()
                break
            if self.p.poll() is not None:
                break
        m = re.match(r"port=(\d+)", line or "")
        if not m:
            self.stop()
            raise RuntimeError(f"{prog}: no port announced: {self.p.stderr.read()[-400:]}")
        self.port = int(m.group(1))
        self.pid = self._server_pid()

    def _server_pid(self):
        # taskset and valgrind exec the program (same pid); strace/perf wrap
        # it as a child, found through /proc.
        pid = self.p.pid
        for _ in range(3):
            try:
                kids = open(f"/proc/{pid}/task/{pid}/children").read().split()
            except OSError:
                break
            if not kids:
                break
            pid = int(kids[0])
        return pid

    def cpu_ns(self):
        """Time the server has run on a CPU, nanoseconds (schedstat)."""
        try:
            return int(open(f"/proc/{self.pid}/schedstat").read().split()[0])
        except (OSError, ValueError, IndexError):
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            tick = os.sysconf("SC_CLK_TCK")
            return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // tick

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            # valgrind 3.19 delivers no signal while a thread sits in
            # io_uring_enter, so a server on io_uring under callgrind would
            # only die by SIGKILL, leaving no profile: a connection ends
            # the wait and lets the signal in.
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                pass
            try:
                self.p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        return self.p.stderr.read() if self.p.stderr else ""


class SyscallCounter:
    """Counts the system calls a running process makes until stop()."""

    def __init__(self, env, pid):
        self.env = env
        self.file = os.path.join(env.tmp, f"sys.{pid}.{time.time_ns()}")
        if env.perf:
            cmd = ["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "-o", self.file,
                   "-p", str(pid)]
        else:
            cmd = ["strace", "-f", "-c", "-o", self.file, "-p", str(pid)]
        self.p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)  # let it attach

    def stop(self):
        self.p.send_signal(signal.SIGINT)
        self.p.wait(timeout=60)
        return parse_syscalls(self.file)


def parse_syscalls(path):
    text = open(path).read()
    for line in text.splitlines():
        if "raw_syscalls:sys_enter" in line:
            v = line.split(",")[0]
            return int(v) if v.isdigit() else None
        f = line.split()
        if f and f[-1] == "total":
            return int(f[3])
    return None


def counted_cmd(env, out):
    if env.perf:
        return ["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "-o", out, "--"]
    return ["strace", "-f", "-c", "-o", out]


def callgrind_cmd(out, collect_atstart):
    return ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            f"--collect-atstart={'yes' if collect_atstart else 'no'}"]


def callgrind_totals(pattern):
    """{dump description or 'final': instructions} for files matching pattern."""
    res = {}
    for f in sorted(glob.glob(pattern)):
        desc, total = "final", None
        for line in open(f, errors="replace"):
            if line.startswith("desc: Trigger: Client Request: "):
                desc = line.split(": ", 2)[2].strip().split(": ")[-1]
            elif line.startswith("totals:") or line.startswith("summary:"):
                total = int(line.split()[1])
        if total is not None:
            res[desc] = total
        os.unlink(f)
    return res


# --------------------------------------------------------------------------
# Benchmarks. Each case: name, program args, how to run it, metrics.
# A metric: (key, label, unit, better) where better is "lower" or "higher".
# --------------------------------------------------------------------------

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


def wrk_parse(text):
    def dur(s):
        m = re.match(r"([\d.]+)(us|ms|s)", s)
        v = float(m.group(1))
        return v * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
    out = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["rate"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in", text)
    out["requests"] = int(m.group(1)) if m else 0
    for pct, key in (("50%", "p50"), ("99%", "p99")):
        m = re.search(rf"^\s+{re.escape(pct)}\s+(\S+)", text, re.M)
        if m:
            out[key] = dur(m.group(1))
    out["errors"] = bool(re.search(r"Socket errors|Non-2xx", text))
    return out


def run_network(env, case, lib, wrap=None):
    """Starts the server, loads it, returns (metrics, requests, server)."""
    prog = env.prog(case["bench"], lib)
    srv = Server(env, prog, wrap)
    try:
        c0, w0 = srv.cpu_ns(), time.monotonic_ns()
        if case["bench"] == "pingpong":
            client = env.prog("pingpong", "client")
            extra = [f"count={case['count']}"] if case.get("count") else []
            out = run(env.pin(env.core_load) + [client, f"port={srv.port}",
                      f"conns={case['conns']}", f"ms={case['ms']}"] + extra, timeout=120)
            c1 = srv.cpu_ns()
            l = result_lines(out, "pingpong")[0]
            reqs = l["round_trips"]
            m = {"rate": l["rt_per_s"], "cpu": (c1 - c0) / max(reqs, 1)}
            m["busy"] = 100.0 * (c1 - c0) / (time.monotonic_ns() - w0)
        else:
            out = run(env.pin(env.core_load) + [env.wrk, "-t1", f"-c{case['conns']}",
                      f"-d{case['secs']}s", "--latency", f"http://127.0.0.1:{srv.port}/"],
                      timeout=120)
            c1 = srv.cpu_ns()
            w = wrk_parse(out)
            if w["errors"] or not w["requests"]:
                raise RuntimeError(f"wrk against {lib}: errors\n{out}")
            reqs = w["requests"]
            m = {"rate": w["rate"], "p50": w.get("p50", 0), "p99": w.get("p99", 0),
                 "cpu": (c1 - c0) / reqs,
                 "busy": 100.0 * (c1 - c0) / (time.monotonic_ns() - w0)}
        return m, reqs, srv
    except Exception:
        srv.stop()
        raise


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

class Results:
    def __init__(self):
        self.samples = []       # (case, metric, lib, round, value)
        self.extra = {}         # (case, lib) -> {"syscalls": x, "instr": y}
        self.meta = {}          # case -> (bench, metrics list)
        self.order = []

    def add_case(self, case, metrics):
        if case["name"] not in self.meta:
            self.meta[case["name"]] = (case["bench"], metrics)
            self.order.append(case["name"])

    def add(self, case, lib, rnd, values):
        for k, v in values.items():
            self.samples.append((case["name"], k, lib, rnd, v))

    def median(self, case, metric, lib):
        v = [s[4] for s in self.samples if s[0] == case and s[1] == metric and s[2] == lib]
        return statistics.median(v) if v else None

    def values(self, case, metric, lib):
        return [s[4] for s in self.samples if s[0] == case and s[1] == metric and s[2] == lib]

    def overlap(self, case, metric, a, b):
        """True when the sample ranges of libraries a and b overlap (a
        difference within the noise of this machine)."""
        va, vb = self.values(case, metric, a), self.values(case, metric, b)
        if len(va) < 2 or len(vb) < 2:
            return False
        return min(va) <= max(vb) and min(vb) <= max(va)

    def spread(self, case, metric, lib):
        v = [s[4] for s in self.samples if s[0] == case and s[1] == metric and s[2] == lib]
        if len(v) < 2:
            return None
        m = statistics.median(v)
        return (max(v) - min(v)) / m if m else None


def timed_rounds(env, res, cases, metrics_fn, metrics, rounds):
    for case in cases:
        res.add_case(case, metrics)
        libs = [l for l in case["libs"] if env.prog(case["bench"], l)]
        for rnd in range(rounds):
            order = libs[rnd % len(libs):] + libs[:rnd % len(libs)]
            for lib in order:
                if case["bench"] in ("pingpong", "http"):
                    m, _, srv = run_network(env, case, lib)
                    srv.stop()
                else:
                    prog = env.prog(case["bench"], lib)
                    out = run(env.pin(env.core_main) + [prog] + case["args"], timeout=900)
                    m = metrics_fn(result_lines(out, case["bench"]))
                res.add(case, lib, rnd, m)
            log(f"  {case['name']}: round {rnd + 1}/{rounds} done")


def count_single(env, case, lib, args):
    """(syscalls, events) of one untimed, counted run."""
    prog = env.prog(case["bench"], lib)
    f = os.path.join(env.tmp, f"count.{lib}")
    out = run(counted_cmd(env, f) + env.pin(env.core_main) + [prog] + args, timeout=900)
    ev = sum(l["events"] for l in result_lines(out, case["bench"]))
    return parse_syscalls(f), ev


def callgrind_single(env, case, lib, args, atstart=False):
    prog = env.prog(case["bench"], lib)
    pat = os.path.join(env.tmp, f"cg.{case['bench']}.{lib}.out")
    out = run(callgrind_cmd(pat, atstart) + [prog] + args, timeout=1800)
    tot = callgrind_totals(pat + "*")
    return tot, result_lines(out, case["bench"])


def counted_samples(res, case):
    """Instruction counts join the table as (deterministic) samples."""
    for (cname, lib), e in res.extra.items():
        if cname == case["name"]:
            res.add(case, lib, -1, {k: v for k, v in e.items() if k.startswith("instr")})


def counts_single(env, res, cases, do_sys, do_cg):
    for case in cases:
        for lib in case["libs"]:
            if not env.prog(case["bench"], lib):
                continue
            e = res.extra.setdefault((case["name"], lib), {})
            bench = case["bench"]
            if do_sys:
                if bench == "pipes":
                    w1, w2 = case["count_writes"]
                    s1, e1 = count_single(env, case, lib, case["count_args"] + [f"writes={w1}"])
                    s2, e2 = count_single(env, case, lib, case["count_args"] + [f"writes={w2}"])
                    if s1 is not None and s2 is not None:
                        e["syscalls"] = (s2 - s1) / (e2 - e1)
                else:
                    args = case.get("cg_args", case["args"])
                    s, ev = count_single(env, case, lib, args)
                    if s is not None:
                        e["syscalls"] = s / ev
            if do_cg:
                if bench == "pipes":
                    args = [a for a in case["count_args"] if not a.startswith("rounds=")]
                    tot, lines = callgrind_single(env, case, lib, args + [
                        "rounds=2", f"writes={case['count_writes'][0]}"])
                    n = lines[0]["n"]
                    e["instr"] = tot.get("run-2", 0) / lines[1]["events"]
                    e["instr_setup"] = tot.get("setup-1", 0) / n
                    e["instr_resetup"] = tot.get("setup-2", 0) / n
                elif bench == "timers":
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
        counted_samples(res, case)
        log(f"  {case['name']}: counted")


def counts_network(env, res, cases, do_sys, do_cg):
    for case in cases:
        for lib in case["libs"]:
            if not env.prog(case["bench"], lib):
                continue
            e = res.extra.setdefault((case["name"], lib), {})
            small = dict(case)
            if case["bench"] == "pingpong":
                small["ms"] = 300 if env.quick else 1000
            else:
                small["secs"] = 1
            if do_sys:
                srv = Server(env, env.prog(case["bench"], lib))
                try:
                    cnt = SyscallCounter(env, srv.pid)
                    _, reqs, _ = run_network_attached(env, small, srv)
                    s = cnt.stop()
                finally:
                    srv.stop()
                if s is not None:
                    e["syscalls"] = s / reqs
            if do_cg:
                pat = os.path.join(env.tmp, f"cg.{case['bench']}.{lib}.out")
                # Idle run: startup and shutdown instructions, subtracted.
                srv = Server(env, env.prog(case["bench"], lib), callgrind_cmd(pat + ".idle", True))
                srv.stop()
                idle = callgrind_totals(pat + ".idle*").get("final", 0)
                srv = Server(env, env.prog(case["bench"], lib), callgrind_cmd(pat + ".load", True))
                try:
                    if case["bench"] == "pingpong":
                        small["count"] = 2000 if case["conns"] == 1 else 5000
                        small["ms"] = 60000
                    _, reqs, _ = run_network_attached(env, small, srv)
                finally:
                    srv.stop()
                load = callgrind_totals(pat + ".load*").get("final", 0)
                if load and reqs:
                    e["instr"] = (load - idle) / reqs
        counted_samples(res, case)
        log(f"  {case['name']}: counted")


def run_network_attached(env, case, srv):
    """Like run_network, against an already running server."""
    if case["bench"] == "pingpong":
        client = env.prog("pingpong", "client")
        extra = [f"count={case['count']}"] if case.get("count") else []
        out = run(env.pin(env.core_load) + [client, f"port={srv.port}",
                  f"conns={case['conns']}", f"ms={case['ms']}"] + extra, timeout=300)
        l = result_lines(out, "pingpong")[0]
        return {}, l["round_trips"], srv
    out = run(env.pin(env.core_load) + [env.wrk, "-t1", f"-c{case['conns']}",
              f"-d{case['secs']}s", f"http://127.0.0.1:{srv.port}/"], timeout=120)
    return {}, wrk_parse(out)["requests"], srv


def memory(env):
    rows = {}
    for lib in LIBS:
        prog = env.prog("mem", lib)
        if not prog:
            continue
        args = ["fds=8000", "timers=100000" if env.quick else "timers=1000000"]
        l = result_lines(run([prog] + args), "mem")[0]
        rows[lib] = l
    return rows


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 100000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def speed_vs(better, evq, other):
    """How many times faster evq is than other (>1: evq faster)."""
    if evq is None or other is None or evq == 0 or other == 0:
        return None
    return other / evq if better == "lower" else evq / other


def verdict(x, noise, who):
    if x is None:
        return "-"
    v = f"{x:.2f}x"
    if who:
        v += f" ({who})"
    return v + (" ≈" if noise else "")


def build_table(env, res, libs):
    rows = []
    hdr = ["benchmark", "metric", "unit"] + [f"{l}" for l in libs] + \
          ["evq vs best peer", "evq vs epoll"]
    for case in res.order:
        bench, metrics = res.meta[case]
        for key, label, unit, better in metrics:
            med = {l: res.median(case, key, l) for l in libs}
            if all(v is None for v in med.values()):
                continue
            cells = []
            for l in libs:
                v = med[l]
                if v is None:
                    cells.append("-")
                elif l == "evq" or med.get("evq") is None:
                    cells.append(fmt(v))
                else:
                    cells.append(f"{fmt(v)} ({v / med['evq']:.2f})" if med["evq"] else fmt(v))
            peers = [l for l in libs if l not in ("evq", "epoll") and med[l] is not None]
            best_lib = None
            if peers:
                pick = min if better == "lower" else max
                best_lib = pick(peers, key=lambda l: med[l])
            best = med[best_lib] if best_lib else None
            info = better == "info"
            vs_best = None if info else speed_vs(better, med.get("evq"), best)
            vs_epoll = None if info else speed_vs(better, med.get("evq"), med.get("epoll"))
            noise_best = best_lib is not None and res.overlap(case, key, "evq", best_lib)
            noise_epoll = "epoll" in libs and res.overlap(case, key, "evq", "epoll")
            rows.append(dict(case=case, bench=bench, metric=key, label=label, unit=unit,
                             better=better, med=med, vs_best=vs_best, vs_epoll=vs_epoll,
                             best_lib=best_lib, noise_best=noise_best, noise_epoll=noise_epoll,
                             cells=[case, label + {"lower": " ↓", "higher": " ↑"}.get(better, ""), unit]
                             + cells + [verdict(vs_best, noise_best, best_lib),
                                        verdict(vs_epoll, noise_epoll, None)]))
    return hdr, rows


def md_table(hdr, rows):
    out = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for r in rows:
        out.append("| " + " | ".join(r) + " |")
    return "\n".join(out)


def write_outputs(env, res, mem, libs, started):
    hdr, rows = build_table(env, res, libs)
    # Costs table: syscalls and instructions per event.
    chdr = ["benchmark"] + [f"{l} sys/ev" for l in libs] + [f"{l} instr/ev" for l in libs]
    crows = []
    for case in res.order:
        e = [res.extra.get((case, l), {}) for l in libs]
        if not any(e):
            continue
        crows.append([case] + [fmt(x.get("syscalls")) for x in e] + [fmt(x.get("instr")) for x in e])
        if res.meta[case][0] == "timers":
            for ph in ("start", "stop", "dispatch"):
                crows.append([f"{case} {ph}"] + ["" for _ in libs] +
                             [fmt(x.get(f"instr_{ph}")) for x in e])
    mhdr = ["library", "bytes per registered fd", "bytes per timer", "fd handle", "timer handle"]
    mrows = [[l, fmt(m["bytes_per_fd"]), fmt(m["bytes_per_timer"]), str(m["handle_fd"]),
              str(m["handle_timer"])] for l, m in mem.items()]

    text = []
    text.append("Medians; in brackets the ratio to evq (value / evq's value). "
                "↓ lower is better, ↑ higher is better. 'evq vs ...' is how many times "
                "faster evq is (>1: evq ahead), against the best peer (named) and raw epoll; "
                "'≈' marks a gap within the noise (the sample ranges overlap). Instruction "
                "rows come from one deterministic callgrind run.\n")
    text.append(md_table(hdr, [r["cells"] for r in rows]))
    text.append("\nSystem calls and instructions per delivered event (untimed runs: "
                "syscalls by " + ("perf raw_syscalls:sys_enter" if env.perf else "strace -c -f") +
                ", instructions by callgrind; network rows count the server only):\n")
    text.append(md_table(chdr, crows))
    text.append("\nMemory (heap growth, including the handle the caller provides):\n")
    text.append(md_table(mhdr, mrows))
    table = "\n".join(text) + "\n"
    with open(os.path.join(env.out, "table.md"), "w") as f:
        f.write(table)

    with open(os.path.join(env.out, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["benchmark", "metric", "unit", "better", "library", "median",
                    "ratio_to_evq", "spread", "samples", "syscalls_per_event",
                    "instructions_per_event"])
        for r in rows:
            for l in libs:
                v = r["med"][l]
                if v is None:
                    continue
                ev = r["med"].get("evq")
                x = res.extra.get((r["case"], l), {})
                n = len([s for s in res.samples if s[0] == r["case"] and s[1] == r["metric"]
                         and s[2] == l])
                sp = res.spread(r["case"], r["metric"], l)
                w.writerow([r["case"], r["label"], r["unit"], r["better"], l, f"{v:.6g}",
                            f"{v / ev:.4f}" if ev else "", f"{sp:.3f}" if sp is not None else "",
                            n, f"{x['syscalls']:.4f}" if "syscalls" in x else "",
                            f"{x['instr']:.1f}" if "instr" in x else ""])
        for l, m in mem.items():
            w.writerow(["memory", "bytes per registered fd", "bytes", "lower", l,
                        f"{m['bytes_per_fd']:.1f}", "", "", 1, "", ""])
            w.writerow(["memory", "bytes per timer", "bytes", "lower", l,
                        f"{m['bytes_per_timer']:.1f}", "", "", 1, "", ""])
    with open(os.path.join(env.out, "samples.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["benchmark", "metric", "library", "round", "value"])
        for s in res.samples:
            w.writerow(list(s[:4]) + [f"{s[4]:.6g}"])

    machine = machine_info(env, started)
    with open(os.path.join(env.out, "machine.txt"), "w") as f:
        f.write(machine)
    chart(env, rows, libs)
    return machine, table, rows


def machine_info(env, started):
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except Exception:
            return ""
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    osr = sh(". /etc/os-release && echo $PRETTY_NAME")
    pk = sh("dpkg-query -W -f='${Package} ${Version}\\n' libuv1-dev libev-dev libevent-dev "
            "wrk 2>/dev/null")
    cc = sh("cc --version | head -1")
    evq = sh("git -C " + os.path.dirname(os.path.abspath(__file__)) +
             " describe --always --dirty 2>/dev/null")
    return (f"date: {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n"
            f"mode: {'QUICK' if env.quick else 'full'}, wall time "
            f"{time.time() - started:.0f} s\n"
            f"cpu: {cpu}, {os.cpu_count()} logical cores; pinned: main core "
            f"{env.core_main}, load core {env.core_load}\n"
            f"os: {osr}, kernel {platform.release()}\n"
            f"compiler: {cc}\nevq: {evq}\n"
            f"descriptor limit: {fd_limit()}\n"
            f"syscall counter: {'perf raw_syscalls:sys_enter' if env.perf else 'strace -c -f'}\n"
            f"peers:\n{pk}\n")


def chart(env, rows, libs):
    """Relative speed of every library (evq = 1, higher is faster)."""
    dat = os.path.join(env.out, "chart.dat")
    peers = [l for l in libs if l != "evq"]
    with open(dat, "w") as f:
        f.write("label " + " ".join(libs) + "\n")
        for r in rows:
            ev = r["med"].get("evq")
            if not ev or r["better"] == "info":
                continue
            vals = []
            for l in libs:
                v = r["med"].get(l)
                if v is None or v == 0:
                    vals.append("-")
                else:
                    s = ev / v if r["better"] == "lower" else v / ev
                    vals.append(f"{s:.4f}")
            label = f"{r['case']} {r['metric']}".replace(" ", "_").replace('"', "")
            f.write(f"\"{label}\" " + " ".join(vals) + "\n")
    if not env.gnuplot:
        log("gnuplot not found: no chart.png (apt-get install gnuplot-nox)")
        return
    png = os.path.join(env.out, "chart.png")
    width = max(1200, 60 * len(rows))
    plot = ", ".join(
        f"'{dat}' using {i + 2}:xtic(1) title '{l}'" for i, l in enumerate(libs))
    script = f"""
set terminal pngcairo size {width},800 noenhanced font ',9'
set output '{png}'
set title 'evq benchmarks: speed relative to evq (1 = evq, higher is faster; log scale)'
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set datafile missing '-'
set xtics rotate by -40 left
set grid ytics
set logscale y 2
set yrange [0.03:32]
set key top right
set bmargin 12
plot {plot}, 1 with lines lt -1 dt 2 notitle
"""
    r = subprocess.run([env.gnuplot], input=script, capture_output=True, text=True)
    if r.returncode != 0:
        # pngcairo may be missing; fall back to the plain png terminal.
        script = script.replace("pngcairo", "png")
        subprocess.run([env.gnuplot], input=script, capture_output=True, text=True)


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="directory with the built programs")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "results"))
    ap.add_argument("--quick", action="store_true", help="small parameters (< 2 minutes)")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds per case")
    ap.add_argument("--only", default="", help="comma-separated: pipes,pingpong,timers,wake,http")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--no-syscalls", action="store_true")
    args = ap.parse_args()
    env = Env(args)
    started = time.time()
    rounds = args.rounds or (3 if env.quick else 5)
    only = set(filter(None, args.only.split(","))) or {"pipes", "pingpong", "timers", "wake",
                                                      "http"}
    do_sys = not args.no_syscalls and (env.perf or env.strace)
    do_cg = not args.no_callgrind and env.valgrind
    if not args.no_syscalls and not do_sys:
        log("no perf or strace: system calls not counted (apt-get install strace)")
    if not args.no_callgrind and not do_cg:
        log("no valgrind: instructions not counted (apt-get install valgrind)")
    if "http" in only and not env.wrk:
        log("wrk not found: http skipped (apt-get install wrk)")
        only.discard("http")
    libs = [l for l in LIBS if any(env.prog(b, l) for b in only)]
    missing = [l for l in LIBS if l not in libs]
    if missing:
        log("not built, left out: " + ", ".join(missing))
    log(f"bench: {'QUICK' if env.quick else 'full'} run, {rounds} rounds, libraries "
        f"{', '.join(libs)}; cores {env.cores}")

    res = Results()
    single = [("pipes", pipes_cases, pipes_metrics, PIPES_METRICS),
              ("timers", timers_cases, timers_metrics, TIMERS_METRICS),
              ("wake", wake_cases, wake_metrics, WAKE_METRICS)]
    for name, cases_fn, mfn, mets in single:
        if name not in only:
            continue
        cases = cases_fn(env)
        log(f"{name}: timed rounds")
        timed_rounds(env, res, cases, mfn, mets, rounds)
        if do_sys or do_cg:
            log(f"{name}: counting system calls / instructions")
            counts_single(env, res, cases, do_sys, do_cg)
        log(f"{name}: done at {time.time() - started:.0f} s")
    for name, cases_fn, mets in (("pingpong", pingpong_cases, PINGPONG_METRICS),
                                 ("http", http_cases, HTTP_METRICS)):
        if name not in only:
            continue
        cases = cases_fn(env)
        log(f"{name}: timed rounds")
        timed_rounds(env, res, cases, None, mets, rounds)
        if do_sys or do_cg:
            log(f"{name}: counting system calls / instructions")
            counts_network(env, res, cases, do_sys, do_cg)
        log(f"{name}: done at {time.time() - started:.0f} s")
    mem = memory(env)
    machine, table, rows = write_outputs(env, res, mem, libs, started)
    print(machine)
    print(table)
    behind = [r for r in rows if r["vs_best"] is not None and r["vs_best"] < 1.0]
    # Raw epoll does no library work at all, so its instruction counts only
    # show evq's overhead; the 5% target applies to time rows.
    slow_epoll = [r for r in rows if r["vs_epoll"] is not None and r["vs_epoll"] < 0.95
                  and not r["metric"].startswith("instr")]
    print("Targets (evq >= fastest peer; evq within 5% of raw epoll). '≈': the sample "
          "ranges overlap, so the gap is within this machine's noise:")
    timed = [r for r in rows if r["vs_best"] is not None]
    print(f"  {len(timed)} rows; evq behind the best peer on {len(behind)} "
          f"({sum(1 for r in behind if r['noise_best'])} of them within noise); "
          f">5% behind epoll on {len(slow_epoll)} time rows "
          f"({sum(1 for r in slow_epoll if r['noise_epoll'])} within noise)")
    for r in sorted(behind, key=lambda r: r["noise_best"]):
        if r["noise_best"]:
            continue
        print(f"  behind {r['best_lib']}: {r['case']} / {r['label']}: evq at "
              f"{r['vs_best']:.2f}x{' ≈' if r['noise_best'] else ''}")
    for r in sorted(slow_epoll, key=lambda r: r["noise_epoll"]):
        if r["noise_epoll"]:
            continue
        print(f"  >5% behind epoll: {r['case']} / {r['label']}: evq at "
              f"{r['vs_epoll']:.2f}x{' ≈' if r['noise_epoll'] else ''}")
    print(f"\nWrote {env.out}/results.csv, samples.csv, table.md, machine.txt, chart.png "
          f"in {time.time() - started:.0f} s")
    shutil.rmtree(env.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
