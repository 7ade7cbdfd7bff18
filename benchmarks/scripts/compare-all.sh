#!/usr/bin/env bash
# prtip vs nmap vs masscan on the same work, in one run, one combined table.
#
# Usage: [PRTIP=target/release/prtip] [PRTIP_BEFORE=path] [SCENARIOS="syn connect sv os"]
#        [MASSCAN_RATE=200000] [MASSCAN_WAIT=1] [SVC_NETNS=prtip-svc]
#        benchmarks/scripts/compare-all.sh [RUNS]              (default 3)
#
# Scenarios (every tool runs under /usr/bin/time -v; wall time and peak RSS):
#   syn      SYN scan of ports 1-1000 on every address of the lab prefix
#            (scripts/lab, default 198.18.4.0/22 = 1,024 hosts), inside the
#            lab's scanning namespace:
#              nmap    -sS -n -Pn -p 1-1000 --min-rate 50000 <prefix>
#              masscan <prefix> -p1-1000 --rate $MASSCAN_RATE --wait $MASSCAN_WAIT
#                      --adapter <lab if> --router-mac <lab target mac>
#              prtip   -sS -n -Pn -p 1-1000 <prefix>
#   connect  connect scan of all 65,535 ports of 127.0.0.1 (root namespace):
#              nmap  -sT -n -Pn -p- --min-rate 100000 127.0.0.1
#              prtip -sT -n -Pn -p- 127.0.0.1          (masscan has no connect scan)
#   sv       -sV on 22,80,443 of 127.0.0.1 inside scripts/services' namespace:
#              nmap / prtip  -sV -n -p 22,80,443 127.0.0.1
#   os       OS detection of the lab prefix's first host, inside the lab:
#              nmap / prtip  -O --osscan-guess -n -Pn -p 80,81 <first host>
#
# Tools are interleaved: every run goes through all scenarios, and within a
# scenario the starting tool rotates from run to run, so load drift on a
# shared machine hits every tool alike. At the end it prints one markdown
# table: median wall time and peak RSS per scenario and tool, and the ratios
# other tool / prtip (time and RSS), plus what each tool found.
#
# PRTIP_BEFORE names a second prtip binary (an earlier commit's build); it
# then runs as tool "before" beside the others, so a change is measured
# against its parent in the same run.
#
# masscan is optional (skipped with a note when not installed). Its receive
# thread blocks in libpcap (immediate mode, TPACKET_V3) until a packet
# arrives, so on the otherwise idle lab veth it never notices that the scan is
# over and hangs in "waiting -N-secs". While masscan runs, a small helper in
# the scanning namespace therefore connects to the lab's link address
# 198.18.0.2, port 9 (closed: one SYN, one RST), every 0.1 s; masscan ignores
# those packets (no cookie) but wakes up and exits.
#
# Brings the lab (scripts/lab up) and the services (scripts/services up) up
# when they are not, and takes down at exit only what it brought up. Packets
# go only to 127.0.0.1 and to lab addresses (198.18.0.0/15) inside the
# namespaces. Needs root.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer: $runs"; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, raw sockets)"; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 2; }
command -v nmap >/dev/null || { echo "needs nmap (apt-get install nmap)"; exit 2; }
PRTIP=${PRTIP:-target/release/prtip}
[[ $PRTIP == /* ]] || PRTIP=$PWD/$PRTIP
[ -x "$PRTIP" ] || { echo "no prtip at $PRTIP: cargo build --release -p prtip (or set PRTIP)"; exit 2; }
BEFORE=${PRTIP_BEFORE:-}
if [ -n "$BEFORE" ]; then
    [[ $BEFORE == /* ]] || BEFORE=$PWD/$BEFORE
    [ -x "$BEFORE" ] || { echo "no prtip at PRTIP_BEFORE=$BEFORE"; exit 2; }
fi
read -r -a scenarios <<<"${SCENARIOS:-syn connect sv os}"
for s in "${scenarios[@]}"; do
    case $s in syn | connect | sv | os) ;; *) echo "unknown scenario: $s"; exit 2 ;; esac
done
masscan_rate=${MASSCAN_RATE:-200000}
masscan_wait=${MASSCAN_WAIT:-1}
[[ $masscan_rate =~ ^[1-9][0-9]*$ && $masscan_wait =~ ^[0-9]+$ ]] ||
    { echo "MASSCAN_RATE / MASSCAN_WAIT must be integers"; exit 2; }
svc_ns=${SVC_NETNS:-prtip-svc}
per_cmd_timeout=600 # seconds; bounds every single scan
have_masscan=0
command -v masscan >/dev/null && have_masscan=1

wants() { [[ " ${scenarios[*]} " == *" $1 "* ]]; }

tmp=$(mktemp -d)
lab_started=0
svc_started=0
nudge_pid=""
cleanup() {
    if [ -n "$nudge_pid" ]; then kill "$nudge_pid" 2>/dev/null || true; wait "$nudge_pid" 2>/dev/null || true; fi
    if [ $svc_started = 1 ]; then scripts/services --netns "$svc_ns" down >/dev/null 2>&1 || true; fi
    if [ $lab_started = 1 ]; then scripts/lab down >/dev/null 2>&1 || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- set-up

if wants syn || wants os; then
    if ! scripts/lab status >/dev/null 2>&1; then
        echo "lab is down: scripts/lab up (taken down again at exit)"
        lab_started=1
        scripts/lab up >/dev/null
    fi
    eval "$(scripts/lab env)"
    prefix=$LAB_PREFIX
    hosts=$((1 << (32 - ${prefix#*/})))
    nopen=$(tr ',' '\n' <<<"$LAB_PORTS" | awk '$1 >= 1 && $1 <= 1000' | wc -l)
    first_int=$(awk -F. -v p="${prefix%/*}" 'BEGIN { split(p, o, "."); print o[1] * 16777216 + o[2] * 65536 + o[3] * 256 + o[4] + 1 }')
    os_target=$((first_int >> 24 & 255)).$((first_int >> 16 & 255)).$((first_int >> 8 & 255)).$((first_int & 255))
    if wants os && [[ ,$LAB_PORTS, != *,80,* ]]; then
        echo "lab listens on $LAB_PORTS, not 80: skipping the os scenario"
        scenarios=("${scenarios[@]/os/}")
    fi
