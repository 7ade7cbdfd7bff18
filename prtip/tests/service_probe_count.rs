//! Once a probe has a hard match, the probes after it in nmap's order cannot
//! change the answer, so -sV must not send them: an nginx-like server is
//! identified from the first few probes, not after the thirty nmap's file
//! has for an unknown port (each of which would also cost a walk over
//! thousands of rules).

mod common;

use common::prtip;
use prtip_testkit::{
    loopback, prereq,
    process::{describe, run_timeout},
};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n\
Content-Length: 2\r\nConnection: close\r\n\r\nok";
const BAD: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n\
Content-Length: 3\r\nConnection: close\r\n\r\nbad";

/// Answers like nginx: 200 to `GET /`, 400 to anything else, nothing until
/// asked. Counts connections.
fn serve(stop: Arc<AtomicBool>, accepted: Arc<AtomicUsize>) -> u16 {
    loopback::serve(stop, move |s| {
        accepted.fetch_add(1, Ordering::Relaxed);
        answer(s);
    })
}

fn answer(mut s: TcpStream) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(6)));
    let mut buf = [0u8; 512];
    let Ok(n) = s.read(&mut buf) else { return };
    if n == 0 {
        return;
    }
    let reply = if buf[..n].starts_with(b"GET / ") {
        OK
    } else {
        BAD
    };
    let _ = s.write_all(reply);
}

#[test]
fn no_probe_is_sent_after_a_hard_match() {
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicUsize::new(0));
    let port = serve(Arc::clone(&stop), Arc::clone(&accepted));
    let out = run_timeout(
        prtip().args([
            "-sT",
            "-sV",
            "--version-trace",
            "-n",
            "-Pn",
            "-p",
            &port.to_string(),
            "127.0.0.1",
        ]),
        Duration::from_secs(120),
    );
    stop.store(true, Ordering::Relaxed);
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains(&format!("{port}/tcp open  http")) && stdout.contains("nginx 1.22.1"),
        "{stdout}\n{stderr}"
    );
    let sent = stderr.matches("Service scan sending probe").count();
    let connections = accepted.load(Ordering::Relaxed);
    println!("{sent} probes sent, {connections} connections (one is the port scan's)");
    // NULL and the next three probes start at once (the window of four);
    // GetRequest is among them. A probe that ends unmatched before GetRequest's
    // answer arrives frees its place for the next one, so allow two of those.
    // Without the rule, all of nmap's ~30 eligible probes go out.
    assert!(sent <= 6, "{sent} probes sent:\n{stderr}");
    assert!(
        connections <= sent + 1,
        "{connections} connections for {sent} probes"
    );
}

/// With few descriptors, -sV must wait for one rather than report a port it
/// could not connect to as an unknown service: 24 nginx-like ports scanned
/// under a limit of 72 descriptors (8 for sockets once prtip's reserve is
/// kept) are all identified.
#[test]
fn a_tight_descriptor_limit_delays_but_does_not_misreport() {
    if !prereq::require_tool("prlimit") {
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicUsize::new(0));
    let ports: Vec<u16> = (0..24)
        .map(|_| serve(Arc::clone(&stop), Arc::clone(&accepted)))
        .collect();
    let spec = ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let out = run_timeout(
        Command::new("prlimit")
            .arg("--nofile=72:72")
            .arg(common::prtip_path())
            .args(["-sT", "-sV", "-n", "-Pn", "-p", &spec, "127.0.0.1"]),
        Duration::from_secs(240),
    );
    stop.store(true, Ordering::Relaxed);
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for p in &ports {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{p}/tcp ")))
            .unwrap_or_else(|| panic!("no line for {p}:\n{stdout}"));
        assert!(
            line.contains("open") && line.contains("http") && line.contains("nginx 1.22.1"),
            "{p} misreported: {line}\n{stdout}"
        );
    }
}
