#!/usr/bin/env bash
# Valgrind memcheck on the release binary: every scan type prtip has (-sT,
# -sS, -sU with -sS, -sV, -O) must end with 0 bytes definitely lost and 0 bytes possibly
# lost, with no suppression file. -sS and -O need root (raw sockets; valgrind
# refuses binaries with file capabilities, so it must be root, not setcap).
# -sV and -O talk to an HTTP server this script starts on 127.0.0.1.
#
# Usage: benchmarks/massif/leak-check.sh [OUTPUT-FILE]
# Writes every valgrind report to OUTPUT-FILE (default: a temporary file).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)"; exit 2; }
cargo build --release --locked -q -p prtip
out=${1:-$(mktemp)}
: >"$out"
# A real service for -sV to identify and -O to fingerprint.
port_file=$(mktemp)
python3 -c '
import http.server, socketserver, sys
srv = socketserver.TCPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
open(sys.argv[1], "w").write(str(srv.server_address[1]))
srv.timeout = 1
for _ in range(600):
    srv.handle_request()
' "$port_file" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$port_file"; rm -rf "${db_dir:-}"' EXIT
for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.1; done
web=$(cat "$port_file")
[ -n "$web" ] || { echo "the test HTTP server did not start"; exit 1; }

db_dir=$(mktemp -d)
scans=("-sT -n -p 1-1000 127.0.0.1" "-sT -sV -n -p $web 127.0.0.1" "-sT -n -p 1-1000 127.0.0.1 --db $db_dir/history.sqlite")
if [ "$(id -u)" = 0 ]; then
    scans+=("-sS -n -p 1-1000 127.0.0.1" "-sS -sU -n -p 1-500 127.0.0.1" "-O -n -p $web 127.0.0.1")
elif [ "${CI:-}" = true ]; then
    echo "CI=true but not root: the -sS, -sU and -O leak checks cannot run"; exit 1
else
    echo "SKIPPED (needs root): -sS, -sU and -O leak checks"
fi
fail=0
lost() { # kind, report file: bytes in the LEAK SUMMARY line, or "?"
    if grep -q "All heap blocks were freed" "$2"; then echo 0; return; fi
    sed -n "s/.*$1 lost: \([0-9,]*\) bytes.*/\1/p" "$2" | tail -1 | tr -d , | grep . || echo "?"
}
for scan in "${scans[@]}"; do
    one=$(mktemp)
    # shellcheck disable=SC2086
    valgrind --leak-check=full --show-leak-kinds=all --fair-sched=yes \
        target/release/prtip $scan >/dev/null 2>"$one" || true
    { echo "== prtip $scan"; cat "$one"; } >>"$out"
    def=$(lost definitely "$one")
    pos=$(lost possibly "$one")
    rm -f "$one"
    printf '%-32s definitely lost %s bytes, possibly lost %s bytes\n' "$scan" "$def" "$pos"
    if [ "$def" != 0 ] || [ "$pos" != 0 ]; then
        fail=1
    fi
done
[ $fail = 0 ] || { echo "leaks found; see $out"; exit 1; }
