//! Ctrl-C, SIGTERM or SIGHUP in the middle of a scan: exit status 128 +
//! the signal and complete output files.
//!
//! Network safety: only 127.0.0.1 is scanned.

mod common;

use common::prtip;
use prtip_testkit::{
    prereq::{require_file, require_tool},
    process::{describe, run, tempdir, wait_output},
    xml,
};
use std::process::{Child, Stdio};
use std::time::Duration;

/// Start a scan slow enough to be interrupted (65535 ports at 2000/s ≈ 33 s).
fn start_slow_scan(extra: &[&str]) -> Child {
    prtip()
        .args(["-sT", "-n", "-Pn", "-p", "1-65535", "--max-rate", "2000"])
        .args(extra)
        .arg("127.0.0.1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn prtip")
}

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: kill(2) on the pid of our own, not yet reaped, child.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill({sig}) failed");
}

#[test]
fn sigint_exits_130_with_complete_outputs() {
    signal_exits_with_complete_outputs(libc::SIGINT, 130, "interrupted");
}

#[test]
fn sigterm_exits_143_with_complete_outputs() {
    signal_exits_with_complete_outputs(libc::SIGTERM, 143, "SIGTERM");
}

#[test]
fn sighup_exits_129_with_complete_outputs() {
    signal_exits_with_complete_outputs(libc::SIGHUP, 129, "SIGHUP");
}

/// A signal in mid-scan: exit status `code`, one notice naming the
/// signal, and every output file complete.
fn signal_exits_with_complete_outputs(sig: libc::c_int, code: i32, notice: &str) {
    let dir = tempdir();
    let xml = dir.path().join("x.xml");
    let json = dir.path().join("x.json");
    let gnmap = dir.path().join("x.gnmap");
    let normal = dir.path().join("x.nmap");
    let child = start_slow_scan(&[
        "-oX",
        xml.to_str().expect("utf-8"),
        "-oJ",
        json.to_str().expect("utf-8"),
        "-oG",
        gnmap.to_str().expect("utf-8"),
        "-oN",
        normal.to_str().expect("utf-8"),
    ]);
    std::thread::sleep(Duration::from_millis(1500));
    signal(&child, sig);
    let out = wait_output(child, Duration::from_secs(30), "interrupted prtip");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{}", describe(&out));
    assert!(!stderr.contains("panicked"), "{}", describe(&out));
    assert_eq!(stderr.lines().count(), 1, "{}", describe(&out));
    assert!(stderr.contains(notice), "{}", describe(&out));

    // XML: well-formed, valid, and closed.
    let text = std::fs::read_to_string(&xml).expect("read xml");
    assert!(text.trim_end().ends_with("</nmaprun>"), "{text}");
    assert!(text.contains("<runstats>"), "{text}");
    if require_tool("xmllint") {
        xml::xmllint(&xml, false);
        if require_file(xml::NMAP_DTD) {
            xml::xmllint(&xml, true);
        }
    }

    // JSON lines: each parses; the last is the stats line saying "interrupted".
    let lines = std::fs::read_to_string(&json).expect("read json");
    let values: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}\n{lines}"))
        })
        .collect();
    assert_eq!(
        values.first().map(|v| v["type"].clone()),
        Some("run".into()),
        "{lines}"
    );
    let last = values.last().expect("at least one JSON line");
    assert_eq!(last["type"], "stats", "{lines}");
    assert_eq!(last["interrupted"], true, "{lines}");

    // Grepable and normal output end with their summary line.
    let g = std::fs::read_to_string(&gnmap).expect("read gnmap");
    assert!(
        g.lines()
            .last()
            .unwrap_or_default()
            .starts_with("# prtip done"),
        "{g}"
    );
    let n = std::fs::read_to_string(&normal).expect("read normal");
    assert!(n.contains("prtip done"), "{n}");
}

#[test]
fn uninterrupted_stats_line_says_not_interrupted() {
    // Control for the test above: the same sinks without Ctrl-C.
    let dir = tempdir();
    let json = dir.path().join("x.json");
    let out = run(prtip().args([
        "-sT",
        "-n",
        "-Pn",
        "-p",
        "1-100",
        "-oJ",
        json.to_str().expect("utf-8"),
        "127.0.0.1",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let lines = std::fs::read_to_string(&json).expect("read json");
    let last: serde_json::Value =
        serde_json::from_str(lines.lines().last().expect("a line")).expect("JSON");
    assert_eq!(last["type"], "stats");
    assert_eq!(last["interrupted"], false);
}
