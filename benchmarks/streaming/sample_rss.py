#!/usr/bin/env python3
"""Sample a process's VmRSS and VmHWM from /proc/PID/status at a fixed interval.

Usage: sample_rss.py PID OUT.csv [INTERVAL_S=0.5] [MAX_S=900] [COMM=prtip]

Waits (at most 10 s) until PID has exec'd into COMM (scripts/lab exec and
ip netns exec replace themselves with the command, keeping the pid), then
writes t_s,vmrss_kib,vmhwm_kib rows, t_s counted from that moment, until the
process exits or MAX_S have passed. Exits 1 if PID never became COMM.
"""
import sys
import time


def status(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    vals = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            vals[key] = int(rest.split()[0])
    return vals if len(vals) == 2 else None  # a zombie has no Vm* lines


def main():
    if not 3 <= len(sys.argv) <= 6:
        sys.exit(__doc__)
    pid, out = int(sys.argv[1]), sys.argv[2]
    interval = float(sys.argv[3]) if len(sys.argv) > 3 else 0.5
    max_s = float(sys.argv[4]) if len(sys.argv) > 4 else 900.0
    comm = sys.argv[5] if len(sys.argv) > 5 else "prtip"
    for _ in range(200):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == comm:
                    break
        except FileNotFoundError:
            sys.exit(f"sample_rss: process {pid} ended before it became {comm}")
        time.sleep(0.05)
    else:
        sys.exit(f"sample_rss: process {pid} did not become {comm} within 10 s")
    start = time.monotonic()
    with open(out, "w") as f:
        f.write("t_s,vmrss_kib,vmhwm_kib\n")
        for i in range(int(max_s / interval) + 1):
            now = time.monotonic()
            vals = status(pid)
            if vals is None:
                break
            f.write(f"{now - start:.3f},{vals['VmRSS']},{vals['VmHWM']}\n")
            f.flush()
            time.sleep(max(0.0, start + (i + 1) * interval - time.monotonic()))


if __name__ == "__main__":
    main()
