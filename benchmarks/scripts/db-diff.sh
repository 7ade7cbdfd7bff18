#!/usr/bin/env bash
# `prtip db diff` of two large recorded scans: wall time and peak RSS.
#
# Usage: [PRTIP=target/release/prtip] [HOSTS=100000] [NDIFF=0] [KEEP=FILE]
#        benchmarks/scripts/db-diff.sh [RUNS]            (default 3)
# KEEP=FILE keeps the database there (and reuses it when it exists).
#
# Builds one SQLite history (in a temporary directory) holding two scans of
# HOSTS hosts with 10 listed ports each (HOSTS x 10 port results per scan,
# 1,000,000 by default) and a "Not shown: 990 closed ports" group per host.
# The rows are written by sqlite3 straight into prtip's schema (no packets:
# the 198.18.0.0/15 addresses are only data). Between the scans, 1% of the
# hosts are gone, 1% are new, and one host in 97 has a port that changed
# from open to closed. Then, RUNS times each, under /usr/bin/time -v:
#   prtip db diff 2 3 --db FILE            (ndiff's text)
#   prtip db diff 2 3 --json --db FILE
# and prints the median wall time, the largest peak RSS and the output's
# line count. With NDIFF=1 it also exports both scans with -oX and times
# ndiff on the two files (slow: ndiff loads both documents).
set -euo pipefail

RUNS=${1:-3}
PRTIP=${PRTIP:-target/release/prtip}
HOSTS=${HOSTS:-100000}
NDIFF=${NDIFF:-0}
command -v sqlite3 >/dev/null || { echo "needs sqlite3" >&2; exit 1; }
[ -x "$PRTIP" ] || { echo "no $PRTIP (cargo build --release -p prtip)" >&2; exit 1; }
[ "$HOSTS" -le 131072 ] || { echo "HOSTS must fit in 198.18.0.0/15" >&2; exit 1; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
db="${KEEP:-$dir/h.sqlite}"

if [ -n "${KEEP:-}" ] && [ -s "$KEEP" ]; then
    echo "reusing $KEEP"
else
# Scan 1 is a tiny imported file: it creates the database with prtip's schema.
cat >"$dir/tiny.xml" <<'EOF'
<nmaprun scanner="nmap" args="tiny" start="1700000000" version="7.93">
<runstats><finished time="1700000001" elapsed="1.00"/><hosts up="0" down="0" total="0"/></runstats>
</nmaprun>
EOF
"$PRTIP" db import "$dir/tiny.xml" --db "$db" >/dev/null

gone=$((HOSTS / 100))
sqlite3 "$db" >/dev/null <<EOF
PRAGMA journal_mode=WAL;
BEGIN;
INSERT INTO scans (id, args, started_us, ended_us, elapsed_us, prtip_version, status, verbose, debug,
    show_reason, port_scan, version_scan, os_scan, os_guess, hosts_up, hosts_down)
VALUES (2, 'bench scan a', 1700000000000000, 1700000100000000, 100000000, '0.1.0', 'done', 0, 0, 0, 1, 0, 0, 0, $HOSTS, 0),
       (3, 'bench scan b', 1700086400000000, 1700086500000000, 100000000, '0.1.0', 'done', 0, 0, 0, 1, 0, 0, 0, $HOSTS, 0);
INSERT INTO scan_types (scan_id, seq, scan_type, protocol, num_services, services)
VALUES (2, 0, 'syn', 'tcp', 1000, '1-1000'), (3, 0, 'syn', 'tcp', 1000, '1-1000');
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $HOSTS + $gone - 1)
INSERT INTO hosts (scan_id, seq, addr, status, reason, started_us, ended_us)
SELECT s, i, '198.' || (18 + (i >> 16)) || '.' || ((i >> 8) & 255) || '.' || (i & 255), 'up', 'syn-ack',
       1700000000000000, 1700000001000000
FROM n, (SELECT 2 AS s UNION ALL SELECT 3)
WHERE (s = 2 AND i < $HOSTS) OR (s = 3 AND i >= $gone);
WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 9)
INSERT INTO ports (host_id, seq, protocol, port, state, reason, reason_ttl, service, method, conf)
SELECT h.id, j, 'tcp', 1 + j * 100,
       CASE WHEN h.scan_id = 3 AND h.seq % 97 = 0 AND j = 5 THEN 'closed' ELSE 'open' END,
       'syn-ack', 64, 'svc' || j, 'table', 3
FROM hosts h, k WHERE h.scan_id IN (2, 3);
INSERT INTO extraports (host_id, seq, state, count)
SELECT id, 0, 'closed', 990 FROM hosts WHERE scan_id IN (2, 3);
COMMIT;
EOF
fi
ls -l "$db" | awk '{print "database: " $5 " bytes"}'
sqlite3 "$db" "SELECT 'port results per scan: ' || COUNT(*) FROM ports JOIN hosts ON hosts.id = ports.host_id WHERE scan_id = 2;"

# measure NAME CMD...: RUNS runs; median wall seconds, max peak RSS (KiB), output lines.
measure() {
    local name=$1
    shift
    local times=() rss=0 lines=0
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -v -o "$dir/time" "$@" >"$dir/out"
        times+=("$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$dir/time")")
        local r
        r=$(awk -F': ' '/Maximum resident/ {print $2}' "$dir/time")
        [ "$r" -gt "$rss" ] && rss=$r
        lines=$(wc -l <"$dir/out")
    done
    local median
    median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
    printf '| %s | %s s | %s KiB | %s |\n' "$name" "$median" "$rss" "$lines"
}

echo "| command | median wall | peak RSS | output lines |"
echo "| --- | --- | --- | --- |"
measure "prtip db diff 2 3" "$PRTIP" db diff 2 3 --db "$db"
measure "prtip db diff 2 3 --json" "$PRTIP" db diff 2 3 --json --db "$db"
if [ "$NDIFF" = 1 ]; then
    "$PRTIP" db export 2 -oX "$dir/a.xml" --db "$db"
    "$PRTIP" db export 3 -oX "$dir/b.xml" --db "$db"
    measure "ndiff a.xml b.xml" sh -c "ndiff '$dir/a.xml' '$dir/b.xml'; [ \$? -le 1 ]"
    "$PRTIP" db diff 2 3 --db "$db" >"$dir/ours"
    ndiff "$dir/a.xml" "$dir/b.xml" >"$dir/theirs" || true
    if cmp -s "$dir/ours" "$dir/theirs"; then echo "prtip db diff == ndiff"; else echo "prtip db diff != ndiff"; fi
fi
