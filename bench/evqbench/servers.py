"""A network benchmark server (ping-pong, http, churn), the load against it
(the raw-epoll clients, wrk) and a server's counted runs: its system calls
and its instructions under a load."""
import os
import re
import select
import signal
import socket
import subprocess
import time

from .counters import SyscallCounter, callgrind_cmd, callgrind_totals
from .env import result_lines, run


class Server:
    """A benchmark server pinned to the main core, under wrap (a counter's
    command prefix) if given, with the environment environ (None: this
    process's); its port is read from its standard output."""

    def __init__(self, env, prog, wrap=None, environ=None):
        cmd = env.pin(env.core_main) + (wrap or []) + [prog, "port=0"]
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=environ)
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


def client(env, bench, port, conns, ms, count=None, timeout=300):
    """Runs bench's client (pingpong_client, churn_client) on the load core
    for ms milliseconds or count exchanges; its result line."""
    cmd = env.pin(env.core_load) + [env.prog(bench, "client"), f"port={port}",
                                    f"conns={conns}", f"ms={ms}"]
    cmd += [f"count={count}"] if count else []
    return result_lines(run(cmd, timeout=timeout), bench)[0]


def wrk(env, port, conns, secs, latency=False):
    """Runs wrk on the load core: (wrk_parse's figures, wrk's output)."""
    out = run(env.pin(env.core_load) + [env.wrk, "-t1", f"-c{conns}", f"-d{secs}s"] +
              (["--latency"] if latency else []) + [f"http://127.0.0.1:{port}/"],
              timeout=120)
    return wrk_parse(out), out


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


def server_syscalls(env, prog, load, environ=None):
    """(system calls, requests) of a server while load(server) runs; load
    returns the requests it made."""
    srv = Server(env, prog, environ=environ)
    try:
        cnt = SyscallCounter(env, srv.pid)
        reqs = load(srv)
        s = cnt.stop()
    finally:
        srv.stop()
    return s, reqs


def server_instructions(env, prog, load, environ=None):
    """Instructions per request of a server under load(server) (which
    returns the requests it made), less those of an idle run (start-up and
    shut-down); None if nothing was counted."""
    pat = os.path.join(env.tmp, f"cg.{os.path.basename(prog)}")
    srv = Server(env, prog, callgrind_cmd(pat + ".idle", True), environ)
    srv.stop()
    idle = callgrind_totals(pat + ".idle*").get("final", 0)
    srv = Server(env, prog, callgrind_cmd(pat + ".load", True), environ)
    try:
        reqs = load(srv)
    finally:
        srv.stop()
    total = callgrind_totals(pat + ".load*").get("final", 0)
    return (total - idle) / reqs if total and reqs else None
