//! Heap accounting for prtip: a counting global allocator, named scan phases and a report.
//!
//! Three builds, chosen by cargo features:
//!
//! | features                 | [`mode()`]                          | allocator the binary installs     |
//! |--------------------------|-------------------------------------|-----------------------------------|
//! | `mem-report`             | [`Mode::Counting`] once installed   | `CountingAlloc`                 |
//! | `dhat-heap` (± the other)| [`Mode::Dhat`]                      | `dhat::Alloc` (re-exported `dhat`)|
//! | none                     | [`Mode::Off`]                       | none (phases are zero-sized no-ops)|
//!
//! The library never installs an allocator itself, so unit tests and other crates' test
//! binaries keep the system allocator; the binary writes, at the top level of `main.rs`:
//!
//! ```
//! memprof::install_global_allocator!();
//!
//! fn main() {
//!     // ... the scan ...
//!     match memprof::report() {
//!         Ok(report) => report.write_table(&mut std::io::stderr()).unwrap(),
//!         Err(why) => eprintln!("--mem-report: {why}"),
//!     }
//! }
//! ```
//!
//! Code marks what it is doing with a guard (synchronous code) or a future wrapper (async code
//! whose task may move between worker threads; the phase is set around every poll):
//!
//! ```
//! use memprof::{InPhaseExt, Phase};
//!
//! let _g = memprof::phase(Phase::TargetExpansion);
//! let scan = async { 42 }.in_phase(Phase::Sending);
//! # drop(scan);
//! ```
//!
//! Each block records the phase that allocated it, so a block made while sending and freed
//! while writing output still counts as sending's. Allocations made outside any phase are
//! shown in their own row, [`UNTRACKED`]; nothing is hidden.

#![cfg_attr(docsrs, feature(doc_cfg))]

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

#[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
mod counting;
mod report;
mod sys;

#[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
pub use counting::CountingAlloc;
pub use report::{human_bytes, peak_rss_bytes, PhaseRow, Report, Totals};

/// The `dhat` crate, so heap tests can build a `dhat::Profiler` and read `dhat::HeapStats`.
#[cfg(feature = "dhat-heap")]
pub use dhat;

/// Bytes `CountingAlloc` adds to every block: one tag byte after the caller's bytes, naming the
/// phase that made it (whatever the alignment). Valgrind massif counts it as requested heap, so
/// massif's `mem_heap_B` = the report's requested bytes + `HEADER_BYTES` × live blocks; the
/// report's `*_with_headers` figures include it exactly.
pub const HEADER_BYTES: usize = 1;

/// A thread folds its counters into the global totals before this many bytes moved
/// (allocated + freed, headers included) are pending. See [`Totals::error_bound_bytes`].
pub const FLUSH_BYTES: usize = 8 * 1024;

/// A thread folds its counters into the global totals before this many operations are pending
/// (each operation also uses up `FLUSH_BYTES / FLUSH_OPS` bytes of the batch).
pub const FLUSH_OPS: u32 = 64;

/// Name of the row for allocations made outside any phase (startup, runtime internals,
/// threads that never entered a phase).
pub const UNTRACKED: &str = "untracked";

/// Number of report rows: one per [`Phase`] plus [`UNTRACKED`].
#[cfg_attr(
    not(all(feature = "mem-report", not(feature = "dhat-heap"))),
    allow(dead_code)
)]
const ROWS: usize = Phase::ALL.len() + 1;

/// A named phase of a scan. The row order of the report is the declaration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Phase {
    /// Parsing flags and building the scan configuration.
    ArgumentParsing = 1,
    /// Expanding targets and port lists.
    TargetExpansion,
    /// Loading the service and OS databases.
    DatabaseLoad,
    /// Reading the UDP payloads (`-sU`: nmap-payloads or the built-in file).
    UdpPayloads,
    /// Sending probes.
    Sending,
    /// Receiving and classifying replies.
    Receiving,
    /// Reverse DNS of hosts that are up.
    ReverseDns,
    /// Service/version detection (`-sV`).
    ServiceDetection,
    /// OS detection (`-O`).
    OsDetection,
    /// NSE scripts (`-sC`, `--script`), the Lua heap included.
    Scripts,
    /// Writing results to the output sinks.
    Output,
    /// Recording the scan in the history database (`--db`), SQLite's own heap included.
    Store,
    /// The event stream and its listener (`--event-log`).
    Events,
    /// Shutting down and freeing.
    Teardown,
}

