//! The SYN engine over IPv6 on an in-memory network: every port state and
//! reason nmap gives for IPv6, replies behind extension headers, ICMPv6
//! errors from routers and from the target, and nmap's `-6` discovery
//! (ICMPv6 echo, SYN to 443, ACK to 80; no timestamp request).
//!
//! Addresses are 2001:db8::/32 (documentation); nothing leaves the process.

use prtip_core::config::{Timing, TimingTemplate};
use prtip_core::ports::PortList;
use prtip_core::result::{HostResult, HostStatus, PortState, Reason};
use prtip_core::wire::{
    build_ipv6_icmpv6, build_tcp_probe, parse_reply, IcmpMessage, IcmpView, Ipv6Header, Ipv6View,
    ProbeIp, Reply, TcpFields, TcpFlags, TcpReply, ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST,
    IPPROTO_ICMPV6, IPV6_NH_HOP_BY_HOP,
};
use prtip_scanner::cancel::StopFlag;
use prtip_scanner::engines::syn::{SynConfig, SynScanner, TcpProbe};
use prtip_scanner::net::fake::FakeNet;
use prtip_scanner::plan::{HostJob, HostOutcome, ScanPlan};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

const SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const HOST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 4, 0, 0, 0, 0, 7);
const ROUTER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xfe);
/// Hop limit of every reply: the reason TTL the engine must report.
const HOPS: u8 = 61;

fn timing() -> Timing {
    let mut t = TimingTemplate::Aggressive.timing();
    t.initial_rtt_timeout = Duration::from_millis(60);
    t.min_rtt_timeout = Duration::from_millis(20);
    t.max_rtt_timeout = Duration::from_millis(100);
    t
}

fn config() -> SynConfig {
    SynConfig {
        timing: timing(),
        source: IpAddr::V6(SRC),
        source_per_target: false,
        sport_base: 61000,
        sport_range: 4096,
        key: [7; 16],
        seed: 1,
        shard: None,
        ttl: 64,
        probe: TcpProbe::SYN,
        ping: Default::default(),
        badsum: false,
    }
}

fn v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V6(a) => a,
        IpAddr::V4(a) => panic!("an IPv4 address in an IPv6 scan: {a}"),
    }
}

fn header(src: Ipv6Addr, dst: Ipv6Addr) -> Ipv6Header {
    Ipv6Header {
        src,
        dst,
        hop_limit: HOPS,
        traffic_class: 0,
        flow_label: 0,
    }
}

/// The target's TCP answer to probe `p`, acknowledging `seq + ack_delta`.
fn tcp_reply(p: &TcpReply, flags: TcpFlags, ack_delta: u32) -> Vec<u8> {
    let mut buf = vec![0u8; 80];
    let tcp = TcpFields {
        sport: p.dport,
        dport: p.sport,
        seq: 0x1000,
        ack: p.seq.wrapping_add(ack_delta),
        flags,
        window: 64240,
        mss: None,
    };
    let ip = ProbeIp::V6(header(v6(p.dst), v6(p.src)));
    let n = build_tcp_probe(&mut buf, &ip, &tcp).expect("room");
    buf.truncate(n);
    buf
}

/// `packet` with an 8-byte hop-by-hop header inserted after the fixed one.
fn with_hop_by_hop(mut packet: Vec<u8>) -> Vec<u8> {
    let next = packet[6];
    packet[6] = IPV6_NH_HOP_BY_HOP;
    let plen = u16::from_be_bytes([packet[4], packet[5]]) + 8;
    packet[4..6].copy_from_slice(&plen.to_be_bytes());
    packet.splice(40..40, [next, 0, 1, 4, 0, 0, 0, 0]);
    packet
}

/// An ICMPv6 error of `icmp_type`/`code` from `from`, quoting all of `probe`.
fn icmpv6_error(probe: &[u8], from: Ipv6Addr, icmp_type: u8, code: u8) -> Vec<u8> {
    let mut buf = vec![0u8; 40 + 8 + probe.len()];
    let m = IcmpMessage {
        icmp_type,
        code,
        rest: 0,
        body: probe,
    };
    let n = build_ipv6_icmpv6(&mut buf, &header(from, SRC), &m).expect("room");
    buf.truncate(n);
    buf
}

/// The echo reply to an ICMPv6 echo request in `packet`, if it is one.
fn echo_reply(packet: &[u8]) -> Option<Vec<u8>> {
    let ip = Ipv6View::parse(packet)?;
    let up = ip.upper_layer()?;
    let icmp = IcmpView::parse(up.data)?;
    if up.proto != IPPROTO_ICMPV6 || icmp.icmp_type() != ICMPV6_ECHO_REQUEST {
        return None;
    }
    let m = IcmpMessage::echo(ICMPV6_ECHO_REPLY, 0, icmp.id(), icmp.seq(), &[]);
    let mut buf = vec![0u8; 48];
    let n = build_ipv6_icmpv6(&mut buf, &header(ip.dst(), ip.src()), &m)?;
    buf.truncate(n);
    Some(buf)
}

