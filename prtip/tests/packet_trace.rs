//! `--packet-trace` against a tcpdump capture of the same scan: one SENT
//! line per probe that went on the wire, with its ports and sequence
//! number, and one RCVD line per answer. Root only (raw sockets, tcpdump).
//!
//! Network safety: only 127.0.0.1 is scanned (ports 1-50).

mod common;

use common::prtip;
use prtip_testkit::prereq::{require_root, require_tool};
use prtip_testkit::process::{describe, run, tempdir, wait_output};
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

/// (source port, destination port, sequence number) of a SYN.
type Syn = (u16, u16, u32);

/// `SENT (0.0005s) TCP 127.0.0.1:64748 > 127.0.0.1:22 S ttl=64 ... seq=1073010602 ...`
fn traced(line: &str) -> Option<Syn> {
    let rest = line.strip_prefix("SENT (")?;
    let w: Vec<&str> = rest.split_whitespace().collect();
    if w.get(1) != Some(&"TCP") || w.get(5) != Some(&"S") {
        return None;
    }
    let port = |s: &str| s.rsplit_once(':')?.1.parse().ok();
    let seq = w
        .iter()
        .find_map(|t| t.strip_prefix("seq="))?
        .parse()
        .ok()?;
    Some((port(w[2])?, port(w[4])?, seq))
}

/// `12:00:00.000000 IP 127.0.0.1.64748 > 127.0.0.1.22: Flags [S], seq 1073010602, win 1024, ...`
fn captured(line: &str) -> Option<Syn> {
    let w: Vec<&str> = line.split_whitespace().collect();
    if w.get(1) != Some(&"IP") || w.get(6) != Some(&"[S],") {
        return None;
    }
    let port = |s: &str| s.trim_end_matches(':').rsplit_once('.')?.1.parse().ok();
    let seq = w.get(8)?.trim_end_matches(',').parse().ok()?;
    Some((port(w[2])?, port(w[4])?, seq))
}

#[test]
fn one_sent_line_per_probe_tcpdump_saw() {
    if !require_root() || !require_tool("tcpdump") {
        return;
    }
    let dir = tempdir();
    let pcap = dir.path().join("syn.pcap");
    let filter = "tcp[13] == 2 and dst host 127.0.0.1 and dst portrange 1-50";
    let dump = Command::new("tcpdump")
        .args(["-i", "lo", "-nn", "-U", "-w"])
        .arg(&pcap)
        .arg(filter)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tcpdump");
    std::thread::sleep(Duration::from_millis(1500));
    let out = run(prtip().args([
        "-sS",
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
    let stdout = String::from_utf8_lossy(&out.stdout);
    let sent: Vec<Syn> = stdout.lines().filter_map(traced).collect();
    let dports: BTreeSet<u16> = sent.iter().map(|s| s.1).collect();
    assert_eq!(sent.len(), 50, "one probe per port, none resent:\n{stdout}");
    assert_eq!(dports, (1..=50).collect(), "{stdout}");
    // Every port answered: one RCVD line with a reset or a SYN-ACK each.
    let answers = stdout
        .lines()
        .filter(|l| l.starts_with("RCVD") && (l.contains(" RA ttl=") || l.contains(" SA ttl=")))
        .count();
    assert_eq!(answers, 50, "{stdout}");

    let read = run(Command::new("tcpdump").args(["-nn", "-r"]).arg(&pcap));
    let dumped = String::from_utf8_lossy(&read.stdout);
    let ours: BTreeSet<u16> = sent.iter().map(|s| s.0).collect();
    // Other programs may scan 127.0.0.1 too: keep the SYNs from our ports.
    let mut wire: Vec<Syn> = dumped
        .lines()
        .filter_map(captured)
        .filter(|s| ours.contains(&s.0))
        .collect();
    let mut sent = sent;
    sent.sort_unstable();
    wire.sort_unstable();
    assert_eq!(sent, wire, "SENT lines vs tcpdump:\n{dumped}");
}

#[test]
fn the_connect_scan_says_it_is_not_traced() {
    let dir = tempdir();
    let log = dir.path().join("ev.jsonl");
    let out = run(prtip()
        .args(["-sT", "-n", "-Pn", "-p", "1", "--packet-trace", "127.0.0.1"])
        .arg("--event-log")
        .arg(&log));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim_end(),
        "prtip: warning: --packet-trace shows the raw scans' packets; the connect scan's are not traced yet"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("SENT"));
    // The same warning in the event log.
    let text = std::fs::read_to_string(&log).expect("the event log");
    let warning = text
        .lines()
        .find(|l| l.contains("\"event\":\"warning\""))
        .expect("a warning line");
    let v: serde_json::Value = serde_json::from_str(warning).expect("JSON");
    assert!(stderr.ends_with(&format!("{}\n", v["message"].as_str().expect("message"))));
}
