"""The machine a run uses (the built programs, its cores, the tools found)
and running a program and reading the result lines it prints."""
import os
import shutil
import subprocess
import sys
import tempfile

# The columns of a run: a library, or another server of one. A variant is
# a program of its own (<bench>_<suffix>) and the environment it runs with:
# evq's completion server (evq_io.h) on the backend EVQ_BACKEND names;
# Asio's servers built for its epoll reactor (<bench>_asio) or its io_uring
# backend (<bench>_asio_uring). "uring" is raw io_uring (liburing), the
# completion floor as "epoll" is the readiness floor. Only libuv, libev and
# libevent are peers: the best of them is what evq is ranked against (Asio,
# a C++ proactor, is a column of issue 21's completion comparison).
LIBS = ["evq", "epoll", "libuv", "libev", "libevent", "evq_io@epoll", "evq_io@io_uring",
        "uring", "asio@epoll", "asio@io_uring"]
PEERS = ["libuv", "libev", "libevent"]
VARIANTS = {"evq_io@epoll": ("evq_io", {"EVQ_BACKEND": "epoll"}),
            "evq_io@io_uring": ("evq_io", {"EVQ_BACKEND": "io_uring"}),
            "asio@epoll": ("asio", None),
            "asio@io_uring": ("asio_uring", None)}
NEEDS_IO_URING = {"evq_io@io_uring", "uring", "asio@io_uring"}


def io_uring_usable():
    """Whether this process may make an io_uring (kernel 5.1+, not disabled
    by io_uring_disabled or a seccomp filter): io_uring_setup, number 425
    on every architecture, through libc's syscall()."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        params = ctypes.create_string_buffer(120)  # struct io_uring_params
        fd = libc.syscall(425, 1, params)
        if fd < 0:
            return False
        os.close(fd)
        return True
    except Exception:
        return False


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Env:
    """bin: the directory of built programs; out: where results go (created);
    quick: small parameters."""

    def __init__(self, bin, out, quick=False):
        self.bin = os.path.abspath(bin)
        self.out = os.path.abspath(out)
        os.makedirs(self.out, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="evq-bench-")
        self.quick = quick
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
        self.io_uring = io_uring_usable()

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
        """lib's program for bench, or None (not built, or io_uring
        refused here)."""
        if lib in NEEDS_IO_URING and not self.io_uring:
            return None
        p = os.path.join(self.bin, f"{bench}_{VARIANTS.get(lib, (lib, None))[0]}")
        return p if os.access(p, os.X_OK) else None

    @staticmethod
    def lib_env(lib):
        """The environment lib's program runs with (None: the run's own)."""
        extra = VARIANTS.get(lib, (lib, None))[1]
        return dict(os.environ, **extra) if extra else None

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
    """The programs' "bench=NAME key=value..." lines, as dicts."""
    return [parse_kv(l) for l in text.splitlines() if l.startswith(f"bench={bench} ")]


def run(cmd, timeout=600, env=None):
    """Runs cmd; its standard output, or RuntimeError if it failed."""
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()[-400:]}")
    return r.stdout
