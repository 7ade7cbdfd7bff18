#!/usr/bin/env bash
# Per-target memory overhead: peak heap and peak RSS of SYN, connect, -sV and
# -O scans against 100, 1,000, 10,000 (and 16,384 / 100,000) lab hosts, then a
# least-squares fit of  Total = Baseline + Hosts x Per_Target  per scan type.
# Results and their meaning: benchmarks/scaling/README.md.
#
# Usage (root): benchmarks/scaling/scaling.sh
#
# Brings up its own lab (LAB_NAME=scale, --prefix 198.18.64.0/18, listeners on
# 22,80,443: every one of the 16,384 addresses answers) and, for the
# 100,000-host rows, adds two more local prefixes to the same two namespaces
# (198.19.0.0/16 and 198.18.128.0/17, both inside 198.18.0.0/15; the namespaces
# are this script's own and are deleted at the end). Each scan runs inside the
# scanning namespace as
#
#   /usr/bin/time -v prtip <scan flags> <targets> -oG F.gnmap --mem-report=json:F.mem.json >/dev/null
#
# and the -oG file is checked: every host reported, and the expected number of
# open ports (hosts x 3 for SYN/connect, hosts x 1 for -sV and -O; -O also
# hosts x 1 closed). check = ok when exact; ok-N-open-as-closed when every port answered
# but N listening ports were reported closed (connect scan, see README); FAIL
# when a scan failed, timed out or lost hosts or ports.
#
# Scan types (few ports, so the heap is about hosts, not ports):
#   syn      -sS -n -Pn -p 22,80,443
#   connect  -sT -n -Pn -p 22,80,443
#   version  -sV -n -Pn -p 80           (real nginx, see below)
#   os       -O  -n -Pn -p 80,81        (81 is closed in the lab)
# Host counts (targets in nmap syntax, all inside the lab's local prefixes):
#   100      198.18.64.1-100
#   1000     198.18.64-67.0-249
#   10000    198.18.64-103.0-249
#   16384    198.18.64.0/18              (syn only: the "16K-host scenario")
#   100000   198.19.0.0/16 198.18.128-254.0-255 198.18.64-71.0-243   (syn, connect)
# -sV and -O run the per-host stage on 8 hosts at a time; their 10,000-host row
# is skipped when 10 x the 1,000-host wall time exceeds SLOW_LIMIT seconds.
#
# The lab's listeners accept and reset, so they have no banner to detect. The
# -sV rows therefore run against real daemons instead: scripts/services starts
# them in a namespace of their own (SVC_NS, no veth), the same 198.18.64.0/18 is
# made local on that namespace's lo, and prtip runs inside it, so every address
# reaches the real nginx on port 80. Their check also requires every host's
# port 80 to come out as http with product nginx.
#
# Writes scaling.csv and fit.md (python3 fit.py) next to this script, the
# --mem-report JSON and /usr/bin/time -v output of every scan to memreport/;
# the -oG files go to out/ and are deleted after counting unless KEEP=1.
#
# Environment:
#   PRTIP=path        binary (default: cargo build --release --locked -p prtip,
#                     then ${CARGO_TARGET_DIR:-target}/release/prtip)
#   LAB_NAME=scale    the lab to create; must be down at the start; brought down at the end
#   SVC_NS=scalesvc   the services namespace for the -sV rows; must be down at the start
#   SLOW_LIMIT=480    seconds: skip a -sV/-O 10,000-host scan estimated to take longer
#   BIG=0             skip the 100,000-host rows
#   SCAN_TIMEOUT=900  hard limit per scan (timeout(1); for a -sV/-O 10,000-host row at
#                     least twice its estimate); a timed-out scan is a FAIL row
#   ONLY="syn connect version os"   scan types to run
#   REPEAT=2          runs of each SYN and connect scan (they take seconds; -sV and -O run once)
#   KEEP=1            keep the -oG files
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
[ "$(id -u)" = 0 ] || { echo "scaling: needs root (network namespaces, raw sockets)" >&2; exit 2; }
for tool in python3 /usr/bin/time timeout; do
    command -v "$tool" >/dev/null || { echo "scaling: needs $tool" >&2; exit 2; }
done

export LAB_NAME=${LAB_NAME:-scale}
SVC_NS=${SVC_NS:-scalesvc}
SLOW_LIMIT=${SLOW_LIMIT:-480}
BIG=${BIG:-1}
SCAN_TIMEOUT=${SCAN_TIMEOUT:-900}
ONLY=${ONLY:-syn connect version os}
KEEP=${KEEP:-0}
REPEAT=${REPEAT:-2}
LAB_PREFIX=198.18.64.0/18
EXTRA_PREFIXES="198.19.0.0/16 198.18.128.0/17"
PORTS=22,80,443
want() { [[ " $ONLY " == *" $1 "* ]]; }
out=$here/out
rep=$here/memreport
mkdir -p "$out" "$rep"

