//! Heap budget: a SYN scan over IPv6 (`-6 -sS -Pn -p 1-1000`) of the lab's
//! /118 (1,024 hosts, 1,024,000 probes), in-process inside the lab's scan
//! namespace, within the IPv4 /22 budget. Root only.
//! Run with `cargo test --features dhat-heap --test heap_syn6_lab118`.
#![cfg(feature = "dhat-heap")]

mod common;

memprof::install_global_allocator!();

#[test]
fn ipv6_syn_scan_of_a_slash118_stays_within_the_ipv4_budget() {
    common::syn_lab_heap_scenario(
        &prtip::budgets::SYN6_LAB118,
        prtip_testkit::lab::ScriptLab::PREFIX6,
        "1-1000",
        1000,
        1024,
    );
}
