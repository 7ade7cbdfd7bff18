#!/usr/bin/env bash
# SYN scan of 1,000 ports on every address of the lab prefix (default
# 198.18.4.0/22 = 1,024 hosts, 1,024,000 probes): the lab's limit
# (benchmarks/src/bin/syn_yardstick.rs) vs nmap -sS, and prtip -sS when
# PRTIP=path/to/prtip is set, interleaved so load drift hits all alike.
#
# Usage: [PRTIP=target/release/prtip] [LAB_NAME=prtip] [YARD_ARGS="--threads 2 --batch 128"]
#        [IPV6=1] benchmarks/scripts/lab-syn-vs-nmap.sh [RUNS]        (default 3)
#
# With IPV6=1 each run also scans the lab's IPv6 prefix (LAB_PREFIX6, default
# 2001:db8:4::/118, also 1,024 hosts) with nmap -6 -sS and prtip -6 -sS, and
# the summary compares prtip's IPv6 time with its own IPv4 time and nmap -6's.
#
# Brings the lab up (scripts/lab up) if it is not up, and uses it as it is if
# it is. Every scanner runs inside the lab's scanning namespace, so packets go
# only to addresses the lab created (198.18.0.0/15). Prints every run, the
# median wall time and peak RSS of each, the ratios, and checks that nmap (and
# prtip) found the listening ports open on every host. Needs root.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
ports=1-1000
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)"; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 2; }
command -v nmap >/dev/null || { echo "needs nmap"; exit 2; }

target_dir=${CARGO_TARGET_DIR:-target}
cargo build --release --locked -q -p benchmarks --bin syn_yardstick
yard=$target_dir/release/syn_yardstick

if ! scripts/lab status >/dev/null 2>&1; then
    scripts/lab up