/// How HOST answers a SYN to each port of the classification test.
fn answer(probe: &[u8], p: &TcpReply) -> Vec<Vec<u8>> {
    let host = v6(p.dst);
    match p.dport {
        22 => vec![tcp_reply(p, TcpFlags::SYN_ACK, 1)],
        23 => vec![tcp_reply(p, TcpFlags::RST_ACK, 1)],
        // Destination unreachable, codes 0..=6, from a router.
        c @ 25..=31 => vec![icmpv6_error(probe, ROUTER, 1, (c - 25) as u8)],
        // Port unreachable from the target itself: still filtered for TCP.
        32 => vec![icmpv6_error(probe, host, 1, 4)],
        33 => vec![icmpv6_error(probe, ROUTER, 4, 1)],
        // Packet too big and time exceeded say nothing of the port.
        34 => vec![icmpv6_error(probe, ROUTER, 2, 0)],
        35 => vec![icmpv6_error(probe, ROUTER, 3, 0)],
        // Not our cookie.
        36 => vec![tcp_reply(p, TcpFlags::SYN_ACK, 2)],
        // An open port answering behind a hop-by-hop header.
        37 => vec![with_hop_by_hop(tcp_reply(p, TcpFlags::SYN_ACK, 1))],
        // An error quoting our probe with its sequence number changed.
        38 => {
            let mut forged = probe.to_vec();
            forged[44] ^= 1;
            vec![icmpv6_error(&forged, ROUTER, 1, 1)]
        }
        _ => Vec::new(),
    }
}

fn scan(net: Arc<FakeNet>, ports: &PortList, hosts: &[IpAddr], discovery: bool) -> Vec<HostResult> {
    let ports_scanned = !ports.is_empty();
    let scanner = SynScanner::new(net, config(), ports, StopFlag::new());
    let mut out = Vec::new();
    let jobs = hosts.iter().map(|&addr| HostJob {
        addr,
        hostname: None,
        scope_id: 0,
    });
    let plan = ScanPlan {
        discovery,
        port_scan: ports_scanned,
        max_per_state: 100,
        open_only: false,
    };
    scanner
        .run_counted(jobs, plan, &mut |o| {
            if let HostOutcome::Done(h) = o {
                out.push(h);
            }
            Ok(())
        })
        .expect("scan");
    out
}

fn state_of(host: &HostResult, port: u16) -> Option<(PortState, Reason)> {
    host.ports
        .shown
        .iter()
        .find(|p| p.port == port)
        .map(|p| (p.state, p.reason))
}

#[test]
fn every_ipv6_state_and_reason() {
    let net = Arc::new(FakeNet::new(Box::new(|bytes: &[u8]| {
        match parse_reply(bytes) {
            Some(Reply::Tcp(p)) if p.flags == TcpFlags::SYN => answer(bytes, &p),
            _ => Vec::new(),
        }
    })));
    let ports = PortList::from_ranges([(22, 38)]);
    let hosts = scan(Arc::clone(&net), &ports, &[IpAddr::V6(HOST)], false);
    assert_eq!(hosts.len(), 1);
    let h = &hosts[0];
    assert_eq!((h.addr, h.status), (IpAddr::V6(HOST), HostStatus::Up));
    use PortState::{Closed, Filtered, Open};
    let expect = [
        (22, Open, Reason::SynAck),
        (23, Closed, Reason::Reset),
        (24, Filtered, Reason::NoResponse),
        (25, Filtered, Reason::NoRoute),
        (26, Filtered, Reason::AdminProhibited),
        (27, Filtered, Reason::BeyondScope),
        (28, Filtered, Reason::HostUnreach),
        (29, Filtered, Reason::PortUnreach),
        (30, Filtered, Reason::AdminProhibited),
        (31, Filtered, Reason::RejectRoute),
        (32, Filtered, Reason::PortUnreach),
        (33, Filtered, Reason::ParamProblem),
        (34, Filtered, Reason::NoResponse),
        (35, Filtered, Reason::NoResponse),
        (36, Filtered, Reason::NoResponse),
        (37, Open, Reason::SynAck),
        (38, Filtered, Reason::NoResponse),
    ];
    for (port, state, reason) in expect {
        assert_eq!(state_of(h, port), Some((state, reason)), "port {port}");
    }
    // The hop limit of the answer is the reason TTL; silence has none.
    for p in &h.ports.shown {
        let want = if p.reason == Reason::NoResponse {
            0
        } else {
            HOPS
        };
        assert_eq!(p.reason_ttl, want, "port {}", p.port);
    }
    // Every probe was IPv6 from our source, with the engine's hop limit.
    for p in net.sent() {
        let v = Ipv6View::parse(&p).expect("an IPv6 probe");
        assert_eq!((v.src(), v.dst(), v.hop_limit()), (SRC, HOST, 64));
    }
}

