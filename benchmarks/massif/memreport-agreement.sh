#!/usr/bin/env bash
# Does `prtip --mem-report` agree with Valgrind massif on the same run?
#
# Runs one scan under `valgrind --tool=massif` with `--mem-report=json:FILE`
# and compares massif's largest mem_heap_B (requested bytes as valgrind's
# malloc sees them, which includes memprof's per-block header) with
# memprof's peak_live_bytes_with_headers. Exits non-zero when they differ by
# more than 10%.
#
# Usage: benchmarks/massif/memreport-agreement.sh [prtip arguments...]
# Default scan: -sT -n -p 1-1000 127.0.0.1 (loopback only).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)"; exit 2; }
[ $# -gt 0 ] || set -- -sT -n -p 1-1000 127.0.0.1
cargo build --release --locked -q -p prtip
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
valgrind -q --tool=massif --massif-out-file="$tmp/massif.out" \
    target/release/prtip "$@" --mem-report="json:$tmp/report.json" >/dev/null
python3 - "$tmp/massif.out" "$tmp/report.json" <<'PY'
import json, re, sys
massif = max(int(v) for v in re.findall(r"mem_heap_B=(\d+)", open(sys.argv[1]).read()))
report = json.load(open(sys.argv[2]))
ours = report["totals"]["peak_live_bytes_with_headers"]
requested = report["totals"]["peak_live_bytes"]
diff = abs(ours - massif) / massif
print(f"massif peak mem_heap_B          {massif:>10,d} B")
print(f"--mem-report peak (with headers) {ours:>10,d} B  ({requested:,d} B requested)")
print(f"difference                       {diff:>10.1%}  (limit 10%)")
sys.exit(0 if diff <= 0.10 else 1)
PY
