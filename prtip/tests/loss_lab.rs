//! Loss in the lab: with 1% and 5% of the TCP and UDP arriving at the
//! target dropped at random (`scripts/lab --loss`), the SYN scan and the
//! UDP scan still find every open port of a /28, by retransmitting what
//! went unanswered. How prtip and nmap fare at 20% is measured by
//! `benchmarks/scripts/loss-vs-nmap.sh`.
//!
//! Root only (namespaces, raw sockets): without root every test skips
//! loudly (fails under CI=true). Each test builds its own lab under a
//! unique `LAB_NAME`, torn down on drop even when the test fails.
//!
//! Network safety: only addresses inside the lab's namespaces
//! (198.18.0.0/15) are scanned, always with -n.

mod common;

use common::{json_hosts, PrtipIn};
use prtip_testkit::{
    lab::{cidr_addresses, Namespaces, ScriptLab, Side},
    prereq::require_tool,
    process::{describe, run_timeout, tempdir},
};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Sixteen addresses keep every scan to a few seconds.
const PREFIX: &str = "198.18.4.0/28";
/// TCP listeners on every address, and the TCP ports scanned.
const TCP_OPEN: [u16; 3] = [22, 80, 443];
const TCP_PORTS: &str = "20-25,79-81,442-444";
/// UDP echo servers on every address, and the UDP ports scanned. nmap's
/// payloads for these ports carry no field the answer must echo with a
/// key (as DNS and NTP answers must), so an echo is a valid answer.
const UDP_OPEN: [u16; 3] = [7, 161, 500];
const UDP_PORTS: &str = "7,9,161,162,500,520";
/// Scans of each kind at each loss rate: one lucky run proves little.
const RUNS: usize = 2;

/// Every address of the prefix -> `open`.
fn everywhere(open: &[u16]) -> BTreeMap<String, BTreeSet<u16>> {
    cidr_addresses(PREFIX)
        .into_iter()
        .map(|a| (a.to_string(), open.iter().copied().collect()))
        .collect()
}

/// `prtip <scan> -n -Pn -p <ports> -oJ - <PREFIX>` in the lab's scanner
/// namespace: each address's open ports.
fn open_ports(lab: &ScriptLab, scan: &str, ports: &str) -> BTreeMap<String, BTreeSet<u16>> {
    let dir = tempdir();
    let json = dir.path().join("scan.json");
    let json_arg = json.to_str().expect("utf-8 path");
    let out = run_timeout(
        lab.prtip()
            .args([scan, "-n", "-Pn", "-p", ports, "-oJ", json_arg, PREFIX]),
        Duration::from_secs(120),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "prtip {scan}\n{}",
        describe(&out)
    );
    let text = std::fs::read_to_string(&json).expect("JSON output");
    json_hosts(&text)
        .into_iter()
        .map(|(addr, (_, open, _))| (addr, open))
        .collect()
}

/// Packets the lab's loss rule dropped so far (nft only; None otherwise).
fn dropped(lab: &ScriptLab) -> Option<u64> {
    if !require_tool("nft") {
        return None;
    }
    let out = lab.ok(Side::Target, &["nft", "list", "table", "inet", "prtip_lab"]);
    String::from_utf8_lossy(&out.stdout)
        .split("counter packets ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

fn every_open_port_found_at(loss: u32) {
    let Some(lab) = ScriptLab::up(PREFIX, &TCP_OPEN, loss) else {
        return;
    };
    lab.udp_echo(&UDP_OPEN);
    // Closed UDP ports answer at once; the scan's batches wait for no bucket.
    lab.ok(Side::Target, &["sysctl", "-qw", "net.ipv4.icmp_ratemask=0"]);
    for run in 0..RUNS {
        assert_eq!(
            open_ports(&lab, "-sS", TCP_PORTS),
            everywhere(&TCP_OPEN),
            "-sS run {run}, {loss}% loss"
        );
        assert_eq!(
            open_ports(&lab, "-sU", UDP_PORTS),
            everywhere(&UDP_OPEN),
            "-sU run {run}, {loss}% loss"
        );
    }
    // The rule did drop packets, so the retransmissions were exercised
    // (at 1% a few hundred probes may, rarely, all get through).
    if loss >= 5 {
        if let Some(n) = dropped(&lab) {
            assert!(n > 0, "the {loss}% loss rule dropped nothing");
        }
    }
}

#[test]
fn one_percent_loss_syn_and_udp_find_every_open_port() {
    every_open_port_found_at(1);
}

#[test]
fn five_percent_loss_syn_and_udp_find_every_open_port() {
    every_open_port_found_at(5);
}
