#!/bin/sh
# fuzz/run.sh [BUILD_DIR]: what `make fuzz` and ctest's fuzz.clang_libfuzzer
# run. Builds the libFuzzer target (fuzz/exec.c and the rest) with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer, library included (coverage and
# sanitizers), in BUILD_DIR (default build-fuzz), then fuzzes for
# FUZZ_SECONDS (default 60) starting from the committed corpus (fuzz/corpus),
# or, with FUZZ_RUNS set, for that many inputs from the random seed
# FUZZ_SEED (default 1): the same inputs every time, which is how the suite
# runs it (fuzz.clang_libfuzzer), so that its verdict does not depend on
# luck; exploring is `make fuzz`'s, whose runs differ each time,
# every input on every backend compiled in. New inputs that reach new code
# go to BUILD_DIR/corpus (kept between runs), a failing input to
# BUILD_DIR/artifacts/. Ends with one line: executions, coverage, corpus.
#
#   FUZZ_SECONDS=14400 make fuzz         four hours, one process
#   FUZZ_SECONDS=14400 FUZZ_JOBS=2 make fuzz   two processes (libFuzzer
#                                        -fork), sharing the corpus
#   build-fuzz/fuzz/fuzz_replay FILE     replay one input (no clang needed:
#                                        any build has fuzz_replay)
#   build-fuzz/fuzz/fuzz_replay --print FILE   its operations
#
# Prints "SKIP: <reason>" and exits 77 where clang or libFuzzer is missing.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$src/build-fuzz}
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}

skip() {
  printf 'SKIP: %s\n' "$*"
  exit 77
}

cc=${FUZZ_CC:-clang}
command -v "$cc" >/dev/null 2>&1 || skip "clang not installed (Debian: clang)"
mkdir -p "$dir/probe"
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
  >"$dir/probe/p.c"
"$cc" -fsanitize=fuzzer,address,undefined -o "$dir/probe/p" "$dir/probe/p.c" \
  >"$dir/probe/log" 2>&1 ||
  skip "$cc cannot build a libFuzzer target ($(head -n 1 "$dir/probe/log"); Debian: libclang-rt-14-dev)"

echo "fuzz: building the libFuzzer target in $dir (clang, ASan+UBSan)"
cmake -S "$src" -B "$dir" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVQ_SANITIZE=address,undefined \
  -DEVQ_FUZZ=ON -DEVQ_EXAMPLES=OFF >"$dir/configure.log" 2>&1 || {
  cat "$dir/configure.log"
  exit 1
}
cmake --build "$dir" -j"${JOBS:-2}" --target fuzz_evq fuzz_replay >"$dir/build.log" 2>&1 || {
  tail -n 40 "$dir/build.log"
  exit 1
}

mkdir -p "$dir/corpus" "$dir/artifacts"
log=$dir/fuzz.log
how="$seconds s"
[ -n "${FUZZ_RUNS:-}" ] && how="$FUZZ_RUNS inputs, random seed ${FUZZ_SEED:-1},"
echo "fuzz: $how from fuzz/corpus ($(ls "$src/fuzz/corpus" | wc -l) seeds) and $dir/corpus, $jobs process(es)"
# run_for SECONDS: one libFuzzer run, its output in $log.
run_for() {
  if [ -n "${FUZZ_RUNS:-}" ]; then
    set -- -runs="$FUZZ_RUNS" -seed="${FUZZ_SEED:-1}"
  else
    set -- -max_total_time="$1"
  fi
  set -- "$@" -timeout=60 -rss_limit_mb=4096 -max_len=1024 \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/"
  [ "$jobs" -gt 1 ] && set -- "$@" -fork="$jobs"
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    nice "$dir/fuzz/fuzz_evq" "$@" "$dir/corpus" "$src/fuzz/corpus" >"$log" 2>&1
}
status=0
run_for "$seconds" || status=$?
if [ $status != 0 ]; then
  # The violation (or sanitizer report) and the input that caused it.
  grep -v '^#[0-9]' "$log" | tail -n 60
  for a in "$dir"/artifacts/*; do
    [ -f "$a" ] || continue
    echo "fuzz: failing input $a; replay: $dir/fuzz/fuzz_replay $a"
    "$dir/fuzz/fuzz_replay" --print "$a" | head -n 80
  done
  echo "fuzz: FAILED (status $status; log: $log)"
  exit 1
fi
# libFuzzer's last status line and its final statistics.
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
[ -n "$execs" ] || execs=$(printf '%s\n' "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
corp=$(printf '%s\n' "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
backends=$("$dir/fuzz/fuzz_replay" "$src/fuzz/corpus/level-basic" | sed -n 's/.*backends (\(.*\)).*/\1/p')
echo "fuzz: ${execs:-?} executions (${how%,}) on every backend ($backends), coverage ${cov:-?} edges, ${ft:-?} features, corpus ${corp:-?} inputs: no violation"
