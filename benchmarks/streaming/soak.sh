#!/usr/bin/env bash
# Soak: one slow SYN scan of several minutes that keeps finding open ports,
# with live heap and RSS sampled over time. Is memory flat?
# Results and their meaning: benchmarks/streaming/README.md.
#
# Usage (root): benchmarks/streaming/soak.sh
#
# The scan: prtip -sS -n -Pn -p 1-NPORTS PREFIX --max-rate R -oJ -oX --mem-report=json
# with R = hosts x NPORTS / DURATION, every scanned port listening, so every
# probe is an open result (default: 65,536 hosts x 10 ports = 655,360 open
# results in 16 windows of 4,096 hosts, one window every ~17 s, output
# written window by window). It runs twice at the same time, each in its own
# namespace lab (scripts/lab, LAB_NAME soak and soakm, the same addresses in
# separate namespaces):
#   - natively, VmRSS/VmHWM read from /proc/PID/status every 0.5 s (sample_rss.py);
#   - under valgrind --tool=massif --time-unit=ms --max-snapshots=1000: the
#     live heap over time (massif's snapshots are spread evenly over the run).
# Then checks both -oJ and -oX files hold hosts x NPORTS open results
# (count.py), plots heap and RSS against time (plot_soak.py -> soak.png) and
# fits a line to the second half of each (slope in bytes/minute, soak-summary.txt).
#
# Writes next to this script: soak.png, soak-summary.txt, soak-rss.csv and
# soak-heap.csv, and memreport/soak-{rss,heap}.mem.json. Scan outputs and the
# massif file go to out/ (gitignored) and are deleted unless KEEP=1.
#
# Environment:
#   PRTIP=path        binary (default: cargo build --release -p prtip, then
#                     ${CARGO_TARGET_DIR:-target}/release/prtip)
#   DURATION=270      seconds the native pass should take (sets --max-rate; the
#                     massif pass takes ~20% longer, the script about 6 minutes)
#   PREFIX=198.19.0.0/16  scanned prefix (inside 198.18.0.0/15, see scripts/lab)
#   NPORTS=10         ports 1-NPORTS, listening and scanned
#   RSS_LAB=soak HEAP_LAB=soakm   lab names; both must be down at the start,
#                     both are brought down at the end
#   KEEP=1            keep out/soak-*.json, .xml and the massif file
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
die() { echo "soak: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, raw sockets)"
for tool in python3 valgrind; do command -v "$tool" >/dev/null || die "needs $tool"; done
python3 -c 'import matplotlib, numpy' 2>/dev/null || die "needs matplotlib (pip install matplotlib)"

DURATION=${DURATION:-270}
PREFIX=${PREFIX:-198.19.0.0/16}
NPORTS=${NPORTS:-10}
RSS_LAB=${RSS_LAB:-soak}
HEAP_LAB=${HEAP_LAB:-soakm}
KEEP=${KEEP:-0}
if ! [[ $DURATION =~ ^[0-9]+$ ]] || ((DURATION < 10 || DURATION > 900)); then die "DURATION must be 10..900 seconds"; fi
if ! [[ $NPORTS =~ ^[0-9]+$ ]] || ((NPORTS < 1 || NPORTS > 1000)); then die "NPORTS must be 1..1000"; fi
hosts=$((1 << (32 - ${PREFIX#*/})))
probes=$((hosts * NPORTS))
rate=$(((probes + DURATION - 1) / DURATION))
out=$here/out
mkdir -p "$out" "$here/memreport"

# shellcheck source=benchmarks/scripts/prtip-binary.sh
. benchmarks/scripts/prtip-binary.sh
bin=$(prtip_binary soak) || exit 2

for lab in "$RSS_LAB" "$HEAP_LAB"; do
    if LAB_NAME=$lab scripts/lab status >/dev/null 2>&1; then
        die "lab $lab is already up (someone else's?); set RSS_LAB / HEAP_LAB"
    fi
done
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    LAB_NAME=$RSS_LAB scripts/lab down >/dev/null 2>&1 || true
    LAB_NAME=$HEAP_LAB scripts/lab down >/dev/null 2>&1 || true
    if [ "$KEEP" != 1 ]; then rm -f "$out"/soak-*.json "$out"/soak-*.xml "$out"/soak.massif.out; fi
}
trap cleanup EXIT

ports=$(seq -s, 1 "$NPORTS")
for lab in "$RSS_LAB" "$HEAP_LAB"; do
    LAB_NAME=$lab scripts/lab up --prefix "$PREFIX" --ports "$ports" | cut -c1-100
done

scan=(-sS -n -Pn -p "1-$NPORTS" "$PREFIX" --max-rate "$rate")
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== soak: prtip ${scan[*]} ($probes probes, all open; ~$DURATION s), natively and under massif"
t0=$(date +%s)
LAB_NAME=$HEAP_LAB scripts/lab exec valgrind -q --tool=massif --time-unit=ms --max-snapshots=1000 \
    --detailed-freq=1000000 --massif-out-file="$out/soak.massif.out" \
    "$bin" "${scan[@]}" -oJ "$out/soak-heap.json" -oX "$out/soak-heap.xml" \
    --mem-report="json:$here/memreport/soak-heap.mem.json" >/dev/null &
mpid=$!
pids+=("$mpid")
LAB_NAME=$RSS_LAB scripts/lab exec "$bin" "${scan[@]}" -oJ "$out/soak-rss.json" -oX "$out/soak-rss.xml" \
    --mem-report="json:$here/memreport/soak-rss.mem.json" >/dev/null &
rpid=$!
pids+=("$rpid")
python3 "$here/sample_rss.py" "$rpid" "$here/soak-rss.csv" 0.5 $((DURATION * 3 + 120)) &
spid=$!
pids+=("$spid")

# Bounded wait: a pass that takes three times its planned length is a failure.
deadline=$((SECONDS + DURATION * 3 + 120))
while kill -0 "$rpid" 2>/dev/null || kill -0 "$mpid" 2>/dev/null; do
    if ((SECONDS > deadline)); then
        echo "soak: passes still running after $((DURATION * 3 + 120)) s; stopping them" >&2
        exit 1
    fi
    sleep 1
    if [ -z "${rss_end:-}" ] && ! kill -0 "$rpid" 2>/dev/null; then rss_end=$(date +%s); fi
done
t_end=$(date +%s)
rss_end=${rss_end:-$t_end}
wait "$rpid" || die "native pass failed"
wait "$mpid" || die "massif pass failed"
wait "$spid" || die "RSS sampler failed"
pids=()
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

failed=0
expected=$probes
read -r rjh rjo rxh rxo < <(python3 "$here/count.py" "$out/soak-rss.json" "$out/soak-rss.xml")
read -r mjh mjo mxh mxo < <(python3 "$here/count.py" "$out/soak-heap.json" "$out/soak-heap.xml")
for n in "$rjo" "$rxo" "$mjo" "$mxo"; do [ "$n" = "$expected" ] || failed=1; done
for n in "$rjh" "$rxh" "$mjh" "$mxh"; do [ "$n" = "$hosts" ] || failed=1; done
peak() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["totals"]["peak_live_bytes"], d.get("peak_rss_bytes"))' "$1"; }
read -r rpeak rrss < <(peak "$here/memreport/soak-rss.mem.json")
read -r mpeak _ < <(peak "$here/memreport/soak-heap.mem.json")

summary=$here/soak-summary.txt
{
    echo "# generated by benchmarks/streaming/soak.sh; do not edit"
    echo "command: prtip ${scan[*]} -oJ FILE -oX FILE --mem-report=json:FILE"
    echo "probes $probes (${hosts} hosts x $NPORTS ports, all listening), --max-rate $rate"
    echo "native pass: $((rss_end - t0)) s wall; open results -oJ $rjo, -oX $rxo (expected $expected); hosts $rjh / $rxh; --mem-report peak heap $rpeak B, peak RSS $rrss B"
    echo "massif pass: $((t_end - t0)) s wall; open results -oJ $mjo, -oX $mxo (expected $expected); hosts $mjh / $mxh; --mem-report peak heap $mpeak B"
    echo "load average: start $load_start, end $load_end"
    echo "check: $([ "$failed" = 0 ] && echo ok || echo FAIL)"
} >"$summary"
python3 "$here/plot_soak.py" --massif "$out/soak.massif.out" --rss "$here/soak-rss.csv" \
    --png "$here/soak.png" --heap-csv "$here/soak-heap.csv" --summary "$summary" \
    --title "prtip ${scan[*]}: $(printf "%'d" "$probes") open results, ~$DURATION s"
if [ "$failed" != 0 ]; then
    echo "soak: FAIL (result counts differ from hosts x ports)" >&2
    exit 1
fi
