//! The report: per-phase rows and totals, as an aligned table or JSON.

use std::borrow::Cow;
use std::io;

use serde::{Deserialize, Serialize};

/// What one phase did (or, for the [`UNTRACKED`](crate::UNTRACKED) row, what happened outside
/// every phase). Byte figures are requested bytes, without memprof's per-block tag bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseRow {
    /// [`Phase::name`](crate::Phase::name) or [`UNTRACKED`](crate::UNTRACKED).
    pub phase: Cow<'static, str>,
    /// `alloc` and `alloc_zeroed` calls made in the phase.
    pub allocations: u64,
    /// `realloc` calls made in the phase (each also moves the block to this phase).
    pub reallocations: u64,
    /// Frees of blocks this phase owned, whichever phase freed them.
    pub frees: u64,
    /// Bytes requested by the phase's allocations and reallocations (new size), as dhat counts.
    pub bytes_allocated: u64,
    /// Most bytes owned by this phase live at once.
    pub peak_live_bytes: u64,
    /// Bytes this phase owned when its last guard or future finished; `None` if it never ran
    /// to an end (not entered, or still running: see `running`).
    pub live_at_end_bytes: Option<u64>,
    /// A guard or future of this phase is active right now.
    pub running: bool,
    /// Bytes this phase owns now (what it retained).
    pub live_now_bytes: u64,
}

/// Whole-process figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Sum of the rows' `allocations`.
    pub allocations: u64,
    /// Sum of the rows' `reallocations`.
    pub reallocations: u64,
    /// Sum of the rows' `frees`.
    pub frees: u64,
    /// Sum of the rows' `bytes_allocated`.
    pub bytes_allocated: u64,
    /// Peak of live requested bytes over the process (compare with massif after adding headers,
    /// or use `peak_live_bytes_with_headers`).
    pub peak_live_bytes: u64,
    /// Live requested bytes now.
    pub live_bytes: u64,
    /// Peak including memprof's per-block tag bytes: what massif reports as `mem_heap_B`.
    pub peak_live_bytes_with_headers: u64,
    /// Live bytes now including memprof's per-block tag bytes.
    pub live_bytes_with_headers: u64,
    /// Most threads alive at once that had allocated.
    pub threads_max: u64,
    /// Every byte figure may lag its exact value by less than this (`threads_max` ×
    /// [`FLUSH_BYTES`](crate::FLUSH_BYTES)); 0 once every allocating thread but the reporting
    /// one has exited. The peak is within this much of the true peak.
    pub error_bound_bytes: u64,
}

/// Heap report of a run: one row per phase in [`Phase::ALL`](crate::Phase::ALL) order, then the
/// [`UNTRACKED`](crate::UNTRACKED) row, then totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Phase rows, in phase order, [`UNTRACKED`](crate::UNTRACKED) last.
    pub phases: Vec<PhaseRow>,
    /// Whole-process figures; the rows' counts add up to these.
    pub totals: Totals,
    /// Peak resident set size (`getrusage`), which includes memory outside the heap.
    pub peak_rss_bytes: Option<u64>,
    /// [`HEADER_BYTES`](crate::HEADER_BYTES) of this build.
    pub header_bytes: u64,
}

impl Report {
    /// The row of `phase`.
    #[must_use]
    pub fn phase(&self, phase: crate::Phase) -> Option<&PhaseRow> {
        self.phases.iter().find(|r| r.phase == phase.name())
    }

    /// The report as pretty-printed JSON, exact byte counts.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Plain structs of integers, strings and options cannot fail to serialise.
        serde_json::to_string_pretty(self).expect("Report serialises to JSON")
    }

    /// An aligned table for people: bytes humanised (B, KiB, MiB with one decimal).
    ///
    /// # Errors
    ///
    /// Whatever `out` returns.
    pub fn write_table<W: io::Write>(&self, out: &mut W) -> io::Result<()> {
        const HEAD: [&str; 8] = [
            "phase",
            "allocs",
            "reallocs",
            "frees",
            "allocated",
            "peak live",
            "live at end",
            "live now",
        ];
        let mut lines: Vec<[String; 8]> = Vec::with_capacity(self.phases.len() + 2);
        lines.push(HEAD.map(String::from));
        for r in &self.phases {
            let end = match (r.running, r.live_at_end_bytes) {
                (true, _) => "running".to_string(),
                (false, Some(b)) => human_bytes(b),
                (false, None) => "-".to_string(),
            };
            lines.push([
                r.phase.to_string(),
                r.allocations.to_string(),
                r.reallocations.to_string(),
                r.frees.to_string(),
                human_bytes(r.bytes_allocated),
                human_bytes(r.peak_live_bytes),
                end,
                human_bytes(r.live_now_bytes),
            ]);
        }
        let t = &self.totals;
        lines.push([
            "total".to_string(),
            t.allocations.to_string(),
            t.reallocations.to_string(),
            t.frees.to_string(),
            human_bytes(t.bytes_allocated),
            human_bytes(t.peak_live_bytes),
            "-".to_string(),
            human_bytes(t.live_bytes),
        ]);
        let mut width = [0usize; 8];
        for line in &lines {
            for (w, cell) in width.iter_mut().zip(line) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for line in &lines {
            let mut text = format!("{:<w$}", line[0], w = width[0]);
            for (cell, w) in line.iter().zip(width).skip(1) {
                text.push_str(&format!("  {cell:>w$}"));
            }
            writeln!(out, "{}", text.trim_end())?;
        }
        writeln!(
            out,
            "peak heap {} requested ({} with memprof's {}-byte block tags, massif's view); \
             live now {}; peak RSS {}",
            human_bytes(t.peak_live_bytes),
            human_bytes(t.peak_live_bytes_with_headers),
            self.header_bytes,
            human_bytes(t.live_bytes),
            self.peak_rss_bytes
                .map_or_else(|| "n/a".to_string(), human_bytes),
        )?;
        writeln!(
            out,
            "heap figures are exact to within {} ({} thread(s) x {} batches)",
            human_bytes(t.error_bound_bytes),
            t.threads_max,
            human_bytes(crate::FLUSH_BYTES as u64),
        )
    }
}

