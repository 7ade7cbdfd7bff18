//! Connect scans of 127.0.0.1 against listeners the tests open themselves,
//! checked port by port, against nmap and ndiff, and against nmap's DTD.
//!
//! Network safety: only 127.0.0.1 is scanned. 127.0.0.1:2024 belongs to
//! someone else and is never part of an expectation.

mod common;

use common::{prtip, prtip_ok};
use prtip_testkit::{
    loopback::{self, LoopbackPorts},
    prereq::{require_file, require_tool},
    process::{describe, run, tempdir},
    xml,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// The only host in `path` (127.0.0.1, up), as port -> state.
fn single_host_ports(path: &Path) -> BTreeMap<u16, String> {
    xml::only_host_up(path, "127.0.0.1").1.ports
}

#[test]
fn open_and_closed_ports_with_and_without_pn() {
    // Listeners in the ephemeral range come and go: the tests take turns.
    let _g = loopback::lock();
    let ports = LoopbackPorts::new(3, 3);
    let spec = ports.spec();
    let dir = tempdir();
    for pn in [true, false] {
        let xml = dir.path().join(format!("out-{pn}.xml"));
        let mut args = vec!["-sT", "-n"];
        if pn {
            args.push("-Pn");
        }
        args.extend([
            "-p",
            &spec,
            "-oX",
            xml.to_str().expect("utf-8"),
            "127.0.0.1",
        ]);
        prtip_ok(&args);
        assert_eq!(
            single_host_ports(&xml),
            ports.expected(),
            "-Pn: {pn}, ports {spec}"
        );
        let (text, hosts) = xml::file_hosts(&xml);
        // nmap's reasons: -Pn is "user-set"; a discovered local address is
        // "localhost-response".
        let expected_reason = if pn { "user-set" } else { "localhost-response" };
        assert_eq!(
            hosts[0].status_reason, expected_reason,
            "host reason with -Pn={pn}: {text}"
        );
        if require_tool("xmllint") && require_file(xml::NMAP_DTD) {
            xml::xmllint(&xml, true);
        }
    }
}

#[test]
fn same_states_as_nmap_and_ndiff_agrees() {
    if !require_tool("nmap") || !require_tool("ndiff") {
        return;
    }
    let _g = loopback::lock();
    let ports = LoopbackPorts::new(3, 3);
    let spec = ports.spec();
    let dir = tempdir();
    let ours = dir.path().join("prtip.xml");
    let theirs = dir.path().join("nmap.xml");
    prtip_ok(&[
        "-sT",
        "-n",
        "-Pn",
        "-p",
        &spec,
        "-oX",
        ours.to_str().expect("utf-8"),
        "127.0.0.1",
    ]);
    let out = run(Command::new("nmap").args([
        "-sT",
        "-n",
        "-Pn",
        "-p",
        &spec,
        "-oX",
        theirs.to_str().expect("utf-8"),
        "127.0.0.1",
    ]));
    assert!(out.status.success(), "nmap: {}", describe(&out));
    let ours_ports = single_host_ports(&ours);
    assert_eq!(ours_ports, ports.expected());
    assert_eq!(ours_ports, single_host_ports(&theirs), "prtip vs nmap");
    xml::ndiff_no_port_differences(&theirs, &ours);
}

#[test]
fn output_all_writes_four_consistent_files() {
    let _g = loopback::lock();
    let ports = LoopbackPorts::new(2, 2);
    let spec = ports.spec();
    let dir = tempdir();
    let base = dir.path().join("base");
    prtip_ok(&[
        "-sT",
        "-n",
        "-Pn",
        "-p",
        &spec,
        "-oA",
        base.to_str().expect("utf-8"),
        "127.0.0.1",
    ]);
    let file = |ext: &str| dir.path().join(format!("base.{ext}"));
    for ext in ["nmap", "gnmap", "xml", "json"] {
        assert!(file(ext).is_file(), "-oA did not write base.{ext}");
    }
    let open: BTreeSet<u16> = ports.open.iter().copied().collect();

    // XML: same states; valid against nmap's DTD when xml::xmllint is there.
    assert_eq!(single_host_ports(&file("xml")), ports.expected());
    if require_tool("xmllint") && require_file(xml::NMAP_DTD) {
        xml::xmllint(&file("xml"), true);
    }

    // JSON lines: every line parses; one run line, one host line, one stats line.
    let json = std::fs::read_to_string(file("json")).expect("read json");
    let mut types = Vec::new();
    for line in json.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("bad JSON line {line:?}: {e}\n{json}"));
        let ty = v["type"].as_str().unwrap_or_default().to_string();
        if ty == "host" {
            assert_eq!(v["addr"], "127.0.0.1", "{line}");
            assert_eq!(v["status"], "up", "{line}");
            let listed = v["ports"].as_array().expect("ports array");
            let json_open: BTreeSet<u16> = listed
                .iter()
                .filter(|p| p["state"] == "open")
                .map(|p| {
                    p["port"]
                        .as_u64()
                        .and_then(|n| u16::try_from(n).ok())
                        .expect("port number")
                })
                .collect();
            assert_eq!(json_open, open, "open ports in JSON: {line}");
            let json_closed: BTreeSet<u16> = listed
                .iter()
                .filter(|p| p["state"] == "closed")
                .filter_map(|p| p["port"].as_u64().and_then(|n| u16::try_from(n).ok()))
                .collect();
            assert_eq!(
                json_closed,
                ports.closed.iter().copied().collect(),
                "closed ports in JSON: {line}"
            );
        }
        if ty == "stats" {
            assert_eq!(v["interrupted"], false, "{line}");
            assert_eq!(v["hosts_up"], 1, "{line}");
        }
        types.push(ty);
    }
    assert_eq!(types, ["run", "host", "stats"], "{json}");

    // Grepable: the Ports: line lists the same open ports.
    let gnmap = std::fs::read_to_string(file("gnmap")).expect("read gnmap");
    let ports_line = gnmap
        .lines()
        .find(|l| l.starts_with("Host: 127.0.0.1 ") && l.contains("Ports: "))
        .unwrap_or_else(|| panic!("no Ports: line in\n{gnmap}"));
    let gnmap_open: BTreeSet<u16> = ports_line
        .split("Ports: ")
        .nth(1)
        .unwrap_or_default()
        .split(", ")
        .filter(|entry| entry.split('/').nth(1) == Some("open"))
        .filter_map(|entry| entry.split('/').next()?.trim().parse().ok())
        .collect();
    assert_eq!(gnmap_open, open, "{gnmap}");
    assert!(
        gnmap
            .lines()
            .last()
            .unwrap_or_default()
            .starts_with("# prtip done"),
        "{gnmap}"
    );

    // Normal: one line per port, as on stdout.
    let normal = std::fs::read_to_string(file("nmap")).expect("read nmap");
    for p in &ports.open {
        assert!(
            normal
                .lines()
                .any(|l| l.starts_with(&format!("{p}/tcp ")) && l.contains(" open ")),
            "port {p} not open in\n{normal}"
        );
    }
}

