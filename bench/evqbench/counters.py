"""The counters: system calls (perf's raw_syscalls:sys_enter tracepoint, or
strace -c -f) and instructions (valgrind --tool=callgrind; the programs
switch collection on around their measured phase, see bench/common.h)."""
import glob
import os
import signal
import subprocess
import time

from .env import run


def counted_cmd(env, out):
    """The prefix that counts a command's system calls into the file out."""
    if env.perf:
        return ["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "-o", out, "--"]
    return ["strace", "-f", "-c", "-o", out]


def parse_syscalls(path):
    """The total in counted_cmd's or SyscallCounter's file, or None."""
    text = open(path).read()
    for line in text.splitlines():
        if "raw_syscalls:sys_enter" in line:
            v = line.split(",")[0]
            return int(v) if v.isdigit() else None
        f = line.split()
        if f and f[-1] == "total":
            return int(f[3])
    return None


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


def callgrind_cmd(out, collect_atstart):
    """The prefix that runs a command under callgrind, profiles to out*."""
    return ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            f"--collect-atstart={'yes' if collect_atstart else 'no'}"]


def callgrind_totals(pattern):
    """{dump description or 'final': instructions} for files matching pattern.
    The files are removed."""
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


def callgrind_run(prog, args, tmp, atstart=False):
    """Runs prog under callgrind (profiles in the directory tmp): its
    callgrind_totals and its standard output."""
    pat = os.path.join(tmp, f"cg.{os.path.basename(prog)}.out")
    out = run(callgrind_cmd(pat, atstart) + [prog] + args, timeout=1800)
    return callgrind_totals(pat + "*"), out
