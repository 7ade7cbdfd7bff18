#!/usr/bin/env bash
# -sV against hostile services, measured: wall time and heap of
#     prtip -sT -sV -n -Pn -p <port(s)> [--host-timeout 10s] 127.0.0.1
# against each service of prtip_testkit::hostile (the ones
# prtip/tests/service_hostile.rs asserts bounds on), served by this
# repository's `hostile-services` program in a network namespace of its own.
#
# Usage: [PRTIP=target/release/prtip] benchmarks/scripts/hostile-services.sh [RUNS]   (default 3)
#
# Each case runs RUNS times; the table has the median wall time, the median
# peak of the service-detection phase and of the whole process (both from
# --mem-report=json, requested bytes), the median peak RSS, and what prtip
# reported. The trickle and the silent service are also run without
# --host-timeout, to show the bound -sV keeps by itself. Only 127.0.0.1
# inside the namespace is scanned. Needs root.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer: $runs"; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root (network namespace)"; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 2; }
command -v python3 >/dev/null || { echo "needs python3"; exit 2; }

# shellcheck source=benchmarks/scripts/prtip-binary.sh
. benchmarks/scripts/prtip-binary.sh
# shellcheck source=benchmarks/scripts/stats.sh
. benchmarks/scripts/stats.sh
prtip=$(prtip_binary hostile-services) || exit 2
cargo build --release --locked -q -p prtip-testkit --bin hostile-services
services=$(realpath "${CARGO_TARGET_DIR:-target}/release/hostile-services")

ns=prtip-hostile-b$$
tmp=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up

ip netns exec "$ns" "$services" trickle=10001 endless-banner=10002 flood=10003 silent=10004 \
    tls-garbage=10005 tls-cut=10006 hang=20000-20999 >"$tmp/services.out" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    grep -q '^ready$' "$tmp/services.out" && break
    kill -0 "$server" 2>/dev/null || { cat "$tmp/services.out"; exit 1; }
    sleep 0.1
done
grep -q '^ready$' "$tmp/services.out" || { echo "hostile-services did not start"; exit 1; }

# case name | ports | extra arguments
cases=(
    "trickle: 1 byte every 10 ms for 60 s|10001|--host-timeout 10s"
    "trickle: 1 byte every 10 ms for 60 s|10001|"
    "endless banner (100 MB of 220- lines)|10002|"
    "100 MB flood|10003|"
    "accepted, never answered|10004|--host-timeout 10s"
    "accepted, never answered|10004|"
    "TLS garbage (an alert, then noise)|10005|"
    "closed mid-TLS-handshake|10006|"
    "1,000 ports accept and hang|20000-20999|--host-timeout 10s"
)

# One run: "wall_s rss_kb phase_peak_b total_peak_b result" appended to $tmp/<i>.
measure() { # index, ports, extra
    local i=$1 ports=$2 extra=$3 rc=0 result
    local -a args=(-sT -sV -n -Pn -p "$ports")
    # shellcheck disable=SC2206
    [ -n "$extra" ] && args+=($extra)
    /usr/bin/time -f '%e %M' -o "$tmp/time" ip netns exec "$ns" "$prtip" "${args[@]}" \
        --mem-report=json:"$tmp/mem.json" 127.0.0.1 >"$tmp/out" 2>"$tmp/err" || rc=$?
    if [ "$rc" != 0 ]; then
        echo "case $i failed (exit $rc): $(head -n2 "$tmp/err")" >&2
        exit 1
    fi
    if grep -q 'due to host timeout' "$tmp/err"; then
        result="host timed out"
    else
        result=$(awk '/^[0-9]+\/tcp/ { print $2, $3 }' "$tmp/out" | sort | uniq -c |
            awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $3 }')
    fi
    python3 - "$tmp/mem.json" "$(tail -n1 "$tmp/time")" "$result" >>"$tmp/$i" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
phase = next(p for p in report["phases"] if p["phase"] == "service detection")
wall, rss = sys.argv[2].split()
print(wall, rss, phase["peak_live_bytes"], report["totals"]["peak_live_bytes"], sys.argv[3])
EOF
}

for r in $(seq 1 "$runs"); do
    for i in "${!cases[@]}"; do
        IFS='|' read -r name ports extra <<<"${cases[$i]}"
        measure "$i" "$ports" "$extra"
        printf 'run %d/%d  %-40s %-22s %s\n' "$r" "$runs" "$name" "${extra:--}" "$(tail -n1 "$tmp/$i" | cut -d' ' -f1)" >&2
    done
done

col() { awk -v c="$2" '{ print $c }' "$tmp/$1"; }
kb() { awk '{ printf "%.0f", $1 / 1024 }'; }
echo
echo "## prtip -sT -sV -n -Pn against hostile services, $runs runs each (median), 127.0.0.1 in a namespace of its own"
echo
echo "| service | -p | --host-timeout | wall (s) | -sV phase peak heap (KiB) | process peak heap (KiB) | peak RSS (KiB) | reported |"
echo "|---|---|---|---|---|---|---|---|"
for i in "${!cases[@]}"; do
    IFS='|' read -r name ports extra <<<"${cases[$i]}"
    printf '| %s | %s | %s | %.2f | %s | %s | %s | %s |\n' "$name" "$ports" "${extra#--host-timeout }" \
        "$(col "$i" 1 | median)" "$(col "$i" 3 | median | kb)" "$(col "$i" 4 | median | kb)" \
        "$(col "$i" 2 | median)" "$(cut -d' ' -f5- "$tmp/$i" | sort | uniq -c | sort -rn | head -n1 | sed 's/^ *[0-9]* //')"
done | sed 's/|  |/| - |/'
echo
echo "-sV heap budget (prtip/src/budgets.rs VERSION_SCAN): 1536 KiB"