#[test]
fn open_hides_closed_ports() {
    let _g = loopback::lock();
    let ports = LoopbackPorts::new(2, 2);
    let spec = ports.spec();
    let dir = tempdir();
    let xml = dir.path().join("open.xml");
    let out = prtip_ok(&[
        "-sT",
        "-n",
        "-Pn",
        "--open",
        "-p",
        &spec,
        "-oX",
        xml.to_str().expect("utf-8"),
        "127.0.0.1",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for p in &ports.open {
        assert!(
            stdout.lines().any(|l| l.starts_with(&format!("{p}/tcp "))),
            "open port {p} missing:\n{stdout}"
        );
    }
    for p in &ports.closed {
        assert!(
            !stdout.contains(&format!("{p}/tcp")),
            "closed port {p} shown with --open:\n{stdout}"
        );
    }
    let shown = single_host_ports(&xml);
    let expected: BTreeMap<u16, String> = ports
        .open
        .iter()
        .map(|&p| (p, "open".to_string()))
        .collect();
    assert_eq!(shown, expected, "XML with --open");
}

#[test]
fn open_leaves_out_hosts_without_open_ports() {
    let _g = loopback::lock();
    let ports = LoopbackPorts::new(0, 2);
    let spec = ports.spec();
    let out = prtip_ok(&["-sT", "-n", "-Pn", "--open", "-p", &spec, "127.0.0.1"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("scan report for 127.0.0.1"),
        "host without open ports shown with --open:\n{stdout}"
    );
}

#[test]
fn reason_shows_syn_ack_and_conn_refused() {
    let _g = loopback::lock();
    let ports = LoopbackPorts::new(1, 1);
    let spec = ports.spec();
    let dir = tempdir();
    let xml = dir.path().join("reason.xml");
    let out = prtip_ok(&[
        "-sT",
        "-n",
        "-Pn",
        "--reason",
        "-p",
        &spec,
        "-oX",
        xml.to_str().expect("utf-8"),
        "127.0.0.1",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("PORT ") && l.ends_with("REASON")),
        "{stdout}"
    );
    let line = |p: u16| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{p}/tcp ")))
            .unwrap_or_else(|| panic!("port {p} missing:\n{stdout}"))
            .to_string()
    };
    let open = line(ports.open[0]);
    assert!(
        open.contains(" open ") && open.ends_with("syn-ack"),
        "{open}"
    );
    let closed = line(ports.closed[0]);
    assert!(
        closed.contains(" closed ") && closed.ends_with("conn-refused"),
        "{closed}"
    );
    let (_, hosts) = xml::file_hosts(&xml);
    assert_eq!(hosts[0].reasons[&ports.open[0]], "syn-ack");
    assert_eq!(hosts[0].reasons[&ports.closed[0]], "conn-refused");
}

/// Scanning the ephemeral range means prtip's own sockets use the same
/// ports it probes: a connect from port P to port P on the same address
/// "succeeds" by TCP simultaneous open. Such self-connects must not be
/// reported as open ports.
#[test]
fn ephemeral_range_reports_only_real_listeners() {
    let _g = loopback::lock();
    let ours = LoopbackPorts::new(3, 0);
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|n| n.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999));
    for p in &ours.open {
        assert!(
            (range.0..=range.1).contains(p),
            "listener port {p} outside {range:?}"
        );
    }
    let before = loopback::ss_listeners();
    let dir = tempdir();
    let xml = dir.path().join("ephemeral.xml");
    let spec = format!("{}-{}", range.0, range.1);
    prtip_ok(&[
        "-sT",
        "-n",
        "-Pn",
        "-p",
        &spec,
        "-oX",
        xml.to_str().expect("utf-8"),
        "127.0.0.1",
    ]);
    let after = loopback::ss_listeners();
    let reported_open: BTreeSet<u16> = single_host_ports(&xml)
        .into_iter()
        .filter(|(_, s)| s == "open")
        .map(|(p, _)| p)
        .collect();
    // Listeners that may legitimately have been seen: ours, and any that
    // existed before or after the scan (other processes on this machine).
    let allowed: BTreeSet<u16> = before
        .union(&after)
        .copied()
        .chain(ours.open.iter().copied())
        .collect();
    let bogus: Vec<u16> = reported_open.difference(&allowed).copied().collect();
    assert!(
        bogus.is_empty(),
        "ports reported open without a listener (self-connects?): {bogus:?}"
    );
    // Listeners that existed throughout must all be found.
    let stable: BTreeSet<u16> = before
        .intersection(&after)
        .copied()
        .chain(ours.open.iter().copied())
        .filter(|p| (range.0..=range.1).contains(p) && *p != 2024)
        .collect();
    let missed: Vec<u16> = stable.difference(&reported_open).copied().collect();
    assert!(missed.is_empty(), "listeners not reported open: {missed:?}");
}

