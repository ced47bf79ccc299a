"""Writes a run's files under --out: table.md, results.csv (medians, ratio
to evq, spread, samples, counts per event), samples.csv (every sample),
machine.txt and chart.png."""
import csv
import os

from .chart import chart
from .machine import machine_info
from .table import build_table, table_text


def write_results_csv(path, res, mem, libs, rows):
    with open(path, "w", newline="") as f:
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
                n = len(res.values(r["case"], r["metric"], l))
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


def write_samples_csv(path, res):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["benchmark", "metric", "library", "round", "value"])
        for s in res.samples:
            w.writerow(list(s[:4]) + [f"{s[4]:.6g}"])


def write_outputs(env, res, mem, libs, started):
    """Writes every file; (machine.txt's text, table.md's text, table rows)."""
    hdr, rows = build_table(res, libs)
    table = table_text(env, res, mem, libs, hdr, rows)
    with open(os.path.join(env.out, "table.md"), "w") as f:
        f.write(table)
    write_results_csv(os.path.join(env.out, "results.csv"), res, mem, libs, rows)
    write_samples_csv(os.path.join(env.out, "samples.csv"), res)
    machine = machine_info(env, started)
    with open(os.path.join(env.out, "machine.txt"), "w") as f:
        f.write(machine)
    chart(env, rows, libs)
    return machine, table, rows
