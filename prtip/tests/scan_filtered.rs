//! Scans across a veth pair between two network namespaces created by the
//! test (root only): filtered / closed / open ports against nmap, host
//! discovery of an address nobody answers for, and `--exclude`.
//!
//! Network safety: every address is in 198.18.0.0/15 and lives (or is routed)
//! only inside the namespaces of the test's own `Lab`; `-n` everywhere.

mod common;

use common::PrtipIn;
use prtip_testkit::{
    capture::Capture,
    lab::{Lab, Namespaces, Side},
    prereq::{require_file, require_tool},
    process::{describe, run_ok, tempdir, wait_output},
    xml,
};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::Duration;

const DROPPED: u16 = 8081;
const RESET: u16 = 8082;
const OPEN: u16 = 8083;

fn states(pairs: &[(u16, &str)]) -> BTreeMap<u16, String> {
    pairs.iter().map(|&(p, s)| (p, s.to_string())).collect()
}

#[test]
fn filtered_closed_open_like_nmap() {
    if !require_tool("iptables") || !require_tool("python3") || !require_tool("ss") {
        return;
    }
    let Some(lab) = Lab::new() else { return };
    let (d, r) = (DROPPED.to_string(), RESET.to_string());
    lab.ok(
        Side::Target,
        &[
            "iptables", "-A", "INPUT", "-p", "tcp", "--dport", &d, "-j", "DROP",
        ],
    );
    lab.ok(
        Side::Target,
        &[
            "iptables",
            "-A",
            "INPUT",
            "-p",
            "tcp",
            "--dport",
            &r,
            "-j",
            "REJECT",
            "--reject-with",
            "tcp-reset",
        ],
    );
    lab.listen(Lab::TARGET_ADDR, OPEN);
    let spec = format!("{DROPPED},{RESET},{OPEN}");
    let dir = tempdir();
    let ours = dir.path().join("prtip.xml");
    run_ok(lab.prtip().args([
        "-sT",
        "-n",
        "-Pn",
        "-p",
        &spec,
        "--max-retries",
        "1",
        "-oX",
        ours.to_str().expect("utf-8"),
        Lab::TARGET_ADDR,
    ]));
    let (text, hosts) = xml::file_hosts(&ours);
    assert_eq!(hosts.len(), 1, "{text}");
    assert_eq!(hosts[0].addr, Lab::TARGET_ADDR);
    let expected = states(&[(DROPPED, "filtered"), (RESET, "closed"), (OPEN, "open")]);
    assert_eq!(hosts[0].ports, expected, "{text}");
    assert_eq!(hosts[0].reasons[&DROPPED], "no-response", "{text}");
    assert_eq!(hosts[0].reasons[&RESET], "conn-refused", "{text}");
    assert_eq!(hosts[0].reasons[&OPEN], "syn-ack", "{text}");
    if require_tool("xmllint") && require_file(xml::NMAP_DTD) {
        xml::xmllint(&ours, true);
    }

    if !require_tool("nmap") {
        return;
    }
    let theirs = dir.path().join("nmap.xml");
    run_ok(lab.cmd(Side::Scanner, "nmap").args([
        "-sT",
        "-n",
        "-Pn",
        "-p",
        &spec,
        "-oX",
        theirs.to_str().expect("utf-8"),
        Lab::TARGET_ADDR,
    ]));
    let (ntext, nhosts) = xml::file_hosts(&theirs);
    assert_eq!(nhosts.len(), 1, "{ntext}");
    assert_eq!(hosts[0].ports, nhosts[0].ports, "prtip vs nmap:\n{ntext}");
    if require_tool("ndiff") {
        xml::ndiff_no_port_differences(&theirs, &ours);
    }
}

