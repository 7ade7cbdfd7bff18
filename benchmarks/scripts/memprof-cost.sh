#!/usr/bin/env bash
# What does the counting allocator cost? Times the same connect scan of all
# 65,535 ports of 127.0.0.1 with the default build (feature mem-report: the
# counting allocator is installed) and with --no-default-features (plain
# system allocator), interleaved run by run, and prints the medians and the
# ratio (goal: counting build at most 3% slower).
#
# Usage: benchmarks/scripts/memprof-cost.sh [RUNS]   (default 9)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-9}
cargo build --release --locked -q -p prtip
CARGO_TARGET_DIR=target/no-mem-report cargo build --release --locked -q -p prtip --no-default-features
counting=target/release/prtip
plain=target/no-mem-report/release/prtip
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(-sT -n -Pn -p- 127.0.0.1)
for i in $(seq 1 "$runs"); do
    for b in counting plain; do
        bin=$counting; [ $b = plain ] && bin=$plain
        s=$(date +%s.%N); "$bin" "${args[@]}" >/dev/null; e=$(date +%s.%N)
        awk -v s="$s" -v e="$e" 'BEGIN { printf "%.4f\n", e - s }' >>"$tmp/$b"
    done
    printf 'run %d/%d: counting %s s, plain %s s\n' "$i" "$runs" "$(tail -1 "$tmp/counting")" "$(tail -1 "$tmp/plain")"
done
# shellcheck source=benchmarks/scripts/stats.sh
. benchmarks/scripts/stats.sh
c=$(median <"$tmp/counting"); p=$(median <"$tmp/plain")
echo "median: counting $c s, plain $p s"
awk -v c="$c" -v p="$p" 'BEGIN { printf "counting / plain = %.3f (goal <= 1.03); probes per second: counting %.0f, plain %.0f\n", c / p, 65535 / c, 65535 / p }'

# Wall time on a shared 2-core machine is noisy; user-space instruction counts
# are not. callgrind counts only user-space instructions (the kernel's connect
# work, which dominates the wall time, is invisible to it), so this ratio is an
# upper bound on the allocator's share of the scan's cost.
if command -v valgrind >/dev/null; then
    for b in counting plain; do
        bin=$counting; [ $b = plain ] && bin=$plain
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" -sT -n -Pn -p 1-5000 127.0.0.1 \
            2>&1 >/dev/null | awk '/Collected/ {print $NF}' >"$tmp/$b.ir"
    done
    awk -v c="$(cat "$tmp/counting.ir")" -v p="$(cat "$tmp/plain.ir")" 'BEGIN {
        printf "user-space instructions (callgrind, -p 1-5000): counting %d, plain %d, ratio %.3f\n", c, p, c / p }'
fi
