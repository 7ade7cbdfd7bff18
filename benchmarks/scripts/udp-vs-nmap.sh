#!/usr/bin/env bash
# -sU against targets whose true port states are known: prtip vs nmap (and
# masscan), in one run.
#
# Usage: [PRTIP=target/release/prtip] [HOSTS=16] [OUT=dir]
#        benchmarks/scripts/udp-vs-nmap.sh [one] [many] [lifted] [plot]
#        (no scenario: all four)
#
# Topology (all namespaces created here, removed at exit):
#
#   pu-scan 198.18.0.1/30 == veth == 198.18.0.2/30 pu-sw (forwards) br0 198.18.1.1/24
#   pu-t1 .. pu-tN: 198.18.1.(10+i)/24 on br0, default route via 198.18.1.1
#
# Every target has its own namespace, hence its own ICMP rate-limit budget
# towards the scanner (Linux: one error a second after a burst of six). On
# each target:
#   open      53 137 161   a UDP echo server bound to the target's address
#   dropped   67 69 111    nft drop              -> open|filtered
#   rejected  135 138      nft reject, icmp admin-prohibited -> filtered
#   closed    every other port of the list (the kernel's port unreachable)
#
# Scenarios:
#   one     one target, `-sU -n -Pn --top-ports 100`, default ICMP limits.
#           The floor is (closed + rejected - 6) seconds.
#   many    HOSTS targets at once, same ports; masscan too when installed
#           (it reports open ports only, so its count of open ports found).
#   lifted  one target with `icmp_ratemask=0` (both limits lifted),
#           `--top-ports 1000`.
#   plot    port unreachables received per second during prtip's and
#           nmap's `one` scans, with and without the limit (tcpdump).
#
# For each tool: wall time, and how many port states differ from the truth.
# Packets go only to 198.18.0.0/15 inside the namespaces made here. Needs
# root, nmap, nft, python3, tcpdump.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "needs root (namespaces, raw sockets)"; exit 2; }
for t in nmap nft python3 tcpdump ip; do
    command -v "$t" >/dev/null || { echo "needs $t"; exit 2; }
