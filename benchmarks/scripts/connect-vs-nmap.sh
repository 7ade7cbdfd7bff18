#!/usr/bin/env bash
# Connect scan of all 65,535 ports of 127.0.0.1 (or ::1): prtip vs nmap vs the machine's
# limit (benchmarks/src/bin/connect_yardstick.rs: blocking connect() from one
# thread per core), in the same run, interleaved so drift hits all three alike.
#
# Usage: benchmarks/scripts/connect-vs-nmap.sh [RUNS] [ADDR]   (default 5, 127.0.0.1)
# ADDR may be 127.0.0.1 or ::1 (then prtip and nmap get -6).
# Prints every run, then the median wall time and peak RSS of each and the
# ratios prtip/yardstick and nmap/prtip. Only the loopback address is scanned.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
addr=${2:-127.0.0.1}
case $addr in
    127.0.0.1) six=() ;;
    ::1) six=(-6) ;;
    *) echo "only 127.0.0.1 or ::1"; exit 2 ;;
esac
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 2; }
cargo build --release --locked -q -p prtip -p benchmarks
prtip=target/release/prtip
yard=target/release/connect_yardstick
have_nmap=0
command -v nmap >/dev/null && have_nmap=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() { # name, command...
    local name=$1; shift
    /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" >"$tmp/out" 2>"$tmp/err" || {
        echo "$name failed:"; cat "$tmp/err"; exit 1; }
    read -r secs kb <"$tmp/t"
    echo "$secs $kb" >>"$tmp/$name"
    printf '  %-9s %6.3f s  %7d KB RSS\n' "$name" "$secs" "$kb"
}

for i in $(seq 1 "$runs"); do
    echo "run $i/$runs"
    measure yardstick "$yard" "$addr" 1-65535
    measure prtip "$prtip" "${six[@]}" -sT -n -Pn -p- "$addr"
    if [ $have_nmap = 1 ]; then
        measure nmap nmap "${six[@]}" -sT -n -Pn -p- --min-rate 100000 "$addr"
    fi
done

# shellcheck source=benchmarks/scripts/stats.sh
. benchmarks/scripts/stats.sh
col() { awk -v c="$2" '{print $c}' "$tmp/$1" | median; }

echo
echo "median of $runs runs (wall seconds, peak RSS KB):"
for n in yardstick prtip nmap; do
    [ -f "$tmp/$n" ] || continue
    printf '  %-9s %6.3f s  %7s KB\n' "$n" "$(col "$n" 1)" "$(col "$n" 2)"
done
y=$(col yardstick 1); p=$(col prtip 1)
awk -v p="$p" -v y="$y" 'BEGIN { printf "prtip / yardstick = %.2f (goal <= 1.20)\n", p / y }'
if [ -f "$tmp/nmap" ]; then
    m=$(col nmap 1)
    awk -v p="$p" -v m="$m" 'BEGIN { printf "nmap / prtip      = %.2f\n", m / p }'
fi
