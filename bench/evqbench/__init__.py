"""evq's benchmark driver, a package that bench/run.py, bench/backends.py
and bench/instr.py import. Python 3 standard library only.

  env       the machine (built programs, cores, tools) and running a program
  counters  system calls (perf or strace) and instructions (callgrind)
  servers   a benchmark server, the load against it, and its counted runs
  cases     the benchmark cases, their parameters and their metrics
  results   every sample and count collected; medians, spread, noise
  rounds    the timed rounds, and the memory figures
  counted   the untimed runs that count system calls and instructions
  table     the tables (table.md) and the targets summary
  report    writes results.csv, samples.csv, table.md, machine.txt, chart.png
  chart     chart.png (gnuplot)
  machine   machine.txt: CPU, kernel, compiler, peers, evq commit
  cli       run.py's command line and the order of a run
"""