fi
eval "$(scripts/lab env)"
prefix=$LAB_PREFIX
hosts=$((1 << (32 - ${prefix#*/})))
nopen=$(tr ',' '\n' <<<"$LAB_PORTS" | awk -F- '$1 >= 1 && $1 <= 1000' | wc -l)
echo "lab $LAB_NAME: prefix $prefix ($hosts hosts), listeners $LAB_PORTS; scanning ports $ports"

# prtip is timed only if a one-port SYN scan of the prefix's first address
# works (its --help may list -sS before the engine exists).
have_prtip=0
if [ -n "${PRTIP:-}" ]; then
    first=${prefix%/*}
    # Captured first: `| grep -q` would close the pipe early and, under
    # pipefail, turn prtip's broken-pipe exit into a false "does not work".
    probe_out=$(scripts/lab exec "$PRTIP" -sS -n -Pn -p "${LAB_PORTS%%,*}" "$first" 2>&1 || true)
    if grep -q 'open' <<<"$probe_out"; then
        have_prtip=1
    else
        echo "PRTIP=$PRTIP: -sS does not work yet (probe scan of $first failed); skipping prtip"
    fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() { # name, command... (runs inside the scanning namespace)
    local name=$1 secs kb
    shift
    /usr/bin/time -f "%e %M" -o "$tmp/t" scripts/lab exec "$@" >"$tmp/out" 2>"$tmp/err" || {
        echo "$name failed:"
        cat "$tmp/err"
        exit 1
    }
    read -r secs kb <"$tmp/t"
    echo "$secs $kb" >>"$tmp/$name"
    printf '  %-9s %7.3f s  %7d KB RSS' "$name" "$secs" "$kb"
}

check_open() { # name, grepable file: every host must show every listener open
    local name=$1 file=$2 found hosts_with
    found=$(grep -o '/open/' "$file" | wc -l)
    hosts_with=$(grep -c '/open/' "$file" || true)
    printf '  open=%d on %d hosts' "$found" "$hosts_with"
    if [ "$found" -ne $((hosts * nopen)) ] || [ "$hosts_with" -ne "$hosts" ]; then
        printf '  (EXPECTED %d on %d hosts)\n' $((hosts * nopen)) "$hosts"
        echo "$name missed open ports" >>"$tmp/misses"
    else
        echo
    fi
}

for i in $(seq 1 "$runs"); do
    echo "run $i/$runs (load $(cut -d' ' -f1-3 /proc/loadavg))"
    # shellcheck disable=SC2086 # YARD_ARGS is a list of flags
    measure yardstick "$yard" --iface "$LAB_SCAN_IF" --src "$LAB_SCAN_ADDR" \
        --dst-mac "$LAB_TARGET_MAC" --prefix "$prefix" --ports "$ports" ${YARD_ARGS:-}
    line=$(cat "$tmp/out")
    echo "  $(grep -oE 'pps=[^ ]+|syn_ack=[^ ]+|rst=[^ ]+|answered=[^ ]+' <<<"$line" | tr '\n' ' ')"
    echo "$line" >>"$tmp/yardstick.lines"

    measure nmap nmap -sS -n -Pn -p "$ports" --min-rate 50000 -oG "$tmp/nmap.gnmap" "$prefix"
    check_open nmap "$tmp/nmap.gnmap"

    if [ $have_prtip = 1 ]; then
        measure prtip "$PRTIP" -sS -n -Pn -p "$ports" -oG "$tmp/prtip.gnmap" "$prefix"
        check_open prtip "$tmp/prtip.gnmap"
    fi

    if [ "${IPV6:-0}" = 1 ]; then
        measure nmap6 nmap -6 -sS -n -Pn -p "$ports" --min-rate 50000 -oG "$tmp/nmap6.gnmap" "$LAB_PREFIX6"
        check_open nmap6 "$tmp/nmap6.gnmap"
        if [ $have_prtip = 1 ]; then
            measure prtip6 "$PRTIP" -6 -sS -n -Pn -p "$ports" -oG "$tmp/prtip6.gnmap" "$LAB_PREFIX6"
            check_open prtip6 "$tmp/prtip6.gnmap"
        fi
    fi
done

# shellcheck source=benchmarks/scripts/stats.sh
. benchmarks/scripts/stats.sh
col() { awk -v c="$2" '{print $c}' "$tmp/$1" | median; }

echo
echo "median of $runs runs (wall seconds incl. start-up, peak RSS KB):"
for n in yardstick nmap prtip nmap6 prtip6; do
    [ -f "$tmp/$n" ] || continue
    printf '  %-9s %7.3f s  %7s KB\n' "$n" "$(col "$n" 1)" "$(col "$n" 2)"
done
pps=$(grep -oE ' pps=[0-9]+' "$tmp/yardstick.lines" | cut -d= -f2 | median)
echo "  yardstick send rate (median): $pps probes/s"
y=$(col yardstick 1)
m=$(col nmap 1)
awk -v m="$m" -v y="$y" 'BEGIN { printf "nmap / yardstick  = %.2f\n", m / y }'
if [ -f "$tmp/prtip" ]; then
    p=$(col prtip 1)
    awk -v p="$p" -v y="$y" 'BEGIN { printf "prtip / yardstick = %.2f\n", p / y }'
    awk -v p="$p" -v m="$m" 'BEGIN { printf "nmap / prtip      = %.2f\n", m / p }'
fi
if [ -f "$tmp/prtip6" ]; then
    p=$(col prtip 1)
    p6=$(col prtip6 1)
    m6=$(col nmap6 1)
    awk -v a="$p6" -v b="$p" 'BEGIN { printf "prtip -6 / prtip  = %.2f (goal <= 1.20)\n", a / b }'
    awk -v a="$m6" -v b="$p6" 'BEGIN { printf "nmap -6 / prtip -6 = %.2f (goal >= 2)\n", a / b }'
fi
if [ -f "$tmp/misses" ]; then
    sort "$tmp/misses" | uniq -c
    exit 1
fi
