//! With `dhat-heap` the macro installs `dhat::Alloc` and dhat's testing mode works.
#![cfg(feature = "dhat-heap")]

use memprof::{dhat, Mode, Phase, Unavailable};

memprof::install_global_allocator!();

#[test]
fn dhat_counts_and_memprof_explains() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let before = dhat::HeapStats::get();
    let v = vec![1u8; 10_000];
    let mid = dhat::HeapStats::get();
    assert_eq!(mid.curr_bytes - before.curr_bytes, 10_000);
    assert_eq!(mid.total_blocks - before.total_blocks, 1);
    drop(v);
    assert_eq!(dhat::HeapStats::get().curr_bytes, before.curr_bytes);

    assert_eq!(memprof::mode(), Mode::Dhat);
    let err = memprof::report().unwrap_err();
    assert_eq!(err, Unavailable::DhatBuild);
    assert_eq!(
        err.to_string(),
        "heap counters are not available in this build (compiled with dhat-heap)"
    );
    let _g = memprof::phase(Phase::Sending);
    assert_eq!(memprof::current_phase(), None);
}
