#!/usr/bin/env python3
"""Plot and judge a soak: live heap (massif, --time-unit=ms) and RSS (sample_rss.py) over time.

Usage: plot_soak.py --massif M.out --rss RSS.csv --png OUT.png --heap-csv HEAP.csv
                    --summary SUMMARY.txt [--title TEXT] [--trim-end S]
(appends its verdict to SUMMARY.txt)

Flatness: a least-squares line through the second half of each pass (from
half its length to its end minus --trim-end seconds, default 1, which leaves
out process exit) gives a slope in bytes per minute; the series is called flat
when the line's drift across that half is under 1% of the half's mean level
(or under 4 KiB, one page, for RSS, whichever is larger). Massif takes a
snapshot only when the heap changes, so its snapshots crowd where the program
allocates; the heap is therefore resampled as the step function it is, every
0.5 s, before fitting (RSS samples are already every 0.5 s). The summary also
gives the maximum of each quarter of the run.
"""
import argparse
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import massif  # noqa: E402


def fit_second_half(t, y, trim_end):
    t, y = np.asarray(t, float), np.asarray(y, float)
    end = t.max() - trim_end
    sel = (t >= t.max() / 2) & (t <= end)
    if sel.sum() < 3:
        raise SystemExit("too few samples in the second half to fit")
    slope, icept = np.polyfit(t[sel], y[sel], 1)  # bytes per second
    ts = t[sel]
    return {
        "slope_B_per_min": slope * 60,
        "intercept": icept,
        "t0": ts.min(),
        "t1": ts.max(),
        "n": int(sel.sum()),
        "mean": float(y[sel].mean()),
        "min": float(y[sel].min()),
        "max": float(y[sel].max()),
        "drift_B": slope * (ts.max() - ts.min()),
    }


def resample(t, y, step=0.5):
    """Value of the step function (t, y) every `step` seconds."""
    t, y = np.asarray(t, float), np.asarray(y, float)
    grid = np.arange(t.min(), t.max() + step / 2, step)
    idx = np.searchsorted(t, grid, side="right") - 1
    return grid, y[np.clip(idx, 0, len(y) - 1)]


def quarter_max(t, y):
    t, y = np.asarray(t, float), np.asarray(y, float)
    edges = np.linspace(t.min(), t.max(), 5)
    return [int(y[(t >= a) & (t <= b)].max()) for a, b in zip(edges[:-1], edges[1:])]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--massif", required=True)
    ap.add_argument("--rss", required=True)
    ap.add_argument("--png", required=True)
    ap.add_argument("--heap-csv", required=True)
    ap.add_argument("--summary", required=True)
    ap.add_argument("--title", default="prtip soak")
    ap.add_argument("--trim-end", type=float, default=1.0)
    a = ap.parse_args()

    unit, snaps = massif.snapshots(a.massif)
    if unit != "ms":
        raise SystemExit(f"massif time unit is {unit}, need --time-unit=ms")
    ht = [s[0] / 1000 for s in snaps]
    heap = [s[1] for s in snaps]
    heapx = [s[1] + s[2] for s in snaps]
    with open(a.heap_csv, "w") as f:
        f.write("t_s,mem_heap_B,mem_heap_extra_B\n")
        for t, h, e in snaps:
            f.write(f"{t / 1000:.3f},{h},{e}\n")
    rows = list(csv.DictReader(open(a.rss)))
    rt = [float(r["t_s"]) for r in rows]
    rss = [int(r["vmrss_kib"]) * 1024 for r in rows]
    hwm = max(int(r["vmhwm_kib"]) for r in rows) * 1024

    gt, gheap = resample(ht, heap)
    fh = fit_second_half(gt, gheap, a.trim_end)
    fr = fit_second_half(rt, rss, a.trim_end)
    flat_h = abs(fh["drift_B"]) < 0.01 * fh["mean"]
    flat_r = abs(fr["drift_B"]) < max(0.01 * fr["mean"], 4096)

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 7.5), sharex=True)
    ax1.plot(ht, np.asarray(heapx) / 1024, color="0.7", lw=0.8, drawstyle="steps-post",
             label="heap + allocator overhead (mem_heap_B + mem_heap_extra_B)")
    ax1.plot(ht, np.asarray(heap) / 1024, color="C0", lw=1.0, drawstyle="steps-post",
             label="live heap, requested bytes (mem_heap_B)")
    x = np.array([fh["t0"], fh["t1"]])
    ax1.plot(x, (fh["intercept"] + x * fh["slope_B_per_min"] / 60) / 1024, "r--", lw=2,
             label=f"fit over 2nd half: {fh['slope_B_per_min']:+,.0f} B/min")
    ax1.set_ylabel("KiB")
    ax1.set_ylim(0, max(heapx) / 1024 * 1.25)
    ax1.set_title(f"live heap (valgrind massif, {len(snaps)} snapshots)", fontsize=10)
    ax1.legend(loc="lower right", fontsize=8)
    ax1.grid(alpha=0.3)

    ax2.plot(rt, np.asarray(rss) / 1024, color="C2", lw=1.0, label="VmRSS (every 0.5 s)")
    x = np.array([fr["t0"], fr["t1"]])
    ax2.plot(x, (fr["intercept"] + x * fr["slope_B_per_min"] / 60) / 1024, "r--", lw=2,
             label=f"fit over 2nd half: {fr['slope_B_per_min']:+,.0f} B/min")
    ax2.set_ylabel("KiB")
    ax2.set_ylim(0, hwm / 1024 * 1.25)
    ax2.set_xlabel("seconds since start of the scan (each pass its own clock)")
    ax2.set_title("resident set size (separate run without valgrind, same scan)", fontsize=10)
    ax2.legend(loc="lower right", fontsize=8)
    ax2.grid(alpha=0.3)
    fig.suptitle(a.title, fontsize=11)
    fig.tight_layout()
    fig.savefig(a.png, dpi=110)

    with open(a.summary, "a") as f:
        def line(name, fit, flat, n):
            f.write(
                f"{name}: {n} over {max(ht if name == 'heap' else rt):.1f} s; "
                f"second half {fit['t0']:.1f}-{fit['t1']:.1f} s ({fit['n']} samples): "
                f"mean {fit['mean']:,.0f} B, min {fit['min']:,.0f} B, max {fit['max']:,.0f} B, "
                f"slope {fit['slope_B_per_min']:+,.1f} B/min, drift across it {fit['drift_B']:+,.0f} B "
                f"-> {'flat' if flat else 'NOT flat'}\n")
        line("heap", fh, flat_h, f"{len(snaps)} massif snapshots, resampled every 0.5 s,")
        f.write(f"heap peak (massif mem_heap_B) {max(heap):,} B; with allocator overhead {max(heapx):,} B; "
                f"maximum per quarter of the run {', '.join(f'{v:,}' for v in quarter_max(ht, heap))} B\n")
        line("rss", fr, flat_r, f"{len(rows)} samples")
        f.write(f"rss peak (VmHWM) {hwm:,} B; maximum VmRSS per quarter of the run "
                f"{', '.join(f'{v:,}' for v in quarter_max(rt, rss))} B\n")
    sys.stdout.write(open(a.summary).read())


if __name__ == "__main__":
    main()
