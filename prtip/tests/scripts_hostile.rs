//! Hostile NSE scripts end alone: an endless Lua loop is ended by
//! `--script-timeout`, a thrown error becomes nmap's "ERROR: Script
//! execution failed" line, a script allocating without bound is stopped by
//! the memory cap, and a well-behaved script beside them still prints its
//! result (with its `--script-args`), as does a host script (under "Host script results:", and in
//! `<hostscript>`, DTD-valid). Scripts are written to a temporary directory
//! and chosen with `--script DIR/`; the port is a listener of this test on
//! 127.0.0.1.

mod common;

use common::prtip;
use prtip_testkit::prereq::{require_file, require_tool};
use prtip_testkit::process::{describe, run_timeout, tempdir};
use std::net::TcpListener;
use std::time::{Duration, Instant};

const SCRIPTS: &[(&str, &str)] = &[
    (
        "fine",
        "stdnse = require 'stdnse'\n\
         action = function() return 'all good, ' .. stdnse.get_script_args('fine.word') end",
    ),
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
    std::fs::write(
        dir.path().join("hostly.nse"),
        "categories = {'safe'}\nhostrule = function(host) return host.ip == '127.0.0.1' end\n\
         action = function() local t = stdnse.output_table() t.seen = 'yes' return t end\n\
         stdnse = require 'stdnse'\n",
    )
    .expect("script written");
    let xml = dir.path().join("out.xml");
    let listener = TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = listener.local_addr().expect("addr").port().to_string();
    let spec = format!("{}/", dir.path().display());
    let started = Instant::now();
    let out = run_timeout(
        prtip()
            .args(["-sT", "-n", "-Pn", "-p", &port, "127.0.0.1"])
            .args(["--script", &spec, "--script-timeout", "2s"])
            .args(["--script-args", "fine.word=hello", "-oX"])
            .arg(&xml),
        Duration::from_secs(120),
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{}", describe(&out));
    assert!(stdout.contains("|_fine: all good, hello\n"), "{stdout}");
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
        stdout.contains("\nHost script results:\n| hostly: \n|_  seen: yes\n"),
        "{stdout}"
    );
    let xml_text =
        std::fs::read_to_string(&xml).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)));
    assert!(
        xml_text.contains(
            "<hostscript><script id=\"hostly\" output=\"&#xa;  seen: yes\"><elem key=\"seen\">yes</elem>\n</script></hostscript>"
        ),
        "{xml_text}"
    );
    if require_tool("xmllint") {
        let valid = std::process::Command::new("xmllint")
            .args(["--noout", "--dtdvalid", "/usr/share/nmap/nmap.dtd"])
            .arg(&xml)
            .status()
            .expect("xmllint runs");
        assert!(valid.success(), "XML not valid against nmap.dtd");
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    drop(listener);
}

/// SIGTERM while a script loops without `--script-timeout` still ends the
/// scan promptly with nmap's status for it (143), the host written without
/// script results.
#[test]
fn sigterm_during_an_endless_script_ends_the_scan() {
    if !require_file("/usr/share/nmap/scripts/script.db") {
        return;
    }
    let dir = tempdir();
    std::fs::write(
        dir.path().join("spin.nse"),
        "categories = {'safe'}\nportrule = function() return true end\n\
         action = function() while true do end end\n",
    )
    .expect("script written");
    let listener = TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = listener.local_addr().expect("addr").port().to_string();
    let script = dir.path().join("spin.nse");
    let child = prtip()
        .args(["-sT", "-n", "-Pn", "-p", &port, "127.0.0.1", "--script"])
        .arg(&script)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn prtip");
    std::thread::sleep(Duration::from_secs(2));
    // SAFETY: kill(2) on the pid of our own, not yet reaped, child.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0, "kill failed");
    let out = prtip_testkit::process::wait_output(child, Duration::from_secs(15), "prtip");
    assert_eq!(out.status.code(), Some(143), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("{port}/tcp open")), "{stdout}");
    drop(listener);
}
