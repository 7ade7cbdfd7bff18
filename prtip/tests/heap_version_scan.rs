//! Heap budget: service/version detection (`-sV -n -Pn -p 22,80,443
//! 127.0.0.1`) against real daemons (OpenSSH, nginx http and https, started
//! by `scripts/services` in a namespace of this test's own) with nmap's
//! complete nmap-service-probes, in-process: the test thread enters the
//! namespace with setns(2) before `prtip::app::run`, so 127.0.0.1 is the
//! namespace's loopback. The same scan without `-sV` runs first, in the same
//! process, to measure what `-sV` adds (goal: less than 4 MiB). Root only.
//! Run with `cargo test -p prtip --features dhat-heap --test heap_version_scan -- --nocapture`.
#![cfg(feature = "dhat-heap")]

mod common;

use prtip_testkit::prereq::{require_file, require_root};

memprof::install_global_allocator!();

#[test]
fn version_scan_of_ssh_http_https_stays_within_budget() {
    if !require_root() || !require_file("/usr/share/nmap/nmap-service-probes") {
        return;
    }
    common::version_scan_heap_scenario(&prtip::budgets::VERSION_SCAN, "prtip-heapsv", false);
}
