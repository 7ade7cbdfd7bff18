//! The counting allocator: per-thread batches folded into global atomics, and a one-byte
//! phase tag in front of every block so a free is charged to the phase that allocated.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use crate::{FLUSH_BYTES, FLUSH_OPS, HEADER_BYTES, ROWS};

// Relaxed everywhere: every counter is an independent sum; nothing else is published through
// them, and the report is documented as approximate (within the bound) while threads run.
const R: Ordering = Ordering::Relaxed;

/// Counting wrapper around [`std::alloc::System`].
///
/// Install it with [`install_global_allocator!`](crate::install_global_allocator) (or
/// `#[global_allocator] static A: memprof::CountingAlloc = memprof::CountingAlloc::new();`).
///
/// # Cost and accuracy
///
/// Each operation updates plain (non-atomic) thread-local counters; a thread folds them into
/// global atomics before [`FLUSH_OPS`] operations or [`FLUSH_BYTES`] moved bytes (allocated +
/// freed + header bytes) are pending, when it exits, and when it calls [`flush`](crate::flush);
/// operations made during thread teardown, after its exit fold, are folded one by one. So at any moment every byte counter of the report lags the exact
/// value by less than `FLUSH_BYTES` per thread that is alive and has allocated, and every
/// count by less than `FLUSH_OPS` per such thread. The peak is taken over the folded global
/// value, hence `|reported peak - true peak| < N * FLUSH_BYTES` where `N` is the largest
/// number of such threads alive at once ([`Totals::error_bound_bytes`](crate::Totals)).
/// Phase rows are folded together with the totals, so they add up to the totals exactly
/// whenever all threads have flushed, and within the same bound otherwise.
///
/// # Header
///
/// Every block carries one tag byte after it: the phase that made it. The tag is not counted
/// in the "requested bytes" figures but is in the `*_with_headers` ones, which is what Valgrind
/// massif sees as `mem_heap_B`.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAlloc {
    _private: (),
}

impl CountingAlloc {
    /// A counting allocator; `const` so it can initialise a `#[global_allocator]` static.
    #[must_use]
    pub const fn new() -> Self {
        Self { _private: () }
    }
}

#[inline(always)]
fn outer_layout(size: usize, align: usize) -> Option<Layout> {
    let total = size.checked_add(TAG)?;
    Layout::from_size_align(total, align).ok()
}

/// Bytes of the per-block tag, kept after the block (see [`HEADER_BYTES`]).
const TAG: usize = HEADER_BYTES;

// SAFETY: every block handed out is the start of a block obtained from `System` with the same
// alignment and `size + TAG` bytes, so it is valid and aligned for `layout`; the tag byte sits
// at offset `size`, past the caller's bytes. `dealloc`/`realloc` find it from the caller's
// layout (the `GlobalAlloc` contract makes it the layout the block was allocated with) and hand
// `System` back exactly the pointer and layout it gave us.
//
// The tag trails the block rather than leading it so the pointer the program holds is the
// pointer malloc returned: Valgrind's leak checker then sees start pointers, not interior ones,
// and does not report live blocks as "possibly lost".
/// Allocate `layout.size() + TAG` bytes with `system` and write the current phase's tag after
/// the caller's bytes.
///
/// # Safety
/// `layout` must have a non-zero size, and `system` must return null or a block valid for
/// the layout it is given.
#[inline(always)]
unsafe fn tagged_alloc(layout: Layout, system: impl FnOnce(Layout) -> *mut u8) -> *mut u8 {
    let Some(outer) = outer_layout(layout.size(), layout.align()) else {
        return std::ptr::null_mut();
    };
    let base = system(outer);
    if base.is_null() {
        return base;
    }
    let tag = on_alloc(layout.size(), TAG);
    // SAFETY: `base` points to `size + TAG` bytes; offset `size` is the tag byte.
    unsafe { base.add(layout.size()).write(tag) };
    base
}

