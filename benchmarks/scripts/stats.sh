# Small statistics over numbers on stdin, one per line, for the comparison
# scripts (sourced from the repository root: `. benchmarks/scripts/stats.sh`).
#   median   the middle value (mean of the two middle ones), "-" for no input
#   minimum / maximum
#   ratio A B   A / B with two decimals, "-" if either is "-" or B is 0
# shellcheck shell=bash
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
minimum() { sort -n | head -n1; }
maximum() { sort -n | tail -n1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
