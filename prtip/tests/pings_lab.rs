//! Host discovery's ping types (`-PE`, `-PP`, `-PM`, `-PS`, `-PA`, `-PU`,
//! `-PO`, combined, and nmap's default set) across a veth pair into a target
//! namespace whose nft rules make each host answer only some probe types.
//! For each combination, the hosts prtip finds up, and why, equal nmap's
//! on the same targets in the same test; over IPv6 too when the kernel has
//! it.
//!
//! Root only (namespaces, raw sockets, nft); skips loudly otherwise (fails
//! under CI=true). Network safety: every address is inside the test's own
//! namespaces (198.18.0.0/15, 2001:db8::/32), always with -n.

mod common;

use common::PrtipIn;
use prtip_testkit::{
    lab::{Lab, Namespaces, Side},
    prereq::require_tool,
    process::{describe, run_timeout, tempdir},
    xml,
};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

/// Answers everything; a listener on port 80.
const ALL: &str = "198.18.1.10";
/// Drops ICMP: answers TCP (port 80 closed) and UDP.
const NO_ICMP: &str = "198.18.1.20";
/// Drops TCP: answers ICMP and UDP.
const NO_TCP: &str = "198.18.1.30";
/// Drops ICMP and TCP: only a UDP probe draws an answer (port unreachable).
const UDP_ONLY: &str = "198.18.1.40";
/// Drops everything.
const NOTHING: &str = "198.18.1.50";
const HOSTS: [&str; 5] = [ALL, NO_ICMP, NO_TCP, UDP_ONLY, NOTHING];
const SCAN_TIMEOUT: Duration = Duration::from_secs(120);

fn twin(addr: &str) -> String {
    let v4: Ipv4Addr = addr.parse().expect("IPv4");
    Lab::twin6(v4).expect("an EXTRA_NET address").to_string()
}

/// The target's firewall: each host's drops, for both families.
fn rules(ipv6: bool) -> String {
    let mut lines = vec![
        format!("ip daddr {NO_ICMP} meta l4proto icmp drop"),
        format!("ip daddr {NO_TCP} meta l4proto tcp drop"),
        format!("ip daddr {UDP_ONLY} meta l4proto {{ icmp, tcp }} drop"),
        format!("ip daddr {NOTHING} drop"),
    ];
    if ipv6 {
        lines.extend([
            format!("ip6 daddr {} meta l4proto ipv6-icmp drop", twin(NO_ICMP)),
            format!("ip6 daddr {} meta l4proto tcp drop", twin(NO_TCP)),
            format!(
                "ip6 daddr {} meta l4proto {{ ipv6-icmp, tcp }} drop",
                twin(UDP_ONLY)
            ),
            format!("ip6 daddr {} drop", twin(NOTHING)),
        ]);
    }
    format!(
        "table inet prtip_pings {{\n  chain input {{\n    type filter hook input priority 0; policy accept;\n    {}\n  }}\n}}\n",
        lines.join("\n    ")
    )
}

/// The lab with its hosts, rules and listener; None (after a loud skip)
/// without root, nft, nmap or python3.
fn lab() -> Option<Lab> {
    if !require_tool("nft") || !require_tool("nmap") || !require_tool("python3") {
        return None;
    }
    let lab = Lab::new()?;
    for host in HOSTS {
        lab.add_target_address(host);
        if lab.has_ipv6() {
            lab.add_target_address(&twin(host));
        }
    }
    let dir = tempdir();
    let path = dir.path().join("rules.nft");
    std::fs::write(&path, rules(lab.has_ipv6())).expect("write nft rules");
    lab.ok(Side::Target, &["nft", "-f", path.to_str().expect("utf-8")]);
    // Both scanners draw port unreachables from one kernel: no rate limit.
    lab.ok(
        Side::Target,
        &["sysctl", "-qw", "net.ipv4.icmp_ratelimit=0"],
    );
    if lab.has_ipv6() {
        lab.ok(
            Side::Target,
            &["sysctl", "-qw", "net.ipv6.icmp.ratelimit=0"],
        );
    }
    lab.listen(ALL, 80);
    Some(lab)
}

/// Up hosts: address -> reason.
type Up = BTreeMap<String, String>;

/// `who` (prtip or nmap) with `-sn -n`, the ping flags and `targets`, in
/// the scanner namespace; the hosts it found up.
fn up_hosts(lab: &Lab, dir: &Path, who: &str, tag: &str, args: &[String]) -> (String, Up) {
    let out_path = dir.join(format!("{who}-{tag}.xml"));
    let mut cmd = match who {
        "prtip" => lab.prtip(),
        _ => lab.cmd(Side::Scanner, "nmap"),
    };
    cmd.args(["-sn", "-n"])
        .args(args)
        .args(["-oX", out_path.to_str().expect("utf-8")]);
    let out = run_timeout(&mut cmd, SCAN_TIMEOUT);
    assert!(out.status.success(), "{who} {args:?}\n{}", describe(&out));
    let (text, hosts) = xml::file_hosts(&out_path);
    let up = hosts
        .into_iter()
        .filter(|h| h.status == "up")
        .map(|h| (h.addr, h.status_reason))
        .collect();
    (text, up)
}

