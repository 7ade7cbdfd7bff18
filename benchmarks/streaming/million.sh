#!/usr/bin/env bash
# More than a million open-port results from one SYN scan, and the heap that
# costs: prtip's peak heap must not grow with the number of results.
# Results and their meaning: benchmarks/streaming/README.md.
#
# Usage (root): benchmarks/streaming/million.sh
#
# Brings up its own namespace lab (scripts/lab, LAB_NAME=stream by default,
# prefix BASE/20 routed to lo in the target namespace, so every address
# answers; one python listener on ports 1-1000), then runs, inside the
# scanning namespace, under /usr/bin/time -v:
#
#   prtip -sS -n -Pn -p <ports> <target> -oJ F.json -oX F.xml --mem-report=json:F.mem.json
#
# for these (name: ports scanned x target, ports listening -> open results):
#   p1000-h1024         1-1000 x BASE/22, 1-1000 listening -> 1,024,000
#   p100-h1024          1-100  x BASE/22, 1-1000 listening ->   102,400
#   p10-h1024           1-10   x BASE/22, 1-1000 listening ->    10,240
#   p1000-h2048         1-1000 x BASE/21, 1-1000 listening -> 2,048,000 (one full 2^21-probe window)
#   p1000-h4096         1-1000 x BASE/20, 1-1000 listening -> 4,096,000 (two windows)
#   massif              p1000-h1024 again under valgrind massif (independent heap peak)
#   p65535-h4           1-65535 x BASE/30, 1-65535 listening ->  262,140 (every port of a
#                       host open: the largest result set one host can have; the extra
#                       ports 1001-65535 listen through listen.py, four processes)
#   p1000-h1024-open100 1-1000 x BASE/22, 1-100 listening  ->   102,400 (same probes, 1/10 of the results)
#   p1000-h1024-open10  1-1000 x BASE/22, 1-10 listening   ->    10,240 (same probes, 1/100)
#
# and checks that the -oJ and the -oX file of every scan hold exactly
# hosts x open ports open results (count.py). Writes million.csv and
# million.md next to this script, and each scan's --mem-report JSON and
# /usr/bin/time -v output to memreport/; the big outputs go to out/
# (gitignored) and are deleted after counting unless KEEP=1.
#
# Environment:
#   PRTIP=path        binary to test (default: cargo build --release -p prtip,
#                     then ${CARGO_TARGET_DIR:-target}/release/prtip)
#   LAB_NAME=stream   the lab to create; it must be down at the start and is
#                     brought down at the end
#   BASE=198.18.32.0  the lab prefix is BASE/20, inside 198.18.0.0/15
#   QUICK=1           skip the 2,048,000- and 4,096,000-result scans and p65535-h4
#   MASSIF=0          skip the massif run
#   KEEP=1            keep the -oJ/-oX/massif files in out/
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
[ "$(id -u)" = 0 ] || { echo "million: needs root (network namespaces, raw sockets)" >&2; exit 2; }
for tool in python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "million: needs $tool" >&2; exit 2; }
done

export LAB_NAME=${LAB_NAME:-stream}
BASE=${BASE:-198.18.32.0}
QUICK=${QUICK:-0}
MASSIF=${MASSIF:-1}
KEEP=${KEEP:-0}
LAB_PREFIX=$BASE/20
out=$here/out
rep=$here/memreport
mkdir -p "$out" "$rep"

# shellcheck source=benchmarks/scripts/prtip-binary.sh
. benchmarks/scripts/prtip-binary.sh
bin=$(prtip_binary million) || exit 2
if [ "$MASSIF" = 1 ]; then
    command -v valgrind >/dev/null || { echo "million: needs valgrind (or MASSIF=0)" >&2; exit 2; }
fi

if scripts/lab status >/dev/null 2>&1; then
    echo "million: lab $LAB_NAME is already up (someone else's?); choose another LAB_NAME" >&2
    exit 2
fi
extra_pids=()
cleanup() {
    local p
    for p in "${extra_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    scripts/lab down >/dev/null 2>&1 || true
    if [ "$KEEP" != 1 ]; then rm -f "$out"/million-*.json "$out"/million-*.xml "$out"/million-*.massif.out; fi
}
trap cleanup EXIT