done
PRTIP=${PRTIP:-target/release/prtip}
[[ $PRTIP == /* ]] || PRTIP=$PWD/$PRTIP
[ -x "$PRTIP" ] || { echo "no prtip at $PRTIP: cargo build --release -p prtip"; exit 2; }
HOSTS=${HOSTS:-16}
[[ $HOSTS =~ ^[1-9][0-9]?$ ]] && ((HOSTS <= 64)) || { echo "HOSTS must be 1-64"; exit 2; }
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
SCENARIOS=${*:-one many lifted plot}

N=pu
SCAN=$N-scan SW=$N-sw
OPEN="53 137 161" DROPPED="67 69 111" REJECTED="135 138"
target_ns() { echo "$N-t$1"; }
target_addr() { echo "198.18.1.$((10 + $1))"; }

cleanup() {
    set +e
    for ns in $(ip netns list | awk '{print $1}' | grep -E "^$N-(scan|sw|t[0-9]+)$"); do
        ip netns pids "$ns" | xargs -r kill 2>/dev/null
        ip netns del "$ns"
    done
}
trap cleanup EXIT
cleanup

build_lab() {
    ip netns add $SCAN
    ip netns add $SW
    ip link add $N-s0 netns $SCAN type veth peer name $N-w0 netns $SW
    ip -n $SCAN addr add 198.18.0.1/30 dev $N-s0
    ip -n $SW addr add 198.18.0.2/30 dev $N-w0
    ip -n $SW link add br0 type bridge
    ip -n $SW addr add 198.18.1.1/24 dev br0
    for ns in $SCAN $SW; do ip -n $ns link set lo up; done
    ip -n $SCAN link set $N-s0 up
    ip -n $SW link set $N-w0 up
    ip -n $SW link set br0 up
    ip -n $SCAN route add 198.18.1.0/24 via 198.18.0.2
    ip netns exec $SW sysctl -qw net.ipv4.ip_forward=1
    for i in $(seq 1 "$HOSTS"); do add_target "$i"; done
}

add_target() {
    local ns addr
    ns=$(target_ns "$1") addr=$(target_addr "$1")
    ip netns add "$ns"
    ip link add $N-b"$1" netns $SW type veth peer name eth0 netns "$ns"
    ip -n $SW link set $N-b"$1" master br0 up
    ip -n "$ns" addr add "$addr"/24 dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via 198.18.1.1
    ip netns exec "$ns" nft -f - <<EOF
table ip pu {
  chain input {
    type filter hook input priority 0;
    udp dport { ${DROPPED// /, } } drop
    udp dport { ${REJECTED// /, } } reject with icmp type admin-prohibited
  }
}
EOF
    ip netns exec "$ns" python3 -c "
import socket, select, time
socks = []
for p in [${OPEN// /,}]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('$addr', p))
    socks.append(s)
end = time.time() + 7200
while time.time() < end:
    r, _, _ = select.select(socks, [], [], 1)
    for s in r:
        d, a = s.recvfrom(4096)
        s.sendto(d, a)
" </dev/null >/dev/null 2>&1 &
}

limits() { # default|lifted on every target
    local mask=6168 # Linux's default icmp_ratemask (0x1818)
    [ "$1" = lifted ] && mask=0
    for i in $(seq 1 "$HOSTS"); do
        ip netns exec "$(target_ns "$i")" sysctl -qw net.ipv4.icmp_ratemask=$mask
    done
}

# The port list nmap picks for --top-ports N (asked of nmap itself, on loopback).
top_ports() {
    nmap -sU --top-ports "$1" -Pn -n -oX - --max-retries 0 --host-timeout 2s 127.0.0.1 2>/dev/null |
        sed -n 's/.*<scaninfo type="udp"[^>]* services="\([^"]*\)".*/\1/p'
}

# Count of ports whose state differs from the truth, per host, from -oX files.
wrong_states() { # xml ports-spec
    python3 - "$1" "$2" "$OPEN" "$DROPPED" "$REJECTED" <<'EOF'
import sys, xml.etree.ElementTree as ET
path, spec, opn, dropped, rejected = sys.argv[1:6]
ports = []
for part in spec.split(','):
    lo, _, hi = part.partition('-')
    ports += range(int(lo), int(hi or lo) + 1)
truth = {p: 'closed' for p in ports}
truth.update({int(p): 'open' for p in opn.split()})
truth.update({int(p): 'open|filtered' for p in dropped.split()})
truth.update({int(p): 'filtered' for p in rejected.split()})
bad = 0
for host in ET.parse(path).getroot().iter('host'):
    seen = {}
    for port in host.iter('port'):
        if port.get('protocol') == 'udp':
            seen[int(port.get('portid'))] = port.find('state').get('state')
    # Ports in <extraports> carry the collapsed state.
    for extra in host.iter('extraports'):
        for p in truth:
            seen.setdefault(p, extra.get('state'))
    bad += sum(1 for p, s in truth.items() if seen.get(p) != s)
print(bad)
EOF
}

in_scan() { ip netns exec $SCAN "$@"; }

# time_run name xml cmd... : wall seconds into $OUT/name.time
time_run() {
    local name=$1 xml=$2
    shift 2
    /usr/bin/time -f %e -o "$OUT/$name.time" ip netns exec $SCAN "$@" -oX "$xml" >"$OUT/$name.out" 2>&1 || true
    tail -n1 "$OUT/$name.time"
}

addrs() { for i in $(seq 1 "$1"); do target_addr "$i"; done; }

report() { # label seconds wrong
    printf '| %-40s | %8s s | %5s |\n' "$1" "$2" "$3"
}

build_lab
sleep 1
TOP100=$(top_ports 100)
n_closed=$(($(python3 -c "
s='$TOP100'; n=0
for part in s.split(','):
    lo,_,hi=part.partition('-'); n+=int(hi or lo)-int(lo)+1
print(n)") - 8))
echo "top-100 UDP ports: $TOP100"
echo "per host: 3 open, 3 dropped, 2 rejected, $n_closed closed; floor with default limits about $((n_closed + 2 - 6)) s"
echo
echo "| run | wall | wrong states |"
echo "|---|---:|---:|"

for sc in $SCENARIOS; do
    case $sc in
    one)
        limits default
        sleep 7 # let every bucket refill
        t=$(time_run one-prtip "$OUT/one-prtip.xml" "$PRTIP" -dd -sU -n -Pn --top-ports 100 "$(target_addr 1)")
        report "prtip, 1 host, top 100, default limits" "$t" "$(wrong_states "$OUT/one-prtip.xml" "$TOP100")"
        sleep 7
        t=$(time_run one-nmap "$OUT/one-nmap.xml" nmap -dd -sU -n -Pn --top-ports 100 "$(target_addr 1)")
        report "nmap, 1 host, top 100, default limits" "$t" "$(wrong_states "$OUT/one-nmap.xml" "$TOP100")"
        ;;
    many)
        limits default
        sleep 7
        # shellcheck disable=SC2046
        t=$(time_run many-prtip "$OUT/many-prtip.xml" "$PRTIP" -dd -sU -n -Pn --top-ports 100 $(addrs "$HOSTS"))
        report "prtip, $HOSTS hosts, top 100, default limits" "$t" "$(wrong_states "$OUT/many-prtip.xml" "$TOP100")"
        sleep 7
        # shellcheck disable=SC2046
        t=$(time_run many-nmap "$OUT/many-nmap.xml" nmap -dd -sU -n -Pn --top-ports 100 $(addrs "$HOSTS"))
        report "nmap, $HOSTS hosts, top 100, default limits" "$t" "$(wrong_states "$OUT/many-nmap.xml" "$TOP100")"
        if command -v masscan >/dev/null; then
            sleep 7
            mac=$(ip -n $SW link show $N-w0 | awk '/link\/ether/ {print $2}')
            # masscan's receive thread blocks in libpcap until a packet
            # arrives, so on an idle link it never sees that the scan is over:
            # a ping to the router every 0.1 s wakes it (masscan ignores it).
            ip netns exec $SCAN ping -q -i 0.1 -w 600 198.18.0.2 >/dev/null 2>&1 &
            pinger=$!
            # shellcheck disable=SC2046
            /usr/bin/time -f %e -o "$OUT/many-masscan.time" ip netns exec $SCAN masscan -pU:"$TOP100" $(addrs "$HOSTS") \
                --rate 10000 --wait 3 --adapter $N-s0 --adapter-ip 198.18.0.1 --router-mac "$mac" \
                >"$OUT/many-masscan.out" 2>&1 || true
            kill $pinger 2>/dev/null || true
            found=$(grep -c "Discovered open port" "$OUT/many-masscan.out" || true)
            report "masscan, $HOSTS hosts ($found open found of $((HOSTS * 3)))" "$(tail -n1 "$OUT/many-masscan.time")" "-"
        fi
        ;;
    lifted)
        limits lifted
        TOP1000=$(top_ports 1000)
        t=$(time_run lifted-prtip "$OUT/lifted-prtip.xml" "$PRTIP" -dd -sU -n -Pn --top-ports 1000 "$(target_addr 1)")
        report "prtip, 1 host, top 1000, limits lifted" "$t" "$(wrong_states "$OUT/lifted-prtip.xml" "$TOP1000")"
        t=$(time_run lifted-nmap "$OUT/lifted-nmap.xml" nmap -dd -sU -n -Pn --top-ports 1000 "$(target_addr 1)")
        report "nmap, 1 host, top 1000, limits lifted" "$t" "$(wrong_states "$OUT/lifted-nmap.xml" "$TOP1000")"
        ;;
    plot)
        for lim in default lifted; do
            limits $lim
            for tool in prtip nmap; do
                sleep 7
                cap=$OUT/plot-$tool-$lim.txt
                # `ip netns exec` execs timeout, so $! is the process to stop.
                ip netns exec $SCAN timeout 600 tcpdump -l -n -tt -i $N-s0 'icmp[0] = 3 and icmp[1] = 3' \
                    >"$cap" 2>/dev/null &
                tcpd=$!
                sleep 1
                start=$(date +%s.%N)
                if [ $tool = prtip ]; then
                    in_scan "$PRTIP" -dd -sU -n -Pn --top-ports 100 "$(target_addr 1)" >/dev/null 2>&1 || true
                else
                    in_scan nmap -sU -n -Pn --top-ports 100 "$(target_addr 1)" >/dev/null 2>&1 || true
                fi
                sleep 1
                kill $tcpd 2>/dev/null || true
                wait $tcpd 2>/dev/null || true
                echo "$start" >"$cap.start"
            done
        done
        python3 - "$OUT" <<'EOF'
