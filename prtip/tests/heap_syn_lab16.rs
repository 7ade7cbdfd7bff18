//! Heap budget: a SYN scan (`-sS -Pn -p 22,80,443,1000`) of a /16 (65,536
//! hosts, 262,144 probes) across the namespace lab, in-process: the test thread
//! enters the lab's scan namespace with setns(2) before `prtip::app::run`, so
//! every thread of the scan lives there. Root only.
//! Run with `cargo test --features dhat-heap --test heap_syn_lab16`.
#![cfg(feature = "dhat-heap")]

mod common;

memprof::install_global_allocator!();

#[test]
fn syn_scan_of_a_slash16_stays_within_budget() {
    common::syn_lab_heap_scenario(
        &prtip::budgets::SYN_LAB16,
        "198.19.0.0/16",
        "22,80,443,1000",
        4,
        65536,
    );
}
