//! The UDP engine over IPv6 on an in-memory network: every ICMPv6 state
//! and reason, the batch tag carried in the flow label (and quoted back by
//! ICMPv6 errors), forged flow labels, and a rate-limited target.
//!
//! Addresses are 2001:db8::/32 (documentation); nothing leaves the process.

use prtip_core::config::{Timing, TimingTemplate};
use prtip_core::payloads::PayloadDb;
use prtip_core::ports::PortList;
use prtip_core::result::{HostResult, PortState, Reason};
use prtip_core::wire::{
    build_ipv6_icmpv6, build_ipv6_udp, IcmpMessage, Ipv6Header, Ipv6View, UdpHeader, UdpView,
    IPPROTO_UDP,
};
use prtip_scanner::cancel::StopFlag;
use prtip_scanner::engines::udp::{UdpConfig, UdpScanner, UdpStats};
use prtip_scanner::net::fake::FakeNet;
use prtip_scanner::plan::{HostJob, HostOutcome, ScanPlan};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const HOST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 4, 0, 0, 0, 0, 7);
const ROUTER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xfe);

/// What the simulated host does with a datagram to a port.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Answer {
    Open,
    Silent,
    /// An ICMPv6 error of (type, code) from the host itself.
    Host(u8, u8),
    /// An ICMPv6 error of (type, code) from a router in front of it.
    Router(u8, u8),
}

fn timing() -> Timing {
    let mut t = TimingTemplate::Aggressive.timing();
    t.initial_rtt_timeout = Duration::from_millis(40);
    t.min_rtt_timeout = Duration::from_millis(20);
    t.max_rtt_timeout = Duration::from_millis(60);
    t
}

fn config() -> UdpConfig {
    UdpConfig {
        timing: timing(),
        source: IpAddr::V6(SRC),
        source_per_target: false,
        sport_base: 61000,
        sport_range: 4096,
        key: [9; 16],
        seed: 3,
        ttl: 64,
        defeat_icmp_ratelimit: false,
        badsum: false,
    }
}

fn header(src: Ipv6Addr, dst: Ipv6Addr) -> Ipv6Header {
    Ipv6Header {
        src,
        dst,
        hop_limit: 62,
        traffic_class: 0,
        flow_label: 0,
    }
}

/// The probe's (ports, UDP view) and its IPv6 view.
fn probe(p: &[u8]) -> (Ipv6View<'_>, UdpView<'_>) {
    let ip = Ipv6View::parse(p).expect("an IPv6 probe");
    let up = ip.upper_layer().expect("no extension headers");
    assert_eq!(up.proto, IPPROTO_UDP);
    (ip, UdpView::parse(up.data).expect("UDP"))
}

fn udp_reply(p: &[u8]) -> Vec<u8> {
    let (ip, udp) = probe(p);
    let mut buf = vec![0u8; 80];
    let h = UdpHeader {
        sport: udp.dport(),
        dport: udp.sport(),
    };
    let n = build_ipv6_udp(&mut buf, &header(ip.dst(), ip.src()), &h, b"hello").expect("room");
    buf.truncate(n);
    buf
}

fn icmpv6_error(from: Ipv6Addr, (t, code): (u8, u8), quote: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 48 + quote.len()];
    let m = IcmpMessage {
        icmp_type: t,
        code,
        rest: 0,
        body: quote,
    };
    let n = build_ipv6_icmpv6(&mut buf, &header(from, SRC), &m).expect("room");
    buf.truncate(n);
    buf
}

fn scanner(net: &Arc<FakeNet>, ports: &[u16]) -> UdpScanner {
    UdpScanner::new(
        Arc::clone(net) as _,
        config(),
        Arc::new(PortList::from_ranges(ports.iter().map(|&p| (p, p)))),
        Arc::new(PayloadDb::default()),
        StopFlag::new(),
    )
}

fn run(scanner: &UdpScanner) -> (HostResult, UdpStats) {
    let mut got = Vec::new();
    let stats = scanner
        .run_counted(
            &mut std::iter::once(HostJob {
                addr: IpAddr::V6(HOST),
                hostname: None,
                scope_id: 0,
            }),
            ScanPlan {
                discovery: false,
                port_scan: true,
                max_per_state: 1000,
                open_only: false,
            },
            &mut |o| {
                got.push(o);
                Ok(())
            },
        )
        .expect("scan");
    match got.pop() {
        Some(HostOutcome::Done(r)) => (r, stats),
        other => panic!("no result: {other:?}"),
    }
}

fn state_of(r: &HostResult, port: u16) -> (PortState, Reason) {
    let p = r.ports.shown.iter().find(|p| p.port == port);
    p.map(|p| (p.state, p.reason))
        .unwrap_or_else(|| panic!("port {port} not shown"))
}

