"""chart.png: every library's speed relative to evq (evq = 1, higher is
faster, log scale), one group per row of the table, drawn by gnuplot from
chart.dat."""
import os
import subprocess

from .env import log


def chart(env, rows, libs):
    """Relative speed of every library (evq = 1, higher is faster)."""
    dat = os.path.join(env.out, "chart.dat")
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
