//! Reverse DNS runs as a stage of its own, with its own `--mem-report`
//! phase, and only when names are asked for (no `-n`).
//!
//! The phase table comes from `--mem-report`, which the dhat-heap build
//! does not have.
#![cfg(not(feature = "dhat-heap"))]

mod common;

use common::prtip;
use prtip_testkit::process::{describe, run, tempdir};

/// Allocations charged to the "reverse DNS" phase of a `-sT` scan of one
/// closed port of 127.0.0.1, and the scan's normal output.
fn reverse_dns_allocs(extra: &[&str]) -> (u64, String) {
    let dir = tempdir();
    let report = dir.path().join("mem.json");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let out = run(prtip()
        .args(["-sT", "-Pn", "-p", &closed.to_string(), "127.0.0.1"])
        .args(extra)
        .arg(format!("--mem-report=json:{}", report.display())));
    assert!(out.status.success(), "{}", describe(&out));
    let phase = common::mem_report_phase(&report, "reverse DNS");
    let allocs = phase["allocations"].as_u64().expect("allocations");
    (allocs, String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn reverse_dns_is_a_stage_with_its_own_phase() {
    let (allocs, stdout) = reverse_dns_allocs(&[]);
    // /etc/hosts names 127.0.0.1 on every Debian system.
    assert!(
        stdout.contains("scan report for localhost (127.0.0.1)"),
        "{stdout}"
    );
    assert!(allocs > 0, "the lookup was not charged to its phase");
    let (allocs, stdout) = reverse_dns_allocs(&["-n"]);
    assert!(stdout.contains("scan report for 127.0.0.1\n"), "{stdout}");
    assert_eq!(allocs, 0, "-n still looked names up");
}
