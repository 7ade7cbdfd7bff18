//! The firewall-audit options in the packets: `-g`/`--source-port`,
//! `--ttl` and `--badsum`, on the port probes of the SYN and UDP scans and
//! on every discovery probe, checked in a tcpdump capture in the target
//! namespace (and, without them, the capture shows prtip's own shape, so
//! each check can fail).
//!
//! Root only (namespaces, raw sockets, tcpdump); skips loudly otherwise
//! (fails under CI=true). Network safety: the test's own namespaces only.

mod common;

use common::PrtipIn;
use prtip_testkit::{
    capture::Capture,
    lab::{Lab, Side},
    prereq::require_tool,
    process::{describe, run_timeout},
    xml,
};
use std::time::Duration;

const SCANNER: &str = Lab::SCANNER_ADDR;
const TARGET: &str = Lab::TARGET_ADDR;
/// Packets from the scanner, as tcpdump shows them.
const FROM_US: &str = "src host 198.18.0.1 and not arp";

/// Runs prtip with `args` in the scanner namespace while tcpdump (with
/// `flags`) captures on the target's side; the capture's lines and
/// prtip's stdout.
fn captured(lab: &Lab, flags: &[&str], args: &[&str]) -> (Vec<String>, String) {
    let cap = Capture::start_with(lab, Side::Target, &lab.target_if, flags, FROM_US);
    let out = run_timeout(lab.prtip().args(args), Duration::from_secs(60));
    let lines = cap.stop();
    assert!(out.status.success(), "{args:?}\n{}", describe(&out));
    (lines, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `tcpdump -v` lines of our packets' IP headers: "IP (tos 0x0, ttl N, ...".
fn ttls(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.split("ttl ").nth(1))
        .map(|rest| rest.split(',').next().unwrap_or("").to_string())
        .collect()
}

/// Our source ports: the port after "198.18.0.1." in "a.b.c.d.PORT > ...".
fn source_ports(lines: &[String]) -> Vec<String> {
    let prefix = format!("{SCANNER}.");
    lines
        .iter()
        .filter_map(|l| l.trim().strip_prefix(prefix.as_str()))
        .map(|rest| rest.split(' ').next().unwrap_or("").to_string())
        .collect()
}

fn lab() -> Option<Lab> {
    if !require_tool("tcpdump") {
        return None;
    }
    Lab::new()
}

#[test]
fn source_port_and_ttl_are_in_every_probe() {
    let Some(lab) = lab() else { return };
    let shaped = ["-g", "5353", "--ttl", "17"];
    let runs: [(&str, &[&str]); 3] = [
        ("syn", &["-sS", "-Pn", "-n", "-p", "8081-8083", TARGET]),
        ("udp", &["-sU", "-Pn", "-n", "-p", "U:8081-8083", TARGET]),
        // Discovery: TCP, UDP and ICMP pings.
        (
            "ping",
            &["-sn", "-n", "-PS80", "-PA81", "-PU9", "-PE", TARGET],
        ),
    ];
    for (tag, args) in runs {
        let plain = captured(&lab, &["-v"], args).0;
        let with: Vec<&str> = shaped.iter().chain(args).copied().collect();
        let lines = captured(&lab, &["-v"], &with).0;
        let (t, p) = (ttls(&lines), source_ports(&lines));
        assert!(!t.is_empty() && !p.is_empty(), "{tag}: {lines:#?}");
        assert!(t.iter().all(|t| t == "17"), "{tag}: {lines:#?}");
        assert!(p.iter().all(|p| p == "5353"), "{tag}: {lines:#?}");
        // Without the options: prtip's own TTL and keyed ports.
        assert!(ttls(&plain).iter().all(|t| t == "64"), "{tag}: {plain:#?}");
        assert!(!source_ports(&plain).iter().any(|p| p == "5353"), "{tag}");
    }
}

#[test]
fn badsum_spoils_tcp_and_udp_checksums_only() {
    let Some(lab) = lab() else { return };
    lab.listen(TARGET, 8083);
    let args = [
        "-sS",
        "-sU",
        "-Pn",
        "-n",
        "-p",
        "T:8083,U:9",
        "-oX",
        "-",
        TARGET,
    ];
    let (plain, plain_xml) = captured(&lab, &["-vv"], &args);
    let with: Vec<&str> = ["--badsum"].iter().chain(&args).copied().collect();
    let (lines, xml_text) = captured(&lab, &["-vv"], &with);
    let bad = |l: &&String| l.contains("incorrect") || l.contains("bad udp cksum");
    let sums = |ls: &[String]| ls.iter().filter(|l| l.contains("cksum")).count();
    assert!(sums(&lines) >= 2, "{lines:#?}");
    assert_eq!(lines.iter().filter(bad).count(), sums(&lines), "{lines:#?}");
    assert_eq!(plain.iter().filter(bad).count(), 0, "{plain:#?}");
    assert!(sums(&plain) >= 2, "{plain:#?}");
    // The target's kernel drops what fails its checksum: the open TCP port
    // looks filtered, and the closed UDP port draws no port unreachable.
    let states = |text: &str| {
        let hosts = xml::hosts(text);
        assert_eq!(hosts.len(), 1, "{text}");
        let p = &hosts[0].ports;
        (p.get(&8083).cloned(), p.get(&9).cloned())
    };
    let state = |s: &str| Some(s.to_string());
    assert_eq!(states(&plain_xml), (state("open"), state("closed")));
    assert_eq!(
        states(&xml_text),
        (state("filtered"), state("open|filtered"))
    );
}
