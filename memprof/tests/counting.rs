//! Counter and phase behaviour with `CountingAlloc` installed. Phase rows are per thread, so
//! assertions on a phase that only the test's own threads enter are exact even though the test
//! harness allocates concurrently; tests still run one at a time because some reset peaks.
#![cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]

use std::sync::{Barrier, Mutex, MutexGuard};

use memprof::{Phase, PhaseRow, FLUSH_BYTES};

memprof::install_global_allocator!();

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn row(p: Phase) -> PhaseRow {
    memprof::phase_stats(Some(p)).unwrap()
}

#[test]
fn two_threads_exact_after_join_and_peak_within_bound() {
    let _s = serial();
    let before = row(Phase::Sending);
    memprof::reset_peaks();
    let base_live = memprof::totals().unwrap().live_bytes;
    let held = Barrier::new(3);
    let release = Barrier::new(3);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut v: Vec<Box<[u8; 100]>> = Vec::with_capacity(10_000);
                {
                    let _g = memprof::phase(Phase::Sending);
                    for i in 0..10_000u32 {
                        v.push(Box::new([i as u8; 100]));
                    }
                }
                held.wait();
                release.wait();
                drop(v);
            });
        }
        held.wait();
        // Both threads hold 1,000,000 bytes of Sending; each may not have folded < FLUSH_BYTES.
        let mid = row(Phase::Sending);
        let visible = mid.live_now_bytes - before.live_now_bytes;
        assert!(visible <= 2_000_000, "{visible}");
        assert!(
            visible >= 2_000_000 - 2 * FLUSH_BYTES as u64,
            "visible {visible} lags more than the bound"
        );
        release.wait();
    });
    let after = row(Phase::Sending);
    assert_eq!(after.allocations - before.allocations, 20_000);
    assert_eq!(after.bytes_allocated - before.bytes_allocated, 2_000_000);
    assert_eq!(after.frees - before.frees, 20_000);
    assert_eq!(after.live_now_bytes, before.live_now_bytes);
    // Peak of the phase: both threads held all their boxes at once.
    let floor = before.live_now_bytes + 2_000_000;
    let bound = 2 * FLUSH_BYTES as u64;
    assert!(after.peak_live_bytes + bound >= floor, "{after:?}");
    assert!(after.peak_live_bytes <= floor + bound, "{after:?}");
    // Process peak: the boxes plus the two 80,000-byte vectors, minus/plus the batch bound
    // (the harness thread may also hold a batch, hence 3 threads' worth of slack).
    let t = memprof::totals().unwrap();
    let floor = base_live + 2_000_000 + 2 * 80_000;
    let slack = 3 * FLUSH_BYTES as u64;
    assert!(t.peak_live_bytes + slack >= floor, "{t:?}");
    assert!(t.peak_live_bytes <= floor + slack, "{t:?}");
    assert!(t.live_bytes.abs_diff(base_live) < slack, "{t:?}");
}

#[test]
fn unflushed_lag_is_below_bound_and_flush_makes_it_exact() {
    let _s = serial();
    let before = row(Phase::Receiving);
    let allocated = Barrier::new(2);
    let read = Barrier::new(2);
    let flushed = Barrier::new(2);
    let done = Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(|| {
            let _g = memprof::phase(Phase::Receiving);
            let block = vec![1u8; 1000];
            allocated.wait();
            read.wait();
            memprof::flush();
            flushed.wait();
            done.wait();
            drop(block);
        });
        allocated.wait();
        let mid = row(Phase::Receiving);
        let visible = mid.live_now_bytes - before.live_now_bytes;
        assert!(visible <= 1000);
        assert!(1000 - visible < FLUSH_BYTES as u64);
        let t = memprof::totals().unwrap();
        assert!(t.threads_max >= 2, "{t:?}");
        assert_eq!(t.error_bound_bytes, t.threads_max * FLUSH_BYTES as u64);
        read.wait();
        flushed.wait();
        let mid = row(Phase::Receiving);
        assert_eq!(mid.live_now_bytes - before.live_now_bytes, 1000);
        assert_eq!(mid.allocations - before.allocations, 1);
        assert!(mid.running);
        assert_eq!(mid.live_at_end_bytes, None);
        done.wait();
    });
    let after = row(Phase::Receiving);
    assert_eq!(after.live_now_bytes, before.live_now_bytes);
    assert_eq!(after.frees - before.frees, 1);
    assert!(!after.running);
    assert_eq!(after.live_at_end_bytes, Some(before.live_now_bytes));
}

