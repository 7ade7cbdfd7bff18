#!/usr/bin/env bash
# OS detection: prtip -O vs nmap -O on the same lab host, interleaved.
#
# Usage: [PRTIP=target/release/prtip] benchmarks/scripts/os-vs-nmap.sh [RUNS]   (default 3)
#
# Brings the namespace lab up if needed (scripts/lab up --ports 80; every
# address of 198.18.4.0/22 answers, port 80 open, the rest closed), then runs
#     nmap   -O --osscan-guess -n -Pn -p 80,81 198.18.4.1
#     $PRTIP -O --osscan-guess -n -Pn -p 80,81 198.18.4.1
# inside the scanning namespace under /usr/bin/time -v and prints min/median
# wall time, peak RSS and each tool's first guess line. Needs root. Leaves the
# lab up (scripts/lab down removes it).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer: $runs"; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, raw sockets)"; exit 2; }
PRTIP=${PRTIP:-target/release/prtip}
[[ $PRTIP == /* ]] || PRTIP=$PWD/$PRTIP
[ -x "$PRTIP" ] || { echo "build it first: cargo build --release -p prtip"; exit 2; }
target=198.18.4.1
args=(-O --osscan-guess -n -Pn -p 80,81 "$target")

scripts/lab status >/dev/null 2>&1 || scripts/lab up --ports 80 >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() { # tool
    local tool=$1 cmd
    if [ "$tool" = nmap ]; then cmd=(nmap); else cmd=("$PRTIP"); fi
    /usr/bin/time -v -o "$tmp/time" scripts/lab exec "${cmd[@]}" "${args[@]}" >"$tmp/$tool.out" 2>&1
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0
        for (k = 1; k <= n; k++) s = s * 60 + t[k]; printf "%.2f ", s }
        /Maximum resident set size/ { print $2 }' "$tmp/time" >>"$tmp/$tool.runs"
    grep -E "^(OS details|Aggressive OS guesses|No OS)" "$tmp/$tool.out" | head -n1 >"$tmp/$tool.guess" || true
}

for r in $(seq 1 "$runs"); do
    measure nmap
    measure prtip
    echo "run $r/$runs: nmap $(tail -n1 "$tmp/nmap.runs") | prtip $(tail -n1 "$tmp/prtip.runs")"
done

# shellcheck source=benchmarks/scripts/stats.sh
. benchmarks/scripts/stats.sh
echo
echo "## ${args[*]}, $runs runs each (lab namespace)"
echo
echo "| tool | wall min (s) | wall median (s) | peak RSS median (KB) |"
echo "| --- | ---: | ---: | ---: |"
for tool in nmap prtip; do
    echo "| $tool | $(awk '{print $1}' "$tmp/$tool.runs" | sort -n | head -n1) | $(awk '{print $1}' "$tmp/$tool.runs" | median) | $(awk '{print $2}' "$tmp/$tool.runs" | median) |"
done
echo
for tool in nmap prtip; do
    echo "$tool: $(cut -c1-200 "$tmp/$tool.guess")"
done
