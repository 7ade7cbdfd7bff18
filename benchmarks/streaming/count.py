#!/usr/bin/env python3
"""Count hosts and open ports in one prtip -oJ file and one -oX file.

Usage: count.py FILE.json FILE.xml
Prints: json_hosts json_open xml_hosts xml_open

Both files are read line by line (one JSON line is one host), so the counter's
own memory stays small for files of a gigabyte. Every JSON line is parsed;
the XML is checked to be complete (ends with </nmaprun>) and its
<state state="open" elements and <host elements are counted. Exits 1 on a
truncated or interrupted file.
"""
import json
import sys


def count_json(path):
    hosts = opened = 0
    run = stats = None
    with open(path, "rb") as f:
        for line in f:
            obj = json.loads(line)
            kind = obj["type"]
            if kind == "host":
                hosts += 1
                opened += sum(1 for p in obj["ports"] if p["state"] == "open")
            elif kind == "run":
                run = obj
            elif kind == "stats":
                stats = obj
    if run is None or stats is None:
        sys.exit(f"{path}: missing run or stats line")
    if stats.get("interrupted"):
        sys.exit(f"{path}: scan was interrupted")
    return hosts, opened


def count_xml(path):
    hosts = opened = 0
    last = b""
    with open(path, "rb") as f:
        for line in f:
            hosts += line.count(b"<host ")
            opened += line.count(b'<state state="open"')
            if line.strip():
                last = line.strip()
    if last != b"</nmaprun>":
        sys.exit(f"{path}: incomplete (last line {last[:60]!r})")
    return hosts, opened


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    jh, jo = count_json(sys.argv[1])
    xh, xo = count_xml(sys.argv[2])
    print(jh, jo, xh, xo)


if __name__ == "__main__":
    main()
