//! The raw TCP scan types (`-sA`, `-sW`, `-sM`, `-sN`, `-sF`, `-sX`,
//! `--scanflags`, and one with `-sU`) across a veth pair into a target
//! namespace whose nft rules make ports filtered (dropped), filtered
//! (rejected with ICMP administratively prohibited), filtered for every
//! segment but a SYN, closed and open. For each scan, prtip's state and
//! reason of every port equal nmap's in the same test, on two hosts.
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
use std::path::Path;
use std::time::Duration;

const DROPPED: u16 = 8081;
const PROHIBITED: u16 = 8082;
const OPEN: u16 = 8083;
const CLOSED: u16 = 8084;
/// A listener behind a rule that drops every segment without SYN.
const SYN_ONLY: u16 = 8085;
const PORTS: &str = "8081-8085";
/// The second host (on the target's loopback).
const OTHER: &str = "198.18.1.5";
const SCAN_TIMEOUT: Duration = Duration::from_secs(120);

/// The target's firewall, for both families.
fn rules() -> String {
    format!(
        "table inet prtip_scantypes {{
  chain input {{
    type filter hook input priority 0; policy accept;
    tcp dport {DROPPED} drop
    tcp dport {PROHIBITED} reject with icmpx type admin-prohibited
    tcp dport {SYN_ONLY} tcp flags & syn == 0 drop
  }}
}}
"
    )
}

/// The lab with its rules and listeners; None (after a loud skip) without
/// root, nft, nmap or python3.
fn lab() -> Option<Lab> {
    if !require_tool("nft") || !require_tool("nmap") || !require_tool("python3") {
        return None;
    }
    let lab = Lab::new()?;
    lab.add_target_address(OTHER);
    if lab.has_ipv6() {
        // The listeners bind OTHER's IPv6 twin too.
        lab.add_target_address("2001:db8:1::5");
    }
    let dir = tempdir();
    let path = dir.path().join("rules.nft");
    std::fs::write(&path, rules()).expect("write nft rules");
    lab.ok(Side::Target, &["nft", "-f", path.to_str().expect("utf-8")]);
    // Both scanners draw ICMP errors from the same target: no rate limit,
    // so every run sees every error.
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
    for addr in [Lab::TARGET_ADDR, OTHER] {
        lab.listen(addr, OPEN);
        lab.listen(addr, SYN_ONLY);
    }
    Some(lab)
}

/// address -> port -> (state, reason).
type Table = BTreeMap<String, BTreeMap<u16, (String, String)>>;

fn table(path: &Path) -> (String, Table) {
    let (text, hosts) = xml::file_hosts(path);
    let t = hosts
        .into_iter()
        .map(|h| {
            let ports = h
                .ports
                .iter()
                .map(|(p, s)| (*p, (s.clone(), h.reasons[p].clone())))
                .collect();
            (h.addr, ports)
        })
        .collect();
    (text, t)
}

/// Run `program` (prtip or nmap) in the scanner namespace with `args` and
/// `-oX`, and read its table.
fn scan(lab: &Lab, dir: &Path, who: &str, tag: &str, args: &[&str]) -> (String, Table) {
    let out_path = dir.join(format!("{who}-{tag}.xml"));
    let mut cmd = match who {
        "prtip" => lab.prtip(),
        _ => lab.cmd(Side::Scanner, "nmap"),
    };
    cmd.args(args)
        .args(["-oX", out_path.to_str().expect("utf-8")]);
    let out = run_timeout(&mut cmd, SCAN_TIMEOUT);
    assert!(out.status.success(), "{who} {args:?}\n{}", describe(&out));
    table(&out_path)
}

/// prtip and nmap with the same arguments: the same table, returned.
fn same_as_nmap(lab: &Lab, dir: &Path, tag: &str, args: &[&str]) -> Table {
    let (ours_text, ours) = scan(lab, dir, "prtip", tag, args);
    let (theirs_text, theirs) = scan(lab, dir, "nmap", tag, args);
    assert_eq!(
        ours, theirs,
        "{args:?}: prtip (left) vs nmap (right)\nprtip:\n{ours_text}\nnmap:\n{theirs_text}"
    );
    let scaninfo = xml::elements(&ours_text, "scaninfo")
        .next()
        .map(str::to_string);
    let nmap_scaninfo = xml::elements(&theirs_text, "scaninfo")
        .next()
        .map(str::to_string);
    // The scan type, and the flags when --scanflags was given.
    for name in ["type", "scanflags"] {
        let value = |s: &Option<String>| s.as_deref().and_then(|e| xml::attr(e, name));
        assert_eq!(value(&scaninfo), value(&nmap_scaninfo), "{args:?} {name}");
    }
    ours
}

