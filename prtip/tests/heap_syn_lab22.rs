//! Heap budget: a SYN scan (`-sS -Pn -p 1-1000`) of a /22 (1,024 hosts,
//! 1,024,000 probes) across the namespace lab, in-process: the test thread
//! enters the lab's scan namespace with setns(2) before `prtip::app::run`, so
//! every thread of the scan lives there. Root only.
//! Run with `cargo test --features dhat-heap --test heap_syn_lab22`.
#![cfg(feature = "dhat-heap")]

mod common;

memprof::install_global_allocator!();

#[test]
fn syn_scan_of_a_slash22_stays_within_budget() {
    common::syn_lab_heap_scenario(
        &prtip::budgets::SYN_LAB22,
        "198.18.4.0/22",
        "1-1000",
        1000,
        1024,
    );
}
