//! Heap budget: a real connect scan of 1,000 ports on 127.0.0.1, in-process,
//! against listeners this test opens. Run with `cargo test --features dhat-heap`.
#![cfg(feature = "dhat-heap")]

mod common;

memprof::install_global_allocator!();

#[test]
fn connect_scan_of_1000_loopback_ports_stays_within_budget() {
    common::loopback_heap_scenario(&prtip::budgets::CONNECT_1K, "-sT", "127.0.0.1");
}
