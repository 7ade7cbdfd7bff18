//! Heap budget: the `-sV` scenario of `heap_version_scan` (real OpenSSH,
//! nginx http and https; `-sV -n -Pn -p 22,80,443 127.0.0.1`, in-process,
//! inside the daemons' namespace) with prtip's built-in probe database, as on
//! a machine without nmap: the test thread hides nmap's data directories in a
//! mount namespace of its own, so the whole fallback path (built-in probes,
//! built-in port names) runs and must still name all three services. Root only.
//! Run with `cargo test -p prtip --features dhat-heap --test heap_version_builtin -- --nocapture`.
#![cfg(feature = "dhat-heap")]

mod common;

use prtip_testkit::prereq::require_root;

memprof::install_global_allocator!();

#[test]
fn version_scan_with_builtin_probes_stays_within_budget() {
    if !require_root() {
        return;
    }
    common::version_scan_heap_scenario(&prtip::budgets::VERSION_BUILTIN, "prtip-heapsb", true);
}
