//! `-6`: connect scans and -sV of ::1 against listeners and a service the
//! tests open themselves, checked against the truth, against `nmap -6` in
//! the same test, against the IPv4 scan of the same service, and against
//! nmap's DTD and output layouts.
//!
//! Network safety: only ::1 and 127.0.0.1 are scanned, on ports the tests
//! opened or released.

mod common;

use common::prtip_ok;
use prtip_testkit::{
    loopback::{self, LoopbackPorts},
    prereq::{require_file, require_root, require_tool},
    process::{describe, run, tempdir},
    xml,
};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

/// nmap -6 with the same arguments; `None` (said loudly) without nmap.
fn nmap6(args: &[&str]) -> Option<std::process::Output> {
    if !require_tool("nmap") {
        return None;
    }
    let out = run(Command::new("nmap").arg("-6").args(args));
    assert!(out.status.success(), "nmap: {}", describe(&out));
    Some(out)
}

fn ports_of(path: &Path) -> BTreeMap<u16, String> {
    xml::only_host_up(path, "::1").1.ports
}

/// The lines of grepable output that describe hosts (not the comments,
/// which name the program and the time).
fn gnmap_hosts(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("read grepable output")
        .lines()
        .filter(|l| l.starts_with("Host: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn connect_scan_of_ipv6_loopback_equals_truth_and_nmap() {
    loopback_scan_equals_truth_and_nmap("-sT");
}

#[test]
fn syn_scan_of_ipv6_loopback_equals_truth_and_nmap() {
    if require_root() {
        loopback_scan_equals_truth_and_nmap("-sS");
    }
}

/// `-6 <scan> -n -p <ports> ::1` by prtip and nmap: the truth, the same
/// XML (ndiff), grepable host lines and port table, a DTD-valid file.
fn loopback_scan_equals_truth_and_nmap(scan: &str) {
    let _g = loopback::lock();
    let ports = LoopbackPorts::new_on(V6, 3, 3);
    let spec = ports.spec();
    let dir = tempdir();
    let path = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_owned();
    let (ours_x, ours_g) = (path("prtip.xml"), path("prtip.gnmap"));
    let normal = prtip_ok(&[
        "-6", scan, "-n", "-p", &spec, "-oX", &ours_x, "-oG", &ours_g, "::1",
    ]);
    let normal = String::from_utf8_lossy(&normal.stdout).into_owned();
    assert_eq!(ports_of(Path::new(&ours_x)), ports.expected());
    let (text, hosts) = xml::file_hosts(Path::new(&ours_x));
    assert!(
        text.contains("<address addr=\"::1\" addrtype=\"ipv6\"/>"),
        "{text}"
    );
    assert_eq!(hosts[0].status_reason, "localhost-response", "{text}");
    assert!(normal.contains("prtip scan report for ::1\n"), "{normal}");
    if require_tool("xmllint") && require_file(xml::NMAP_DTD) {
        xml::xmllint(Path::new(&ours_x), true);
    }

    let (theirs_x, theirs_g) = (path("nmap.xml"), path("nmap.gnmap"));
    let Some(out) = nmap6(&[
        "-sT", "-n", "-p", &spec, "-oX", &theirs_x, "-oG", &theirs_g, "::1",
    ]) else {
        return;
    };
    let (_, nmap_hosts) = xml::file_hosts(Path::new(&theirs_x));
    assert_eq!(
        ports_of(Path::new(&theirs_x)),
        ports.expected(),
        "nmap vs truth"
    );
    assert_eq!(hosts[0].status_reason, nmap_hosts[0].status_reason);
    xml::ndiff_no_port_differences(Path::new(&theirs_x), Path::new(&ours_x));
    assert_eq!(
        gnmap_hosts(Path::new(&ours_g)),
        gnmap_hosts(Path::new(&theirs_g))
    );
    // The normal output's port table, line for line.
    let table = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.starts_with("PORT") || l.contains("/tcp"))
            .map(str::to_owned)
            .collect()
    };
    let theirs_normal = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        table(&normal),
        table(&theirs_normal),
        "{normal}\n{theirs_normal}"
    );
}

/// A fake OpenSSH that nmap-service-probes (or the built-in database)
/// names from its banner alone.
fn ssh_banner(addr: IpAddr, stop: &Arc<AtomicBool>) -> u16 {
    loopback::serve_on(addr, Arc::clone(stop), |mut s| {
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
        std::thread::sleep(std::time::Duration::from_millis(200));
    })
}

/// `(port, service line)` of the only host's open ports in the XML.
fn services(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("read xml");
    text.lines()
        .filter(|l| l.contains("<service "))
        .map(|l| {
            // The port number differs between the two listeners.
            let start = l.find("<service ").unwrap_or(0);
            l[start..].to_owned()
        })
        .collect()
}

#[test]
fn version_scan_over_ipv6_gives_the_ipv4_answers() {
    let _g = loopback::lock();
    let stop = Arc::new(AtomicBool::new(false));
    let p6 = ssh_banner(V6, &stop).to_string();
    let p4 = ssh_banner(IpAddr::V4(Ipv4Addr::LOCALHOST), &stop).to_string();
    let dir = tempdir();
    let path = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_owned();
    let (x6, x4) = (path("v6.xml"), path("v4.xml"));
    prtip_ok(&[
        "-6", "-sT", "-sV", "-n", "-Pn", "-p", &p6, "-oX", &x6, "::1",
    ]);
    prtip_ok(&[
        "-sT",
        "-sV",
        "-n",
        "-Pn",
        "-p",
        &p4,
        "-oX",
        &x4,
        "127.0.0.1",
    ]);
    let ours = services(Path::new(&x6));
    assert_eq!(ours.len(), 1, "one service on ::1 port {p6}: {ours:?}");
    assert!(ours[0].contains("product=\"OpenSSH\""), "{ours:?}");
    assert_eq!(
        ours,
        services(Path::new(&x4)),
        "IPv6 and IPv4 answers differ"
    );
    if require_tool("xmllint") && require_file(xml::NMAP_DTD) {
        xml::xmllint(Path::new(&x6), true);
    }
    let theirs = path("nmap.xml");
    if nmap6(&["-sT", "-sV", "-n", "-Pn", "-p", &p6, "-oX", &theirs, "::1"]).is_some() {
        let nmap_services = services(Path::new(&theirs));
        let field = |line: &str, key: &str| {
            let needle = format!(" {key}=\"");
            line.split(&needle)
                .nth(1)
                .and_then(|r| r.split('"').next())
                .map(str::to_owned)
        };
        for key in ["name", "product", "version", "extrainfo", "ostype"] {
            assert_eq!(
                field(&ours[0], key),
                field(&nmap_services[0], key),
                "{key}: {ours:?} vs nmap {nmap_services:?}"
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
}
