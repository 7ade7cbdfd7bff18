//! `prtip -sU -sV`, the binary, against UDP services: real Debian daemons
//! compared with nmap in the same test, and services played by the test
//! whose every outcome is printed as nmap 7.93 prints it.
//!
//! Needs root (raw sockets for -sU, network namespaces), `ip`, `nft`, nmap
//! and its data files; without them it prints `SKIPPED (needs ...)`, and
//! under `CI=true` it fails instead.

#![cfg(not(feature = "dhat-heap"))]

mod common;

use common::prtip_path;
use prtip_testkit::lab::{Lab, Namespaces, Side};
use prtip_testkit::loopback::{Replies, UdpService};
use prtip_testkit::netns::NetnsGuard;
use prtip_testkit::nmapdata::SERVICE_PROBES;
use prtip_testkit::prereq::{require_file, require_root, require_tool};
use prtip_testkit::process::{describe, run_timeout, tempdir};
use prtip_testkit::services::ServicesNetns;
use prtip_testkit::{versiontrace, xml};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// dnsmasq, chrony and snmpd (tftpd, silent to both scanners, is left to
/// prtip-scanner's lab test: it costs nmap 100 s).
const DAEMON_PORTS: &str = "U:53,123,161";

fn run_in(cmd: &mut std::process::Command, what: &str) -> Output {
    let out = run_timeout(cmd, Duration::from_secs(300));
    assert!(out.status.success(), "{what}: {}", describe(&out));
    out
}

/// port -> (state, name, method, [product, version, extra info]).
type Ports = BTreeMap<u16, (String, String, String, versiontrace::MatchFields)>;

fn from_xml(
    path: &Path,
    fields: impl Fn(u16, &xml::Service) -> versiontrace::MatchFields,
) -> Ports {
    let text = std::fs::read_to_string(path).expect("XML written");
    xml::port_services(&text)
        .into_iter()
        .map(|(port, (state, svc))| {
            let svc = svc.unwrap_or_default();
            let f = fields(port, &svc);
            (port, (state, svc.name, svc.method.unwrap_or_default(), f))
        })
        .collect()
}

#[test]
fn udp_versions_of_the_binary_equal_nmap_on_real_daemons() {
    if !require_root() || !require_tool("nmap") || !require_file(SERVICE_PROBES) {
        return;
    }
    let Some(d) = ServicesNetns::up_set("prtip-svcub", "udp") else {
        return;
    };
    let dir = tempdir();
    let (theirs_xml, ours_xml) = (dir.path().join("nmap.xml"), dir.path().join("prtip.xml"));
    let args = [
        "-sU",
        "-sV",
        "-n",
        "-Pn",
        "-p",
        DAEMON_PORTS,
        "127.0.0.1",
        "-oX",
    ];
    let trace = run_in(
        d.cmd("nmap")
            .args(args)
            .arg(&theirs_xml)
            .arg("--version-trace"),
        "nmap",
    );
    run_in(d.cmd(prtip_path()).args(args).arg(&ours_xml), "prtip");
    // nmap's product as its match line gave it, before NSE's version
    // scripts rewrote it (see prtip_testkit::versiontrace).
    let matched = versiontrace::matches(&String::from_utf8_lossy(&trace.stdout), "127.0.0.1");
    let theirs = from_xml(&theirs_xml, |port, _| {
        matched.get(&port).cloned().unwrap_or_default()
    });
    let ours = from_xml(&ours_xml, |_, s| {
        [s.product.clone(), s.version.clone(), s.extrainfo.clone()]
    });
    for port in theirs.keys() {
        println!(
            "{port}: nmap  {:?}\n{port}: prtip {:?}",
            theirs[port],
            ours.get(port)
        );
    }
    assert_eq!(ours, theirs);
    assert_eq!(theirs.len(), 3, "{theirs:?}");
    assert!(theirs
        .values()
        .all(|(state, _, method, f)| { state == "open" && method == "probed" && f[0].is_some() }));

    // The same daemons over IPv6 (they listen on ::1 too; nmap -6 names
    // them as over IPv4: testkit/tests/ipv6_services.rs): prtip's answers
    // are its IPv4 ones.
    let ours6_xml = dir.path().join("prtip6.xml");
    let args6 = [
        "-6",
        "-sU",
        "-sV",
        "-n",
        "-Pn",
        "-p",
        DAEMON_PORTS,
        "::1",
        "-oX",
    ];
    run_in(d.cmd(prtip_path()).args(args6).arg(&ours6_xml), "prtip -6");
    let ours6 = from_xml(&ours6_xml, |_, s| {
        [s.product.clone(), s.version.clone(), s.extrainfo.clone()]
    });
    assert_eq!(ours6, ours, "-sU -sV over ::1 differs from 127.0.0.1");
    let theirs6_xml = dir.path().join("nmap6.xml");
    let trace6 = run_in(
        d.cmd("nmap")
            .args(args6)
            .arg(&theirs6_xml)
            .arg("--version-trace"),
        "nmap -6",
    );
    let matched6 = versiontrace::matches(&String::from_utf8_lossy(&trace6.stdout), "::1");
    let theirs6 = from_xml(&theirs6_xml, |port, _| {
        matched6.get(&port).cloned().unwrap_or_default()
    });
    assert_eq!(ours6, theirs6, "prtip -6 vs nmap -6");
}