impl Phase {
    /// Every phase, in report order.
    pub const ALL: [Phase; 14] = [
        Phase::ArgumentParsing,
        Phase::TargetExpansion,
        Phase::DatabaseLoad,
        Phase::UdpPayloads,
        Phase::Sending,
        Phase::Receiving,
        Phase::ReverseDns,
        Phase::ServiceDetection,
        Phase::OsDetection,
        Phase::Scripts,
        Phase::Output,
        Phase::Store,
        Phase::Events,
        Phase::Teardown,
    ];

    /// The name shown in the report.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Phase::ArgumentParsing => "argument parsing",
            Phase::TargetExpansion => "target expansion",
            Phase::DatabaseLoad => "database load",
            Phase::UdpPayloads => "UDP payloads",
            Phase::Sending => "sending",
            Phase::Receiving => "receiving",
            Phase::ReverseDns => "reverse DNS",
            Phase::ServiceDetection => "service detection",
            Phase::OsDetection => "OS detection",
            Phase::Scripts => "scripts",
            Phase::Output => "output",
            Phase::Store => "store",
            Phase::Events => "events",
            Phase::Teardown => "teardown",
        }
    }

    /// Looks a phase up by name, ignoring case and treating `-`, `_` and space alike
    /// (`"target-expansion"` finds [`Phase::TargetExpansion`]).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Phase> {
        let norm = |c: char| match c {
            '-' | '_' => ' ',
            c => c.to_ascii_lowercase(),
        };
        Phase::ALL.into_iter().find(|p| {
            p.name().len() == name.len()
                && p.name()
                    .chars()
                    .zip(name.chars())
                    .all(|(a, b)| norm(a) == norm(b))
        })
    }

    #[cfg_attr(
        not(all(feature = "mem-report", not(feature = "dhat-heap"))),
        allow(dead_code)
    )]
    const fn tag(self) -> u8 {
        self as u8
    }

    #[cfg_attr(
        not(all(feature = "mem-report", not(feature = "dhat-heap"))),
        allow(dead_code)
    )]
    fn from_tag(tag: u8) -> Option<Phase> {
        Phase::ALL.get(usize::from(tag).checked_sub(1)?).copied()
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// What this build measures; lets `prtip --mem-report` explain an empty report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `CountingAlloc` is compiled in and is the global allocator: [`report()`] works.
    Counting,
    /// Built with `dhat-heap`: `dhat::Alloc` is the allocator; use `dhat::HeapStats`.
    Dhat,
    /// No counters: built without `mem-report`, or `CountingAlloc` was compiled in but is
    /// not the global allocator of this executable.
    Off,
}

/// The heap accounting this executable actually has.
#[must_use]
pub fn mode() -> Mode {
    #[cfg(feature = "dhat-heap")]
    {
        Mode::Dhat
    }
    #[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
    {
        if counting::installed() {
            Mode::Counting
        } else {
            Mode::Off
        }
    }
    #[cfg(not(any(feature = "mem-report", feature = "dhat-heap")))]
    {
        Mode::Off
    }
}

/// Why [`report()`] has nothing to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// Built without the `mem-report` feature.
    NotCompiled,
    /// Built with `dhat-heap`, which replaces the counting allocator.
    DhatBuild,
    /// Compiled in, but `CountingAlloc` is not this executable's global allocator.
    NotInstalled,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unavailable::NotCompiled => {
                "heap counters are not available in this build (compiled without mem-report)"
            }
            Unavailable::DhatBuild => {
                "heap counters are not available in this build (compiled with dhat-heap)"
            }
            Unavailable::NotInstalled => {
                "heap counters are compiled in but memprof's allocator is not installed"
            }
        })
    }
}

impl std::error::Error for Unavailable {}

/// Checks the counters are live and folds the caller's batch.
#[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
fn ready() -> Result<(), Unavailable> {
    if counting::installed() {
        counting::flush();
        Ok(())
    } else {
        Err(Unavailable::NotInstalled)
    }
}

#[cfg(not(all(feature = "mem-report", not(feature = "dhat-heap"))))]
const WHY_NOT: Unavailable = if cfg!(feature = "dhat-heap") {
    Unavailable::DhatBuild
} else {
    Unavailable::NotCompiled
};

