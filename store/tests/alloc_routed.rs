//! SQLite's heap goes through the executable's global allocator: with a
//! counting allocator installed here, the bytes SQLite says it holds are
//! bytes this allocator handed out.

use prtip_store::alloc::{route, Routing};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};

struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: forwards to System and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as i64, Ordering::SeqCst);
        // SAFETY: the caller's layout, unchanged.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as i64, Ordering::SeqCst);
        // SAFETY: as above.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn sqlite_allocates_through_the_global_allocator() {
    assert_eq!(route(), Routing::Routed);
    let dir = tempfile::tempdir().unwrap();
    let before = LIVE.load(Ordering::SeqCst);
    let store = prtip_store::SqliteStore::open(&dir.path().join("h.sqlite")).unwrap();
    let grown = LIVE.load(Ordering::SeqCst) - before;
    // SAFETY: a read-only counter of SQLite's, callable at any time.
    let sqlite_says = unsafe { rusqlite::ffi::sqlite3_memory_used() };
    assert!(sqlite_says > 32 * 1024, "SQLite holds {sqlite_says} bytes");
    // Every byte SQLite holds (plus our 16-byte headers) came from here.
    assert!(
        grown >= sqlite_says,
        "counted {grown}, SQLite holds {sqlite_says}"
    );
    drop(store);
    // SAFETY: as above.
    let after = unsafe { rusqlite::ffi::sqlite3_memory_used() };
    assert!(
        LIVE.load(Ordering::SeqCst) - before < sqlite_says,
        "closing gives the heap back ({after} left in SQLite)"
    );
}
