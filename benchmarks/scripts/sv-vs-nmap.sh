#!/usr/bin/env bash
# Service/version detection: prtip -sV vs nmap -sV against real daemons
# (scripts/services: vsftpd, OpenSSH, Exim, nginx http+https, MariaDB,
# PostgreSQL, Redis, memcached in the network namespace prtip-svc; with
# SV_SET=udp, -sU -sV against its UDP set: dnsmasq, tftpd-hpa, chrony,
# snmpd in prtip-svcu).
#
# Usage: [PRTIP=target/release/prtip] [SV_ARGS=-n] [SV_SET=tcp|udp] [SVC_NETNS=prtip-svc]
#        benchmarks/scripts/sv-vs-nmap.sh [RUNS]          (default 3)
#
# Brings the services up if they are not (scripts/services up) and leaves them
# up. For each port set (TCP: 80; 22,80,443; all nine ports. UDP: the three
# that answer, U:53,123,161; all four, adding tftpd's 69, which answers
# neither scanner) runs, interleaved RUNS times, inside the namespace:
#     nmap   -sV $SV_ARGS -p <ports> 127.0.0.1       (-sU -sV with SV_SET=udp)
#     $PRTIP -sV $SV_ARGS -p <ports> 127.0.0.1
# under /usr/bin/time -v, then prints a markdown table (min and median wall
# time, median and max peak RSS) and, port by port, the service/version each
# one reported on the full set. A prtip that fails (no -sV yet, missing
# binary) is reported with its exit status and message; nmap still runs.
# Only 127.0.0.1 inside the namespace is scanned. Needs root.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer: $runs"; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root (network namespace)"; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 2; }
command -v nmap >/dev/null || { echo "needs nmap (apt-get install nmap)"; exit 2; }

set_name=${SV_SET:-tcp}
read -r -a sv_args <<<"${SV_ARGS--n}"
target=127.0.0.1
case $set_name in
tcp)
    ns=${SVC_NETNS:-prtip-svc}
    scan=(-sV)
    all_ports=21,22,25,80,443,3306,5432,6379,11211
    port_sets=(80 "22,80,443" "$all_ports")
    ;;
udp)
    ns=${SVC_NETNS:-prtip-svcu}
    scan=(-sU -sV)
    all_ports=U:53,69,123,161
    port_sets=(U:53,123,161 "$all_ports")
    ;;
*) echo "SV_SET must be tcp or udp: $set_name"; exit 2 ;;
esac

svc() { scripts/services --set "$set_name" --netns "$ns" "$@"; }

