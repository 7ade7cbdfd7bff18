#!/usr/bin/env bash
# Loss: the fraction of open ports prtip and nmap find when the lab drops a
# share of the TCP and UDP arriving at the target at random
# (scripts/lab --loss), in the same run, for -sS and -sU.
#
# Usage: [PRTIP=target/release/prtip] [PREFIX=198.18.4.0/24]
#        benchmarks/scripts/loss-vs-nmap.sh [LOSS] [RUNS]     (default 20 %, 3 runs)
#
# Builds its own lab (LAB_NAME lb<pid>, removed at exit): every address of
# PREFIX listens on TCP 22, 80 and 443 and echoes UDP 7, 161 and 500 (this
# repository's lab-udp-echo), with the target's ICMP limits lifted. Each run
# scans, interleaved:
#     prtip -sS -n -Pn -p 1-100,443 PREFIX     nmap -sS -n -Pn -p 1-100,443 PREFIX
#     prtip -sU -n -Pn -p 7,9,161,162,500,520 PREFIX   (and nmap the same)
# with default timing, and counts the ports reported open (XML). Prints a
# markdown table: open ports found of those there are (median, min-max
# over the runs) and the median wall time. Only addresses inside the lab's
# namespaces (198.18.0.0/15) are scanned. Needs root, nmap, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
loss=${1:-20}
runs=${2:-3}
[[ $loss =~ ^[0-9]+$ ]] && ((loss <= 99)) || { echo "LOSS must be a percentage 0-99: $loss"; exit 2; }
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer: $runs"; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, raw sockets)"; exit 2; }
for t in nmap python3 /usr/bin/time; do
    command -v "$t" >/dev/null || { echo "needs $t"; exit 2; }
done

# shellcheck source=benchmarks/scripts/prtip-binary.sh
. benchmarks/scripts/prtip-binary.sh
# shellcheck source=benchmarks/scripts/stats.sh
. benchmarks/scripts/stats.sh
prtip=$(prtip_binary loss-vs-nmap) || exit 2
cargo build --release --locked -q -p prtip-testkit --bin lab-udp-echo
echo_bin=$(realpath "${CARGO_TARGET_DIR:-target}/release/lab-udp-echo")

prefix=${PREFIX:-198.18.4.0/24}
hosts=$((1 << (32 - ${prefix#*/})))
tcp_ports=1-100,443
udp_ports=7,9,161,162,500,520
open_per_host=3
export LAB_NAME=lb$$
tmp=$(mktemp -d)
cleanup() {
    scripts/lab down >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

scripts/lab up --prefix "$prefix" --ports 22,80,443 --loss "$loss" >/dev/null
eval "$(scripts/lab env)"
ip netns exec "$LAB_TARGET_NS" sysctl -qw net.ipv4.icmp_ratemask=0
"$echo_bin" "$LAB_TARGET_NS" 7,161,500 7200 >"$tmp/echo.out" 2>&1 &
for _ in $(seq 1 100); do
    grep -q '^ready$' "$tmp/echo.out" && break
    sleep 0.1
done
grep -q '^ready$' "$tmp/echo.out" || { cat "$tmp/echo.out"; echo "the UDP echo server did not start"; exit 1; }
want=$((hosts * open_per_host))
echo "lab $LAB_NAME: $prefix ($hosts hosts), $loss % of TCP and UDP to the target dropped; $want open TCP and $want open UDP ports"

# One scan: "open_ports wall_s" appended to $tmp/<scan>.<tool>.
measure() { # scan (-sS|-sU), tool, ports
    local scan=$1 tool=$2 ports=$3 rc=0 bin=nmap open
    [ "$tool" = prtip ] && bin=$prtip
    /usr/bin/time -f %e -o "$tmp/time" ip netns exec "$LAB_SCAN_NS" "$bin" "$scan" -n -Pn -p "$ports" \
        -oX "$tmp/out.xml" "$prefix" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" = 0 ] || { echo "$tool $scan failed (exit $rc): $(head -n3 "$tmp/err")"; exit 1; }
    open=$(grep -o 'state="open"' "$tmp/out.xml" | wc -l)
    echo "$open $(tail -n1 "$tmp/time")" >>"$tmp/$scan.$tool"
    printf '  %-5s %s: %4d of %d open ports, %6.2f s\n' "$tool" "$scan" "$open" "$want" "$(tail -n1 "$tmp/time")"
}

for r in $(seq 1 "$runs"); do
    echo "run $r/$runs"
    for scan in -sS -sU; do
        ports=$tcp_ports
        [ "$scan" = -sU ] && ports=$udp_ports
        measure "$scan" prtip "$ports"
        measure "$scan" nmap "$ports"
    done
done

col() { awk -v c="$2" '{ print $c }' "$tmp/$1"; }
echo
echo "## $loss % random loss, $prefix ($hosts hosts x $open_per_host open ports), $runs runs each, same lab, interleaved"
echo
echo "| scan | tool | open ports found (median) | fraction (median) | fraction (min-max) | wall median (s) |"
echo "|---|---|---|---|---|---|"
for scan in -sS -sU; do
    for tool in prtip nmap; do
        f=$scan.$tool
        med=$(col "$f" 1 | median)
        printf '| %s | %s | %s of %d | %s | %s-%s | %s |\n' "$scan" "$tool" "$med" "$want" \
            "$(awk -v a="$med" -v b="$want" 'BEGIN { printf "%.3f", a / b }')" \
            "$(col "$f" 1 | minimum | awk -v b="$want" '{ printf "%.3f", $1 / b }')" \
            "$(col "$f" 1 | maximum | awk -v b="$want" '{ printf "%.3f", $1 / b }')" \
            "$(col "$f" 2 | median)"
    done
done