unsafe impl GlobalAlloc for CountingAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract: `layout` has a non-zero size.
        unsafe { tagged_alloc(layout, |outer| System.alloc(outer)) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`; `System.alloc_zeroed` keeps calloc's fresh-page shortcut,
        // which a generic alloc + memset would lose (and would inflate RSS).
        unsafe { tagged_alloc(layout, |outer| System.alloc_zeroed(outer)) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc`/`realloc` above with this layout, so the tag byte is
        // at offset `size`.
        let tag = unsafe { ptr.add(layout.size()).read() };
        // SAFETY: `size + TAG` fitted in a `Layout` when the block was made.
        let outer =
            unsafe { Layout::from_size_align_unchecked(layout.size() + TAG, layout.align()) };
        // SAFETY: `ptr`/`outer` are exactly what `System` returned / was asked for.
        unsafe { System.dealloc(ptr, outer) };
        on_free(tag, layout.size(), TAG);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if outer_layout(new_size, layout.align()).is_none() {
            return std::ptr::null_mut();
        }
        // SAFETY: as in `dealloc`.
        let old_tag = unsafe { ptr.add(layout.size()).read() };
        // SAFETY: as in `dealloc`.
        let outer =
            unsafe { Layout::from_size_align_unchecked(layout.size() + TAG, layout.align()) };
        // SAFETY: `ptr`/`outer` describe the live system block; the new size was checked to
        // form a valid layout. Delegating keeps the system's in-place growth (no copy).
        let new_base = unsafe { System.realloc(ptr, outer, new_size + TAG) };
        if new_base.is_null() {
            return new_base;
        }
        let tag = on_realloc(old_tag, layout.size(), new_size);
        // SAFETY: the new block holds `new_size + TAG` bytes; the tag goes at offset `new_size`.
        unsafe { new_base.add(new_size).write(tag) };
        new_base
    }
}

// ---------------------------------------------------------------------------------------------
// Thread-local batch.

const UNREGISTERED: u8 = 0;
const REGISTERING: u8 = 1;
const REGISTERED: u8 = 2;
/// The thread's exit flush already ran (or its destructor could not be registered): every
/// operation is folded immediately.
const EXITING: u8 = 3;

struct LocalRow {
    allocs: Cell<u64>,
    reallocs: Cell<u64>,
    frees: Cell<u64>,
    bytes: Cell<u64>,
    live: Cell<i64>,
}

impl LocalRow {
    const fn new() -> Self {
        Self {
            allocs: Cell::new(0),
            reallocs: Cell::new(0),
            frees: Cell::new(0),
            bytes: Cell::new(0),
            live: Cell::new(0),
        }
    }
}

/// Per-thread state. It has no `Drop` and a `const` initialiser, so accessing it never
/// allocates and never registers a TLS destructor (which would call back into the allocator
/// through glibc's `__cxa_thread_atexit_impl`), and it stays readable during thread teardown.
struct Local {
    current: Cell<u8>,
    state: Cell<u8>,
    /// What is left of the batch: starts at `FLUSH_BYTES` and loses the bytes each operation
    /// moves plus `OP_COST`, so it runs out before either `FLUSH_BYTES` bytes or `FLUSH_OPS`
    /// operations are pending. Kept at 0 outside `REGISTERED` so that one test on the hot path
    /// also sends the first operation (registration) and teardown operations to the slow path.
    credit: Cell<isize>,
    header_live: Cell<i64>,
    rows: [LocalRow; ROWS],
}

const OP_COST: isize = (FLUSH_BYTES / FLUSH_OPS as usize) as isize;

impl Local {
    const fn new() -> Self {
        Self {
            current: Cell::new(0),
            state: Cell::new(UNREGISTERED),
            credit: Cell::new(0),
            header_live: Cell::new(0),
            rows: [const { LocalRow::new() }; ROWS],
        }
    }

    #[inline(always)]
    fn row(&self, tag: u8) -> &LocalRow {
        // A tag is only ever written by this allocator; the fallback keeps a corrupted byte
        // from indexing out of bounds.
        self.rows.get(usize::from(tag)).unwrap_or(&self.rows[0])
    }

    #[inline(always)]
    fn alloc(&self, size: usize, header: usize) -> u8 {
        let tag = self.current.get();
        let r = self.row(tag);
        r.allocs.set(r.allocs.get() + 1);
        r.bytes.set(r.bytes.get() + size as u64);
        r.live.set(r.live.get() + size as i64);
        self.header_live.set(self.header_live.get() + header as i64);
        self.after_op(size + header);
        tag
    }

    #[inline(always)]
    fn free(&self, tag: u8, size: usize, header: usize) {
        let r = self.row(tag);
        r.frees.set(r.frees.get() + 1);
        r.live.set(r.live.get() - size as i64);
        self.header_live.set(self.header_live.get() - header as i64);
        self.after_op(size + header);
    }