/// nmap-services lists some ports under the name "unknown"; nmap reports those
/// as a service named "unknown", and ports missing from the table with no
/// service at all. 43027/tcp is such an "unknown" entry in nmap 7.93's table.
#[test]
fn unknown_entries_of_nmap_services_are_reported_like_nmap() {
    if !require_tool("nmap") || !require_file("/usr/share/nmap/nmap-services") {
        return;
    }
    let table = std::fs::read_to_string("/usr/share/nmap/nmap-services").expect("nmap-services");
    let Some(port) = table.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        (f.next() == Some("unknown"))
            .then(|| f.next()?.strip_suffix("/tcp")?.parse::<u16>().ok())?
    }) else {
        panic!("no unknown/tcp entry in nmap-services");
    };
    let _g = loopback::lock();
    let dir = tempdir();
    let ours = dir.path().join("prtip.xml");
    let theirs = dir.path().join("nmap.xml");
    // The port is closed or open, whatever: only the service column matters.
    let spec = format!("{port},{}", port.wrapping_add(1).max(1));
    let out = run(prtip()
        .args(["-sT", "-n", "-Pn", "-p", &spec, "-oX"])
        .arg(&ours)
        .arg("127.0.0.1"));
    assert!(out.status.success(), "{}", describe(&out));
    let out = run(Command::new("nmap")
        .args(["-sT", "-n", "-Pn", "-p", &spec, "-oX"])
        .arg(&theirs)
        .arg("127.0.0.1"));
    assert!(out.status.success(), "{}", describe(&out));
    xml::ndiff_no_port_differences(&theirs, &ours);
}
