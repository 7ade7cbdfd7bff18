#!/usr/bin/env python3
"""Summarise a heaptrack profile of prtip by allocation site.

prtip's counting allocator (memprof) sits between Rust and malloc, so
heaptrack_print's own "top allocators" all merge into memprof's
GlobalAlloc::alloc. This reads heaptrack_print's flame-graph stacks instead
and charges each stack to its innermost prtip function (prtip, prtip_core,
prtip_scanner; memprof itself skipped), or to its innermost non-allocator
frame when no prtip function is on the stack.

    heaptrack_print -f prtip.zst --flamegraph-cost-type peak -F stacks-peak.txt
    benchmarks/compare/heaptrack-sites.py stacks-peak.txt [TOP]     (default 8)
"""
import collections
import re
import sys

OURS = re.compile(r"(prtip_core|prtip_scanner|prtip)::")
ALLOCATOR = re.compile(r"alloc|raw_vec|memprof|__rust|RawVec|Vec\$LT|^0x")


def readable(frame: str) -> str:
    frame = re.sub(r"::h[0-9a-f]{16}", "", frame)
    for a, b in (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$u7b$", "{"),
                 ("$u7d$", "}"), ("..", "::"), ("_<", "<")):
        frame = frame.replace(a, b)
    return frame


def main() -> None:
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    sites: collections.Counter = collections.Counter()
    total = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            stack, _, cost_s = line.rstrip("\n").rpartition(" ")
            if not cost_s.isdigit():
                continue
            cost = int(cost_s)
            total += cost
            frames = [x.strip() for x in stack.split(";") if x.strip()]
            site = next((fr for fr in reversed(frames)
                         if OURS.match(fr) and "memprof" not in fr), None)
            if site is None:
                site = next((fr for fr in reversed(frames)
                             if not ALLOCATOR.search(fr.split(" (")[0])),
                            frames[-1] if frames else "?")
                site = "[outside prtip] " + site
            sites[readable(site)] += cost
    print(f"total {total}")
    for site, cost in sites.most_common(top):
        share = 100 * cost / total if total else 0
        print(f"{cost:>10}  {share:5.1f}%  {site}")


if __name__ == "__main__":
    main()