/// Answers every datagram but an empty one (what the port scan sends to a
/// port nmap-payloads has no payload for) with bytes no rule matches.
fn garbage_to_probes(request: &[u8]) -> Replies {
    if request.is_empty() {
        return Vec::new();
    }
    vec![(Duration::ZERO, b"\x99\x98garbage-reply\x00\x01".to_vec())]
}

/// Services on fixed ports of the lab's target namespace (nothing else
/// listens there), started from a thread inside it.
fn start_services(lab: &Lab) -> Vec<UdpService> {
    let path = lab.netns_path(Side::Target);
    std::thread::spawn(move || {
        let _ns = NetnsGuard::enter(&path);
        vec![
            UdpService::start_on(20001, garbage_to_probes),
            UdpService::start_on(20002, |_| Vec::new()),
        ]
    })
    .join()
    .expect("start the services")
}

/// 20001 answers version probes with garbage, 20002 answers nothing, and
/// nothing listens on 20003 but nft drops the port scan's empty datagram
/// there, so the version probes draw ICMP port unreachable. nmap 7.93
/// printed, for `nmap -sU -sV --reason -p U:20001-20003 127.0.0.1` against
/// the same setup:
///
/// ```text
/// 20001/udp open          microsan?     udp-response
/// 20002/udp open|filtered commtact-http no-response
/// 20003/udp open|filtered tcpwrapped    no-response
/// ```
///
/// and in its XML `reason_ttl="0"` for 20001, `method="table" conf="3"` for
/// the first two and `method="probed" conf="8"` for tcpwrapped.
#[test]
fn udp_verdicts_print_as_nmap_prints_them() {
    if !require_tool("nft") || !require_file(SERVICE_PROBES) {
        return;
    }
    let Some(lab) = Lab::new() else { return };
    let rules = "table ip prtip_usv {\n chain input {\n  type filter hook input priority 0;\n  \
                 udp dport 20003 udp length 8 drop\n }\n}\n";
    let file = tempdir();
    let rules_path = file.path().join("rules.nft");
    std::fs::write(&rules_path, rules).expect("write nft rules");
    lab.ok(
        Side::Target,
        &["nft", "-f", rules_path.to_str().expect("utf-8")],
    );
    let _services = start_services(&lab);
    let xml_path = file.path().join("prtip.xml");
    let out = run_in(
        lab.cmd(Side::Target, prtip_path()).args([
            "-sU",
            "-sV",
            "--reason",
            "--version-trace",
            "-n",
            "-Pn",
            "-p",
            "U:20001-20003",
            "127.0.0.1",
            "-oX",
            xml_path.to_str().expect("utf-8"),
            "-oN",
            "-",
        ]),
        "prtip",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| l.starts_with("2000"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    let nmap_rows = [
        ["20001/udp", "open", "microsan?", "udp-response"],
        ["20002/udp", "open|filtered", "commtact-http", "no-response"],
        ["20003/udp", "open|filtered", "tcpwrapped", "no-response"],
    ];
    assert_eq!(rows, nmap_rows, "{text}");
    let xml_text = std::fs::read_to_string(&xml_path).expect("XML written");
    let ports: Vec<&str> = xml::elements(&xml_text, "port").collect();
    let attrs = |i: usize, tag: &str, names: &[&str]| -> Vec<Option<String>> {
        let e = xml::elements(ports[i], tag).next().expect("element");
        names.iter().map(|n| xml::attr(e, n)).collect()
    };
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        attrs(0, "state", &["reason", "reason_ttl"]),
        [s("udp-response"), s("0")]
    );
    assert_eq!(
        attrs(0, "service", &["method", "conf"]),
        [s("table"), s("3")]
    );
    assert_eq!(
        attrs(2, "service", &["method", "conf"]),
        [s("probed"), s("8")]
    );
    // --version-trace shows the UDP probes, in nmap's words.
    let trace = String::from_utf8_lossy(&out.stderr);
    assert!(
        trace.contains("Service scan sending probe DNSVersionBindReq to 127.0.0.1:20002 (udp)"),
        "{trace}"
    );
}
