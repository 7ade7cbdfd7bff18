#!/usr/bin/env bash
# What does the event stream cost? The lab SYN scan (-sS -n -Pn -p 1-1000 of
# the lab prefix, default 198.18.4.0/22: 1,024 hosts, 1,024,000 probes) with
# and without --event-log, interleaved run by run in the same lab (each
# going first every other run), so load drift hits both alike. Prints every run, the medians (wall seconds, peak RSS)
# and the ratio (goal: with / without <= 1.03), and checks that both found
# every listener open, that the log ends with its scan_end line and holds a
# port line per listener and host (results are never dropped; the engine's
# own events may be, and the line says how many).
#
# Usage: [LAB_NAME=prtip] benchmarks/scripts/event-log-cost.sh [RUNS]   (default 5)
# Needs root (network namespaces). Run it under the lab lock:
#   flock -o /tmp/prtip-lab.lock benchmarks/scripts/event-log-cost.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
ports=1-1000
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)"; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 2; }
target_dir=${CARGO_TARGET_DIR:-target}
cargo build --release --locked -q -p prtip
prtip=$(realpath "$target_dir/release/prtip")

# A lab this script brings up is taken down at the end: its listener would
# otherwise keep every file descriptor it inherited, the lab lock's too when
# run as `flock /tmp/prtip-lab.lock ...` (use `flock -o`).
brought_up=0
if ! scripts/lab status >/dev/null 2>&1; then
    scripts/lab up
    brought_up=1
fi
eval "$(scripts/lab env)"
prefix=$LAB_PREFIX
hosts=$((1 << (32 - ${prefix#*/})))
nopen=$(tr ',' '\n' <<<"$LAB_PORTS" | awk -F- '$1 >= 1 && $1 <= 1000' | wc -l)
echo "lab $LAB_NAME: prefix $prefix ($hosts hosts), listeners $LAB_PORTS; scanning ports $ports"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ "$brought_up" = 0 ] || scripts/lab down >/dev/null' EXIT

run() { # name, extra prtip arguments...
    local name=$1 secs kb found
    shift
    /usr/bin/time -f "%e %M" -o "$tmp/t" scripts/lab exec "$prtip" -sS -n -Pn -p "$ports" \
        -oG "$tmp/$name.gnmap" "$@" "$prefix" >/dev/null 2>"$tmp/err" || {
        echo "$name failed:"
        cat "$tmp/err"
        exit 1
    }
    read -r secs kb <"$tmp/t"
    echo "$secs $kb" >>"$tmp/$name"
    found=$(grep -o '/open/' "$tmp/$name.gnmap" | wc -l)
    printf '  %-8s %7.3f s  %7d KB RSS  open=%d' "$name" "$secs" "$kb" "$found"
    if [ "$found" -ne $((hosts * nopen)) ]; then
        printf '  (EXPECTED %d)\n' $((hosts * nopen))
        echo "$name" >>"$tmp/misses"
    else
        echo
    fi
}

for i in $(seq 1 "$runs"); do
    echo "run $i/$runs (load $(cut -d' ' -f1-3 /proc/loadavg))"
    # Alternate which goes first: the first scan of a pair meets the target
    # fresh from the last one's, and that order effect must hit both alike.
    if [ $((i % 2)) = 1 ]; then
        run without
        run with --event-log "$tmp/events.jsonl"
    else
        run with --event-log "$tmp/events.jsonl"
        run without
    fi
    last=$(tail -n1 "$tmp/events.jsonl")
    echo "           $(wc -l <"$tmp/events.jsonl") lines; last: $last"
    grep -q '"event":"scan_end".*"dropped":[0-9]*}$' <<<"$last" || echo "with: bad last line" >>"$tmp/misses"
    listed=$(grep -c '"event":"port",.*"state":"open"' "$tmp/events.jsonl" || true)
    [ "$listed" -eq $((hosts * nopen)) ] || echo "with: $listed open port lines" >>"$tmp/misses"
done

# shellcheck source=benchmarks/scripts/stats.sh
. benchmarks/scripts/stats.sh
col() { awk -v c="$2" '{print $c}' "$tmp/$1" | median; }
echo
echo "median of $runs runs (wall seconds incl. start-up, peak RSS KB):"
for n in without with; do
    printf '  %-8s %7.3f s  %7s KB\n' "$n" "$(col "$n" 1)" "$(col "$n" 2)"
done
echo "with / without = $(ratio "$(col with 1)" "$(col without 1)") (goal <= 1.03)"
if [ -f "$tmp/misses" ]; then
    sort "$tmp/misses" | uniq -c
    exit 1
fi
