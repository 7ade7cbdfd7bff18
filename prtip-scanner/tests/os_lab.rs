//! OS probing against a real Linux stack, checked against nmap itself.
//!
//! The test uses the kit's namespace lab (`prtip_testkit::lab::Lab`): two
//! network namespaces joined by a veth pair, the scanner at 198.18.0.1 and
//! the target at 198.18.0.2 with a listener on port 80. For each of several
//! target sysctl settings it runs our engine inside the scanner namespace
//! and `nmap -O -d --max-os-tries 1` against the same target, and requires
//! every test line to agree except the values that depend on random ISNs
//! and the send clock (SEQ's SP, GCD, ISR, and TS when the target
//! randomises timestamps per connection).
//!
//! Needs root, `ip`, `nmap` and `python3`; without them it prints
//! `SKIPPED (needs ...)`, and under `CI=true` it fails instead. Network
//! safety: packets go only to addresses inside the lab's namespaces, and
//! the lab removes everything (listener, namespaces) on drop, even on failure.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use prtip_core::os_db::Fingerprint;
use prtip_scanner::net::raw::RawIo;
use prtip_scanner::os::{fingerprint, OsOptions};
use prtip_testkit::lab::{Lab, Namespaces, Side};
use prtip_testkit::netns::NetnsGuard;
use prtip_testkit::prereq::require_tool;
use prtip_testkit::process::run_ok_timeout;

const OPEN: u16 = 80;
const CLOSED: u16 = 81;
const CLOSED_UDP: u16 = 40125;
const CHILD_TIMEOUT: Duration = Duration::from_secs(90);

fn addr(a: &str) -> Ipv4Addr {
    a.parse().expect("an IPv4 address")
}

/// nmap's fingerprint of the lab's target, from `nmap -O -d` in the scanner
/// namespace.
fn nmap_fingerprint(lab: &Lab) -> Fingerprint {
    let out = run_ok_timeout(
        lab.cmd(Side::Scanner, "nmap").args([
            "-O",
            "-d",
            "--max-os-tries",
            "1",
            "-n",
            "-Pn",
            "-p",
            "80,81",
            Lab::TARGET_ADDR,
        ]),
        CHILD_TIMEOUT,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let block: String = text
        .split_once("TCP/IP fingerprint:\n")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no fingerprint in nmap's output:\n{text}"))
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    Fingerprint::parse(&block).unwrap_or_else(|e| panic!("{e}: {block}"))
}

/// Values that depend on random ISNs or per-connection timestamp offsets
/// and on the exact send clock, so two runs of nmap itself disagree.
fn volatile(test: &str, attr: &str, nmap_value: &str) -> bool {
    test == "SEQ"
        && (matches!(attr, "SP" | "GCD" | "ISR")
            || (attr == "TS" && !matches!(nmap_value, "U" | "0" | "1" | "7" | "8" | "A")))
}

/// `(test, attr, ours, nmap's)` for every differing comparable value.
fn differences(ours: &Fingerprint, nmap: &Fingerprint) -> Vec<String> {
    let mut out = Vec::new();
    for test in nmap.tests().filter(|t| t.name() != "SCAN") {
        let name = test.name();
        let Some(mine) = ours.test(name) else {
            out.push(format!("{name}: missing from ours"));
            continue;
        };
        for (attr, theirs) in test.attrs() {
            if volatile(name, attr, theirs) {
                continue;
            }
            let got = mine.get(attr).unwrap_or("<absent>");
            if got != theirs {
                out.push(format!("{name}.{attr}: ours {got}, nmap {theirs}"));
            }
        }
        for (attr, got) in mine.attrs() {
            if test.get(attr).is_none() && !volatile(name, attr, got) {
                out.push(format!("{name}.{attr}: ours {got}, nmap <absent>"));
            }
        }
    }
    out
}

const SETTINGS: [(&str, &[&str]); 7] = [
    ("defaults", &[]),
    ("tcp_timestamps=0", &["net.ipv4.tcp_timestamps=0"]),
    ("tcp_timestamps=2", &["net.ipv4.tcp_timestamps=2"]),
    ("tcp_sack=0", &["net.ipv4.tcp_sack=0"]),
    ("tcp_window_scaling=0", &["net.ipv4.tcp_window_scaling=0"]),
    ("tcp_ecn=0", &["net.ipv4.tcp_ecn=0"]),
    (
        "all four off",
        &[
            "net.ipv4.tcp_timestamps=0",
            "net.ipv4.tcp_sack=0",
            "net.ipv4.tcp_window_scaling=0",
            "net.ipv4.tcp_ecn=0",
        ],
    ),
];

const DEFAULTS: [&str; 4] = [
    "net.ipv4.tcp_timestamps=1",
    "net.ipv4.tcp_sack=1",
    "net.ipv4.tcp_window_scaling=1",
    "net.ipv4.tcp_ecn=2",
];

#[test]
fn fingerprint_lines_equal_nmaps() {
    if !require_tool("nmap") || !require_tool("python3") {
        return;
    }
    let Some(lab) = Lab::new() else { return };
    lab.listen(Lab::TARGET_ADDR, OPEN);
    let sysctl = |setting: &str| lab.ok(Side::Target, &["sysctl", "-qw", setting]);
    let mut failures = Vec::new();
    for (label, settings) in SETTINGS {
        for s in DEFAULTS.iter().chain(settings) {
            sysctl(s);
        }
        let started = Instant::now();
        let result = {
            let _ns = NetnsGuard::enter(&lab.netns_path(Side::Scanner));
            let io = RawIo::open(None).expect("raw sockets in the scanner namespace");
            fingerprint(
                &io,
                addr(Lab::SCANNER_ADDR),
                addr(Lab::TARGET_ADDR),
                OPEN,
                CLOSED,
                CLOSED_UDP,
                &OsOptions::default(),
            )
            .expect("OS probing")
        };
        let elapsed = started.elapsed();
        let nmap = nmap_fingerprint(&lab);
        let diffs = differences(&result.fingerprint, &nmap);
        eprintln!(
            "== {label}: {} tries, {} sent, {} answered, {:.2} s; {} difference(s)",
            result.tries,
            result.sent,
            result.answered,
            elapsed.as_secs_f64(),
            diffs.len()
        );
        let theirs = nmap.to_string();
        for (ours, theirs) in result
            .fingerprint
            .to_string()
            .lines()
            .zip(theirs.lines().filter(|l| !l.starts_with("SCAN(")))
        {
            let mark = if ours == theirs { "=" } else { "~" };
            eprintln!("  {mark} ours {ours}\n    nmap {theirs}");
        }
        failures.extend(diffs.into_iter().map(|d| format!("[{label}] {d}")));
    }
    for s in DEFAULTS {
        sysctl(s);
    }
    assert!(
        failures.is_empty(),
        "fingerprints differ from nmap's:\n{}",
        failures.join("\n")
    );
}
