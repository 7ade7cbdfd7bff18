//! A counting global allocator for tests that assert heap budgets.
//!
//! [`Counting`] forwards every call to [`std::alloc::System`] unchanged and
//! only counts, in two ways at once:
//!
//! - per thread, in thread-locals that are const-initialised and have no
//!   destructor (so touching them never allocates and is usable inside the
//!   allocator), read with [`thread_usage`]: the test harness's other threads
//!   do not disturb the numbers;
//! - process-wide, in atomics, read with [`process_usage`]: for code that
//!   spawns threads of its own.
//!
//! A test binary installs it with
//!
//! ```
//! #[global_allocator]
//! static GLOBAL: heapcount::Counting = heapcount::Counting;
//!
//! fn main() {
//!     let (buf, usage) = heapcount::thread_usage(|| vec![0u8; 4096]);
//!     assert_eq!(buf.len(), 4096);
//!     assert!(usage.peak >= 4096 && usage.live >= 4096);
//!     assert_eq!(usage.allocs, 1);
//! }
//! ```
//!
//! Without that line nothing is counted and every [`Usage`] is zero.
//!
//! # What is counted
//!
//! Bytes are the requested [`Layout::size`], not what the system allocator
//! rounds them up to. A `realloc` is counted the way `GlobalAlloc`'s default
//! `realloc` would run it: a new block (one allocation, with the old block
//! still live, so the peak includes both) and then the old block freed. This
//! is an upper bound on what the system's in-place `realloc` holds, and it
//! keeps a growing `Vec` visible to tests that expect no allocation at all.
//!
//! Per-thread counts are of what a thread allocates and frees itself: a block
//! allocated on one thread and freed on another raises the first thread's
//! live bytes and lowers the second's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering::Relaxed};

/// The counting allocator; install it with `#[global_allocator]`.
#[derive(Debug)]
pub struct Counting;

/// Heap usage while running a closure, relative to the level at its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Peak live bytes above the level at the start.
    pub peak: usize,
    /// Live bytes at the end minus live bytes at the start (negative when
    /// the closure freed more than it kept).
    pub live: isize,
    /// Blocks obtained: `alloc`, `alloc_zeroed` and `realloc` calls (a
    /// `realloc` counts as one, as `GlobalAlloc`'s default `realloc` would
    /// call `alloc` once).
    pub allocs: u64,
}

thread_local! {
    // Const-initialised and without a destructor: usable inside the allocator.
    static THREAD_LIVE: Cell<isize> = const { Cell::new(0) };
    static THREAD_PEAK: Cell<isize> = const { Cell::new(0) };
    static THREAD_ALLOCS: Cell<u64> = const { Cell::new(0) };
}

static PROCESS_LIVE: AtomicIsize = AtomicIsize::new(0);
static PROCESS_PEAK: AtomicIsize = AtomicIsize::new(0);
static PROCESS_ALLOCS: AtomicU64 = AtomicU64::new(0);

/// Counts a new block of `size` bytes. Never allocates and never panics
/// (wrapping arithmetic), as it runs inside the allocator.
fn counted_alloc(size: usize) {
    // A `Layout`'s size never exceeds `isize::MAX`.
    let size = size as isize;
    let _ = THREAD_ALLOCS.try_with(|n| n.set(n.get().wrapping_add(1)));
    let _ = THREAD_LIVE.try_with(|live| {
        let now = live.get().wrapping_add(size);
        live.set(now);
        let _ = THREAD_PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
    PROCESS_ALLOCS.fetch_add(1, Relaxed);
    let now = PROCESS_LIVE.fetch_add(size, Relaxed).wrapping_add(size);
    PROCESS_PEAK.fetch_max(now, Relaxed);
}

/// Counts a freed block of `size` bytes.
fn counted_dealloc(size: usize) {
    let size = size as isize;
    let _ = THREAD_LIVE.try_with(|live| live.set(live.get().wrapping_sub(size)));
    PROCESS_LIVE.fetch_sub(size, Relaxed);
}

// SAFETY: every method forwards to the system allocator with the caller's
// arguments unchanged and returns its result; the counting beside it touches
// only const-initialised thread-locals without destructors and atomics, so it
// neither allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            counted_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            counted_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) };
        counted_dealloc(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // As the default `realloc` would: the new block, then the old one
            // freed (on failure the old block stays and nothing changes).
            counted_alloc(new_size);
            counted_dealloc(layout.size());
        }
        new
    }
}

/// Runs `f`; returns its result and this thread's heap usage during `f`:
/// peak live bytes above the level at the start, live bytes at the end minus
/// at the start (what `f`'s result holds included, as it is still alive) and
/// the number of blocks allocated (see [`Usage::allocs`]).
///
/// Allocations made by other threads, including threads `f` spawns, are not
/// seen; use [`process_usage`] for those. Calls nest: an outer call's peak
/// includes what happened inside an inner one.
pub fn thread_usage<T>(f: impl FnOnce() -> T) -> (T, Usage) {
    let base = THREAD_LIVE.with(Cell::get);
    let outer_peak = THREAD_PEAK.with(|peak| peak.replace(base));
    let allocs = THREAD_ALLOCS.with(Cell::get);
    let out = f();
    let live = THREAD_LIVE.with(Cell::get);
    let peak = THREAD_PEAK.with(|peak| {
        let ours = peak.get();
        peak.set(ours.max(outer_peak));
        ours
    });
    let usage = Usage {
        peak: peak.wrapping_sub(base).max(0) as usize,
        live: live.wrapping_sub(base),
        allocs: THREAD_ALLOCS.with(Cell::get).wrapping_sub(allocs),
    };
    (out, usage)
}

/// Same as [`thread_usage`], counted over all threads of the process (for
/// code that spawns threads).
///
/// Everything the process allocates while `f` runs is included, on any
/// thread: a test binary using it should run no other test at the same time
/// (hold a single test, or serialise them). In particular it is not
/// reentrant with itself across threads: concurrent callers would see each
/// other's allocations, and each one resets the shared peak when it starts.
/// Nested calls on one thread are fine, as with [`thread_usage`].
pub fn process_usage<T>(f: impl FnOnce() -> T) -> (T, Usage) {
    let base = PROCESS_LIVE.load(Relaxed);
    let outer_peak = PROCESS_PEAK.swap(base, Relaxed);
    let allocs = PROCESS_ALLOCS.load(Relaxed);
    let out = f();
    let live = PROCESS_LIVE.load(Relaxed);
    let peak = PROCESS_PEAK.fetch_max(outer_peak, Relaxed);
    let usage = Usage {
        peak: peak.wrapping_sub(base).max(0) as usize,
        live: live.wrapping_sub(base),
        allocs: PROCESS_ALLOCS.load(Relaxed).wrapping_sub(allocs),
    };
    (out, usage)
}