    #[inline(always)]
    fn realloc(&self, old_tag: u8, old_size: usize, new_size: usize) -> u8 {
        // Counted like dhat does: a realloc is an allocation event of the current phase worth
        // `new_size` bytes, and the block moves from the phase that owned it to this one.
        let tag = self.current.get();
        let old = self.row(old_tag);
        old.live.set(old.live.get() - old_size as i64);
        let r = self.row(tag);
        r.reallocs.set(r.reallocs.get() + 1);
        r.bytes.set(r.bytes.get() + new_size as u64);
        r.live.set(r.live.get() + new_size as i64);
        self.after_op(old_size + new_size);
        tag
    }

    #[inline(always)]
    fn after_op(&self, moved: usize) {
        let credit = self
            .credit
            .get()
            .wrapping_sub(moved as isize)
            .wrapping_sub(OP_COST);
        self.credit.set(credit);
        if credit <= 0 {
            self.slow_path();
        }
    }

    #[cold]
    #[inline(never)]
    fn slow_path(&self) {
        if self.state.get() == UNREGISTERED {
            self.state.set(REGISTERING);
            INSTALLED.store(true, R);
            let alive = THREADS.fetch_add(1, R) + 1;
            THREADS_MAX.fetch_max(alive, R);
            // Where std has no native TLS destructors, registering allocates through us; the
            // nested call sees REGISTERING and only folds.
            if EXIT_FLUSH.try_with(|_| ()).is_ok() {
                self.state.set(REGISTERED);
            } else {
                self.state.set(EXITING);
                THREADS.fetch_sub(1, R);
            }
        }
        self.flush();
    }

    fn flush(&self) {
        let mut net = 0i64;
        // Scanning all rows (rather than tracking which are dirty) keeps the hot path one store
        // shorter; a fold happens at most every FLUSH_OPS operations.
        for (r, g) in self.rows.iter().zip(&GLOBAL_ROWS) {
            let n = r.allocs.replace(0);
            if n != 0 {
                g.allocs.fetch_add(n, R);
            }
            let n = r.reallocs.replace(0);
            if n != 0 {
                g.reallocs.fetch_add(n, R);
            }
            let n = r.frees.replace(0);
            if n != 0 {
                g.frees.fetch_add(n, R);
            }
            let n = r.bytes.replace(0);
            if n != 0 {
                g.bytes.fetch_add(n, R);
            }
            let d = r.live.replace(0);
            if d != 0 {
                let now = g.live.fetch_add(d, R) + d;
                if d > 0 {
                    g.peak.fetch_max(now, R);
                }
                net += d;
            }
        }
        let gross = net + self.header_live.replace(0);
        if net != 0 {
            let now = LIVE.fetch_add(net, R) + net;
            if net > 0 {
                PEAK.fetch_max(now, R);
            }
        }
        if gross != 0 {
            let now = LIVE_GROSS.fetch_add(gross, R) + gross;
            if gross > 0 {
                PEAK_GROSS.fetch_max(now, R);
            }
        }
        let full = if self.state.get() == REGISTERED {
            FLUSH_BYTES as isize
        } else {
            0
        };
        self.credit.set(full);
    }
}

thread_local! {
    static LOCAL: Local = const { Local::new() };
    static EXIT_FLUSH: ExitFlush = const { ExitFlush };
}

/// Its destructor folds the thread's last batch; registered on the thread's first allocation.
struct ExitFlush;

impl Drop for ExitFlush {
    fn drop(&mut self) {
        let _ = LOCAL.try_with(|l| {
            l.state.set(EXITING);
            l.flush();
        });
        THREADS.fetch_sub(1, R);
    }
}

#[inline(always)]
fn on_alloc(size: usize, header: usize) -> u8 {
    LOCAL
        .try_with(|l| l.alloc(size, header))
        .unwrap_or_else(|_| {
            let l = Local::new();
            l.state.set(EXITING);
            l.alloc(size, header)
        })
}

#[inline(always)]
fn on_free(tag: u8, size: usize, header: usize) {
    if LOCAL.try_with(|l| l.free(tag, size, header)).is_err() {
        let l = Local::new();
        l.state.set(EXITING);
        l.free(tag, size, header);
    }
}