import sys, collections
out = sys.argv[1]
print("\nPort unreachables received per second since the scan started (one host, top 100):\n")
series = {}
for lim in ("default", "lifted"):
    for tool in ("prtip", "nmap"):
        path = f"{out}/plot-{tool}-{lim}.txt"
        start = float(open(path + ".start").read())
        c = collections.Counter()
        for line in open(path):
            try:
                c[int(float(line.split()[0]) - start)] += 1
            except (ValueError, IndexError):
                pass
        series[f"{tool} {lim}"] = c
last = max((max(c) for c in series.values() if c), default=0)
names = list(series)
# Each second of the first ten, then ten-second spans.
spans = [(s, s + 1) for s in range(min(10, last + 1))]
spans += [(s, s + 10) for s in range(10, last + 1, 10)]
print("| seconds | " + " | ".join(names) + " |")
print("|---|" + "---:|" * len(names))
for lo, hi in spans:
    label = f"{lo}" if hi == lo + 1 else f"{lo}-{hi - 1}"
    counts = [sum(v for k, v in series[n].items() if lo <= k < hi) for n in names]
    print(f"| {label} | " + " | ".join(map(str, counts)) + " |")
print("| total | " + " | ".join(str(sum(series[n].values())) for n in names) + " |")
EOF
        ;;
    *) echo "unknown scenario $sc"; exit 2 ;;
    esac
done
echo
echo "outputs in $OUT"
