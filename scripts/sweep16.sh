#!/usr/bin/env bash
# The scalability run for docs/benchmarks.md: a `compare` with one worker per CPU, then a
# sweep of every workload over 1, 2, 4, 8 and 16 workers. Everything (tables as .txt, JSON,
# SVG charts) lands in one directory.
#
#   scripts/sweep16.sh [OUT_DIR]          default OUT_DIR: target/shoal-bench/sweep16
#
# Environment:
#   SHOAL_BENCH   a prebuilt shoal-bench binary (default: `cargo run --release -p shoal-bench --`)
#   WORKERS       worker counts for the sweeps   (default: 1,2,4,8,16)
#   SIZE          size of the sweeps             (default: small)
#   COMPARE_SIZE  size of the compare run        (default: full)
#   WORKLOADS     workloads to sweep             (default: all ten)
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-target/shoal-bench/sweep16}
workers=${WORKERS:-1,2,4,8,16}
size=${SIZE:-small}
compare_size=${COMPARE_SIZE:-full}
workloads=${WORKLOADS:-spawn-outside spawn-inside chain fib tree-sum hash io unbalanced map idle}
if [ -n "${SHOAL_BENCH:-}" ]; then
    bench=("$SHOAL_BENCH")
else
    bench=(cargo run --release --quiet -p shoal-bench --)
fi
mkdir -p "$out"

cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
{
    echo "machine: $cpus logical CPUs, $(uname -srm)"
    grep -m1 'model name' /proc/cpuinfo 2>/dev/null || true
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
} | tee "$out/machine.txt"

echo "== compare, one worker per CPU, size $compare_size"
"${bench[@]}" compare --size "$compare_size" --no-progress --out "$out" | tee "$out/compare.txt"

for w in $workloads; do
    echo "== sweep $w over $workers workers, size $size"
    "${bench[@]}" sweep --workload "$w" --workers "$workers" --size "$size" --no-progress \
        --out "$out" | tee "$out/sweep-$w.txt"
done
echo "results in $out"