fi
if wants sv; then
    if ! scripts/services --netns "$svc_ns" status >/dev/null 2>&1; then
        [ -e "/run/netns/$svc_ns" ] || svc_started=1
        echo "services in $svc_ns are not (all) up: scripts/services up"
        scripts/services --netns "$svc_ns" up >/dev/null
    fi
fi

NUDGE_PY='
import socket, sys, time
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.settimeout(0.2)
    try:
        s.connect(("198.18.0.2", 9))
    except OSError:
        pass
    s.close()
    time.sleep(0.1)
'

# ---------------------------------------------------------------- measuring

# measure SCENARIO TOOL COMMAND...: one timed run; appends "rc wall_s rss_kb"
# to $tmp/SCENARIO.TOOL and keeps the last output in $tmp/SCENARIO.TOOL.out.
measure() {
    local sc=$1 tool=$2 key=$1.$2 rc=0 wall rss
    shift 2
    rm -f "$tmp/$key.found"
    /usr/bin/time -v -o "$tmp/time" timeout "$per_cmd_timeout" "$@" \
        >"$tmp/$key.out" 2>"$tmp/$key.err" || rc=$?
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0
        for (k = 1; k <= n; k++) s = s * 60 + t[k]; printf "%.2f", s }' "$tmp/time")
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tmp/time")
    echo "$rc ${wall:-0} ${rss:-0}" >>"$tmp/$key"
    if [ "$rc" = 0 ]; then
        printf '  %-8s %-8s %8.2f s %8d KB  %s\n' "$sc" "$tool" "$wall" "$rss" "$(found "$sc" "$tool")"
    else
        printf '  %-8s %-8s FAILED (exit %s): %s\n' "$sc" "$tool" "$rc" \
            "$(grep -v '^Command exited' "$tmp/$key.err" | head -n1)"
    fi
}

# found SCENARIO TOOL: a short summary of what the last run found; also
# written to $tmp/SCENARIO.TOOL.found for the table.
found() {
    local sc=$1 tool=$2 key=$1.$2 out
    out=$tmp/$1.$2.out
    case $sc in
    syn)
        local n h
        if [ "$tool" = masscan ]; then
            n=$(awk '$1 == "open" { print $3, $4 }' "$tmp/$key.list" | sort -u | wc -l)
            h=$(awk '$1 == "open" { print $4 }' "$tmp/$key.list" | sort -u | wc -l)
        else
            n=$(grep -o '/open/' "$tmp/$key.gnmap" | wc -l)
            h=$(grep -c '/open/' "$tmp/$key.gnmap" || true)
        fi
        echo "$n/$((hosts * nopen)) open, $h/$hosts hosts"
        ;;
    connect) echo "$(grep -cE '^[0-9]+/tcp +open' "$out" || true) open" ;;
    sv)
        local v
        v=$(awk '$1 ~ /^[0-9]+\/tcp$/ && $2 == "open" && NF >= 4' "$out" | wc -l)
        echo "$v/3 ports with a version"
        ;;
    os)
        grep -E '^(OS details|Aggressive OS guesses|No OS|No exact OS)' "$out" | head -n1 |
            cut -c1-70 | tr '|' '/' | sed 's/ *$//'
        ;;
    esac | tee "$tmp/$key.found"
}

# bin TOOL: the program a tool name runs.
bin() {
    case $1 in
    prtip) echo "$PRTIP" ;;
    before) echo "$BEFORE" ;;
    *) echo "$1" ;;
    esac
}