#[test]
fn free_in_another_phase_is_charged_to_the_allocating_phase() {
    let _s = serial();
    let db0 = row(Phase::DatabaseLoad);
    let out0 = row(Phase::Output);
    let block = {
        let _g = memprof::phase(Phase::DatabaseLoad);
        vec![7u8; 5000]
    };
    let db1 = row(Phase::DatabaseLoad);
    assert_eq!(db1.allocations - db0.allocations, 1);
    assert_eq!(db1.live_now_bytes - db0.live_now_bytes, 5000);
    assert_eq!(db1.live_at_end_bytes, Some(db0.live_now_bytes + 5000));
    {
        let _g = memprof::phase(Phase::Output);
        drop(block);
    }
    let db2 = row(Phase::DatabaseLoad);
    let out2 = row(Phase::Output);
    assert_eq!(db2.frees - db0.frees, 1);
    assert_eq!(db2.live_now_bytes, db0.live_now_bytes);
    // Retained at the end of database load is history: it still says 5000.
    assert_eq!(db2.live_at_end_bytes, Some(db0.live_now_bytes + 5000));
    assert_eq!(out2.frees, out0.frees);
    assert_eq!(out2.allocations, out0.allocations);
    assert_eq!(out2.live_now_bytes, out0.live_now_bytes);
}

#[test]
fn realloc_moves_the_block_to_the_current_phase() {
    let _s = serial();
    let te0 = row(Phase::TargetExpansion);
    let os0 = row(Phase::OsDetection);
    let mut v: Vec<u8> = {
        let _g = memprof::phase(Phase::TargetExpansion);
        Vec::with_capacity(16)
    };
    v.extend_from_slice(b"0123456789abcdef");
    {
        let _g = memprof::phase(Phase::OsDetection);
        v.reserve_exact(10_000 - 16);
        assert_eq!(v.capacity(), 10_000);
    }
    assert_eq!(&v[..], b"0123456789abcdef");
    let te1 = row(Phase::TargetExpansion);
    let os1 = row(Phase::OsDetection);
    assert_eq!(te1.allocations - te0.allocations, 1);
    assert_eq!(te1.live_now_bytes, te0.live_now_bytes);
    assert_eq!(os1.reallocations - os0.reallocations, 1);
    assert_eq!(os1.allocations, os0.allocations);
    assert_eq!(os1.bytes_allocated - os0.bytes_allocated, 10_000);
    assert_eq!(os1.live_now_bytes - os0.live_now_bytes, 10_000);
    drop(v);
    let os2 = row(Phase::OsDetection);
    assert_eq!(os2.frees - os0.frees, 1);
    assert_eq!(os2.live_now_bytes, os0.live_now_bytes);
}