lab_listen() { # last port: the listener accepts on 1..N on every address of the prefix
    scripts/lab up --prefix "$LAB_PREFIX" --ports "$(seq -s, 1 "$1")" | cut -c1-100
}

t_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
csv=$here/million.csv
echo "name,target,ports_scanned,ports_listening,hosts,probes,expected_open,json_hosts,json_open,xml_hosts,xml_open,peak_heap_B,sending_peak_B,output_peak_B,error_bound_B,peak_rss_KiB,wall_s,user_s,sys_s,json_B,xml_B,load1,check" >"$csv"
failed=0

# scan NAME PORTS(last of 1-N) TARGET LISTENING(last of 1-N)
scan() {
    local name=$1 nports=$2 target=$3 nlisten=$4 f=$out/million-$1 r=$rep/million-$1
    local hosts=$((1 << (32 - ${target#*/})))
    local open=$((nports < nlisten ? nports : nlisten))
    echo "== $name: prtip -sS -n -Pn -p 1-$nports $target (listening on 1-$nlisten)"
    scripts/lab exec /usr/bin/time -v -o "$r.time" "$bin" -sS -n -Pn -p "1-$nports" "$target" \
        -oJ "$f.json" -oX "$f.xml" --mem-report="json:$r.mem.json" >/dev/null
    local load counts
    load=$(cut -d' ' -f1 /proc/loadavg)
    counts=$(python3 "$here/count.py" "$f.json" "$f.xml")
    python3 - "$name" "$target" "$nports" "$nlisten" "$hosts" "$open" "$f" "$r" "$counts" "$load" >>"$csv" <<'PY' || failed=1
import json, os, re, sys
name, target, nports, nlisten, hosts, open_, f, r, counts, load = sys.argv[1:]
nports, nlisten, hosts, open_ = map(int, (nports, nlisten, hosts, open_))
jh, jo, xh, xo = map(int, counts.split())
mem = json.load(open(r + ".mem.json"))
phase = {p["phase"]: p for p in mem["phases"]}
tv = open(r + ".time").read()
def tfield(label):
    return re.search(re.escape(label) + r":\s*(\S+)", tv).group(1)
wall = tfield("Elapsed (wall clock) time (h:mm:ss or m:ss)")
secs = 0.0
for part in wall.split(":"):
    secs = secs * 60 + float(part)
expected = hosts * open_
ok = jh == xh == hosts and jo == xo == expected
row = [name, target, nports, nlisten, hosts, hosts * nports, expected, jh, jo, xh, xo,
       mem["totals"]["peak_live_bytes"], phase["sending"]["peak_live_bytes"],
       phase["output"]["peak_live_bytes"], mem["totals"]["error_bound_bytes"],
       tfield("Maximum resident set size (kbytes)"), f"{secs:.2f}",
       tfield("User time (seconds)"), tfield("System time (seconds)"),
       os.path.getsize(f + ".json"), os.path.getsize(f + ".xml"), load, "ok" if ok else "FAIL"]
print(",".join(map(str, row)))
print(f"   open results: json {jo:,} xml {xo:,} (expected {expected:,}); hosts json {jh} xml {xh}; "
      f"peak heap {mem['totals']['peak_live_bytes']:,} B; peak RSS {row[15]} KiB; {secs:.1f} s"
      + ("" if ok else "  <-- FAIL"), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
    [ "$KEEP" = 1 ] || rm -f "$f.json" "$f.xml"
}

lab_listen 1000
scan p1000-h1024 1000 "$BASE/22" 1000
scan p100-h1024 100 "$BASE/22" 1000
scan p10-h1024 10 "$BASE/22" 1000
if [ "$QUICK" != 1 ]; then
    scan p1000-h2048 1000 "$BASE/21" 1000
    scan p1000-h4096 1000 "$BASE/20" 1000
fi
massif_line=
if [ "$MASSIF" = 1 ]; then
    f=$out/million-massif
    r=$rep/million-massif
    echo "== massif: valgrind --tool=massif prtip -sS -n -Pn -p 1-1000 $BASE/22"
    scripts/lab exec valgrind -q --tool=massif --massif-out-file="$f.massif.out" "$bin" -sS -n -Pn \
        -p 1-1000 "$BASE/22" -oJ "$f.json" -oX "$f.xml" --mem-report="json:$r.mem.json" >/dev/null
    read -r jh jo xh xo < <(python3 "$here/count.py" "$f.json" "$f.xml")
    read -r mheap mtotal _ _ < <(python3 "$here/massif.py" "$f.massif.out")
    mrep=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["peak_live_bytes"])' "$r.mem.json")
    massif_line="massif (same scan, p1000-h1024): peak mem_heap_B $mheap, heap+extra $mtotal; --mem-report of that run $mrep; open results json $jo xml $xo"
    echo "   $massif_line"
    if [ "$jo" != 1024000 ] || [ "$xo" != 1024000 ] || [ "$jh" != 1024 ] || [ "$xh" != 1024 ]; then failed=1; fi
    [ "$KEEP" = 1 ] || rm -f "$f.json" "$f.xml"
fi
if [ "$QUICK" != 1 ]; then
    # Ports 1001-65535 too: four listen.py processes (one process may hold
    # at most RLIMIT_NOFILE's hard limit of sockets).
    eval "$(scripts/lab env)"
    for range in "1001 17000" "17001 33000" "33001 49000" "49001 65535"; do
        read -r lo hi <<<"$range"
        rm -f "$out/listen.$lo"
        ip netns exec "$LAB_TARGET_NS" python3 "$here/listen.py" "$lo" "$hi" "$out/listen.$lo" 900 &
        extra_pids+=("$!")
    done
    for _ in $(seq 1 300); do
        [ "$(cat "$out"/listen.* 2>/dev/null | wc -l)" = 4 ] && break
        sleep 0.2
    done
    [ "$(cat "$out"/listen.* 2>/dev/null | wc -l)" = 4 ] || { echo "million: listen.py did not start" >&2; exit 1; }
    scan p65535-h4 65535 "$BASE/30" 65535
    for p in "${extra_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${extra_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    extra_pids=()
    rm -f "$out"/listen.*
fi
lab_listen 100
scan p1000-h1024-open100 1000 "$BASE/22" 100
lab_listen 10
scan p1000-h1024-open10 1000 "$BASE/22" 10

t_end=$(date +%s)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
python3 - "$csv" "$here/million.md" "$massif_line" "$((t_end - t_start))" "$load_start" "$rev" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
with open(sys.argv[2], "w") as md:
    md.write("<!-- generated by benchmarks/streaming/million.sh; do not edit -->\n")
    md.write("| scan | ports scanned x hosts | listening | probes | open results (-oJ / -oX) | peak heap | sending peak | output peak | peak RSS | wall | user + sys | -oJ + -oX size | load | check |\n")
    md.write("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    for r in rows:
        i = lambda k: int(r[k])
        md.write(f"| {r['name']} | {i('ports_scanned'):,} x {i('hosts'):,} | {i('ports_listening'):,} | {i('probes'):,} "
                 f"| {i('json_open'):,} / {i('xml_open'):,} | {i('peak_heap_B'):,} B | {i('sending_peak_B'):,} B "
                 f"| {i('output_peak_B'):,} B | {i('peak_rss_KiB'):,} KiB | {float(r['wall_s']):.1f} s "
                 f"| {float(r['user_s']) + float(r['sys_s']):.1f} s | {(i('json_B') + i('xml_B')) / 1e6:,.0f} MB "
                 f"| {r['load1']} | {r['check']} |\n")
    if sys.argv[3]:
        md.write(f"\n{sys.argv[3]}\n")
    md.write(f"\nScript run time {sys.argv[4]} s (after the build); load average at start {sys.argv[5]}; "
             f"tree at commit {sys.argv[6]} (plus uncommitted changes, if any).\n")
print(open(sys.argv[2]).read())
PY
if [ "$failed" != 0 ]; then
    echo "million: FAIL (some result counts differ from hosts x open ports)" >&2
    exit 1
fi
echo "million: all result counts match"
