//! The list scan (`-sL`): every target listed as nmap lists it (normal,
//! grepable and XML output, with the reverse-DNS name), and nothing sent
//! to the targets (a capture in a lab sees no packet).
//!
//! Network safety: only 127.0.0.0/8 and the lab's own namespace; reverse
//! DNS only for 127.0.0.1, which /etc/hosts answers (no query leaves).

mod common;

use common::{prtip_ok, PrtipIn};
use prtip_testkit::{
    capture::Capture,
    lab::{Lab, Side},
    prereq::require_tool,
    process::{describe, run, run_timeout, tempdir},
    xml,
};
use std::process::Command;
use std::time::Duration;

/// The lines of nmap-style normal output that describe hosts and the
/// total, with the scanner's name and the timing taken out.
fn report_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains("scan report for") || l.contains(" done: "))
        .map(|l| {
            let l = l.replacen("Nmap ", "", 1).replacen("prtip ", "", 1);
            l.split(" scanned in ").next().unwrap_or("").to_string()
        })
        .collect()
}

/// The grepable host lines.
fn grepable_hosts(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with("Host: "))
        .map(str::to_string)
        .collect()
}

/// XML hosts: (address, status, reason).
fn xml_hosts(text: &str) -> Vec<(String, String, String)> {
    xml::hosts(text)
        .into_iter()
        .map(|h| (h.addr, h.status, h.status_reason))
        .collect()
}

fn nmap(args: &[&str]) -> Option<String> {
    if !require_tool("nmap") {
        return None;
    }
    let out = run(Command::new("nmap").args(args));
    assert!(out.status.success(), "nmap {args:?}\n{}", describe(&out));
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn list_scan_output_is_nmaps_in_every_format() {
    for targets in [&["127.0.0.1"][..], &["-n", "127.0.0.1-4"]] {
        let dir = tempdir();
        let gn = |who: &str| dir.path().join(format!("{who}.gnmap"));
        let xm = |who: &str| dir.path().join(format!("{who}.xml"));
        let args = |who: &str| -> Vec<String> {
            let mut a: Vec<String> = ["-sL", "-oG"].map(String::from).to_vec();
            a.push(gn(who).display().to_string());
            a.push("-oX".into());
            a.push(xm(who).display().to_string());
            a.extend(targets.iter().map(|t| t.to_string()));
            a
        };
        let ours = prtip_ok(&args("prtip").iter().map(String::as_str).collect::<Vec<_>>());
        let ours = String::from_utf8_lossy(&ours.stdout).into_owned();
        let Some(theirs) = nmap(&args("nmap").iter().map(String::as_str).collect::<Vec<_>>())
        else {
            return;
        };
        assert_eq!(report_lines(&ours), report_lines(&theirs), "{targets:?}");
        let read = |p: std::path::PathBuf| std::fs::read_to_string(p).expect("output file");
        assert_eq!(
            grepable_hosts(&read(gn("prtip"))),
            grepable_hosts(&read(gn("nmap"))),
            "{targets:?}"
        );
        let (x_ours, x_theirs) = (read(xm("prtip")), read(xm("nmap")));
        assert_eq!(xml_hosts(&x_ours), xml_hosts(&x_theirs), "{targets:?}");
        assert_eq!(
            xml::runstats_hosts(&x_ours),
            xml::runstats_hosts(&x_theirs),
            "{targets:?}"
        );
        // Not vacuous: every target listed, the name from /etc/hosts.
        let n = if targets.len() == 1 { 1 } else { 4 };
        assert_eq!(xml_hosts(&x_ours).len(), n, "{x_ours}");
        if n == 1 {
            assert!(
                ours.contains("scan report for localhost (127.0.0.1)"),
                "{ours}"
            );
        }
    }
}

/// IP packets from the scanner's addresses (the kernel's own IPv6
/// multicast listener reports come from a link-local address).
const FROM_SCANNER: &str = "src host 198.18.0.1 or src host 2001:db8::1";

#[test]
fn list_scan_sends_nothing_to_the_targets() {
    if !require_tool("tcpdump") {
        return;
    }
    let Some(lab) = Lab::new() else { return };
    let cap = Capture::start(&lab, Side::Target, &lab.target_if, FROM_SCANNER);
    let out = run_timeout(
        lab.prtip()
            .args(["-sL", "-n", "-oX", "-", Lab::TARGET_ADDR, "198.18.1.0/28"]),
        Duration::from_secs(60),
    );
    let packets = cap.stop();
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(xml::hosts(&text).len(), 17, "{text}");
    assert_eq!(xml::runstats_hosts(&text), Some((0, 17, 17)), "{text}");
    assert!(packets.is_empty(), "the list scan sent: {packets:?}");
    // The capture does see a scan: the same targets with -sn draw packets.
    let cap = Capture::start(&lab, Side::Target, &lab.target_if, FROM_SCANNER);
    let out = run_timeout(
        lab.prtip().args(["-sn", "-n", Lab::TARGET_ADDR]),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", describe(&out));
    assert!(!cap.stop().is_empty(), "no packet seen for -sn");
}
