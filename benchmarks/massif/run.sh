#!/usr/bin/env bash
# The memory plan's scenarios under Valgrind, on the release binary.
#
# Needs root (raw sockets for -sS; valgrind refuses binaries with file
# capabilities, so run as root rather than with setcap). Writes, next to this
# script, <scenario>.out (massif), <scenario>-report.txt (ms_print),
# <scenario>.memreport.json (prtip --mem-report of the same run) and
# leak-check.txt, then regenerates the measured table in results.md.
#
# Usage: benchmarks/massif/run.sh [SCENARIO...]   (default: all available)
# Scenarios: stateless-1k, stateful-10k (127.0.0.0/22: 1,024 loopback hosts),
# udp-1k (nmap's top 1,000 UDP ports of 127.0.0.1, exempt from ICMP limits),
# service-detection and os-fingerprinting (both inside the namespace of
# scripts/services, whose 127.0.0.1 has real ssh, http and https daemons;
# brought up if needed and left up), event-log (stateful-10k with -dd, so
# every port is listed, and --event-log: 1,025,029 events), leak-check.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
[ "$(id -u)" = 0 ] || { echo "needs root (raw sockets)"; exit 2; }
command -v valgrind >/dev/null || { echo "needs valgrind"; exit 2; }
command -v ms_print >/dev/null || { echo "needs ms_print (valgrind)"; exit 2; }
cargo build --release --locked -q -p prtip
bin=target/release/prtip
evlog=$(mktemp)
trap 'rm -f "$evlog"' EXIT

declare -A ARGS=(
    [stateless-1k]="-sS -n -p 1-1000 127.0.0.1"
    [stateful-10k]="-sS -n -p 1-1000 127.0.0.0/22"
    [udp-1k]="-sU -n -Pn --top-ports 1000 127.0.0.1"
    [service-detection]="-sV -n -p 22,80,443 127.0.0.1"
    [os-fingerprinting]="-O -n -p 80 127.0.0.1"
    [event-log]="-sS -n -dd -p 1-1000 127.0.0.0/22 --event-log $evlog"
)
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(stateless-1k stateful-10k udp-1k service-detection os-fingerprinting event-log leak-check)

for s in "${scenarios[@]}"; do
    case $s in
    leak-check)
        echo "== leak-check"
        benchmarks/massif/leak-check.sh "$here/leak-check.txt"
        ;;
    stateless-1k | stateful-10k | udp-1k | service-detection | os-fingerprinting | event-log)
        echo "== $s: prtip ${ARGS[$s]}"
        run=()
        if [ "$s" = service-detection ] || [ "$s" = os-fingerprinting ]; then
            scripts/services status >/dev/null 2>&1 || scripts/services up >/dev/null
            run=(scripts/services exec)
        fi
        # shellcheck disable=SC2086
        "${run[@]}" valgrind -q --tool=massif --massif-out-file="$here/$s.out" \
            "$PWD/$bin" ${ARGS[$s]} --mem-report="json:$here/$s.memreport.json" >/dev/null
        ms_print "$here/$s.out" >"$here/$s-report.txt"
        # Mapped memory too (rings, mapped files, thread stacks): pages as heap.
        # shellcheck disable=SC2086
        "${run[@]}" valgrind -q --tool=massif --pages-as-heap=yes --massif-out-file="$here/$s.pages.out" \
            "$PWD/$bin" ${ARGS[$s]} >/dev/null
        # Peak RSS of a run without valgrind.
        # shellcheck disable=SC2086
        "${run[@]}" /usr/bin/time -f "%M" -o "$here/$s.rss" "$PWD/$bin" ${ARGS[$s]} >/dev/null
        ;;
    *)
        echo "unknown scenario $s"; exit 2 ;;
    esac
done

python3 - "$here" <<'PY'
import json, os, re, sys
here = sys.argv[1]
rows = [
    ("stateless-1k", "`-sS -p 1-1000 127.0.0.1`", 1 << 20, 256 << 10),
    ("stateful-10k", "`-sS -p 1-1000 127.0.0.0/22`", 100 << 20, 2 << 20),
    ("udp-1k", "`-sU -Pn --top-ports 1000 127.0.0.1`", 1 << 20, 256 << 10),
    ("service-detection", "`-sV -p 22,80,443 127.0.0.1`", 10 << 20, 4 << 20),
    ("os-fingerprinting", "`-O -p 80 127.0.0.1`", 5 << 20, 2 << 20),
    ("event-log", "`-sS -dd -p 1-1000 127.0.0.0/22 --event-log FILE` (1,025,029 events)", 100 << 20, (2 << 20) + (128 << 10)),
]
def kib(n): return f"{n / 1024:,.1f} KiB"
def peak(path, key):
    text = open(path).read()
    snaps = text.split("snapshot=")[1:]
    best = 0
    for s in snaps:
        vals = dict(re.findall(r"(mem_heap_B|mem_heap_extra_B)=(\d+)", s))
        total = int(vals.get("mem_heap_B", 0)) + (int(vals.get("mem_heap_extra_B", 0)) if key == "total" else 0)
        best = max(best, total)
    return best
out = ["| scenario | command | plan budget | our goal | massif peak (heap + extra) | --mem-report peak | peak RSS | pages-as-heap peak (virtual) | pass |",
       "|---|---|---|---|---|---|---|---|---|"]
for name, cmd, plan, goal in rows:
    f = os.path.join(here, name + ".out")
    if not os.path.exists(f):
        why = "not run yet"
        out.append(f"| {name} | {cmd} | {kib(plan)} | {kib(goal)} | {why} | - | - | - | - |")
        continue
    total = peak(f, "total")
    rep = json.load(open(os.path.join(here, name + ".memreport.json")))["totals"]["peak_live_bytes"]
    rss = int(open(os.path.join(here, name + ".rss")).read().split()[-1]) * 1024
    pages = peak(os.path.join(here, name + ".pages.out"), "heap")
    ok = "pass" if total <= goal else "FAIL"
    out.append(f"| {name} | {cmd} | {kib(plan)} | {kib(goal)} | {kib(total)} | {kib(rep)} | {kib(rss)} | {kib(pages)} | {ok} |")
leak = os.path.join(here, "leak-check.txt")
if os.path.exists(leak):
    runs = open(leak).read().split("== prtip ")[1:]
    scans, d, p = [], [], []
    for r in runs:
        scans.append("`" + r.splitlines()[0].strip() + "`")
        if "All heap blocks were freed" in r:
            d.append("0"); p.append("0"); continue
        dd = re.findall(r"definitely lost: ([\d,]+) bytes", r)
        pp = re.findall(r"possibly lost: ([\d,]+) bytes", r)
        d.append(dd[-1] if dd else "?"); p.append(pp[-1] if pp else "?")
    ok = bool(runs) and all(x == "0" for x in d + p)
    out.append(f"| leak-check | {'; '.join(scans)} | 0 leaks | 0 definitely, 0 possibly lost | definitely {', '.join(d)}; possibly {', '.join(p)} | - | - | - | {'pass' if ok else 'FAIL'} |")
open(os.path.join(here, "results.md"), "w").write(
    "<!-- generated by benchmarks/massif/run.sh; do not edit -->\n" + "\n".join(out) + "\n")
print("\n".join(out))
PY