#[test]
fn alignment_zeroing_and_realloc_preserve_contents() {
    let _s = serial();
    #[derive(Clone, Copy, PartialEq, Debug)]
    #[repr(align(64))]
    struct Line([u8; 64]);
    #[derive(Clone, Copy, PartialEq, Debug)]
    #[repr(align(4096))]
    struct Page(u8);

    let t0 = row(Phase::ServiceDetection);
    let _g = memprof::phase(Phase::ServiceDetection);
    let mut lines = Vec::with_capacity(1);
    for i in 0..100u8 {
        lines.push(Line([i; 64]));
        assert_eq!(lines.as_ptr() as usize % 64, 0);
    }
    assert!(lines.iter().enumerate().all(|(i, l)| l.0 == [i as u8; 64]));
    let page = Box::new(Page(9));
    assert_eq!(&*page as *const Page as usize % 4096, 0);
    let zeros = vec![0u64; 100_000];
    assert!(zeros.iter().all(|&z| z == 0));
    let t1 = row(Phase::ServiceDetection);
    assert_eq!(
        t1.live_now_bytes - t0.live_now_bytes,
        (lines.capacity() * 64 + 4096 + 800_000) as u64
    );
    assert_eq!(t1.allocations - t0.allocations, 3);
    drop((lines, page, zeros));
    let t2 = row(Phase::ServiceDetection);
    assert_eq!(t2.live_now_bytes, t0.live_now_bytes);
    assert_eq!(t2.frees - t0.frees, 3);
}

#[test]
fn guards_nest_and_restore() {
    let _s = serial();
    assert_eq!(memprof::current_phase(), None);
    {
        let _a = memprof::phase(Phase::ArgumentParsing);
        assert_eq!(memprof::current_phase(), Some(Phase::ArgumentParsing));
        {
            let _b = memprof::phase(Phase::Teardown);
            assert_eq!(memprof::current_phase(), Some(Phase::Teardown));
            assert!(row(Phase::ArgumentParsing).running);
        }
        assert_eq!(memprof::current_phase(), Some(Phase::ArgumentParsing));
        assert!(!row(Phase::Teardown).running);
    }
    assert_eq!(memprof::current_phase(), None);
    assert!(!row(Phase::ArgumentParsing).running);
}

#[test]
fn report_rows_add_up_and_print() {
    let _s = serial();
    assert_eq!(memprof::mode(), memprof::Mode::Counting);
    {
        let _g = memprof::phase(Phase::Output);
        let keep: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        std::hint::black_box(&keep);
    }
    let r = memprof::report().unwrap();
    let names: Vec<&str> = r.phases.iter().map(|p| p.phase.as_ref()).collect();
    let mut expected: Vec<&str> = Phase::ALL.iter().map(|p| p.name()).collect();
    expected.push(memprof::UNTRACKED);
    assert_eq!(names, expected);
    let sum = |f: fn(&PhaseRow) -> u64| r.phases.iter().map(f).sum::<u64>();
    assert_eq!(sum(|p| p.allocations), r.totals.allocations);
    assert_eq!(sum(|p| p.frees), r.totals.frees);
    assert_eq!(sum(|p| p.bytes_allocated), r.totals.bytes_allocated);
    let live_sum = sum(|p| p.live_now_bytes);
    assert!(
        live_sum.abs_diff(r.totals.live_bytes) <= r.totals.error_bound_bytes,
        "{live_sum} vs {:?}",
        r.totals
    );
    assert!(r.totals.peak_live_bytes >= r.totals.live_bytes);
    assert!(r.totals.peak_live_bytes_with_headers >= r.totals.peak_live_bytes);
    // Every live block carries at least HEADER_BYTES of header.
    let blocks = r.totals.allocations - r.totals.frees;
    let headers = r.totals.live_bytes_with_headers - r.totals.live_bytes;
    assert!(
        headers + r.totals.error_bound_bytes >= blocks * memprof::HEADER_BYTES as u64,
        "{:?}",
        r.totals
    );
    assert!(r.peak_rss_bytes.unwrap() > 0);
    assert!(r.phase(Phase::Output).unwrap().allocations >= 101);

    let mut table = Vec::new();
    r.write_table(&mut table).unwrap();
    let table = String::from_utf8(table).unwrap();
    for (line, name) in table.lines().skip(1).zip(&expected) {
        assert!(line.starts_with(name), "{table}");
    }
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["totals"]["allocations"], r.totals.allocations);
    assert_eq!(json["phases"].as_array().unwrap().len(), expected.len());
}
