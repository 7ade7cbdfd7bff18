//! Once its sockets and output files are open, a scan holds no capability
//! in any thread, and NO_NEW_PRIVS is set: read from
//! `/proc/<pid>/task/*/status` while scans of each engine run as root, and
//! the scans still finish with the right answers.
//!
//! Network safety: only 127.0.0.1 is scanned.

mod common;

use common::prtip;
use prtip_testkit::prereq::require_root;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// (task id, CapEff, CapPrm, NoNewPrivs) of every thread of `pid`.
fn tasks(pid: u32) -> Vec<(String, String, String, String)> {
    let dir = format!("/proc/{pid}/task");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let status = std::fs::read_to_string(e.path().join("status")).ok()?;
            let field = |name: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(|v| v.trim().to_string())
                    .unwrap_or_default()
            };
            Some((
                e.file_name().to_string_lossy().into_owned(),
                field("CapEff:"),
                field("CapPrm:"),
                field("NoNewPrivs:"),
            ))
        })
        .collect()
}

/// Runs prtip with `args`; once it printed its first line (written after
/// the privileges are dropped), every thread must hold nothing. Returns
/// the whole output.
fn threads_hold_nothing(args: &[&str]) -> String {
    let mut child = prtip()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn prtip");
    let pid = child.id();
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("first line");
    // Give the engine time to start its threads.
    std::thread::sleep(Duration::from_millis(300));
    let seen = tasks(pid);
    let mut rest = String::new();
    out.read_to_string(&mut rest).expect("output");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "prtip {args:?} did not finish");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "prtip {args:?}: {status}");
    assert!(seen.len() >= 2, "expected several threads: {seen:?}");
    for (tid, eff, prm, nnp) in &seen {
        assert_eq!(eff, "0000000000000000", "thread {tid} of {args:?}");
        assert_eq!(prm, "0000000000000000", "thread {tid} of {args:?}");
        assert_eq!(nnp, "1", "thread {tid} of {args:?}");
    }
    first + &rest
}

#[test]
fn raw_and_connect_scans_drop_every_capability() {
    if !require_root() {
        return;
    }
    let open = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = open.local_addr().expect("addr").port().to_string();
    let ports = format!("1-1500,{port}");
    // Slow enough to be watched; the open port must still be found.
    let syn = threads_hold_nothing(&[
        "-sS",
        "-n",
        "-Pn",
        "--max-rate",
        "1000",
        "-p",
        &ports,
        "127.0.0.1",
    ]);
    assert!(syn.contains(&format!("{port}/tcp open")), "{syn}");
    // -e makes every connect use SO_BINDTODEVICE, on the runtime's threads.
    let connect = threads_hold_nothing(&[
        "-sT",
        "-n",
        "-Pn",
        "-e",
        "lo",
        "--max-rate",
        "1000",
        "-p",
        &ports,
        "127.0.0.1",
    ]);
    assert!(connect.contains(&format!("{port}/tcp open")), "{connect}");
    // The script thread starts before the scan drops its rights, and drops
    // its own first.
    let scripts = threads_hold_nothing(&[
        "-sS",
        "-sC",
        "--script-timeout",
        "5s",
        "-n",
        "-Pn",
        "--max-rate",
        "1000",
        "-p",
        &ports,
        "127.0.0.1",
    ]);
    assert!(scripts.contains(&format!("{port}/tcp open")), "{scripts}");
}