/// The (state, reason) of `port` on the target.
fn of(t: &Table, port: u16) -> (&str, &str) {
    let (s, r) = &t[Lab::TARGET_ADDR][&port];
    (s.as_str(), r.as_str())
}

#[test]
fn every_scan_type_gives_nmaps_states_and_reasons() {
    let Some(lab) = lab() else { return };
    let dir = tempdir();
    let hosts = [Lab::TARGET_ADDR, OTHER];
    let base = |flags: &[&'static str]| -> Vec<&'static str> {
        let mut a = flags.to_vec();
        a.extend(["-n", "-Pn", "--max-retries", "1", "-p", PORTS]);
        a
    };
    let runs: [(&str, &[&str]); 8] = [
        ("ack", &["-sA"]),
        ("window", &["-sW"]),
        ("maimon", &["-sM"]),
        ("null", &["-sN"]),
        ("fin", &["-sF"]),
        ("xmas", &["-sX"]),
        ("synfin", &["--scanflags", "SYNFIN"]),
        ("ackpsh", &["-sA", "--scanflags", "ACKPSH"]),
    ];
    let mut tables = BTreeMap::new();
    for (tag, flags) in runs {
        let mut args = base(flags);
        args.extend(hosts);
        let t = same_as_nmap(&lab, dir.path(), tag, &args);
        assert_eq!(t.len(), 2, "{tag}: both hosts");
        tables.insert(tag, t);
    }
    // Every kind of port showed up: the comparison above covers each state.
    assert_eq!(of(&tables["ack"], OPEN), ("unfiltered", "reset"));
    assert_eq!(of(&tables["ack"], CLOSED), ("unfiltered", "reset"));
    assert_eq!(of(&tables["ack"], DROPPED), ("filtered", "no-response"));
    assert_eq!(
        of(&tables["ack"], PROHIBITED),
        ("filtered", "admin-prohibited")
    );
    assert_eq!(of(&tables["ack"], SYN_ONLY), ("filtered", "no-response"));
    // Linux resets with window 0: the window scan calls it closed.
    assert_eq!(of(&tables["window"], OPEN), ("closed", "reset"));
    for tag in ["null", "fin", "xmas"] {
        let t = &tables[tag];
        assert_eq!(of(t, OPEN), ("open|filtered", "no-response"), "{tag}");
        assert_eq!(of(t, CLOSED), ("closed", "reset"), "{tag}");
        assert_eq!(of(t, DROPPED), ("open|filtered", "no-response"), "{tag}");
        assert_eq!(of(t, PROHIBITED), ("filtered", "admin-prohibited"), "{tag}");
    }
    // Linux resets FIN|ACK on a listener too.
    assert_eq!(of(&tables["maimon"], OPEN), ("closed", "reset"));
    // SYN|FIN: a listener drops it, a closed port resets it (ack + 2).
    assert_eq!(of(&tables["synfin"], OPEN), ("filtered", "no-response"));
    assert_eq!(of(&tables["synfin"], CLOSED), ("closed", "reset"));
}

#[test]
fn fin_with_udp_and_discovery_like_nmap() {
    let Some(lab) = lab() else { return };
    let dir = tempdir();
    // Discovery on (no -Pn), a dead address, and a UDP port beside the TCP ones.
    let args = [
        "-sF",
        "-sU",
        "-n",
        "--max-retries",
        "1",
        "-p",
        "T:8081-8085,U:9",
        Lab::TARGET_ADDR,
        OTHER,
        "198.18.2.7",
    ];
    let t = same_as_nmap(&lab, dir.path(), "fin-udp", &args);
    assert_eq!(
        t[Lab::TARGET_ADDR][&9],
        ("closed".into(), "port-unreach".into())
    );
    assert_eq!(of(&t, CLOSED), ("closed", "reset"));
}

#[test]
fn ipv6_xmas_and_ack_like_nmap() {
    let Some(lab) = lab() else { return };
    if !lab.require_ipv6() {
        return;
    }
    let dir = tempdir();
    for (tag, flag) in [("xmas6", "-sX"), ("ack6", "-sA")] {
        let args = [
            "-6",
            flag,
            "-n",
            "-Pn",
            "--max-retries",
            "1",
            "-p",
            PORTS,
            Lab::TARGET_ADDR6,
        ];
        let t = same_as_nmap(&lab, dir.path(), tag, &args);
        assert_eq!(t.len(), 1, "{tag}");
    }
}
