//! Heap budget: expanding a /8 must not grow with the number of addresses.
//! Run with `cargo test --features dhat-heap`.
#![cfg(feature = "dhat-heap")]

use memprof::dhat;
use prtip::budgets::TARGETS_SLASH8;
use prtip_core::target::{ExcludeSet, NoResolver, TargetList};
use std::net::Ipv4Addr;

memprof::install_global_allocator!();

#[test]
fn expanding_a_slash8_stays_within_budget() {
    let mut list = TargetList::new();
    list.push_arg("10.0.0.0/8");
    let mut excludes = ExcludeSet::new();
    excludes
        .add_list("10.1.0.0/16", &NoResolver)
        .expect("exclude");
    assert_eq!(list.count().expect("count"), 16_777_216);

    let profiler = dhat::Profiler::builder().testing().build();
    let mut n: u64 = 0;
    let mut first = None;
    let mut last = None;
    for t in list.iter(&excludes, &NoResolver) {
        let t = t.expect("target");
        if first.is_none() {
            first = Some(t.addr);
        }
        last = Some(t.addr);
        n += 1;
    }
    let stats = dhat::HeapStats::get();
    drop(profiler);

    assert_eq!(n, 16_777_216 - 65_536);
    assert_eq!(first, Some(Ipv4Addr::new(10, 0, 0, 0).into()));
    assert_eq!(last, Some(Ipv4Addr::new(10, 255, 255, 255).into()));
    eprintln!(
        "heap_targets_slash8: peak {} bytes (budget {}), {} allocations for {n} addresses",
        stats.max_bytes, TARGETS_SLASH8.max_heap_bytes, stats.total_blocks
    );
    assert!(
        stats.max_bytes as u64 <= TARGETS_SLASH8.max_heap_bytes,
        "peak heap {} B exceeds the budget of {} B",
        stats.max_bytes,
        TARGETS_SLASH8.max_heap_bytes
    );
}
