//! The SYN engine scanning ::1 through real raw IPv6 sockets (root): the
//! ports this test opens are open, the ports it just closed are closed,
//! and nmap (`nmap -6 -sS`, when installed) says the same of the same
//! ports in the same test, reasons included.
//!
//! Network safety: packets go only to ::1, to ports this test opened or
//! just closed.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr, TcpListener};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use prtip_core::config::TimingTemplate;
use prtip_core::ports::PortList;
use prtip_core::result::{HostResult, HostStatus};
use prtip_scanner::cancel::StopFlag;
use prtip_scanner::engines::syn::{open, SynSetup};
use prtip_scanner::plan::{HostJob, HostOutcome, ScanPlan};
use prtip_testkit::prereq::{require_root, require_tool};
use prtip_testkit::process::run_ok_timeout;
use prtip_testkit::xml;

const LO6: Ipv6Addr = Ipv6Addr::LOCALHOST;

/// Three listeners on [::1] (kept open by the returned sockets) and three
/// ports that were bound a moment ago and are closed now.
fn ports() -> (Vec<TcpListener>, Vec<u16>, Vec<u16>) {
    let listeners: Vec<TcpListener> = (0..3)
        .map(|_| TcpListener::bind("[::1]:0").expect("listen on ::1"))
        .collect();
    let open = listeners
        .iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect();
    let closed = (0..3)
        .map(|_| {
            let l = TcpListener::bind("[::1]:0").expect("bind on ::1");
            l.local_addr().expect("addr").port()
        })
        .collect();
    (listeners, open, closed)
}

fn scan(ports: &[u16]) -> HostResult {
    let list = PortList::from_ranges(ports.iter().map(|&p| (p, p)));
    let setup = SynSetup {
        timing: TimingTemplate::Aggressive.timing(),
        source: None,
        interface: None,
        seed: Some(6),
        shard: None,
        ports: Arc::new(list),
        probe: prtip_scanner::engines::syn::TcpProbe::SYN,
        ping: Default::default(),
        shape: Default::default(),
    };
    let scanner = open(setup, Some(IpAddr::V6(LO6)), StopFlag::new()).expect("raw IPv6 engine");
    let plan = ScanPlan {
        discovery: false,
        port_scan: true,
        max_per_state: 100,
        open_only: false,
    };
    let mut out = Vec::new();
    let job = HostJob {
        addr: IpAddr::V6(LO6),
        hostname: None,
        scope_id: 0,
    };
    scanner
        .run_counted(std::iter::once(job), plan, &mut |o| {
            if let HostOutcome::Done(h) = o {
                out.push(h);
            }
            Ok(())
        })
        .expect("scan");
    assert_eq!(out.len(), 1);
    out.remove(0)
}

/// port -> (state, reason) as prtip reports them.
fn table(h: &HostResult) -> BTreeMap<u16, (String, String)> {
    h.ports
        .shown
        .iter()
        .map(|p| {
            let state = p.state.as_str().to_string();
            (p.port, (state, p.reason.as_str().to_string()))
        })
        .collect()
}

#[test]
fn syn_scan_of_ipv6_loopback_matches_the_truth_and_nmap() {
    if !require_root() {
        return;
    }
    let (listeners, open, closed) = ports();
    let all: Vec<u16> = open.iter().chain(&closed).copied().collect();
    let h = scan(&all);
    assert_eq!((h.addr, h.status), (IpAddr::V6(LO6), HostStatus::Up));
    let ours = table(&h);
    for p in &open {
        assert_eq!(ours[p], ("open".into(), "syn-ack".into()), "port {p}");
    }
    for p in &closed {
        assert_eq!(ours[p], ("closed".into(), "reset".into()), "port {p}");
    }
    // Loopback answers with the hop limit it was sent with (64).
    assert!(h.ports.shown.iter().all(|p| p.reason_ttl == 64));
    if require_tool("nmap") {
        let spec = all.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
        let out = run_ok_timeout(
            Command::new("nmap").args([
                "-6", "-sS", "-n", "-Pn", "--reason", "-p", &spec, "-oX", "-", "::1",
            ]),
            Duration::from_secs(120),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let hosts = xml::hosts(&text);
        assert_eq!(hosts.len(), 1, "{text}");
        let theirs: BTreeMap<u16, (String, String)> = hosts[0]
            .ports
            .iter()
            .map(|(p, s)| (*p, (s.clone(), hosts[0].reasons[p].clone())))
            .collect();
        assert_eq!(ours, theirs, "prtip vs nmap -6 -sS");
    }
    drop(listeners);
}
