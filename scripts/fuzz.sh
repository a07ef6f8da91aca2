#!/usr/bin/env bash
# Builds tandem's libFuzzer targets with clang and runs each for a number of
# CPU-minutes, then prints one summary line per target.
#
#   scripts/fuzz.sh <build-dir> <cpu-minutes>     e.g. scripts/fuzz.sh build-fuzz 10
#
# Each target runs as one libFuzzer process (one fuzzing thread, so its
# wall-clock budget -max_total_time is its CPU budget; the CPU time actually
# used, RocksDB's background threads included, is measured and printed) with
# -rss_limit_mb (memory blow-up = finding), -timeout (an input running longer
# = a hang), leak detection on, its dictionary, and two corpus directories:
# <build-dir>/fuzz-corpus/<target> (new inputs go there) and the seeds in
# fuzz/corpus/<dir>. Findings (crash-*, leak-*, timeout-*, oom-*) are written
# to <build-dir>/fuzz-artifacts/<target>/; a finding that is fixed belongs in
# fuzz/corpus/<dir> so the corpus replay unit tests keep checking it.
#
# Exit status: 0 when no target found anything, 1 otherwise, 2 on bad usage
# or a failed build. Environment: JOBS (build parallelism, default 2),
# FUZZ_RSS_MB (default 2048), FUZZ_TIMEOUT_S (default 25).
set -euo pipefail

if [[ $# -ne 2 || ! "$2" =~ ^[0-9]+$ || "$2" -lt 1 ]]; then
  echo "usage: $0 <build-dir> <cpu-minutes (>= 1)>" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(mkdir -p "$1" && cd "$1" && pwd)
minutes=$2
rss_mb=${FUZZ_RSS_MB:-2048}
timeout_s=${FUZZ_TIMEOUT_S:-25}

# target:corpus-dir (as fuzz/CMakeLists.txt's TANDEM_FUZZ_TARGETS)
targets=(event_parser:event http_request:http)

for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool not found (apt-get install clang libclang-rt-dev)" >&2; exit 2; }
done
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
echo "fuzz.sh: building the fuzz targets with clang in $build"
if ! CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DTANDEM_FUZZ=ON -DTANDEM_BUILD_TESTS=OFF -DTANDEM_BUILD_BENCH=OFF "${launcher[@]}" \
      >"$build/fuzz-configure.log" 2>&1; then
  tail -20 "$build/fuzz-configure.log" >&2
  exit 2
fi
names=()
for t in "${targets[@]}"; do names+=("${t%%:*}_fuzz"); done
if ! cmake --build "$build" -j"${JOBS:-2}" --target "${names[@]}" >"$build/fuzz-build.log" 2>&1; then
  tail -30 "$build/fuzz-build.log" >&2
  exit 2
fi

summaries=()
found=0
for t in "${targets[@]}"; do
  name=${t%%:*}
  seeds=$root/fuzz/corpus/${t#*:}
  work=$build/fuzz-corpus/$name
  artifacts=$build/fuzz-artifacts/$name
  log=$build/fuzz-$name.log
  mkdir -p "$work" "$artifacts"
  dict=()
  [[ -f $root/fuzz/${name}_fuzz.dict ]] && dict=(-dict="$root/fuzz/${name}_fuzz.dict")
  echo "fuzz.sh: $name for $minutes CPU-minute(s), log $log"
  before=$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)  # utime+stime(+children), ticks
  set +e
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/fuzz/${name}_fuzz" -max_total_time=$((minutes * 60)) -rss_limit_mb="$rss_mb" \
    -timeout="$timeout_s" -detect_leaks=1 -print_final_stats=1 "${dict[@]}" \
    -artifact_prefix="$artifacts/" "$work" "$seeds" >"$log" 2>&1
  rc=$?
  set -e
  after=$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)
  cpu_min=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz / 60 }')
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  corpus=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 || true)
  findings=$(find "$artifacts" -type f | wc -l)
  where=""
  if [[ $rc -ne 0 || $findings -ne 0 ]]; then found=1; where=" in $artifacts, see $log"; fi
  summaries+=("fuzz $name: ${cpu_min} CPU-min, ${execs:-?} executions, ${cov:-cov: ?}, ${corpus:-corp: ?}, findings $findings (exit $rc)$where")
done
printf '%s\n' "${summaries[@]}"
exit $found