PRTIP=${PRTIP:-target/release/prtip}
[[ $PRTIP == /* ]] || PRTIP=$PWD/$PRTIP
[ -x "$PRTIP" ] || echo "note: $PRTIP is not an executable (cargo build --release -p prtip); its runs will fail"

svc status >/dev/null 2>&1 || svc up

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Results: one line per run in $tmp/<tool>.<set-index>: "status wall_s rss_kb"
measure() { # tool, set-index, ports
    local tool=$1 i=$2 ports=$3 cmd rc=0 wall rss key=$1.$2
    if [ "$tool" = nmap ]; then cmd=(nmap); else cmd=("$PRTIP"); fi
    /usr/bin/time -v -o "$tmp/time" \
        scripts/services --set "$set_name" --netns "$ns" exec "${cmd[@]}" "${scan[@]}" "${sv_args[@]}" \
        -p "$ports" "$target" \
        >"$tmp/$key.out" 2>"$tmp/$key.err" || rc=$?
    # "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:12.79"
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0
        for (k = 1; k <= n; k++) s = s * 60 + t[k]; printf "%.2f", s }' "$tmp/time")
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tmp/time")
    echo "$rc ${wall:-0} ${rss:-0}" >>"$tmp/$key"
    if [ "$rc" = 0 ]; then
        printf '  %-6s -p %-36s %7.2f s %8d KB\n' "$tool" "$ports" "$wall" "$rss"
    else
        printf '  %-6s -p %-36s FAILED (exit %s): %s\n' "$tool" "$ports" "$rc" \
            "$(grep -v '^Command exited' "$tmp/$key.err" | head -n1)"
        cp "$tmp/$key.err" "$tmp/$key.lasterr"
    fi
}

for r in $(seq 1 "$runs"); do
    echo "run $r/$runs"
    for i in "${!port_sets[@]}"; do
        measure nmap "$i" "${port_sets[$i]}"
        measure prtip "$i" "${port_sets[$i]}"
    done
done

# shellcheck source=benchmarks/scripts/stats.sh
. benchmarks/scripts/stats.sh
ok_col() { awk -v c="$2" '$1 == 0 { print $c }' "$tmp/$1"; }

echo
echo "## ${scan[*]} wall time and peak RSS, $runs runs each, 127.0.0.1 in netns $ns"
echo
echo "| ports | tool | ok runs | wall min (s) | wall median (s) | peak RSS median (KB) | peak RSS max (KB) |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
for i in "${!port_sets[@]}"; do
    for tool in nmap prtip; do
        key=$tool.$i
        ok=$(awk '$1 == 0' "$tmp/$key" | wc -l)
        if [ "$ok" = 0 ]; then
            rc=$(awk 'NR == 1 { print $1 }' "$tmp/$key")
            msg=$(grep -v '^Command exited' "$tmp/$key.lasterr" | head -n1 | tr '|' '/')
            echo "| ${port_sets[$i]} | $tool | 0/$runs | failed (exit $rc): ${msg:-no message} | | | |"
            continue
        fi
        echo "| ${port_sets[$i]} | $tool | $ok/$runs | $(ok_col "$key" 2 | minimum) | $(ok_col "$key" 2 | median) |" \
            "$(ok_col "$key" 3 | median) | $(ok_col "$key" 3 | maximum) |"
    done
done

# Port lines of nmap's normal output (and prtip's, which follows the same
# format): "PORT STATE SERVICE VERSION...". Prints "port<TAB>rest of line".
port_lines() {
    [ -f "$1" ] || return 0
    awk -v proto="$set_name" '$1 ~ "^[0-9]+/" proto "$" { p = $1; $1 = ""; sub(/^ +/, ""); print p "\t" $0 }' "$1"
}

last=$((${#port_sets[@]} - 1))
echo
echo "## Service/version lines, -p $all_ports (last run)"
echo
echo "| port | nmap | prtip |"
echo "| --- | --- | --- |"
prtip_note=""
if [ "$(awk '$1 == 0' "$tmp/prtip.$last" | wc -l)" = 0 ]; then
    prtip_note="failed: $(grep -v '^Command exited' "$tmp/prtip.$last.lasterr" | head -n1 | tr '|' '/')"
fi
port_lines "$tmp/nmap.$last.out" >"$tmp/nmap.lines"
port_lines "$tmp/prtip.$last.out" >"$tmp/prtip.lines"
missing_version=0
ports_only=${all_ports#U:}
for p in ${ports_only//,/ }; do
    n=$(awk -F'\t' -v p="$p/$set_name" '$1 == p { print $2 }' "$tmp/nmap.lines")
    m=$(awk -F'\t' -v p="$p/$set_name" '$1 == p { print $2 }' "$tmp/prtip.lines")
    [ -z "$m" ] && m=${prtip_note:-(no line)}
    # open + service + at least one version word (tftpd answers no one)
    [ "$(wc -w <<<"$n")" -ge 3 ] || [ "$p/$set_name" = 69/udp ] || missing_version=1
    echo "| $p | ${n:-(no line)} | $m |"
done
if [ "$missing_version" = 1 ]; then
    echo
    echo "warning: nmap did not name a product for every port; check scripts/services status"
fi