/// prtip and nmap with the same pings on the same targets: the same hosts
/// up with the same reasons, returned.
fn same_as_nmap(lab: &Lab, dir: &Path, tag: &str, pings: &[&str], targets: &[String]) -> Up {
    let args: Vec<String> = pings
        .iter()
        .map(|s| s.to_string())
        .chain(targets.iter().cloned())
        .collect();
    let (ours_text, ours) = up_hosts(lab, dir, "prtip", tag, &args);
    let (theirs_text, theirs) = up_hosts(lab, dir, "nmap", tag, &args);
    assert_eq!(
        ours, theirs,
        "{args:?}: prtip (left) vs nmap (right)\nprtip:\n{ours_text}\nnmap:\n{theirs_text}"
    );
    ours
}

fn up(pairs: &[(&str, &str)]) -> Up {
    pairs
        .iter()
        .map(|(a, r)| (a.to_string(), r.to_string()))
        .collect()
}

/// Each run: tag, ping flags, targets, and the hosts up with their reasons.
/// A host answering two probes of a run could give either reason (the
/// first answer wins, in nmap too), so each run's targets answer at most
/// one of its probe types.
type Run = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

const RUNS: [Run; 11] = [
    (
        "echo",
        &["-PE"],
        &HOSTS,
        &[(ALL, "echo-reply"), (NO_TCP, "echo-reply")],
    ),
    (
        "syn",
        &["-PS80"],
        &HOSTS,
        &[(ALL, "syn-ack"), (NO_ICMP, "reset")],
    ),
    (
        "ack",
        &["-PA"],
        &HOSTS,
        &[(ALL, "reset"), (NO_ICMP, "reset")],
    ),
    (
        "udp",
        &["-PU"],
        &HOSTS,
        &[
            (ALL, "port-unreach"),
            (NO_ICMP, "port-unreach"),
            (NO_TCP, "port-unreach"),
            (UDP_ONLY, "port-unreach"),
        ],
    ),
    (
        "timestamp",
        &["-PP"],
        &HOSTS,
        &[(ALL, "timestamp-reply"), (NO_TCP, "timestamp-reply")],
    ),
    // Linux does not answer address mask requests.
    ("mask", &["-PM"], &HOSTS, &[]),
    (
        "echo+syn",
        &["-PE", "-PS22,80"],
        &[NO_ICMP, NO_TCP, UDP_ONLY, NOTHING],
        &[(NO_ICMP, "reset"), (NO_TCP, "echo-reply")],
    ),
    // nmap's default set: echo, SYN to 443, ACK to 80, timestamp.
    (
        "default",
        &[],
        &[NO_ICMP, UDP_ONLY, NOTHING],
        &[(NO_ICMP, "reset")],
    ),
    // IP protocol pings: nmap's 1,2,4 (ICMP, IGMP, IP in IP). Linux
    // answers IP in IP with a protocol unreachable (no tunnel module).
    (
        "proto",
        &["-PO"],
        &[NO_ICMP, UDP_ONLY, NOTHING],
        &[(NO_ICMP, "proto-unreach"), (UDP_ONLY, "proto-unreach")],
    ),
    (
        "proto4",
        &["-PO4"],
        &[ALL, NOTHING],
        &[(ALL, "proto-unreach")],
    ),
    (
        "udp+ack",
        &["-PU53,40125", "-PA"],
        &[NO_TCP, UDP_ONLY, NOTHING],
        &[(NO_TCP, "port-unreach"), (UDP_ONLY, "port-unreach")],
    ),
];

#[test]
fn each_ping_type_finds_nmaps_hosts_with_nmaps_reasons() {
    let Some(lab) = lab() else { return };
    let dir = tempdir();
    for (tag, pings, targets, want) in RUNS {
        let targets: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
        let found = same_as_nmap(&lab, dir.path(), tag, pings, &targets);
        // The lab's truth, so that agreeing with nmap is not agreeing on nothing.
        assert_eq!(found, up(want), "{tag}");
    }
}

#[test]
fn ipv6_pings_find_nmaps_hosts_with_nmaps_reasons() {
    let Some(lab) = lab() else { return };
    if !lab.require_ipv6() {
        return;
    }
    let dir = tempdir();
    let hosts: Vec<String> = HOSTS.iter().map(|h| twin(h)).collect();
    let v6 = |pairs: &[(&str, &str)]| -> Up {
        pairs
            .iter()
            .map(|(a, r)| (twin(a), r.to_string()))
            .collect()
    };
    let runs: [(&str, &[&str], Up); 3] = [
        (
            "echo6",
            &["-6", "-PE"],
            v6(&[(ALL, "echo-reply"), (NO_TCP, "echo-reply")]),
        ),
        (
            "syn6",
            &["-6", "-PS80"],
            v6(&[(ALL, "syn-ack"), (NO_ICMP, "reset")]),
        ),
        (
            "udp6",
            &["-6", "-PU"],
            v6(&[
                (ALL, "port-unreach"),
                (NO_ICMP, "port-unreach"),
                (NO_TCP, "port-unreach"),
                (UDP_ONLY, "port-unreach"),
            ]),
        ),
    ];
    for (tag, pings, want) in runs {
        let found = same_as_nmap(&lab, dir.path(), tag, pings, &hosts);
        assert_eq!(found, want, "{tag}");
    }
}
