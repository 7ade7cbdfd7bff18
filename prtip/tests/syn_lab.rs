//! SYN scans (`-sS`) across the namespace lab of `scripts/lab` (see
//! benchmarks/LAB.md): every address of the routed prefix answers, with
//! listeners on a few ports. prtip and nmap scan with the same arguments in
//! the same test and must agree host by host and port by port.
//!
//! Root only (namespaces, raw sockets): without root every test skips loudly
//! (fails under CI=true). Each test builds its own lab under a unique
//! `LAB_NAME`, torn down on drop even when the test fails.
//!
//! Network safety: only addresses inside the lab's namespaces (198.18.0.0/15)
//! are scanned, always with -n.

mod common;

use common::PrtipIn;
use prtip_testkit::{
    capture::Capture,
    lab::{cidr_addresses, Namespaces, ScriptLab, Side},
    prereq::{require_file, require_tool},
    process::{describe, run_timeout, tempdir},
    xml,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// The lab's prefix for these tests: 256 addresses keep each scan short.
const PREFIX: &str = "198.18.4.0/24";
/// Listener ports; 22 and 80 are inside `PORTS`' range, 8080 is not.
const LISTEN: [u16; 3] = [22, 80, 8080];
const PORTS: &str = "1-100,8080";
/// Routed to the target, which owns none of it and does not forward.
const DEAD_NET: &str = "198.18.2.0/24";
const DEAD_HOSTS: [&str; 2] = ["198.18.2.9", "198.18.2.200"];
/// Long enough for a loaded machine; a scan of the /24 takes about a second.
const SCAN_TIMEOUT: Duration = Duration::from_secs(120);

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn prtip_in(lab: &ScriptLab, args: &[&str]) -> Output {
    let out = run_timeout(lab.prtip().args(args), SCAN_TIMEOUT);
    assert_eq!(
        out.status.code(),
        Some(0),
        "prtip {args:?} in {}\n{}",
        lab.scan_ns,
        describe(&out)
    );
    out
}

fn nmap_in(lab: &ScriptLab, args: &[&str]) -> Output {
    let out = run_timeout(lab.cmd(Side::Scanner, "nmap").args(args), SCAN_TIMEOUT);
    assert!(
        out.status.success(),
        "nmap {args:?} in {}\n{}",
        lab.scan_ns,
        describe(&out)
    );
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// Every address of the prefix -> the listener ports.
fn all_listeners(prefix: &str) -> BTreeMap<String, BTreeSet<u16>> {
    cidr_addresses(prefix)
        .into_iter()
        .map(|a| (a.to_string(), LISTEN.iter().copied().collect()))
        .collect()
}

/// Ports scanned per host with `PORTS`.
fn ports_per_host() -> u64 {
    101
}

/// Scan with prtip and nmap (same arguments, `-oX` appended) and return both XML texts.
fn both(lab: &ScriptLab, dir: &Path, tag: &str, args: &[&str]) -> (String, String) {
    let ours = dir.join(format!("prtip-{tag}.xml"));
    let theirs = dir.join(format!("nmap-{tag}.xml"));
    let mut a = args.to_vec();
    a.extend(["-oX", path_str(&ours)]);
    prtip_in(lab, &a);
    let mut b = args.to_vec();
    b.extend(["-oX", path_str(&theirs)]);
    nmap_in(lab, &b);
    (read(&ours), read(&theirs))
}

/// Host-by-host agreement: open ports, and counts per state (closed ports
/// are collapsed into extraports by both).
fn assert_same_hosts_and_ports(ours: &str, theirs: &str, what: &str) {
    let (o, t) = (xml::open_ports(ours), xml::open_ports(theirs));
    if o != t {
        let only_ours: Vec<_> = o.iter().filter(|(k, v)| t.get(*k) != Some(v)).collect();
        let only_theirs: Vec<_> = t.iter().filter(|(k, v)| o.get(*k) != Some(v)).collect();
        panic!(
            "{what}: open ports differ\nprtip only/different: {:?}\nnmap only/different: {:?}",
            &only_ours[..only_ours.len().min(10)],
            &only_theirs[..only_theirs.len().min(10)]
        );
    }
    let up = |x: &str| -> BTreeMap<String, BTreeMap<String, u64>> {
        let up: BTreeSet<String> = xml::hosts(x)
            .into_iter()
            .filter(|h| h.status == "up")
            .map(|h| h.addr)
            .collect();
        xml::state_counts(x)
            .into_iter()
            .filter(|(a, _)| up.contains(a))
            .collect()
    };
    let (oc, tc) = (up(ours), up(theirs));
    let diff: Vec<_> = oc
        .iter()
        .filter(|(k, v)| tc.get(*k) != Some(v))
        .take(10)
        .map(|(k, v)| (k, v, tc.get(k)))
        .collect();
    assert!(
        oc.len() == tc.len() && diff.is_empty(),
        "{what}: port state counts differ ({} vs {} hosts); (host, prtip, nmap): {diff:?}",
        oc.len(),
        tc.len()
    );
}

#[test]
fn prefix_with_pn_same_hosts_and_ports_as_nmap() {
    let Some(lab) = ScriptLab::up(PREFIX, &LISTEN, 0) else {
        return;
    };
    if !require_tool("nmap") {
        return;
    }
    let dir = tempdir();
    let args = ["-sS", "-n", "-Pn", "-p", PORTS, PREFIX];
    let (ours, theirs) = both(&lab, dir.path(), "pn", &args);
    assert_same_hosts_and_ports(&ours, &theirs, "-Pn");
    assert_eq!(
        xml::open_ports(&ours),
        all_listeners(PREFIX),
        "every address answers with the listeners open"
    );
    for (addr, counts) in xml::state_counts(&ours) {
        assert_eq!(
            counts.get("closed").copied().unwrap_or(0) + counts.get("open").copied().unwrap_or(0),
            ports_per_host(),
            "{addr}: {counts:?}"
        );
    }
    assert_eq!(xml::runstats_hosts(&ours), Some((256, 0, 256)));
    assert_eq!(xml::runstats_hosts(&ours), xml::runstats_hosts(&theirs));
    if require_tool("xmllint") && require_file(xml::NMAP_DTD) {
        xml::xmllint(&dir.path().join("prtip-pn.xml"), true);
    }
}

#[test]
fn discovery_finds_every_routed_address_and_dead_ones_are_down() {
    let Some(lab) = ScriptLab::up(PREFIX, &LISTEN, 0) else {
        return;
    };
    if !require_tool("nmap") {
        return;
    }
    // scripts/lab routes only the prefix (and the /30 link) in the scan
    // namespace; an unrouted address would fail at send time, so route a
    // dead /24 to the target, which drops it (no local address, no forwarding).
    lab.route_dead(DEAD_NET);
    let dir = tempdir();
    let mut args = vec!["-sS", "-n", "-p", PORTS, PREFIX];
    args.extend(DEAD_HOSTS);
    let (ours, theirs) = both(&lab, dir.path(), "disc", &args);
    assert_same_hosts_and_ports(&ours, &theirs, "raw discovery");
    assert_eq!(xml::open_ports(&ours), all_listeners(PREFIX));
    let total = 256 + DEAD_HOSTS.len() as u64;
    assert_eq!(
        xml::runstats_hosts(&ours),
        Some((256, DEAD_HOSTS.len() as u64, total)),
        "{ours}"
    );
    assert_eq!(xml::runstats_hosts(&ours), xml::runstats_hosts(&theirs));
    let hosts = xml::hosts(&ours);
    for h in &hosts {
        if DEAD_HOSTS.contains(&h.addr.as_str()) {
            assert_eq!(h.status, "down", "{h:?}");
        } else {
            assert_eq!(h.status, "up", "{h:?}");
            assert!(
                ["echo-reply", "reset", "syn-ack", "timestamp-reply"]
                    .contains(&h.status_reason.as_str()),
                "{h:?}"
            );
        }
    }
}

#[test]
fn five_percent_loss_still_finds_every_open_port() {
    let Some(lab) = ScriptLab::up(PREFIX, &LISTEN, 5) else {
        return;
    };
    let dir = tempdir();
    // Repeated: one lucky run proves little; each run must recover by retrying.
    for run in 0..2 {
        let xml = dir.path().join(format!("loss-{run}.xml"));
        prtip_in(
            &lab,
            &[
                "-sS",
                "-n",
                "-Pn",
                "-p",
                PORTS,
                "-oX",
                path_str(&xml),
                PREFIX,
            ],
        );
        let text = read(&xml);
        assert_eq!(
            xml::open_ports(&text),
            all_listeners(PREFIX),
            "run {run}: open ports with 5% loss"
        );
        // Every port is accounted for; almost every closed port was answered too.
        let mut unanswered = 0;
        for (addr, counts) in xml::state_counts(&text) {
            assert_eq!(counts.values().sum::<u64>(), ports_per_host(), "{addr}");
            unanswered += counts.get("filtered").copied().unwrap_or(0);
        }
        assert!(
            unanswered < 256 * ports_per_host() / 100,
            "run {run}: {unanswered} probes never answered despite retries"
        );
    }
    // The loss rule did drop packets (so the retries above were exercised).
    if require_tool("nft") {
        let out = lab.ok(Side::Target, &["nft", "list", "table", "inet", "prtip_lab"]);
        let text = String::from_utf8_lossy(&out.stdout);
        let dropped: u64 = text
            .split("counter packets ")
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(
            dropped > 100,
            "the 5% loss rule dropped {dropped} packets:\n{text}"
        );
    }
}

#[test]
fn excluded_address_receives_no_packet() {
    let Some(lab) = ScriptLab::up(PREFIX, &LISTEN, 0) else {
        return;
    };
    if !require_tool("tcpdump") {
        return;
    }
    let excluded = "198.18.4.7";
    let control = "198.18.4.8";
    // Every packet to or from the excluded address (SYNs, discovery probes,
    // anything), and for comparison the SYNs of a neighbour.
    let cap_x = Capture::start(
        &lab,
        Side::Target,
        &lab.target_if,
        &format!("host {excluded}"),
    );
    let cap_c = Capture::start(
        &lab,
        Side::Target,
        &lab.target_if,
        &format!("tcp[tcpflags] & tcp-syn != 0 and dst host {control}"),
    );
    let dir = tempdir();
    let xml = dir.path().join("excl.xml");
    // Without -Pn, so discovery probes are covered too.
    prtip_in(
        &lab,
        &[
            "-sS",
            "-n",
            "-p",
            PORTS,
            "--exclude",
            excluded,
            "-oX",
            path_str(&xml),
            PREFIX,
        ],
    );
    let to_x = cap_x.stop();
    let to_c = cap_c.stop();
    assert!(
        to_x.is_empty(),
        "{} packets involved the excluded {excluded}: {:?}",
        to_x.len(),
        &to_x[..to_x.len().min(5)]
    );
    assert!(
        to_c.len() >= ports_per_host() as usize,
        "control capture saw {} SYNs to {control} (capture broken?)",
        to_c.len()
    );
    let text = read(&xml);
    let open = xml::open_ports(&text);
    assert!(!open.contains_key(excluded), "excluded host reported");
    let mut want = all_listeners(PREFIX);
    want.remove(excluded);
    assert_eq!(open, want);
    assert_eq!(xml::runstats_hosts(&text), Some((255, 0, 255)));
}

#[test]
fn unroutable_target_is_skipped_not_fatal() {
    let Some(lab) = ScriptLab::up(PREFIX, &LISTEN, 0) else {
        return;
    };
    let dir = tempdir();
    let xml = dir.path().join("unrouted.xml");
    // 198.18.6.9 is inside the lab's namespaces' range but has no route in
    // the scan namespace (no default route): the kernel refuses to send.
    let out = run_timeout(
        lab.prtip().args([
            "-sS",
            "-n",
            "-Pn",
            "-p",
            "80",
            "-oX",
            path_str(&xml),
            "198.18.4.1",
            "198.18.6.9",
            "198.18.4.2",
        ]),
        SCAN_TIMEOUT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let open = xml::open_ports(&read(&xml));
    for h in ["198.18.4.1", "198.18.4.2"] {
        assert_eq!(
            open.get(h),
            Some(&BTreeSet::from([80])),
            "{h}: {}",
            describe(&out)
        );
    }
}

/// Targets behind different interfaces in one scan: the loopback address of
/// the scanning namespace (source 127.0.0.1 on lo) and a lab address (source
/// 198.18.0.1 on the veth). Each gets the source address its route names.
#[test]
fn targets_behind_different_interfaces_share_one_scan() {
    let Some(lab) = ScriptLab::up(PREFIX, &LISTEN, 0) else {
        return;
    };
    let dir = tempdir();
    let xml = dir.path().join("mixed.xml");
    // Nothing listens on the scanning namespace's loopback: every port there is closed.
    let out = run_timeout(
        lab.prtip().args([
            "-sS",
            "-n",
            "-p",
            "22,80,81",
            "-oX",
            path_str(&xml),
            "127.0.0.1",
            "198.18.4.3",
        ]),
        SCAN_TIMEOUT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = read(&xml);
    let open = xml::open_ports(&text);
    assert_eq!(
        open.get("198.18.4.3"),
        Some(&BTreeSet::from([22, 80])),
        "{text}"
    );
    assert!(
        open.get("127.0.0.1").is_some_and(BTreeSet::is_empty),
        "{text}"
    );
    let counts = xml::state_counts(&text);
    assert_eq!(
        counts
            .get("127.0.0.1")
            .and_then(|c| c.get("closed"))
            .copied(),
        Some(3),
        "every loopback port answered (closed): {text}"
    );
}
