//! Heap budget: a real SYN scan over IPv6 (`-6 -sS`) of 1,000 ports on ::1,
//! in-process, against listeners this test opens, within the IPv4 budget.
//! Root only (raw sockets).
//! Run with `cargo test --features dhat-heap --test heap_syn6_1k`.
#![cfg(feature = "dhat-heap")]

mod common;

use prtip_testkit::prereq::require_root;

memprof::install_global_allocator!();

#[test]
fn ipv6_syn_scan_of_1000_loopback_ports_stays_within_the_ipv4_budget() {
    if !require_root() {
        return;
    }
    common::loopback_heap_scenario(&prtip::budgets::SYN6_1K, "-sS", "::1");
}