#[test]
fn every_ipv6_state_and_reason() {
    let answers = [
        (53, Answer::Open),
        (54, Answer::Host(1, 4)),
        (55, Answer::Silent),
        (56, Answer::Router(1, 0)),
        (57, Answer::Router(1, 1)),
        (58, Answer::Router(1, 2)),
        (59, Answer::Router(1, 3)),
        (60, Answer::Router(1, 4)),
        (61, Answer::Host(1, 5)),
        (62, Answer::Router(1, 6)),
        (63, Answer::Router(4, 1)),
    ];
    let net = Arc::new(FakeNet::new(Box::new(move |p: &[u8]| {
        let (_, udp) = probe(p);
        let what = answers.iter().find(|a| a.0 == udp.dport()).map(|a| a.1);
        match what {
            Some(Answer::Open) => vec![udp_reply(p)],
            Some(Answer::Host(t, c)) => vec![icmpv6_error(HOST, (t, c), p)],
            Some(Answer::Router(t, c)) => vec![icmpv6_error(ROUTER, (t, c), p)],
            _ => Vec::new(),
        }
    })));
    let ports: Vec<u16> = (53..=63).collect();
    let (r, stats) = run(&scanner(&net, &ports));
    use PortState::*;
    let expect = [
        (53, Open, Reason::UdpResponse),
        (54, Closed, Reason::PortUnreach),
        (55, OpenFiltered, Reason::NoResponse),
        (56, Filtered, Reason::NoRoute),
        (57, Filtered, Reason::AdminProhibited),
        (58, Filtered, Reason::BeyondScope),
        (59, Filtered, Reason::HostUnreach),
        // Only the target itself can call a port closed.
        (60, Filtered, Reason::PortUnreach),
        (61, Filtered, Reason::AdminProhibited),
        (62, Filtered, Reason::RejectRoute),
        (63, Filtered, Reason::ParamProblem),
    ];
    for (port, state, reason) in expect {
        assert_eq!(state_of(&r, port), (state, reason), "port {port}");
    }
    assert_eq!(stats.dropped, 0);
    // The batch tag rides in the flow label: probes carry different ones.
    let labels: HashSet<u32> = net
        .sent()
        .iter()
        .map(|p| Ipv6View::parse(p).expect("IPv6").flow_label())
        .collect();
    assert!(labels.len() > 5, "{labels:?}");
}

/// An error quoting our probe with its flow label changed, in the batch
/// bits (far from any recent batch: a nearby one is an earlier batch of
/// ours) or in the four key bits above them, is not ours.
#[test]
fn errors_quoting_another_flow_label_are_dropped() {
    for flip in [0x5500u32, 0x10000, 0x80000] {
        let net = Arc::new(FakeNet::new(Box::new(move |p: &[u8]| {
            let mut bad = p.to_vec();
            let label = Ipv6View::parse(p).expect("IPv6").flow_label() ^ flip;
            bad[1] = (bad[1] & 0xf0) | ((label >> 16) & 0x0f) as u8;
            bad[2..4].copy_from_slice(&(label as u16).to_be_bytes());
            vec![icmpv6_error(HOST, (1, 4), &bad)]
        })));
        let (r, stats) = run(&scanner(&net, &[40, 41, 42]));
        assert!(
            r.ports
                .shown
                .iter()
                .all(|p| p.state == PortState::OpenFiltered),
            "flip {flip:#x}: {:?}",
            r.ports.shown
        );
        assert!(stats.dropped >= 6, "flip {flip:#x}: {stats:?}");
    }
}

/// Linux's ICMPv6 limit: six at once, then one per interval (250 ms for a
/// /64 route; here 25 ms, ten times faster). Every closed port is still
/// found closed, none is taken for open|filtered.
#[test]
fn a_rate_limited_target_still_closes_every_port() {
    let bucket = Mutex::new((6.0f64, Instant::now()));
    let net = Arc::new(FakeNet::new(Box::new(move |p: &[u8]| {
        let mut b = bucket.lock().expect("lock");
        let now = Instant::now();
        b.0 = (b.0 + now.duration_since(b.1).as_secs_f64() / 0.025).min(6.0);
        b.1 = now;
        if b.0 < 1.0 {
            return Vec::new();
        }
        b.0 -= 1.0;
        vec![icmpv6_error(HOST, (1, 4), p)]
    })));
    let ports: Vec<u16> = (1000..1030).collect();
    let (r, _) = run(&scanner(&net, &ports));
    assert_eq!(r.ports.count(PortState::Closed), 30, "{:?}", r.ports);
}
