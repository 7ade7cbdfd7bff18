#!/usr/bin/env python3
"""Read a valgrind massif output file.

Usage: massif.py FILE      prints: peak_heap_B peak_heap_plus_extra_B snapshots time_unit
As a module: snapshots(path) -> (time_unit, [(time, heap_B, extra_B), ...]).
"""
import re
import sys

_FIELD = re.compile(r"^(time|mem_heap_B|mem_heap_extra_B)=(\d+)$", re.M)


def snapshots(path):
    text = open(path).read()
    unit = re.search(r"^time_unit: (\S+)$", text, re.M)
    out = []
    for chunk in text.split("\nsnapshot=")[1:]:
        v = dict(_FIELD.findall(chunk))
        out.append((int(v["time"]), int(v["mem_heap_B"]), int(v["mem_heap_extra_B"])))
    out.sort()
    return (unit.group(1) if unit else "?"), out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    unit, snaps = snapshots(sys.argv[1])
    print(max(h for _, h, _ in snaps), max(h + e for _, h, e in snaps), len(snaps), unit)


if __name__ == "__main__":
    main()
