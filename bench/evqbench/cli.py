"""run.py's command line and the order of a run: each benchmark's timed
rounds, then its counted runs; the memory figures; the files; the tables
and the targets printed."""
import argparse
import os
import shutil
import time

from .cases import BENCHES, NETWORK, SINGLE
from .counted import counts_network, counts_single
from .env import LIBS, Env, log
from .report import write_outputs
from .results import Results
from .rounds import memory, timed_rounds
from .table import targets_text

RESULTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "results")


def parse(doc):
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="directory with the built programs")
    ap.add_argument("--out", default=RESULTS)
    ap.add_argument("--quick", action="store_true", help="small parameters (< 2 minutes)")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds per case")
    ap.add_argument("--only", default="", help="comma-separated: pipes,pingpong,timers,wake,http,churn")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--no-syscalls", action="store_true")
    return ap.parse_args()


def main(doc):
    args = parse(doc)
    env = Env(args.bin, args.out, args.quick)
    started = time.time()
    rounds = args.rounds or (3 if env.quick else 5)
    only = set(filter(None, args.only.split(","))) or set(BENCHES)
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
    for name, cases_fn, mfn, mets in SINGLE + NETWORK:
        if name not in only:
            continue
        cases = cases_fn(env)
        log(f"{name}: timed rounds")
        timed_rounds(env, res, cases, mfn, mets, rounds)
        if do_sys or do_cg:
            log(f"{name}: counting system calls / instructions")
            count = counts_single if mfn else counts_network
            count(env, res, cases, do_sys, do_cg)
        log(f"{name}: done at {time.time() - started:.0f} s")
    mem = memory(env)
    machine, table, rows = write_outputs(env, res, mem, libs, started)
    print(machine)
    print(table)
    print(targets_text(rows))
    print(f"\nWrote {env.out}/results.csv, samples.csv, table.md, machine.txt, chart.png "
          f"in {time.time() - started:.0f} s")
    shutil.rmtree(env.tmp, ignore_errors=True)
