//! `prtip ... | head`: when standard output's reader has gone, prtip stops
//! the scan, completes its output files and exits 141 without a word, as
//! nmap ends silently (Rust's print! would panic on the closed pipe).
//!
//! Network safety: only 127.0.0.1 is scanned.

mod common;

use common::prtip;
use prtip_testkit::{
    prereq::{require_file, require_tool},
    process::{describe, tempdir, wait_output},
    xml,
};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The write end of a pipe whose read end is already closed, so every
/// write prtip makes to it fails with EPIPE, whenever it happens.
fn widowed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills the two-element array it is given.
    let rc = unsafe { libc::pipe(fds.as_mut_ptr()) };
    assert_eq!(rc, 0, "pipe: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just created and are owned only here.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Stdio::from(write)
}

/// Runs `cmd` (bounded) with its standard output on a widowed pipe.
fn run_widowed(cmd: &mut Command) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(widowed_pipe())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn prtip");
    wait_output(child, Duration::from_secs(60), "prtip with a closed stdout")
}

#[test]
fn closed_stdout_stops_the_scan_quietly_with_complete_files() {
    let dir = tempdir();
    let xml = dir.path().join("x.xml");
    let started = Instant::now();
    // 65535 ports at 2000/s would take about 33 s if the scan went on.
    let out = run_widowed(
        prtip()
            .args(["-sT", "-n", "-Pn", "-p", "1-65535", "--max-rate", "2000"])
            .args(["-oX", xml.to_str().expect("utf-8")])
            .arg("127.0.0.1"),
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the scan went on: {}",
        describe(&out)
    );
    assert_eq!(out.status.code(), Some(141), "{}", describe(&out));
    assert!(out.stderr.is_empty(), "{}", describe(&out));
    let text = std::fs::read_to_string(&xml).expect("read xml");
    assert!(text.trim_end().ends_with("</nmaprun>"), "{text}");
    if require_tool("xmllint") {
        xml::xmllint(&xml, false);
        if require_file(xml::NMAP_DTD) {
            xml::xmllint(&xml, true);
        }
    }
}

#[test]
fn closed_stdout_after_help_or_version_is_quiet() {
    for flag in ["--help", "--version"] {
        let out = run_widowed(prtip().arg(flag));
        assert_eq!(out.status.code(), Some(141), "{flag}: {}", describe(&out));
        assert!(out.stderr.is_empty(), "{flag}: {}", describe(&out));
    }
}