#[test]
fn silent_address_is_down_without_pn_and_up_with_pn() {
    let Some(lab) = Lab::new() else { return };
    // Routed to the target, which owns nothing there and does not forward.
    let dead = "198.18.2.5";
    let dir = tempdir();
    let spawn = |args: &[&str], program: &str| {
        lab.cmd(Side::Scanner, program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn a scan")
    };
    let down_xml = dir.path().join("down.xml");
    let up_xml = dir.path().join("up.xml");
    let nmap_xml = dir.path().join("nmap.xml");
    // The three scans wait for timeouts; run them side by side.
    let down = spawn(
        &[
            "-sT",
            "-n",
            "-p",
            "80",
            "-oX",
            down_xml.to_str().expect("utf-8"),
            dead,
        ],
        common::prtip_path(),
    );
    let up = spawn(
        &[
            "-sT",
            "-n",
            "-Pn",
            "--max-retries",
            "1",
            "-p",
            "80",
            "-oX",
            up_xml.to_str().expect("utf-8"),
            dead,
        ],
        common::prtip_path(),
    );
    let have_nmap = require_tool("nmap");
    let nmap = have_nmap.then(|| {
        spawn(
            &[
                "-sT",
                "-n",
                "-p",
                "80",
                "-oX",
                nmap_xml.to_str().expect("utf-8"),
                dead,
            ],
            "nmap",
        )
    });
    let limit = Duration::from_secs(60);
    let down = wait_output(down, limit, "prtip without -Pn");
    let up = wait_output(up, limit, "prtip -Pn");
    let nmap = nmap.map(|c| wait_output(c, limit, "nmap"));

    assert_eq!(down.status.code(), Some(0), "{}", describe(&down));
    let (text, hosts) = xml::file_hosts(&down_xml);
    assert!(
        hosts.iter().all(|h| h.status != "up"),
        "{dead} reported up:\n{text}"
    );
    assert_eq!(xml::runstats_hosts(&text), Some((0, 1, 1)), "{text}");
    assert!(
        String::from_utf8_lossy(&down.stdout).contains("Host seems down"),
        "{}",
        describe(&down)
    );

    assert_eq!(up.status.code(), Some(0), "{}", describe(&up));
    let (text, hosts) = xml::file_hosts(&up_xml);
    assert_eq!(hosts.len(), 1, "{text}");
    assert_eq!(hosts[0].addr, dead);
    assert_eq!(hosts[0].status, "up", "{text}");
    assert_eq!(hosts[0].status_reason, "user-set", "{text}");
    assert_eq!(hosts[0].ports, states(&[(80, "filtered")]), "{text}");
    assert_eq!(xml::runstats_hosts(&text), Some((1, 0, 1)), "{text}");

    if let Some(nmap) = nmap {
        assert!(nmap.status.success(), "{}", describe(&nmap));
        let text = std::fs::read_to_string(&nmap_xml).expect("nmap xml");
        assert_eq!(xml::runstats_hosts(&text), Some((0, 1, 1)), "nmap:\n{text}");
    }
}

#[test]
fn reachable_host_is_up_without_pn() {
    let Some(lab) = Lab::new() else { return };
    let dir = tempdir();
    let xml = dir.path().join("up.xml");
    run_ok(lab.prtip().args([
        "-sT",
        "-n",
        "-p",
        "80",
        "-oX",
        xml.to_str().expect("utf-8"),
        Lab::TARGET_ADDR,
    ]));
    let (text, hosts) = xml::file_hosts(&xml);
    assert_eq!(hosts.len(), 1, "{text}");
    assert_eq!(hosts[0].status, "up", "{text}");
    assert_eq!(hosts[0].ports, states(&[(80, "closed")]), "{text}");
}

#[test]
fn excluded_address_is_neither_reported_nor_probed() {
    if !require_tool("python3") || !require_tool("ss") {
        return;
    }
    let Some(lab) = Lab::new() else { return };
    // The target owns 198.18.1.0/30 (four addresses) and listens on all of them.
    let all = ["198.18.1.0", "198.18.1.1", "198.18.1.2", "198.18.1.3"];
    for a in all {
        lab.add_target_address(a);
    }
    lab.listen("0.0.0.0", OPEN);
    let excluded = "198.18.1.2";
    let port = OPEN.to_string();
    let dir = tempdir();
    let exclude_file = dir.path().join("exclude.txt");
    std::fs::write(&exclude_file, format!("# lab\n{excluded}\n")).expect("write exclude file");
    let capture = require_tool("tcpdump").then(|| {
        Capture::start(
            &lab,
            Side::Target,
            &lab.target_if,
            "tcp and dst net 198.18.1.0/30",
        )
    });

    let expected: BTreeSet<String> = all
        .iter()
        .filter(|a| **a != excluded)
        .map(|a| a.to_string())
        .collect();
    let variants: [&[&str]; 2] = [
        &["--exclude", excluded],
        &["--excludefile", exclude_file.to_str().expect("utf-8")],
    ];
    for (i, exclude) in variants.iter().enumerate() {
        let xml = dir.path().join(format!("exclude-{i}.xml"));
        let out = run_ok(
            lab.prtip()
                .args(["-sT", "-n", "-Pn", "-p", &port])
                .args(*exclude)
                .args(["-oX", xml.to_str().expect("utf-8"), "198.18.1.0/30"]),
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains(excluded), "{exclude:?}:\n{stdout}");
        let (text, hosts) = xml::file_hosts(&xml);
        let addrs: BTreeSet<String> = hosts.iter().map(|h| h.addr.clone()).collect();
        assert_eq!(addrs, expected, "{exclude:?}:\n{text}");
        for h in &hosts {
            assert_eq!(h.ports, states(&[(OPEN, "open")]), "{}:\n{text}", h.addr);
        }
        assert_eq!(xml::runstats_hosts(&text), Some((3, 0, 3)), "{text}");
    }

    if let Some(capture) = capture {
        let packets = capture.stop();
        assert!(
            !packets
                .iter()
                .any(|l| l.contains(&format!("> {excluded}."))),
            "packets sent to the excluded address:\n{}",
            packets.join("\n")
        );
        for a in &expected {
            assert!(
                packets
                    .iter()
                    .any(|l| l.contains(&format!("> {a}.{OPEN}:"))),
                "no probe seen to {a}:{OPEN} (is the capture working?):\n{}",
                packets.join("\n")
            );
        }
    }
}