/// Per-phase rows and totals as of now. The calling thread's batch is folded first; other
/// live threads' batches lag within [`Totals::error_bound_bytes`].
///
/// # Errors
///
/// [`Unavailable`] when this build or executable has no counting allocator.
pub fn report() -> Result<Report, Unavailable> {
    #[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
    {
        ready()?;
        Ok(report::build())
    }
    #[cfg(not(all(feature = "mem-report", not(feature = "dhat-heap"))))]
    {
        Err(WHY_NOT)
    }
}

/// Totals only, without allocating (for tests and tight spots).
///
/// # Errors
///
/// As [`report()`].
pub fn totals() -> Result<Totals, Unavailable> {
    #[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
    {
        ready()?;
        Ok(report::totals())
    }
    #[cfg(not(all(feature = "mem-report", not(feature = "dhat-heap"))))]
    {
        Err(WHY_NOT)
    }
}

/// One phase's row without allocating; `None` selects the [`UNTRACKED`] row. Its name is a
/// borrowed static string.
///
/// # Errors
///
/// As [`report()`].
pub fn phase_stats(phase: Option<Phase>) -> Result<PhaseRow, Unavailable> {
    #[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
    {
        ready()?;
        Ok(report::row(phase.map_or(0, Phase::tag)))
    }
    #[cfg(not(all(feature = "mem-report", not(feature = "dhat-heap"))))]
    {
        let _ = phase;
        Err(WHY_NOT)
    }
}

/// Folds the calling thread's pending counts into the global totals. Threads fold on their
/// own every [`FLUSH_OPS`] operations / [`FLUSH_BYTES`] bytes and when they exit; after every
/// thread that allocated has exited or flushed, all counts are exact.
pub fn flush() {
    #[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
    counting::flush();
}

/// Restarts peak tracking (process and per phase) from the current live values, so a later
/// report shows the peak of what follows. Meant for quiet points: a concurrent fold may be lost
/// from the new peak.
pub fn reset_peaks() {
    #[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
    counting::reset_peaks();
}

/// The phase the calling thread is in, `None` outside any phase or without counters.
#[must_use]
pub fn current_phase() -> Option<Phase> {
    #[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
    {
        Phase::from_tag(counting::current())
    }
    #[cfg(not(all(feature = "mem-report", not(feature = "dhat-heap"))))]
    {
        None
    }
}

/// Enters `phase` on this thread until the guard drops (then the previous phase is restored).
///
/// The phase's "live at end" is taken when the last guard or [`InPhase`] future of that phase
/// finishes. The guard is `!Send`: in async code use [`in_phase`] instead.
pub fn phase(phase: Phase) -> PhaseGuard {
    #[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
    {
        counting::phase_started(phase.tag());
        PhaseGuard {
            phase: phase.tag(),
            prev: counting::set_current(phase.tag()),
            _not_send: PhantomData,
        }
    }
    #[cfg(not(all(feature = "mem-report", not(feature = "dhat-heap"))))]
    {
        let _ = phase;
        PhaseGuard {
            _not_send: PhantomData,
        }
    }
}

/// Keeps a phase current on this thread; see [`phase()`]. Zero-sized without counters.
#[must_use = "the phase ends as soon as the guard is dropped"]
pub struct PhaseGuard {
    #[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
    phase: u8,
    #[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
    prev: u8,
    // The current phase is thread-local; dropping the guard on another thread would corrupt
    // both threads' phases.
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for PhaseGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PhaseGuard");
        #[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
        d.field("phase", &Phase::from_tag(self.phase));
        d.finish_non_exhaustive()
    }
}

#[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
impl Drop for PhaseGuard {
    fn drop(&mut self) {
        counting::phase_finished(self.phase);
        counting::set_current(self.prev);
    }
}

/// Runs `fut` in `phase`: the phase is current on whichever thread polls it, during each poll.
pub fn in_phase<F: Future>(phase: Phase, fut: F) -> InPhase<F> {
    InPhase {
        inner: fut,
        phase,
        state: NOT_STARTED,
    }
}

/// `.in_phase(phase)` for any future; see [`in_phase`].
pub trait InPhaseExt: Future + Sized {
    /// Wraps `self` so `phase` is current during each of its polls.
    fn in_phase(self, phase: Phase) -> InPhase<Self> {
        in_phase(phase, self)
    }
}

impl<F: Future> InPhaseExt for F {}

const NOT_STARTED: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;

