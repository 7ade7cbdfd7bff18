//! Shared by the criterion benches: a quick default configuration, an
//! allocation counter (so a bench can say whether its hot path allocates),
//! and the loader for nmap's data files, which skips when they are absent.
//!
//! Each bench target includes this with `mod common;`; not every target uses
//! every item.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use criterion::Criterion;

/// Short warm-up and measurement so that `cargo bench -p benchmarks` stays
/// within a few minutes on a 2-core machine; groups with slow routines lower
/// the sample size further.
pub fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(50)
        .without_plots()
}

/// The system allocator, counting this thread's allocations (and
/// reallocations) so that a bench can report allocations per operation.
/// One thread-local increment per call: noise next to the allocation itself.
#[derive(Debug)]
pub struct CountingAlloc;

thread_local! {
    // Const-initialised and without a destructor: usable inside the allocator.
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations (including reallocations) this thread made while running `f`.
/// Meaningful only in a bench binary that installs [`CountingAlloc`] as its
/// global allocator.
pub fn allocations<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = ALLOCS.with(Cell::get);
    let out = f();
    (out, ALLOCS.with(Cell::get) - before)
}

/// Prints how many allocations `ops` operations made, per operation, as a
/// line beside criterion's timings.
pub fn report_allocs(name: &str, ops: u64, f: impl FnOnce()) {
    let ((), n) = allocations(f);
    let per = n as f64 / ops.max(1) as f64;
    println!("allocs {name}: {n} over {ops} ops = {per:.3} per op");
}

/// nmap's data file at `path`, or `None` after printing a SKIPPED line when
/// it is missing (nmap is not installed): benches never panic for that.
pub fn nmap_file(path: &str) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) => {
            println!("SKIPPED (needs nmap): {path}: {e}");
            None
        }
    }
}