# shellcheck source=benchmarks/scripts/prtip-binary.sh
. benchmarks/scripts/prtip-binary.sh
bin=$(prtip_binary scaling) || exit 2

if scripts/lab status >/dev/null 2>&1; then
    echo "scaling: lab $LAB_NAME is already up (someone else's?); choose another LAB_NAME" >&2
    exit 2
fi
svc() { PRTIP_SVC_VETH=0 scripts/services --netns "$SVC_NS" "$@"; }
if want version && svc status >/dev/null 2>&1; then
    echo "scaling: services namespace $SVC_NS is already up; choose another SVC_NS" >&2
    exit 2
fi
svc_up=0
cleanup() {
    scripts/lab down >/dev/null 2>&1 || true
    [ "$svc_up" = 0 ] || svc down >/dev/null 2>&1 || true
    [ "$KEEP" = 1 ] || rm -f "$out"/scale-*.gnmap
}
trap cleanup EXIT

scripts/lab up --prefix "$LAB_PREFIX" --ports "$PORTS"
eval "$(scripts/lab env)"
extra_up=0
add_extra_prefixes() { # the 100,000-host rows need more than one /16 of local addresses
    [ "$extra_up" = 1 ] && return 0
    local p
    for p in $EXTRA_PREFIXES; do
        ip netns exec "$LAB_SCAN_NS" ip route replace "$p" via "$LAB_TARGET_ADDR" dev "$LAB_SCAN_IF"
        ip netns exec "$LAB_TARGET_NS" ip route replace local "$p" dev lo
    done
    extra_up=1
}

targets_for() {
    case $1 in
    100) echo "198.18.64.1-100" ;;
    1000) echo "198.18.64-67.0-249" ;;
    10000) echo "198.18.64-103.0-249" ;;
    16384) echo "198.18.64.0/18" ;;
    100000) echo "198.19.0.0/16 198.18.128-254.0-255 198.18.64-71.0-243" ;;
    *) echo "scaling: no target list for $1 hosts" >&2; exit 2 ;;
    esac
}
flags_for() {
    case $1 in
    syn) echo "-sS -n -Pn -p 22,80,443" ;;
    connect) echo "-sT -n -Pn -p 22,80,443" ;;
    version) echo "-sV -n -Pn -p 80" ;;
    os) echo "-O -n -Pn -p 80,81" ;;
    esac
}
open_per_host() { case $1 in syn | connect) echo 3 ;; *) echo 1 ;; esac; }

csv=$here/scaling.csv
echo "scan,run,hosts,targets,flags,hosts_reported,open_found,closed_found,open_expected,closed_expected,peak_heap_B,sending_peak_B,service_peak_B,os_peak_B,output_peak_B,untracked_peak_B,error_bound_B,threads_max,peak_rss_KiB,wall_s,user_s,sys_s,load1,check" >"$csv"
failed=0
t_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
last_wall=0