/// Future returned by [`in_phase`]. The phase counts as running from the first poll until the
/// inner future completes or is dropped.
#[must_use = "futures do nothing unless polled"]
pub struct InPhase<F> {
    inner: F,
    phase: Phase,
    state: u8,
}

impl<F> fmt::Debug for InPhase<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InPhase")
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

/// Restores the thread's previous phase even if the inner poll panics.
#[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
struct RestoreCurrent(u8);

#[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
impl Drop for RestoreCurrent {
    fn drop(&mut self) {
        counting::set_current(self.0);
    }
}

impl<F: Future> Future for InPhase<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is only ever reached through the
        // `Pin::new_unchecked` below, never moved out, and `Drop` does not touch it.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this` itself is pinned, so its `inner` field stays put.
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        #[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
        {
            if this.state == NOT_STARTED {
                counting::phase_started(this.phase.tag());
                this.state = RUNNING;
            }
            let restore = RestoreCurrent(counting::set_current(this.phase.tag()));
            let out = inner.poll(cx);
            drop(restore);
            if out.is_ready() && this.state == RUNNING {
                this.state = DONE;
                counting::phase_finished(this.phase.tag());
            }
            out
        }
        #[cfg(not(all(feature = "mem-report", not(feature = "dhat-heap"))))]
        {
            let out = inner.poll(cx);
            if out.is_ready() {
                this.state = DONE;
            } else {
                this.state = RUNNING;
            }
            out
        }
    }
}

impl<F> Drop for InPhase<F> {
    fn drop(&mut self) {
        #[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
        if self.state == RUNNING {
            counting::phase_finished(self.phase.tag());
        }
    }
}

/// Installs this build's heap profiler as the `#[global_allocator]`; call it once, at the top
/// level of the binary's `main.rs` (or of a test file).
///
/// With `mem-report` it installs `CountingAlloc`; with `dhat-heap` it installs `dhat::Alloc`
/// (a `dhat::Profiler` must still be started to record); with neither it expands to nothing.
#[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
#[macro_export]
macro_rules! install_global_allocator {
    () => {
        #[global_allocator]
        static MEMPROF_GLOBAL_ALLOCATOR: $crate::CountingAlloc = $crate::CountingAlloc::new();
    };
}

/// Installs this build's heap profiler as the `#[global_allocator]`; call it once, at the top
/// level of the binary's `main.rs` (or of a test file).
///
/// With `dhat-heap` it installs `dhat::Alloc` (a `dhat::Profiler` must still be started to
/// record).
#[cfg(feature = "dhat-heap")]
#[macro_export]
macro_rules! install_global_allocator {
    () => {
        #[global_allocator]
        static MEMPROF_GLOBAL_ALLOCATOR: $crate::dhat::Alloc = $crate::dhat::Alloc;
    };
}

/// Installs this build's heap profiler as the `#[global_allocator]`; without the `mem-report`
/// or `dhat-heap` feature there is none, and this expands to nothing.
#[cfg(not(any(feature = "mem-report", feature = "dhat-heap")))]
#[macro_export]
macro_rules! install_global_allocator {
    () => {};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_names_round_trip_and_accept_design_spellings() {
        for p in Phase::ALL {
            assert_eq!(Phase::from_name(p.name()), Some(p));
            assert_eq!(Phase::from_tag(p.tag()), Some(p));
        }
        assert_eq!(
            Phase::from_name("target-expansion"),
            Some(Phase::TargetExpansion)
        );
        assert_eq!(Phase::from_name("os_detection"), Some(Phase::OsDetection));
        assert_eq!(Phase::from_name("Sending"), Some(Phase::Sending));
        assert_eq!(Phase::from_name("sendin"), None);
        assert_eq!(Phase::from_tag(0), None);
        assert_eq!(usize::from(Phase::Teardown.tag()), ROWS - 1);
    }

    #[test]
    fn unit_test_binary_has_no_counting_allocator() {
        // The library never installs an allocator; only binaries do.
        assert_eq!(
            mode(),
            if cfg!(feature = "dhat-heap") {
                Mode::Dhat
            } else {
                Mode::Off
            }
        );
        assert!(report().is_err());
    }

    #[test]
    fn in_phase_sets_the_phase_only_while_polled() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let counting = cfg!(all(feature = "mem-report", not(feature = "dhat-heap")));
        let seen = rt.block_on(async { current_phase() }.in_phase(Phase::Output));
        assert_eq!(seen, counting.then_some(Phase::Output));
        assert_eq!(current_phase(), None);
    }
}
