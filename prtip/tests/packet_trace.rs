//! `--packet-trace` against a tcpdump capture of the same scan, for the SYN,
//! ACK, FIN, Xmas and UDP scans: one SENT line per probe that went on the
//! wire, with its ports and control bits. Root only (raw sockets, tcpdump).
//!
//! Network safety: only 127.0.0.1 is scanned (ports 1-50).

mod common;

use common::prtip;
use prtip_testkit::prereq::{require_root, require_tool};
use prtip_testkit::process::{describe, run, tempdir, wait_output};
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

/// (source port, destination port) of a probe, as a trace line or tcpdump
/// shows it. Each probe's source port is keyed by its target and port, so
/// the pair names the probe (a resend has the same pair).
type Probe = (u16, u16);

/// `SENT (0.0005s) TCP 127.0.0.1:64748 > 127.0.0.1:22 S ttl=64 ...`
fn traced(line: &str, proto: &str) -> Option<Probe> {
    let w: Vec<&str> = line.strip_prefix("SENT (")?.split_whitespace().collect();
    if w.get(1) != Some(&proto) || w.get(3) != Some(&">") {
        return None;
    }
    let port = |s: &str| s.rsplit_once(':')?.1.parse().ok();
    Some((port(w[2])?, port(w[4])?))
}

/// `12:00:00.000000 IP 127.0.0.1.64748 > 127.0.0.1.22: Flags [S], ...`
fn captured(line: &str) -> Option<Probe> {
    let w: Vec<&str> = line.split_whitespace().collect();
    if w.get(1) != Some(&"IP") || w.get(3) != Some(&">") {
        return None;
    }
    let port = |s: &str| s.trim_end_matches(':').rsplit_once('.')?.1.parse().ok();
    Some((port(w[2])?, port(w[4])?))
}

/// Scans ports 1-50 of 127.0.0.1 with `scan` and `--packet-trace` while
/// tcpdump captures `filter`: the SENT lines of protocol `proto`, and the
/// captured packets from the same source ports, sorted. And the trace.
fn trace_and_capture(scan: &str, proto: &str, filter: &str) -> (Vec<Probe>, Vec<Probe>, String) {
    let dir = tempdir();
    let pcap = dir.path().join("probes.pcap");
    let dump = Command::new("tcpdump")
        .args(["-i", "lo", "-nn", "-U", "-w"])
        .arg(&pcap)
        .arg(format!(
            "{filter} and dst host 127.0.0.1 and dst portrange 1-50"
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tcpdump");
    std::thread::sleep(Duration::from_millis(1500));
    let out = run(prtip().args([
        scan,
        "-n",
        "-Pn",
        "-p",
        "1-50",
        "--packet-trace",
        "127.0.0.1",
    ]));
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill(2) on the pid of our own, not yet reaped, child.
    let rc = unsafe { libc::kill(dump.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(rc, 0);
    let _ = wait_output(dump, Duration::from_secs(10), "tcpdump");
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut sent: Vec<Probe> = stdout.lines().filter_map(|l| traced(l, proto)).collect();
    let read = run(Command::new("tcpdump").args(["-nn", "-r"]).arg(&pcap));
    let ours: BTreeSet<u16> = sent.iter().map(|s| s.0).collect();
    // Other programs may probe 127.0.0.1 too: keep the packets from our ports.
    let mut wire: Vec<Probe> = String::from_utf8_lossy(&read.stdout)
        .lines()
        .filter_map(captured)
        .filter(|s| ours.contains(&s.0))
        .collect();
    sent.sort_unstable();
    wire.sort_unstable();
    (sent, wire, stdout)
}

#[test]
fn one_sent_line_per_probe_tcpdump_saw_for_each_scan_type() {
    if !require_root() || !require_tool("tcpdump") {
        return;
    }
    for (scan, proto, filter, bits) in [
        ("-sS", "TCP", "tcp", " S ttl="),
        ("-sA", "TCP", "tcp", " A ttl="),
        ("-sF", "TCP", "tcp", " F ttl="),
        ("-sX", "TCP", "tcp", " FPU ttl="),
        ("-sU", "UDP", "udp", " ttl="),
    ] {
        let (sent, wire, trace) = trace_and_capture(scan, proto, filter);
        let ports: BTreeSet<u16> = sent.iter().map(|s| s.1).collect();
        assert_eq!(
            ports,
            (1..=50).collect(),
            "{scan}: every port probed\n{trace}"
        );
        assert_eq!(sent, wire, "{scan}: SENT lines against tcpdump\n{trace}");
        let probes = trace.lines().filter(|l| l.starts_with("SENT (")).count();
        let typed = trace
            .lines()
            .filter(|l| l.starts_with("SENT (") && l.contains(bits))
            .count();
        assert_eq!(typed, probes, "{scan}: every probe with {bits:?}\n{trace}");
        if proto == "TCP" {
            // 127.0.0.1 answers every probe: one each, none resent.
            assert_eq!(sent.len(), 50, "{scan}\n{trace}");
        }
        if scan == "-sS" {
            // One RCVD line per answer, a reset or a SYN-ACK.
            let answers = trace
                .lines()
                .filter(|l| {
                    l.starts_with("RCVD") && (l.contains(" RA ttl=") || l.contains(" SA ttl="))
                })
                .count();
            assert_eq!(answers, 50, "{trace}");
        }
    }
}

#[test]
fn the_connect_scan_prints_nmaps_conn_lines() {
    let out = run(prtip().args([
        "-sT",
        "-n",
        "-Pn",
        "-p",
        "1-5",
        "--packet-trace",
        "127.0.0.1",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "{}",
        describe(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for port in 1..=5 {
        let head = format!("TCP localhost > 127.0.0.1:{port} => ");
        let ends: Vec<&str> = stdout
            .lines()
            .filter(|l| l.starts_with("CONN (") && l.contains(&head))
            .filter_map(|l| l.split_once(" => ").map(|(_, what)| what))
            .filter(|what| *what != "Operation now in progress")
            .collect();
        // One answer per port: refused, or connected if something listens.
        assert_eq!(ends.len(), 1, "port {port}:\n{stdout}");
        assert!(
            ["Connection refused", "Connected"].contains(&ends[0]),
            "port {port}: {ends:?}"
        );
    }
}