run_syn() { # tool
    case $1 in
    nmap) measure syn nmap scripts/lab exec nmap -sS -n -Pn -p 1-1000 --min-rate 50000 \
        -oG "$tmp/syn.nmap.gnmap" "$prefix" ;;
    prtip | before) measure syn "$1" scripts/lab exec "$(bin "$1")" -sS -n -Pn -p 1-1000 \
        -oG "$tmp/syn.$1.gnmap" "$prefix" ;;
    masscan)
        # At most 6000 nudges (10 minutes), ended as soon as masscan is done.
        scripts/lab exec python3 -c "$NUDGE_PY" 6000 </dev/null >/dev/null 2>&1 &
        nudge_pid=$!
        measure syn masscan scripts/lab exec masscan "$prefix" -p1-1000 --rate "$masscan_rate" \
            --wait "$masscan_wait" --adapter "$LAB_SCAN_IF" --router-mac "$LAB_TARGET_MAC" \
            -oL "$tmp/syn.masscan.list"
        kill "$nudge_pid" 2>/dev/null || true
        wait "$nudge_pid" 2>/dev/null || true
        nudge_pid=""
        ;;
    esac
}
run_connect() {
    case $1 in
    nmap) measure connect nmap nmap -sT -n -Pn -p- --min-rate 100000 127.0.0.1 ;;
    prtip | before) measure connect "$1" "$(bin "$1")" -sT -n -Pn -p- 127.0.0.1 ;;
    esac
}
run_sv() {
    measure sv "$1" scripts/services --netns "$svc_ns" exec "$(bin "$1")" -sV -n -p 22,80,443 127.0.0.1
}
run_os() {
    measure os "$1" scripts/lab exec "$(bin "$1")" -O --osscan-guess -n -Pn -p 80,81 "$os_target"
}

tools_of() {
    local tools="nmap"
    [ "$1" = syn ] && [ $have_masscan = 1 ] && tools="$tools masscan"
    tools="$tools prtip"
    [ -n "$BEFORE" ] && tools="$tools before"
    echo "$tools"
}

echo "compare-all: $runs runs; $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  prtip $PRTIP ($("$PRTIP" --version 2>&1 | head -n1)); $(nmap --version | head -n1)"
[ -z "$BEFORE" ] || echo "  before $BEFORE ($("$BEFORE" --version 2>&1 | head -n1))"
if [ $have_masscan = 1 ]; then
    echo "  $(masscan --version 2>&1 | grep -m1 -i 'masscan version')"
else
    echo "  masscan not installed (apt-get install masscan): skipped"
fi
for r in $(seq 1 "$runs"); do
    echo "run $r/$runs (load $(cut -d' ' -f1-3 /proc/loadavg))"
    for sc in "${scenarios[@]}"; do
        [ -n "$sc" ] || continue
        read -r -a tools <<<"$(tools_of "$sc")"
        n=${#tools[@]}
        for k in $(seq 0 $((n - 1))); do
            "run_$sc" "${tools[$(((k + r - 1) % n))]}"
        done
    done
done

# ---------------------------------------------------------------- table

# shellcheck source=benchmarks/scripts/stats.sh
. benchmarks/scripts/stats.sh
ok_col() { awk -v c="$2" '$1 == 0 { print $c }' "$tmp/$1"; }
declare -A title=(
    [syn]="SYN, lab ${prefix:-}, -p 1-1000"
    [connect]="connect, 127.0.0.1, -p-"
    [sv]="-sV 22,80,443, services netns"
    [os]="-O -p 80,81, lab ${os_target:-}"
)

echo
echo "## Median of $runs runs (wall time and peak RSS from /usr/bin/time -v; ratios = tool / prtip)"
echo
echo "| scenario | tool | ok runs | wall median (s) | peak RSS median (KB) | time / prtip | RSS / prtip | found (last run) |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"
for sc in "${scenarios[@]}"; do
    [ -n "$sc" ] || continue
    pw=$(ok_col "$sc.prtip" 2 | median)
    pr=$(ok_col "$sc.prtip" 3 | median)
    for tool in $(tools_of "$sc"); do
        key=$sc.$tool
        ok=$(awk '$1 == 0' "$tmp/$key" | wc -l)
        w=$(ok_col "$key" 2 | median)
        m=$(ok_col "$key" 3 | median)
        f=$(cat "$tmp/$key.found" 2>/dev/null || true)
        [ "$ok" = 0 ] && f="failed: $(grep -v '^Command exited' "$tmp/$key.err" | head -n1 | cut -c1-60 | tr '|' '/')"
        echo "| ${title[$sc]} | $tool | $ok/$runs | $w | $m | $(ratio "$w" "$pw") | $(ratio "$m" "$pr") | $f |"
    done
done

if wants sv; then
    echo
    echo "-sV lines (last run):"
    for tool in $(tools_of sv); do
        awk -v t="$tool" '$1 ~ /^[0-9]+\/tcp$/ { printf "  %-6s %s\n", t, $0 }' "$tmp/sv.$tool.out"
    done
fi
