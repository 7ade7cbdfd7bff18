//! Heap budget: the SYN scan of `heap_syn_lab22` (1,024 hosts x 1,000
//! ports across the namespace lab) recorded with `--db` into a new SQLite
//! file, at the same budget. SQLite's heap goes through the global
//! allocator (dhat here), so it is counted. Root only.
//! Run with `cargo test --features dhat-heap --test heap_syn_lab22_db`.
#![cfg(feature = "dhat-heap")]

mod common;

memprof::install_global_allocator!();

#[test]
fn syn_scan_of_a_slash22_with_db_stays_within_budget() {
    common::syn_lab_heap_scenario_with(
        &prtip::budgets::SYN_LAB22_DB,
        "198.18.4.0/22",
        "1-1000",
        1000,
        1024,
        true,
    );
}
