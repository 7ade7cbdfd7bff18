//! The UDP engine scanning ::1 through real raw IPv6 sockets (root): ports
//! answered by this test's echo sockets are open, ports it just closed are
//! closed (ICMPv6 port unreachable quoting the flow-label tag), and nmap
//! (`nmap -6 -sU`, when installed) says the same of the same ports.
//!
//! Network safety: packets go only to ::1, to ports this test opened or
//! just closed.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use prtip_core::config::TimingTemplate;
use prtip_core::payloads::PayloadDb;
use prtip_core::ports::PortList;
use prtip_core::result::{HostResult, HostStatus};
use prtip_scanner::cancel::StopFlag;
use prtip_scanner::engines::udp::{open_scanner, UdpSetup};
use prtip_scanner::plan::{HostJob, HostOutcome, ScanPlan};
use prtip_testkit::prereq::{require_root, require_tool};
use prtip_testkit::process::run_ok_timeout;
use prtip_testkit::xml;

const LO6: Ipv6Addr = Ipv6Addr::LOCALHOST;

/// A socket on [::1] that echoes every datagram until `stop` (bounded: it
/// wakes every 50 ms to look, and lives at most two minutes).
fn echo(stop: &Arc<AtomicBool>) -> u16 {
    let s = UdpSocket::bind("[::1]:0").expect("bind on ::1");
    let port = s.local_addr().expect("addr").port();
    s.set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let stop = Arc::clone(stop);
    thread::spawn(move || {
        let mut buf = [0u8; 2048];
        for _ in 0..2400 {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            if let Ok((n, from)) = s.recv_from(&mut buf) {
                let _ = s.send_to(&buf[..n], from);
            }
        }
    });
    port
}

fn closed_port() -> u16 {
    let s = UdpSocket::bind("[::1]:0").expect("bind on ::1");
    s.local_addr().expect("addr").port()
}

fn scan(ports: &[u16]) -> HostResult {
    let setup = UdpSetup {
        timing: TimingTemplate::Aggressive.timing(),
        source: None,
        interface: None,
        seed: Some(6),
        ports: Arc::new(PortList::from_ranges(ports.iter().map(|&p| (p, p)))),
        payloads: Arc::new(PayloadDb::default()),
        defeat_icmp_ratelimit: false,
        ping: Default::default(),
        shape: Default::default(),
    };
    let scanner = open_scanner(setup, Some(IpAddr::V6(LO6)), StopFlag::new()).expect("engine");
    let mut out = Vec::new();
    let plan = ScanPlan {
        discovery: false,
        port_scan: true,
        max_per_state: 100,
        open_only: false,
    };
    let job = HostJob {
        addr: IpAddr::V6(LO6),
        hostname: None,
        scope_id: 0,
    };
    scanner
        .run_counted(&mut std::iter::once(job), plan, &mut |o| {
            if let HostOutcome::Done(h) = o {
                out.push(h);
            }
            Ok(())
        })
        .expect("scan");
    assert_eq!(out.len(), 1);
    out.remove(0)
}

#[test]
fn udp_scan_of_ipv6_loopback_matches_the_truth_and_nmap() {
    if !require_root() {
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let open: Vec<u16> = (0..3).map(|_| echo(&stop)).collect();
    let closed: Vec<u16> = (0..3).map(|_| closed_port()).collect();
    let all: Vec<u16> = open.iter().chain(&closed).copied().collect();
    let h = scan(&all);
    assert_eq!((h.addr, h.status), (IpAddr::V6(LO6), HostStatus::Up));
    let ours: BTreeMap<u16, (String, String)> = h
        .ports
        .shown
        .iter()
        .map(|p| (p.port, (p.state.as_str().into(), p.reason.as_str().into())))
        .collect();
    for p in &open {
        assert_eq!(ours[p], ("open".into(), "udp-response".into()), "port {p}");
    }
    for p in &closed {
        assert_eq!(
            ours[p],
            ("closed".into(), "port-unreach".into()),
            "port {p}"
        );
    }
    if require_tool("nmap") {
        let spec = all.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
        let args = [
            "-6", "-sU", "-n", "-Pn", "--reason", "-p", &spec, "-oX", "-", "::1",
        ];
        let out = run_ok_timeout(Command::new("nmap").args(args), Duration::from_secs(120));
        let text = String::from_utf8_lossy(&out.stdout);
        let hosts = xml::hosts(&text);
        assert_eq!(hosts.len(), 1, "{text}");
        let theirs: BTreeMap<u16, (String, String)> = hosts[0]
            .ports
            .iter()
            .map(|(p, s)| (*p, (s.clone(), hosts[0].reasons[p].clone())))
            .collect();
        assert_eq!(ours, theirs, "prtip vs nmap -6 -sU");
    }
    stop.store(true, Ordering::Relaxed);
}