#[inline(always)]
fn on_realloc(old_tag: u8, old_size: usize, new_size: usize) -> u8 {
    LOCAL
        .try_with(|l| l.realloc(old_tag, old_size, new_size))
        .unwrap_or_else(|_| {
            let l = Local::new();
            l.state.set(EXITING);
            l.realloc(old_tag, old_size, new_size)
        })
}

// ---------------------------------------------------------------------------------------------
// Global state.

#[repr(align(128))] // one row per pair of cache lines, so threads folding different phases don't contend
struct GlobalRow {
    allocs: AtomicU64,
    reallocs: AtomicU64,
    frees: AtomicU64,
    bytes: AtomicU64,
    live: AtomicI64,
    peak: AtomicI64,
    live_at_end: AtomicI64,
    active: AtomicU32,
    ended: AtomicBool,
}

impl GlobalRow {
    const fn new() -> Self {
        Self {
            allocs: AtomicU64::new(0),
            reallocs: AtomicU64::new(0),
            frees: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            live: AtomicI64::new(0),
            peak: AtomicI64::new(0),
            live_at_end: AtomicI64::new(0),
            active: AtomicU32::new(0),
            ended: AtomicBool::new(false),
        }
    }
}

static GLOBAL_ROWS: [GlobalRow; ROWS] = [const { GlobalRow::new() }; ROWS];
static LIVE: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);
static LIVE_GROSS: AtomicI64 = AtomicI64::new(0);
static PEAK_GROSS: AtomicI64 = AtomicI64::new(0);
static THREADS: AtomicUsize = AtomicUsize::new(0);
static THREADS_MAX: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

// ---------------------------------------------------------------------------------------------
// Crate-internal API used by lib.rs and report.rs.

pub(crate) fn installed() -> bool {
    INSTALLED.load(R)
}

pub(crate) fn flush() {
    let _ = LOCAL.try_with(Local::flush);
}

pub(crate) fn set_current(tag: u8) -> u8 {
    LOCAL.try_with(|l| l.current.replace(tag)).unwrap_or(0)
}

pub(crate) fn current() -> u8 {
    LOCAL.try_with(|l| l.current.get()).unwrap_or(0)
}

pub(crate) fn phase_started(tag: u8) {
    GLOBAL_ROWS[usize::from(tag)].active.fetch_add(1, R);
}

pub(crate) fn phase_finished(tag: u8) {
    let g = &GLOBAL_ROWS[usize::from(tag)];
    if g.active.fetch_sub(1, R) == 1 {
        // The finishing thread's own batch is folded so "live at end" is exact for single
        // threaded phases; other threads' batches are within the documented bound.
        flush();
        g.live_at_end.store(g.live.load(R), R);
        g.ended.store(true, R);
    }
}

pub(crate) fn reset_peaks() {
    flush();
    PEAK.store(LIVE.load(R), R);
    PEAK_GROSS.store(LIVE_GROSS.load(R), R);
    for g in &GLOBAL_ROWS {
        g.peak.store(g.live.load(R), R);
    }
}

/// One row as folded so far; signed live values are clamped because a free folded before its
/// allocation's batch can briefly make a global negative.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawRow {
    pub allocs: u64,
    pub reallocs: u64,
    pub frees: u64,
    pub bytes: u64,
    pub live: u64,
    pub peak: u64,
    pub live_at_end: Option<u64>,
    pub running: bool,
}

pub(crate) fn raw_row(i: usize) -> RawRow {
    let g = &GLOBAL_ROWS[i];
    let active = g.active.load(R);
    RawRow {
        allocs: g.allocs.load(R),
        reallocs: g.reallocs.load(R),
        frees: g.frees.load(R),
        bytes: g.bytes.load(R),
        live: clamp(g.live.load(R)),
        peak: clamp(g.peak.load(R)),
        live_at_end: (active == 0 && g.ended.load(R)).then(|| clamp(g.live_at_end.load(R))),
        running: active != 0,
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct RawTotals {
    pub live: u64,
    pub peak: u64,
    pub live_gross: u64,
    pub peak_gross: u64,
    pub threads_max: usize,
}

pub(crate) fn raw_totals() -> RawTotals {
    RawTotals {
        live: clamp(LIVE.load(R)),
        peak: clamp(PEAK.load(R)),
        live_gross: clamp(LIVE_GROSS.load(R)),
        peak_gross: clamp(PEAK_GROSS.load(R)),
        threads_max: THREADS_MAX.load(R),
    }
}

fn clamp(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
