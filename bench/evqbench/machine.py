"""machine.txt: where a run happened (date, mode, CPU and pinning, OS and
kernel, compiler, evq commit, descriptor limit, system call counter, the
peers' package versions)."""
import os
import platform
import subprocess
import time

from .env import fd_limit

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
            "liburing-dev libasio-dev wrk 2>/dev/null")
    cc = sh("cc --version | head -1")
    cxx = sh("g++ --version | head -1")
    evq = sh("git -C " + BENCH + " describe --always --dirty 2>/dev/null")
    return (f"date: {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n"
            f"mode: {'QUICK' if env.quick else 'full'}, wall time "
            f"{time.time() - started:.0f} s\n"
            f"cpu: {cpu}, {os.cpu_count()} logical cores; pinned: main core "
            f"{env.core_main}, load core {env.core_load}\n"
            f"os: {osr}, kernel {platform.release()}\n"
            f"compiler: {cc}; C++ (Asio): {cxx or 'none'}\nevq: {evq}\n"
            f"descriptor limit: {fd_limit()}\n"
            f"syscall counter: {'perf raw_syscalls:sys_enter' if env.perf else 'strace -c -f'}\n"
            f"io_uring: {'usable' if env.io_uring else 'refused here (its columns left out)'}\n"
            f"peers:\n{pk}\n")