# scan KIND HOSTS [RUN [TIMEOUT]]
scan() {
    local kind=$1 hosts=$2 run=${3:-1} limit=${4:-$SCAN_TIMEOUT} targets flags rc=0
    local name=scale-$kind-h$hosts-r$run
    targets=$(targets_for "$hosts")
    flags=$(flags_for "$kind")
    local f=$out/$name r=$rep/$name
    echo "== $name: prtip $flags $targets"
    rm -f "$r.mem.json" "$r.time" "$r.stderr" "$f.gnmap"
    local runner=(scripts/lab exec)
    [ "$kind" = version ] && runner=(svc exec)
    # shellcheck disable=SC2086 # flags and targets are word lists on purpose
    "${runner[@]}" timeout "$limit" /usr/bin/time -v -o "$r.time" "$bin" $flags $targets \
        -oG "$f.gnmap" --mem-report="json:$r.mem.json" >/dev/null 2>"$r.stderr" || rc=$?
    [ -s "$r.stderr" ] || rm -f "$r.stderr"
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    last_wall=$(python3 - "$kind" "$run" "$hosts" "$targets" "$flags" "$f" "$r" "$load" "$rc" \
        3>&1 >>"$csv" <<'PY'
import csv, json, os, re, sys
kind, run, hosts, targets, flags, f, r, load, rc = sys.argv[1:]
hosts, rc = int(hosts), int(rc)
# open / closed ports per host in the lab: listeners on 22,80,443; -O also probes closed 81
per_open, per_closed = {"syn": (3, 0), "connect": (3, 0), "version": (1, 0), "os": (1, 1)}[kind]
reported = open_found = closed_found = nginx = 0
try:
    for line in open(f + ".gnmap"):
        if line.startswith("Host: ") and "Ports:" in line:
            reported += 1
            open_found += line.count("/open/")
            closed_found += line.count("/closed/")
            nginx += "80/open/tcp//http//nginx" in line
except FileNotFoundError:
    pass
try:
    mem = json.load(open(r + ".mem.json"))
    phase = {p["phase"]: p["peak_live_bytes"] for p in mem["phases"]}
    tot = mem["totals"]
except (FileNotFoundError, ValueError):
    mem, phase, tot = None, {}, {}
try:
    tv = open(r + ".time").read()
except FileNotFoundError:
    tv = ""
def tfield(label, default="0"):
    m = re.search(re.escape(label) + r":\s*(\S+)", tv)
    return m.group(1) if m else default
secs = 0.0
for part in tfield("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
    secs = secs * 60 + float(part)
eo, ec = hosts * per_open, hosts * per_closed
complete = rc == 0 and mem is not None and reported == hosts
if complete and kind == "version" and nginx != hosts:
    check = f"FAIL(nginx={nginx})"  # the real daemon must be named on every host
elif complete and open_found == eo and closed_found == ec:
    check = "ok"
elif complete and open_found + closed_found == eo + ec:
    # every port answered, but some listening ports reported closed (see README: ECONNRESET)
    check = f"ok-{eo - open_found}-open-as-closed"
else:
    check = f"FAIL(rc={rc})"
row = [kind, run, hosts, targets, flags, reported, open_found, closed_found, eo, ec,
       tot.get("peak_live_bytes", ""), phase.get("sending", ""), phase.get("service detection", ""),
       phase.get("OS detection", ""), phase.get("output", ""), phase.get("untracked", ""),
       tot.get("error_bound_bytes", ""), tot.get("threads_max", ""),
       tfield("Maximum resident set size (kbytes)"), f"{secs:.2f}",
       tfield("User time (seconds)"), tfield("System time (seconds)"), load, check]
csv.writer(sys.stdout, lineterminator="\n").writerow(row)
print(f"   hosts {reported:,}/{hosts:,}, open {open_found:,}/{eo:,}, closed {closed_found:,}/{ec:,}; "
      f"peak heap {tot.get('peak_live_bytes', 0):,} B; peak RSS {row[18]} KiB; {secs:.1f} s; load {load}; {check}",
      file=sys.stderr)
os.write(3, f"{secs:.0f}\n".encode())
PY
) || true
    if tail -n1 "$csv" | grep -q ',FAIL'; then failed=1; fi
    [ "$KEEP" = 1 ] || rm -f "$f.gnmap"
}

for run in $(seq 1 "$REPEAT"); do
    for kind in syn connect; do
        want "$kind" || continue
        for h in 100 1000 10000; do scan "$kind" "$h" "$run"; done
    done
    want syn && scan syn 16384 "$run"
    if [ "$BIG" = 1 ]; then
        add_extra_prefixes
        for kind in syn connect; do
            want "$kind" && scan "$kind" 100000 "$run"
        done
    fi
done
skipped=()
for kind in version os; do
    want "$kind" || continue
    if [ "$kind" = version ]; then
        svc up
        svc_up=1
        svc exec ip route replace local "$LAB_PREFIX" dev lo
    fi
    scan "$kind" 100
    scan "$kind" 1000
    est=$((last_wall * 10))
    if ((est > SLOW_LIMIT)); then
        echo "== scale-$kind-h10000: skipped (estimated ${est} s from the 1,000-host run > SLOW_LIMIT=${SLOW_LIMIT} s)"
        skipped+=("$kind 10000 hosts: skipped, estimated ${est} s (10 x the 1,000-host wall time) > ${SLOW_LIMIT} s")
    else
        # Twice the estimate: the 1,000-host run may have had a quieter machine.
        scan "$kind" 10000 1 $((est * 2 > SCAN_TIMEOUT ? est * 2 : SCAN_TIMEOUT))
    fi
done

t_end=$(date +%s)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
    echo "Script run time $((t_end - t_start)) s (after the build); load average at start $load_start;"
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'); tree at commit $rev (plus uncommitted changes, if any); binary $bin."
    for s in "${skipped[@]}"; do echo "- $s"; done
} >"$here/run-info.txt"
python3 "$here/fit.py" "$csv" >"$here/fit.md"
cat "$here/fit.md" "$here/run-info.txt"
if [ "$failed" != 0 ]; then
    echo "scaling: FAIL (a scan failed, timed out, or missed hosts or ports)" >&2
    exit 1
fi
echo "scaling: every scan reported every host and answered every port (see check column)"
