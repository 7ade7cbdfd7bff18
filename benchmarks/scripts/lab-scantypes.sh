#!/usr/bin/env bash
# The raw TCP scan types against -sS, interleaved in the same runs: prtip
# -sS, -sA, -sW, -sM, -sN, -sF, -sX of 1,000 ports on every address of the
# lab prefix (default 198.18.4.0/22 = 1,024 hosts, 1,024,000 probes).
# Prints each run, the median wall time of each type and its ratio to -sS.
# -sM, -sN, -sF and -sX hear nothing from open ports, so they wait out a
# retransmission round more than -sS; the ratio shows what that costs.
#
# Usage: PRTIP=target/release/prtip [LAB_NAME=prtip] benchmarks/scripts/lab-scantypes.sh [RUNS]
#
# Brings the lab up (scripts/lab up) if it is not up. Every scan runs inside
# the lab's scanning namespace, so packets go only to addresses the lab
# created (198.18.0.0/15). Needs root.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
ports=1-1000
types="-sS -sA -sW -sM -sN -sF -sX"
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)"; exit 2; }
[ -n "${PRTIP:-}" ] || { echo "set PRTIP=path/to/prtip"; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 2; }

if ! scripts/lab status >/dev/null 2>&1; then
    scripts/lab up
fi
eval "$(scripts/lab env)"
prefix=$LAB_PREFIX
echo "lab $LAB_NAME: prefix $prefix, listeners $LAB_PORTS; scanning ports $ports"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for i in $(seq 1 "$runs"); do
    echo "run $i/$runs (load $(cut -d' ' -f1-3 /proc/loadavg))"
    for t in $types; do
        /usr/bin/time -f "%e %M" -o "$tmp/t" scripts/lab exec "$PRTIP" "$t" -n -Pn \
            -p "$ports" -oG "$tmp/out.gnmap" "$prefix" >/dev/null 2>"$tmp/err" || {
            echo "$t failed:"
            cat "$tmp/err"
            exit 1
        }
        read -r secs kb <"$tmp/t"
        echo "$secs" >>"$tmp/${t#-}"
        hosts=$(grep -c 'Ports:' "$tmp/out.gnmap" || true)
        printf '  %-4s %7.3f s  %7d KB RSS  %d hosts reported\n' "$t" "$secs" "$kb" "$hosts"
    done
done

# shellcheck source=benchmarks/scripts/stats.sh
. benchmarks/scripts/stats.sh
syn=$(median <"$tmp/sS")
echo
echo "median of $runs runs (wall seconds incl. start-up), ratio to -sS:"
for t in $types; do
    m=$(median <"$tmp/${t#-}")
    awk -v t="$t" -v m="$m" -v s="$syn" 'BEGIN { printf "  %-4s %7.3f s  %.2f\n", t, m, m / s }'
done
