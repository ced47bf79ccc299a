"""The tables of table.md (medians with their ratio to evq and the verdict
against the best peer and raw epoll; costs per event; memory; issue 21's
completion targets) and the summary of the targets that run.py prints
last."""
from .env import PEERS


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


def build_table(res, libs):
    """(header, rows): a row per case and metric that has a median, with
    its cells and what results.csv, the chart and the targets need."""
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
            peers = [l for l in libs if l in PEERS and med[l] is not None]
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


def table_text(env, res, mem, libs, hdr, rows):
    """table.md: the medians, the costs per event, the memory."""
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
    comp = completion_text(res)
    if comp:
        text.append("\n" + comp)
    return "\n".join(text) + "\n"


def completion_text(res):
    """Issue 21's targets where its servers ran (docs/completion.md, section
    6): evq's completions emulated on epoll at most 5% more instructions per
    request than evq's readiness on epoll; on io_uring at most 0.2 system
    calls per http request (raw io_uring, the floor, about 0.13), 0.3 per
    ping-pong round trip and 2 per churn connection (raw epoll about 5.2);
    http server CPU at most the floor's + 5% and at
    most 0.9x raw epoll's. '' if nothing to say."""
    limits = {"http": (0.2, "request"), "pingpong": (0.3, "round trip"),
              "churn": (2.0, "connection")}
    out = []
    for case in res.order:
        bench = res.meta[case][0]
        if bench not in limits:
            continue
        limit, unit = limits[bench]
        x = lambda lib, k: res.extra.get((case, lib), {}).get(k)
        cpu = lambda lib: res.median(case, "cpu", lib)
        verdict = lambda ok: "met" if ok else "NOT met"
        lines = []
        a, b = x("evq_io@epoll", "instr"), x("evq", "instr")
        if a and b:
            lines.append(f"  instructions per {unit}, evq completions on epoll / evq readiness "
                         f"on epoll: {a:.0f} / {b:.0f} = {a / b:.3f} (target <= 1.05: "
                         f"{verdict(a / b <= 1.05)})")
        s, f, ep = (x("evq_io@io_uring", "syscalls"), x("uring", "syscalls"),
                    x("epoll", "syscalls"))
        if s is not None:
            lines.append(f"  system calls per {unit}, evq completions on io_uring: {s:.3f} "
                         f"(target <= {limit}: {verdict(s <= limit)}); raw io_uring "
                         f"{'-' if f is None else f'{f:.3f}'}" +
                         (" (the floor, about 0.13)" if bench == "http" else "") +
                         ("" if ep is None else f"; raw epoll {ep:.3f}"))
        c, fl, ep = cpu("evq_io@io_uring"), cpu("uring"), cpu("epoll")
        if bench == "http" and c and fl and ep:
            ok = c <= 1.05 * fl and c <= 0.9 * ep
            lines.append(f"  server CPU per request, evq completions on io_uring: {c:.0f} ns; "
                         f"raw io_uring {fl:.0f}, raw epoll {ep:.0f} (target <= floor x 1.05 and "
                         f"<= epoll x 0.9: {verdict(ok)}; wall time, noisy)")
        if lines:
            out.append(f"Issue 21, completion targets ({case}):")
            out += lines
    return "\n".join(out)


def targets_text(rows):
    """The rows where evq misses a target: behind the best peer, or more
    than 5% behind raw epoll on time."""
    behind = [r for r in rows if r["vs_best"] is not None and r["vs_best"] < 1.0]
    # Raw epoll does no library work at all, so its instruction counts only
    # show evq's overhead; the 5% target applies to time rows.
    slow_epoll = [r for r in rows if r["vs_epoll"] is not None and r["vs_epoll"] < 0.95
                  and not r["metric"].startswith("instr")]
    out = ["Targets (evq >= fastest peer; evq within 5% of raw epoll). '≈': the sample "
           "ranges overlap, so the gap is within this machine's noise:"]
    timed = [r for r in rows if r["vs_best"] is not None]
    out.append(f"  {len(timed)} rows; evq behind the best peer on {len(behind)} "
               f"({sum(1 for r in behind if r['noise_best'])} of them within noise); "
               f">5% behind epoll on {len(slow_epoll)} time rows "
               f"({sum(1 for r in slow_epoll if r['noise_epoll'])} within noise)")
    for r in behind:
        if not r["noise_best"]:
            out.append(f"  behind {r['best_lib']}: {r['case']} / {r['label']}: evq at "
                       f"{r['vs_best']:.2f}x")
    for r in slow_epoll:
        if not r["noise_epoll"]:
            out.append(f"  >5% behind epoll: {r['case']} / {r['label']}: evq at "
                       f"{r['vs_epoll']:.2f}x")
    return "\n".join(out)
