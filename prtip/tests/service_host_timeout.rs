//! `--host-timeout` bounds everything done for a host, `-sV` included: a
//! host whose services keep the probes waiting is reported as nmap reports
//! a timed-out host (a skip line and nothing else), and the scan goes on.
#![cfg(not(feature = "dhat-heap"))]

mod common;

use common::prtip;
use prtip_testkit::{
    loopback::{self, LoopbackPorts},
    process::{describe, run_timeout},
};
use std::io::Write;
use std::net::TcpStream;
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// `prtip -sT -sV` on `ports` of 127.0.0.1 with `--host-timeout`; the
/// output and how long it took.
fn scan(ports: &str, host_timeout: &str) -> (Output, Duration) {
    let started = Instant::now();
    let out = run_timeout(
        prtip().args([
            "-sT",
            "-sV",
            "-n",
            "-Pn",
            "--host-timeout",
            host_timeout,
            "-p",
            ports,
            "127.0.0.1",
        ]),
        Duration::from_secs(120),
    );
    (out, started.elapsed())
}

/// The host was skipped the way nmap skips it: exit 0, the skip line, no
/// port reported, and the host still counted as up.
fn assert_skipped(out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{}", describe(out));
    assert!(
        stderr.contains("prtip: skipping host 127.0.0.1 due to host timeout"),
        "{}",
        describe(out)
    );
    assert!(!stdout.contains("/tcp"), "{}", describe(out));
    assert!(!stdout.contains("scan report for"), "{}", describe(out));
    assert!(stdout.contains("(1 host up)"), "{}", describe(out));
}

#[test]
fn silent_open_ports_cannot_keep_version_detection_past_the_host_timeout() {
    let _g = loopback::lock();
    // Listeners never accept: the kernel completes each connection, and
    // nothing is ever said on it.
    let ports = LoopbackPorts::new(200, 0);
    let (out, took) = scan(&ports.spec(), "8s");
    assert_skipped(&out);
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

/// One byte every 10 ms, never a complete banner.
fn trickle(mut s: TcpStream, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        if s.write_all(b"x").is_err() {
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_trickling_service_cannot_keep_version_detection_past_the_host_timeout() {
    let _g = loopback::lock();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let port = loopback::serve(Arc::clone(&stop), move |s| trickle(s, &flag));
    let (out, took) = scan(&port.to_string(), "5s");
    stop.store(true, Ordering::Relaxed);
    assert_skipped(&out);
    assert!(took < Duration::from_secs(10), "took {took:?}");
}
