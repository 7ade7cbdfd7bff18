//! A panic on a worker thread ends the scan promptly with exit status 1,
//! one line on stderr and complete output files. The panic is injected
//! with `PRTIP_TEST_PANIC`, which only debug builds read.
//!
//! Network safety: only 127.0.0.1 is scanned.

mod common;

use common::prtip;
use prtip_testkit::{
    prereq::{require_file, require_tool},
    process::{describe, run_timeout, tempdir},
    xml,
};
use std::time::{Duration, Instant};

/// Far below the 30 s a hung scan would take to be killed by the test kit,
/// and above the panic watchdog's 5 s grace.
const PROMPT: Duration = Duration::from_secs(15);

fn panics_at(place: &str, extra: &[&str]) {
    if !cfg!(debug_assertions) {
        // Release builds ignore PRTIP_TEST_PANIC.
        return;
    }
    let dir = tempdir();
    let xml = dir.path().join("x.xml");
    let json = dir.path().join("x.json");
    let started = Instant::now();
    let out = run_timeout(
        prtip()
            .env("PRTIP_TEST_PANIC", place)
            .args(["-sT", "-Pn", "-p", "1-50"])
            .args(extra)
            .args(["-oX", xml.to_str().expect("utf-8")])
            .args(["-oJ", json.to_str().expect("utf-8")])
            .arg("127.0.0.1"),
        Duration::from_secs(60),
    );
    let ctx = format!("PRTIP_TEST_PANIC={place}\n{}", describe(&out));
    assert!(started.elapsed() < PROMPT, "not prompt: {ctx}");
    assert_eq!(out.status.code(), Some(1), "{ctx}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one stderr line: {ctx}");
    assert!(lines[0].starts_with("prtip: internal error: "), "{ctx}");
    assert!(lines[0].contains("injected panic"), "{ctx}");

    let text = std::fs::read_to_string(&xml).expect("read xml");
    assert!(text.trim_end().ends_with("</nmaprun>"), "{ctx}\n{text}");
    if require_tool("xmllint") {
        xml::xmllint(&xml, false);
        if require_file(xml::NMAP_DTD) {
            xml::xmllint(&xml, true);
        }
    }
    let lines = std::fs::read_to_string(&json).expect("read json");
    let last = lines.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("last JSON line {last:?} does not parse: {e}\n{ctx}"));
    assert_eq!(v["type"], "stats", "{lines}");
    assert_eq!(v["interrupted"], true, "{lines}");
}

/// When the orderly shutdown hangs after a panic, the watchdog still ends
/// the process with exit status 1 a few seconds later.
#[test]
fn stuck_shutdown_after_a_panic_still_exits_1() {
    if !cfg!(debug_assertions) {
        return;
    }
    let started = Instant::now();
    let out = run_timeout(
        prtip()
            .env("PRTIP_TEST_PANIC", "stuck")
            .args(["-sT", "-n", "-Pn", "-p", "1", "127.0.0.1"]),
        Duration::from_secs(60),
    );
    assert!(started.elapsed() < PROMPT, "hung: {}", describe(&out));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{}", describe(&out));
    assert!(
        stderr.contains("injected panic at stuck"),
        "{}",
        describe(&out)
    );
}

#[test]
fn engine_panic_exits_1_with_complete_outputs() {
    panics_at("engine", &["-n"]);
}

#[test]
fn stage_panic_exits_1_with_complete_outputs() {
    // Without -n, reverse DNS sends each host through a stage worker.
    panics_at("stage", &[]);
}
