//! Heap budget: the connect scan of 1,000 ports over IPv6 (`-6`, ::1),
//! in-process, against listeners this test opens, within the IPv4 budget.
//! Run with `cargo test --features dhat-heap`.
#![cfg(feature = "dhat-heap")]

mod common;

memprof::install_global_allocator!();

#[test]
fn ipv6_connect_scan_of_1000_loopback_ports_stays_within_the_ipv4_budget() {
    common::loopback_heap_scenario(&prtip::budgets::CONNECT6_1K, "-sT", "::1");
}
