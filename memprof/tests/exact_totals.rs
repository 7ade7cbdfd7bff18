//! Whole-process totals return exactly to their baseline once the threads that allocated have
//! exited: every batch, including allocations and frees made during thread teardown (after
//! the thread's exit flush ran), is folded. One test only, so nothing else in this process
//! allocates while it runs.
#![cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]

use std::collections::HashMap;

use memprof::{InPhaseExt, Phase};

memprof::install_global_allocator!();

thread_local! {
    // Its destructor runs during thread teardown and allocates: exercises the unbatched path.
    static ON_EXIT: AllocOnDrop = const { AllocOnDrop };
}

struct AllocOnDrop;

impl Drop for AllocOnDrop {
    fn drop(&mut self) {
        let v: Vec<String> = (0..50).map(|i| format!("teardown {i}")).collect();
        std::hint::black_box(v);
    }
}

fn work(seed: usize) -> usize {
    ON_EXIT.with(|_| ());
    let _g = memprof::phase(Phase::ALL[seed % Phase::ALL.len()]);
    let mut map: HashMap<String, Vec<u32>> = HashMap::new();
    for i in 0..20_000 {
        map.entry(format!("k{}", (i * 7 + seed) % 997))
            .or_default()
            .push(i as u32);
    }
    let mut s = String::new();
    for (k, v) in &map {
        s.push_str(k);
        s.push_str(&v.len().to_string());
    }
    s.len()
}

/// A bare pthread: nothing allocates before `ON_EXIT` registers its destructor, so that
/// destructor runs after memprof's exit flush and its allocations take the unbatched path.
extern "C" fn bare_thread(_: *mut libc::c_void) -> *mut libc::c_void {
    ON_EXIT.with(|_| ());
    std::hint::black_box(work(6));
    std::ptr::null_mut()
}

fn run_bare_thread() {
    let mut tid: libc::pthread_t = 0;
    // SAFETY: `tid` is writable, default attributes, and `bare_thread` neither unwinds (no
    // panicking operation in `work`) nor uses its argument.
    unsafe {
        assert_eq!(
            libc::pthread_create(
                &mut tid,
                std::ptr::null(),
                bare_thread,
                std::ptr::null_mut()
            ),
            0
        );
        assert_eq!(libc::pthread_join(tid, std::ptr::null_mut()), 0);
    }
}

fn run_on_current_thread_runtime() -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let n = rt.block_on(async { work(5) }.in_phase(Phase::Output));
    drop(rt);
    n
}

#[test]
fn totals_return_to_baseline_after_threads_exit() {
    // tokio and `ON_EXIT` keep a little per-thread state on this thread until it exits; let
    // them make it before the baseline.
    std::hint::black_box(run_on_current_thread_runtime());
    let base = memprof::totals().unwrap();
    let live_blocks = |t: &memprof::Totals| t.allocations - t.frees;
    let handles: Vec<_> = (0..4)
        .map(|i| std::thread::spawn(move || work(i)))
        .collect();
    let lens: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    drop(lens);
    run_bare_thread();
    // A current-thread runtime exercises in_phase on this thread.
    std::hint::black_box(run_on_current_thread_runtime());

    let after = memprof::totals().unwrap();
    assert!(after.allocations > base.allocations + 80_000, "{after:?}");
    assert_eq!(after.live_bytes, base.live_bytes, "{base:?}\n{after:?}");
    assert_eq!(
        after.live_bytes_with_headers, base.live_bytes_with_headers,
        "{base:?}\n{after:?}"
    );
    assert_eq!(live_blocks(&after), live_blocks(&base));
    let r = memprof::report().unwrap();
    let live_sum: u64 = r.phases.iter().map(|p| p.live_now_bytes).sum();
    assert_eq!(live_sum, r.totals.live_bytes);
    for p in Phase::ALL.iter().take(7) {
        assert_eq!(r.phase(*p).unwrap().live_now_bytes, 0, "{p}");
    }
}
