#!/usr/bin/env python3
"""Listen on TCP ports LO..HI on 0.0.0.0 (so on every local address) and do nothing else.

Usage: listen.py LO HI READY_FILE [SECONDS=1800]

For ports beyond what scripts/lab's listener takes (its --ports list is one
argument, and one argument is limited to 128 KiB: about 20,000 ports). Run it
inside the lab's target namespace (ip netns exec <lab>-target ...); with
net.ipv4.tcp_syncookies=2 there and the scanner answering every SYN-ACK with
an RST, no connection is ever established, so nothing needs accepting. One
process holds at most RLIMIT_NOFILE's hard limit of sockets: start several for
all 65,535 ports. Writes READY_FILE when every socket listens; exits after
SECONDS at the latest.
"""
import resource
import socket
import sys
import time

if not 4 <= len(sys.argv) <= 5:
    sys.exit(__doc__)
lo, hi, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 1800.0
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
need = hi - lo + 1 + 32
if soft < need:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
socks = []
for port in range(lo, hi + 1):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(16)
    socks.append(s)
with open(ready, "w") as f:
    f.write(f"{len(socks)}\n")
time.sleep(seconds)
