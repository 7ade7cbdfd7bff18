//! Hostile NSE scripts end alone: an endless Lua loop is ended by
//! `--script-timeout`, a thrown error becomes nmap's "ERROR: Script
//! execution failed" line, a script allocating without bound is stopped by
//! the memory cap, and a well-behaved script beside them still prints its
//! result. Scripts are written to a temporary directory and chosen with
//! `--script DIR/`; the port is a listener of this test on 127.0.0.1.

mod common;

use common::prtip;
use prtip_testkit::prereq::require_file;
use prtip_testkit::process::{describe, run_timeout, tempdir};
use std::net::TcpListener;
use std::time::{Duration, Instant};

const SCRIPTS: &[(&str, &str)] = &[
    ("fine", "action = function() return 'all good' end"),
    ("boom", "action = function() error('boom') end"),
    ("spin", "action = function() while true do end end"),
    (
        "hog",
        "action = function() local t, s = {}, 'x' for i = 1, 64 do s = s .. s; t[i] = s end end",
    ),
];

#[test]
fn hostile_scripts_end_alone_with_a_clear_line() {
    if !require_file("/usr/share/nmap/scripts/script.db") {
        return;
    }
    let dir = tempdir();
    for (name, action) in SCRIPTS {
        let body = format!(
            "categories = {{'safe'}}\nportrule = function(host, port) return true end\n{action}\n"
        );
        std::fs::write(dir.path().join(format!("{name}.nse")), body).expect("script written");
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = listener.local_addr().expect("addr").port().to_string();
    let spec = format!("{}/", dir.path().display());
    let started = Instant::now();
    let out = run_timeout(
        prtip()
            .args(["-sT", "-n", "-Pn", "-p", &port, "127.0.0.1"])
            .args(["--script", &spec, "--script-timeout", "2s"]),
        Duration::from_secs(120),
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{}", describe(&out));
    assert!(stdout.contains("|_fine: all good\n"), "{stdout}");
    assert!(
        stdout.contains("|_boom: ERROR: Script execution failed (use -d to debug)\n"),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!(
            "NSE: spin against 127.0.0.1:{port} timed out after 2s"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("NSE: hog against"), "{stderr}");
    assert!(stderr.contains("not enough memory"), "{stderr}");
    assert!(!stdout.contains("spin:"), "{stdout}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    drop(listener);
}