#[test]
fn ipv6_discovery_is_nmaps_dash_6_default() {
    let by_echo = Ipv6Addr::new(0x2001, 0xdb8, 4, 0, 0, 0, 0, 1);
    let by_ack = Ipv6Addr::new(0x2001, 0xdb8, 4, 0, 0, 0, 0, 2);
    let by_syn = Ipv6Addr::new(0x2001, 0xdb8, 4, 0, 0, 0, 0, 3);
    let down = Ipv6Addr::new(0x2001, 0xdb8, 4, 0, 0, 0, 0, 4);
    let net = Arc::new(FakeNet::new(Box::new(move |bytes: &[u8]| {
        let dst = Ipv6View::parse(bytes).expect("IPv6").dst();
        if dst == by_echo {
            return echo_reply(bytes).into_iter().collect();
        }
        match parse_reply(bytes) {
            Some(Reply::Tcp(p)) if dst == by_ack && p.flags == TcpFlags::ACK => {
                // RFC 9293: the RST to an ACK takes its seq from the ack.
                let mut rst = tcp_reply(&p, TcpFlags::RST, 0);
                rst[44..48].copy_from_slice(&p.ack.to_be_bytes());
                vec![refresh_tcp_checksum(&mut rst)]
            }
            Some(Reply::Tcp(p)) if dst == by_syn && p.flags == TcpFlags::SYN => {
                vec![tcp_reply(&p, TcpFlags::SYN_ACK, 1)]
            }
            _ => Vec::new(),
        }
    })));
    let hosts: Vec<IpAddr> = [by_echo, by_ack, by_syn, down]
        .into_iter()
        .map(IpAddr::V6)
        .collect();
    let results = scan(Arc::clone(&net), &PortList::new(), &hosts, true);
    let status: Vec<(HostStatus, Reason)> = results.iter().map(|h| (h.status, h.reason)).collect();
    assert_eq!(
        status,
        [
            (HostStatus::Up, Reason::EchoReply),
            (HostStatus::Up, Reason::Reset),
            (HostStatus::Up, Reason::SynAck),
            (HostStatus::Down, Reason::NoResponse),
        ]
    );
    // The down host got two rounds of three probes: echo, SYN 443, ACK 80.
    let to_down: Vec<Vec<u8>> = net
        .sent()
        .into_iter()
        .filter(|p| Ipv6View::parse(p).is_some_and(|v| v.dst() == down))
        .collect();
    assert_eq!(to_down.len(), 6);
    let kinds: Vec<String> = to_down[..3]
        .iter()
        .map(|p| match parse_reply(p) {
            Some(Reply::Tcp(t)) => format!("{:?}/{}", t.flags, t.dport),
            _ => {
                let up = Ipv6View::parse(p)
                    .and_then(|v| v.upper_layer())
                    .expect("chain");
                format!("icmpv6/{}", up.data[0])
            }
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "icmpv6/128".to_string(),
            format!("{:?}/443", TcpFlags::SYN),
            format!("{:?}/80", TcpFlags::ACK),
        ]
    );
}

/// Recomputes the TCP checksum of an IPv6 + TCP packet after an edit.
fn refresh_tcp_checksum(p: &mut [u8]) -> Vec<u8> {
    let v = Ipv6View::parse(p).expect("IPv6");
    let (src, dst) = (v.src(), v.dst());
    p[56..58].fill(0);
    let sum = prtip_core::wire::checksum::ipv6_transport(&src, &dst, 6, &p[40..]).expect("sum");
    p[56..58].copy_from_slice(&sum.to_be_bytes());
    p.to_vec()
}

#[test]
fn an_ipv6_scan_leaves_ipv4_jobs_alone() {
    let net = Arc::new(FakeNet::new(Box::new(|bytes: &[u8]| {
        match parse_reply(bytes) {
            Some(Reply::Tcp(p)) => vec![tcp_reply(&p, TcpFlags::RST_ACK, 1)],
            _ => Vec::new(),
        }
    })));
    let hosts = [IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)), IpAddr::V6(HOST)];
    let results = scan(
        Arc::clone(&net),
        &PortList::from_ranges([(1, 3)]),
        &hosts,
        false,
    );
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].addr, IpAddr::V6(HOST));
    assert_eq!(results[0].ports.count(PortState::Closed), 3);
    assert!(net.sent().iter().all(|p| p[0] >> 4 == 6));
}
