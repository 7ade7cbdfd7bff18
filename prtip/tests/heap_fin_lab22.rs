//! Heap budget: an FIN scan (`-sF -Pn -p 1-1000`) of a /22 (1,024
//! hosts, 1,024,000 probes) across the namespace lab, in-process, at the
//! SYN scan's budget: the other scan types keep the same 4-bit outcome per
//! probe. Root only.
//! Run with `cargo test --features dhat-heap --test heap_fin_lab22`.
#![cfg(feature = "dhat-heap")]

mod common;

memprof::install_global_allocator!();

#[test]
fn fin_scan_of_a_slash22_stays_within_the_syn_budget() {
    common::tcp_lab_heap_scenario(
        &prtip::budgets::FIN_LAB22,
        "-sF",
        "198.18.4.0/22",
        "1-1000",
        1000,
        1024,
        false,
    );
}
