#!/usr/bin/env bash
# Valgrind memcheck on the release binary: every scan type prtip has must end
# with 0 bytes definitely lost and 0 bytes possibly lost, with no suppression
# file. -sS needs root (raw sockets; valgrind refuses binaries with file
# capabilities, so it must be root, not setcap).
#
# Usage: benchmarks/massif/leak-check.sh [OUTPUT-FILE]
# Writes every valgrind report to OUTPUT-FILE (default: a temporary file).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)"; exit 2; }
cargo build --release --locked -q -p prtip
out=${1:-$(mktemp)}
: >"$out"
scans=("-sT")
if [ "$(id -u)" = 0 ]; then
    scans+=("-sS")
elif [ "${CI:-}" = true ]; then
    echo "CI=true but not root: the -sS leak check cannot run"; exit 1
else
    echo "SKIPPED (needs root): -sS leak check"
fi
fail=0
lost() { # kind, report file: bytes in the LEAK SUMMARY line, or "?"
    if grep -q "All heap blocks were freed" "$2"; then echo 0; return; fi
    sed -n "s/.*$1 lost: \([0-9,]*\) bytes.*/\1/p" "$2" | tail -1 | tr -d , | grep . || echo "?"
}
for scan in "${scans[@]}"; do
    one=$(mktemp)
    valgrind --leak-check=full --show-leak-kinds=all --fair-sched=yes \
        target/release/prtip "$scan" -n -p 1-1000 127.0.0.1 >/dev/null 2>"$one" || true
    { echo "== prtip $scan -n -p 1-1000 127.0.0.1"; cat "$one"; } >>"$out"
    def=$(lost definitely "$one")
    pos=$(lost possibly "$one")
    rm -f "$one"
    printf '%-4s definitely lost %s bytes, possibly lost %s bytes\n' "$scan" "$def" "$pos"
    if [ "$def" != 0 ] || [ "$pos" != 0 ]; then
        fail=1
    fi
done
[ $fail = 0 ] || { echo "leaks found; see $out"; exit 1; }