/// `1536` → `"1.5 KiB"`; below 1 KiB the exact count with `B`.
#[must_use]
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    // Rounding to one decimal can reach 1024.0: move up a unit rather than print "1024.0 KiB".
    while v >= 1023.95 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Peak resident set size of this process in bytes.
#[must_use]
pub fn peak_rss_bytes() -> Option<u64> {
    crate::sys::peak_rss_bytes()
}

#[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
pub(crate) use live::{build, row, totals};

#[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
mod live {
    use super::{PhaseRow, Report, Totals};
    use crate::counting::{raw_row, raw_totals};
    use crate::{Phase, FLUSH_BYTES, HEADER_BYTES, ROWS, UNTRACKED};
    use std::borrow::Cow;

    pub(crate) fn row(tag: u8) -> PhaseRow {
        let raw = raw_row(usize::from(tag));
        PhaseRow {
            phase: Cow::Borrowed(Phase::from_tag(tag).map_or(UNTRACKED, Phase::name)),
            allocations: raw.allocs,
            reallocations: raw.reallocs,
            frees: raw.frees,
            bytes_allocated: raw.bytes,
            peak_live_bytes: raw.peak,
            live_at_end_bytes: raw.live_at_end,
            running: raw.running,
            live_now_bytes: raw.live,
        }
    }

    pub(crate) fn totals() -> Totals {
        let t = raw_totals();
        let mut out = Totals {
            allocations: 0,
            reallocations: 0,
            frees: 0,
            bytes_allocated: 0,
            peak_live_bytes: t.peak,
            live_bytes: t.live,
            peak_live_bytes_with_headers: t.peak_gross,
            live_bytes_with_headers: t.live_gross,
            threads_max: t.threads_max as u64,
            // The caller has just flushed its own batch; every other thread alive may hold one.
            error_bound_bytes: (t.threads_max as u64) * FLUSH_BYTES as u64,
        };
        for i in 0..ROWS {
            let r = raw_row(i);
            out.allocations += r.allocs;
            out.reallocations += r.reallocs;
            out.frees += r.frees;
            out.bytes_allocated += r.bytes;
        }
        out
    }

    pub(crate) fn build() -> Report {
        // Read the counters before building the Vec so the report's own allocations are not in
        // the figures it shows.
        let rows: [PhaseRow; ROWS] = std::array::from_fn(|i| {
            // Phases first, in order; the untracked row (tag 0) last.
            let tag = if i + 1 < ROWS { i + 1 } else { 0 };
            row(tag as u8)
        });
        let totals = totals();
        Report {
            phases: rows.into(),
            totals,
            peak_rss_bytes: super::peak_rss_bytes(),
            header_bytes: HEADER_BYTES as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let row = |name: &'static str, allocs: u64, end: Option<u64>, running: bool| PhaseRow {
            phase: Cow::Borrowed(name),
            allocations: allocs,
            reallocations: 1,
            frees: allocs,
            bytes_allocated: allocs * 100,
            peak_live_bytes: 2048,
            live_at_end_bytes: end,
            running,
            live_now_bytes: 0,
        };
        Report {
            phases: vec![
                row("argument parsing", 3, Some(10), false),
                row("sending", 123_456, None, true),
                row(crate::UNTRACKED, 7, None, false),
            ],
            totals: Totals {
                allocations: 123_466,
                reallocations: 3,
                frees: 123_466,
                bytes_allocated: 12_346_600,
                peak_live_bytes: 5 * 1024 * 1024 + 512 * 1024,
                live_bytes: 100,
                peak_live_bytes_with_headers: 6 * 1024 * 1024,
                live_bytes_with_headers: 116,
                threads_max: 2,
                error_bound_bytes: 2 * crate::FLUSH_BYTES as u64,
            },
            peak_rss_bytes: Some(30 * 1024 * 1024),
            header_bytes: crate::HEADER_BYTES as u64,
        }
    }

    #[test]
    fn humanises_bytes() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(1024 * 1024 - 1), "1.0 MiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 + 512 * 1024), "5.5 MiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }

    #[test]
    fn table_is_aligned_and_in_row_order() {
        let mut out = Vec::new();
        sample().write_table(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("phase"));
        assert!(lines[1].starts_with("argument parsing"));
        assert!(lines[2].starts_with("sending"));
        assert!(lines[3].starts_with("untracked"));
        assert!(lines[4].starts_with("total"));
        assert!(lines[2].contains("running"));
        assert!(lines[5].contains("5.5 MiB"), "{text}");
        assert!(
            lines[6].contains(&human_bytes(2 * crate::FLUSH_BYTES as u64)),
            "{text}"
        );
        // Right-aligned columns: every table line has the same length.
        let len = lines[0].len();
        assert!(lines[1..5].iter().all(|l| l.len() == len), "{text}");
    }

    #[test]
    fn json_has_exact_numbers_and_round_trips() {
        let report = sample();
        let json = report.to_json();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["totals"]["bytes_allocated"], 12_346_600);
        assert_eq!(v["phases"][1]["phase"], "sending");
        assert_eq!(v["phases"][1]["live_at_end_bytes"], serde_json::Value::Null);
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn peak_rss_is_plausible() {
        let rss = peak_rss_bytes().unwrap();
        assert!(rss > 100 * 1024, "{rss}");
    }
}
