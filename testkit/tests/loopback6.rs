//! The loopback helpers on ::1, and the XML reader on nmap's own report of
//! an IPv6 host: what nmap -6 finds on ::1 is what the helpers opened.
//!
//! Needs nmap and a ::1 (skips loudly otherwise, fails under CI=true); the
//! UDP test needs root too (nmap -sU). Only ::1 is scanned, only ports the
//! test opened or just released.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener};
use std::process::Command;
use std::time::Duration;

use prtip_testkit::loopback::{self, LoopbackPorts, UdpService};
use prtip_testkit::prereq::{missing, require_root, require_tool};
use prtip_testkit::process::{describe, run_timeout};
use prtip_testkit::xml;

const LOCALHOST6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);
const NMAP_TIMEOUT: Duration = Duration::from_secs(120);

/// nmap and a usable ::1 (a kernel with IPv6, loopback not IPv4-only).
fn prerequisites() -> bool {
    if !require_tool("nmap") {
        return false;
    }
    TcpListener::bind((LOCALHOST6, 0)).is_ok() || missing("a ::1 to bind")
}

/// `nmap -6 -n -Pn <args> -oX - ::1`: the one host's port table, after
/// checking that the reader sees it as the IPv6 host ::1.
fn nmap6(args: &[&str]) -> BTreeMap<u16, String> {
    let out = run_timeout(
        Command::new("nmap")
            .args(["-6", "-n", "-Pn", "-oX", "-"])
            .args(args)
            .arg("::1"),
        NMAP_TIMEOUT,
    );
    assert!(out.status.success(), "nmap {args:?}\n{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut hosts = xml::hosts(&text);
    assert_eq!(hosts.len(), 1, "{text}");
    let host = hosts.remove(0);
    assert_eq!(
        (host.addr.as_str(), host.addrtype.as_str()),
        ("::1", "ipv6")
    );
    assert_eq!(host.status, "up", "{text}");
    host.ports
}

#[test]
fn tcp_ports_opened_on_ipv6_loopback_are_what_nmap_finds() {
    if !prerequisites() {
        return;
    }
    let _g = loopback::lock();
    let ports = LoopbackPorts::new_on(LOCALHOST6, 2, 2);
    let listening = loopback::ss_listeners6();
    assert!(
        ports.open.iter().all(|p| listening.contains(p)),
        "{listening:?}"
    );
    assert!(ports.closed.iter().all(|p| !listening.contains(p)));
    assert_eq!(nmap6(&["-sT", "-p", &ports.spec()]), ports.expected());
}

#[test]
fn udp_service_on_ipv6_loopback_answers_and_a_closed_port_is_closed() {
    if !prerequisites() || !require_root() {
        return;
    }
    let echo = UdpService::start_at(SocketAddr::new(LOCALHOST6, 0), |req| {
        vec![(Duration::ZERO, req.to_vec())]
    });
    let closed = loopback::closed_udp_port_on(LOCALHOST6);
    let spec = format!("U:{},{}", echo.port(), closed.port());
    let table = nmap6(&["-sU", "-p", &spec]);
    let expected = BTreeMap::from([
        (echo.port(), "open".to_string()),
        (closed.port(), "closed".to_string()),
    ]);
    assert_eq!(table, expected);
    assert!(!echo.received().is_empty());
}
