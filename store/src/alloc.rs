//! SQLite's heap, routed through Rust's global allocator.
//!
//! SQLite calls libc's `malloc` by default, which neither memprof's counting
//! allocator nor dhat sees. `SQLITE_CONFIG_MALLOC` replaces its allocator
//! with ours: each block goes through `std::alloc`, i.e. through whatever
//! `#[global_allocator]` the executable installed (memprof's `CountingAlloc`
//! in the binary, `dhat::Alloc` in the heap tests), and is counted in the
//! phase current on the calling thread (the store sink enters `store`).
//!
//! SQLite asks for a block's size back (`xSize`, and when freeing we need
//! the `Layout`), so every block carries a 16-byte header holding its size;
//! 16 keeps the caller's bytes 16-aligned, more than SQLite's required 8.

use rusqlite::ffi;
use std::alloc::{self, Layout};
use std::os::raw::{c_int, c_void};
use std::sync::OnceLock;

const HEADER: usize = 16;
const ALIGN: usize = 16;

/// Whether SQLite allocates through Rust's allocator in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// Every SQLite block goes through the global allocator.
    Routed,
    /// SQLite was initialised before we could configure it (by other code in
    /// the process); it keeps libc's malloc. Not an error: only uncounted.
    TooLate(i32),
}

/// Configures SQLite's allocator once per process, before any connection.
///
/// Must run before SQLite initialises (`sqlite3_config` is refused
/// afterwards with `SQLITE_MISUSE`): every connection of this crate is
/// opened through [`crate::sqlite::SqliteStore::open`], which calls this
/// first, and the `OnceLock` makes the configuration happen exactly once,
/// with other threads waiting until it is done.
pub fn route() -> Routing {
    static ROUTED: OnceLock<Routing> = OnceLock::new();
    *ROUTED.get_or_init(configure)
}

fn configure() -> Routing {
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(x_malloc),
        xFree: Some(x_free),
        xRealloc: Some(x_realloc),
        xSize: Some(x_size),
        xRoundup: Some(x_roundup),
        xInit: Some(x_init),
        xShutdown: Some(x_shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: sqlite3_config is not thread-safe and must precede
    // sqlite3_initialize. `route` runs this at most once (OnceLock), before
    // this crate opens any connection; if anything else initialised SQLite
    // first, SQLite returns SQLITE_MISUSE and changes nothing, which we
    // report. SQLite copies the struct, so a stack value is fine. The
    // functions below uphold SQLite's allocator contract.
    let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &methods) };
    if rc == ffi::SQLITE_OK {
        Routing::Routed
    } else {
        Routing::TooLate(rc)
    }
}

fn layout(total: usize) -> Option<Layout> {
    Layout::from_size_align(total, ALIGN).ok()
}

unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
    let Some(size) = usize::try_from(n).ok().filter(|&s| s > 0) else {
        return std::ptr::null_mut();
    };
    let Some(l) = size.checked_add(HEADER).and_then(layout) else {
        return std::ptr::null_mut();
    };
    // SAFETY: the layout has a non-zero size.
    let base = unsafe { alloc::alloc(l) };
    if base.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: the block is at least HEADER bytes and 16-aligned, so the
    // header holds a usize and the caller's part starts HEADER bytes in.
    unsafe {
        base.cast::<usize>().write(size);
        base.add(HEADER).cast()
    }
}

/// The block's base and its size as recorded by `x_malloc`/`x_realloc`.
///
/// # Safety
/// `p` came from `x_malloc` or `x_realloc` and was not freed.
unsafe fn header(p: *mut c_void) -> (*mut u8, usize) {
    // SAFETY: per the contract, HEADER bytes before `p` are our header.
    unsafe {
        let base = p.cast::<u8>().sub(HEADER);
        (base, base.cast::<usize>().read())
    }
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: SQLite frees only what its xMalloc/xRealloc returned.
    let (base, size) = unsafe { header(p) };
    if let Some(l) = layout(size + HEADER) {
        // SAFETY: allocated with this very layout.
        unsafe { alloc::dealloc(base, l) };
    }
}

unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    if p.is_null() {
        // SAFETY: forwarding SQLite's own request.
        return unsafe { x_malloc(n) };
    }
    let Some(new) = usize::try_from(n).ok().filter(|&s| s > 0) else {
        return std::ptr::null_mut();
    };
    // SAFETY: SQLite reallocates only blocks we returned.
    let (base, old) = unsafe { header(p) };
    let (Some(l), Some(total)) = (layout(old + HEADER), new.checked_add(HEADER)) else {
        return std::ptr::null_mut();
    };
    if layout(total).is_none() {
        return std::ptr::null_mut();
    }
    // SAFETY: `base` was allocated with `l`; the new size is non-zero and
    // valid for the alignment (checked above). On failure the old block is
    // left alone, as SQLite expects.
    let moved = unsafe { alloc::realloc(base, l, total) };
    if moved.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: as in x_malloc.
    unsafe {
        moved.cast::<usize>().write(new);
        moved.add(HEADER).cast()
    }
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    if p.is_null() {
        return 0;
    }
    // SAFETY: SQLite asks only about blocks we returned; sizes came from a c_int.
    let (_, size) = unsafe { header(p) };
    c_int::try_from(size).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
    // SQLite wants multiples of 8; the header keeps 16-alignment anyway.
    n.checked_add(7).map_or(n, |m| m & !7)
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {}
