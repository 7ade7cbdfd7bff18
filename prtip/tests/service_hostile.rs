//! -sV against services built to hurt a scanner: an endless banner, a
//! 100 MB answer to anything, and a TLS look-alike that sends garbage after
//! the first record. The scan must finish, report the ports, and keep the
//! heap of the service-detection phase within budget.
//!
//! The phase's heap comes from `--mem-report`, which the dhat-heap build
//! does not have; that build runs the dhat budget tests instead.
#![cfg(not(feature = "dhat-heap"))]

mod common;

use common::prtip;
use prtip_testkit::{
    loopback,
    process::{describe, run_timeout, tempdir},
};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Heap the service-detection phase may use while fending these off.
const HOSTILE_PHASE_BUDGET: u64 = 4 << 20;

/// Bytes a single hostile connection may push before it gives up.
const FLOOD_BYTES: usize = 100 << 20;

type Behaviour = fn(TcpStream, &AtomicBool);

fn serve(behaviour: Behaviour, stop: Arc<AtomicBool>) -> u16 {
    let flag = Arc::clone(&stop);
    loopback::serve(stop, move |s| {
        let _ = s.set_write_timeout(Some(Duration::from_secs(30)));
        behaviour(s, &flag);
    })
}

/// "220-" continuation lines forever: never a complete banner.
fn endless_banner(mut s: TcpStream, stop: &AtomicBool) {
    let line = b"220-welcome to the service that never stops talking\r\n";
    let mut sent = 0;
    while !stop.load(Ordering::Relaxed) && sent < FLOOD_BYTES {
        if s.write_all(line).is_err() {
            return;
        }
        sent += line.len();
    }
}

/// 100 MB of bytes in answer to anything (or nothing).
fn flood(mut s: TcpStream, stop: &AtomicBool) {
    let chunk = [b'x'; 64 << 10];
    let mut sent = 0;
    while !stop.load(Ordering::Relaxed) && sent < FLOOD_BYTES {
        if s.write_all(&chunk).is_err() {
            return;
        }
        sent += chunk.len();
    }
}

/// A TLS alert record, then garbage: the matcher calls it ssl, so the
/// probes are redone through TLS, whose handshakes all fail.
fn garbage_tls(mut s: TcpStream, _stop: &AtomicBool) {
    let mut buf = [0u8; 1024];
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.read(&mut buf);
    let mut reply = b"\x15\x03\x03\x00\x02\x02\x28".to_vec();
    reply.extend((0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    let _ = s.write_all(&reply);
    thread::sleep(Duration::from_millis(200));
}

#[test]
fn hostile_services_cannot_hang_the_scan_or_grow_the_heap() {
    let stop = Arc::new(AtomicBool::new(false));
    let ports = [
        serve(endless_banner, Arc::clone(&stop)),
        serve(flood, Arc::clone(&stop)),
        serve(garbage_tls, Arc::clone(&stop)),
    ];
    let spec = ports.map(|p| p.to_string()).join(",");
    let dir = tempdir();
    let report = dir.path().join("mem.json");
    let out = run_timeout(
        prtip().args([
            "-sT",
            "-sV",
            "-n",
            "-Pn",
            "-p",
            &spec,
            "127.0.0.1",
            &format!("--mem-report=json:{}", report.display()),
        ]),
        Duration::from_secs(240),
    );
    stop.store(true, Ordering::Relaxed);
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for p in ports {
        assert!(
            stdout.contains(&format!("{p}/tcp open")),
            "{p} missing:\n{stdout}"
        );
    }
    let tls_line = format!("{}/tcp open  ssl/", ports[2]);
    assert!(
        stdout.contains(&tls_line),
        "TLS pass not reported:\n{stdout}"
    );
    let phase = common::mem_report_phase(&report, "service detection");
    let peak = phase["peak_live_bytes"].as_u64().expect("peak");
    println!("service detection peak {peak} B\n{stdout}");
    assert!(peak > 0, "the phase recorded nothing: {phase}");
    assert!(peak < HOSTILE_PHASE_BUDGET, "peak {peak} B");
}
