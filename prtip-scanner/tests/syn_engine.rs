//! The SYN engine on an in-memory network: classification, retransmission,
//! cookie validation, discovery and rate limiting, without privileges.

use prtip_core::config::{Timing, TimingTemplate};
use prtip_core::ports::PortList;
use prtip_core::result::{HostResult, HostStatus, PortState, Reason};
use prtip_core::wire::{build_tcp, parse_reply, Ipv4Fields, Reply, TcpFields, TcpFlags};
use prtip_scanner::cancel::StopFlag;
use prtip_scanner::engines::syn::{SynConfig, SynScanner, TcpProbe};
use prtip_scanner::net::fake::FakeNet;
use prtip_scanner::plan::{HostJob, HostOutcome, ScanPlan};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SRC: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const HOST: Ipv4Addr = Ipv4Addr::new(198, 18, 4, 7);

fn timing() -> Timing {
    let mut t = TimingTemplate::Aggressive.timing();
    t.initial_rtt_timeout = Duration::from_millis(60);
    t.min_rtt_timeout = Duration::from_millis(20);
    t.max_rtt_timeout = Duration::from_millis(100);
    t
}

fn config(timing: Timing) -> SynConfig {
    SynConfig {
        timing,
        source: SRC.into(),
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

fn plan(discovery: bool) -> ScanPlan {
    ScanPlan {
        discovery,
        port_scan: true,
        max_per_state: 25,
        open_only: false,
    }
}

/// What the simulated host does with a SYN to a port.
#[derive(Clone, Copy, PartialEq)]
enum Answer {
    Open,
    Closed,
    Silent,
    AdminProhibited,
    WrongAck,
}

fn tcp_reply(probe: &prtip_core::wire::TcpReply, flags: TcpFlags, ack_delta: u32) -> Vec<u8> {
    let mut buf = vec![0u8; 64];
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (probe.dst, probe.src) else {
        panic!("an IPv4 probe");
    };
    let ip = Ipv4Fields {
        src,
        dst,
        ip_id: 1,
        ttl: 63,
    };
    let tcp = TcpFields {
        sport: probe.dport,
        dport: probe.sport,
        seq: 0x1000,
        ack: probe.seq.wrapping_add(ack_delta),
        flags,
        window: 64240,
        mss: None,
    };
    let n = build_tcp(&mut buf, &ip, &tcp).expect("room");
    buf.truncate(n);
    buf
}

/// ICMP destination unreachable quoting the probe's IP header and first 8 TCP bytes.
fn icmp_unreachable(probe_bytes: &[u8], from: IpAddr, to: IpAddr, code: u8) -> Vec<u8> {
    let (IpAddr::V4(from), IpAddr::V4(to)) = (from, to) else {
        panic!("an IPv4 probe");
    };
    let quoted = &probe_bytes[..28];
    let total = 20 + 8 + quoted.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[8] = 64;
    p[9] = 1;
    p[12..16].copy_from_slice(&from.octets());
    p[16..20].copy_from_slice(&to.octets());
    p[20] = 3;
    p[21] = code;
    p[28..].copy_from_slice(quoted);
    p
}

fn network(answer: impl Fn(u16) -> Answer + Send + Sync + 'static) -> FakeNet {
    FakeNet::new(Box::new(move |bytes: &[u8]| {
        let Some(Reply::Tcp(probe)) = parse_reply(bytes) else {
            return Vec::new();
        };
        if probe.flags != TcpFlags::SYN {
            return Vec::new();
        }
        match answer(probe.dport) {
            Answer::Open => vec![tcp_reply(&probe, TcpFlags::SYN_ACK, 1)],
            Answer::Closed => vec![tcp_reply(&probe, TcpFlags::RST_ACK, 1)],
            Answer::WrongAck => vec![tcp_reply(&probe, TcpFlags::SYN_ACK, 2)],
            Answer::AdminProhibited => vec![icmp_unreachable(bytes, probe.dst, probe.src, 13)],
            Answer::Silent => Vec::new(),
        }
    }))
}

fn scan(
    net: Arc<FakeNet>,
    timing: Timing,
    ports: &PortList,
    hosts: &[Ipv4Addr],
    discovery: bool,
) -> Vec<HostResult> {
    let scanner = SynScanner::new(net, config(timing), ports, StopFlag::new());
    let mut out = Vec::new();
    let jobs = hosts.iter().map(|&a| HostJob {
        addr: IpAddr::V4(a),
        hostname: None,
        scope_id: 0,
    });
    scanner
        .run_counted(jobs, plan(discovery), &mut |o| {
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
fn classifies_open_closed_filtered_and_icmp() {
    let net = Arc::new(network(|port| match port {
        22 | 80 => Answer::Open,
        443 => Answer::Silent,
        8080 => Answer::AdminProhibited,
        9999 => Answer::WrongAck,
        _ => Answer::Closed,
    }));
    let ports = PortList::from_ranges([(20, 25), (80, 80), (443, 443), (8080, 8080), (9999, 9999)]);
    let hosts = scan(Arc::clone(&net), timing(), &ports, &[HOST], false);
    assert_eq!(hosts.len(), 1);
    let h = &hosts[0];
    assert_eq!(h.status, HostStatus::Up);
    assert_eq!(h.reason, Reason::UserSet);
    assert_eq!(state_of(h, 22), Some((PortState::Open, Reason::SynAck)));
    assert_eq!(state_of(h, 80), Some((PortState::Open, Reason::SynAck)));
    assert_eq!(state_of(h, 21), Some((PortState::Closed, Reason::Reset)));
    assert_eq!(
        state_of(h, 443),
        Some((PortState::Filtered, Reason::NoResponse))
    );
    assert_eq!(
        state_of(h, 8080),
        Some((PortState::Filtered, Reason::AdminProhibited))
    );
    // A SYN-ACK whose ack is not our cookie + 1 is not an answer.
    assert_eq!(
        state_of(h, 9999),
        Some((PortState::Filtered, Reason::NoResponse))
    );
    assert_eq!(h.ports.total(), 10);
    // Silent ports were retransmitted; answered ones were not.
    let sent = net.sent();
    let to = |port: u16| {
        sent.iter()
            .filter(|b| matches!(parse_reply(b), Some(Reply::Tcp(t)) if t.dport == port))
            .count()
    };
    assert_eq!(to(22), 1);
    assert!(to(443) >= 2, "silent port probed {} times", to(443));
}

#[test]
fn lost_probes_are_retransmitted() {
    // The "network" drops the first SYN to every port.
    let seen = Mutex::new(HashSet::new());
    let net = Arc::new(network(move |port| {
        if seen.lock().expect("lock").insert(port) {
            Answer::Silent
        } else if port % 2 == 0 {
            Answer::Open
        } else {
            Answer::Closed
        }
    }));
    let ports = PortList::from_ranges([(1000, 1099)]);
    let hosts = scan(net, timing(), &ports, &[HOST], false);
    let h = &hosts[0];
    assert_eq!(h.ports.count(PortState::Open), 50);
    assert_eq!(h.ports.count(PortState::Closed), 50);
    assert_eq!(h.ports.count(PortState::Filtered), 0);
}

#[test]
fn no_retries_means_lost_probes_stay_filtered() {
    let seen = Mutex::new(HashSet::new());
    let net = Arc::new(network(move |port| {
        if seen.lock().expect("lock").insert(port) {
            Answer::Silent
        } else {
            Answer::Open
        }
    }));
    let mut t = timing();
    t.max_retries = 0;
    let ports = PortList::from_ranges([(1, 10)]);
    let hosts = scan(net, t, &ports, &[HOST], false);
    assert_eq!(hosts[0].ports.count(PortState::Filtered), 10);
}

#[test]
fn discovery_skips_silent_hosts() {
    // Only HOST answers anything; the other address is down and gets no port probes.
    let down = Ipv4Addr::new(198, 18, 4, 8);
    let net = Arc::new(FakeNet::new(Box::new(move |bytes: &[u8]| {
        let dst = Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]);
        if dst != HOST {
            return Vec::new();
        }
        match parse_reply(bytes) {
            Some(Reply::Tcp(p)) if p.flags == TcpFlags::SYN => {
                vec![tcp_reply(&p, TcpFlags::RST_ACK, 1)]
            }
            _ => Vec::new(),
        }
    })));
    let ports = PortList::from_ranges([(1, 20)]);
    let hosts = scan(Arc::clone(&net), timing(), &ports, &[HOST, down], true);
    assert_eq!(hosts.len(), 2);
    assert_eq!(hosts[0].status, HostStatus::Up);
    assert_eq!(hosts[0].ports.count(PortState::Closed), 20);
    assert_eq!(hosts[1].status, HostStatus::Down);
    assert_eq!(hosts[1].reason, Reason::NoResponse);
    // Down: four discovery probes per round, no port probes.
    let to_down = net
        .sent()
        .iter()
        .filter(|b| b[16..20] == down.octets())
        .count();
    assert_eq!(to_down, 8, "two discovery rounds of four probes");
}

#[test]
fn max_rate_spaces_the_probes() {
    let net = Arc::new(network(|_| Answer::Closed));
    let mut t = timing();
    t.max_rate = Some(500.0);
    let ports = PortList::from_ranges([(1, 50)]);
    let start = Instant::now();
    let hosts = scan(net, t, &ports, &[HOST], false);
    // 50 probes at 500 per second: the 50th may leave no earlier than 98 ms in.
    assert!(
        start.elapsed() >= Duration::from_millis(98),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(hosts[0].ports.count(PortState::Closed), 50);
}

#[test]
fn replies_from_another_scan_are_ignored() {
    // A reply computed with a different key (a stale scan) must not count.
    let stale = prtip_core::cookie::SynCookie::new([9; 16]);
    let net = Arc::new(FakeNet::new(Box::new(move |bytes: &[u8]| {
        let Some(Reply::Tcp(p)) = parse_reply(bytes) else {
            return Vec::new();
        };
        let mut forged = p;
        forged.seq = stale.seq(p.src, p.dst, p.sport, p.dport);
        vec![tcp_reply(&forged, TcpFlags::SYN_ACK, 1)]
    })));
    let ports = PortList::from_ranges([(1, 5)]);
    let hosts = scan(net, timing(), &ports, &[HOST], false);
    assert_eq!(hosts[0].ports.count(PortState::Open), 0);
    assert_eq!(hosts[0].ports.count(PortState::Filtered), 5);
}

#[test]
fn publishes_the_exact_event_sequence_of_a_scan() {
    use prtip_core::result::Protocol;
    use prtip_scanner::events::{Event, Events};
    use prtip_scanner::plan::Engine;
    let net = Arc::new(network(|port| match port {
        22 => Answer::Open,
        443 => Answer::Silent,
        _ => Answer::Closed,
    }));
    let ports = PortList::from_ranges([(1, 100), (443, 443)]);
    let scanner = SynScanner::new(net, config(timing()), &ports, StopFlag::new());
    let (events, listener) = Events::channel(64);
    scanner.publish_to(&events);
    let job = HostJob {
        addr: IpAddr::V4(HOST),
        hostname: None,
        scope_id: 0,
    };
    scanner
        .run_counted(std::iter::once(job), plan(false), &mut |o| {
            if let HostOutcome::Done(h) = o {
                events.host_scanned(&h);
            }
            Ok(())
        })
        .expect("scan");
    let got: Vec<Event> = std::iter::from_fn(|| listener.try_recv())
        .map(|s| s.event)
        .collect();
    let addr = IpAddr::V4(HOST);
    let port = |port, state, reason| Event::Port {
        addr,
        protocol: Protocol::Tcp,
        port,
        state,
        reason,
    };
    // The open port as it answers; one resend of the silent port, and no
    // second round, as it gained nothing; then the host.
    assert_eq!(
        got,
        vec![
            Event::Discovered {
                addr,
                protocol: Protocol::Tcp,
                port: 22
            },
            Event::Retransmission {
                round: 1,
                pending: 1
            },
            Event::HostUp {
                addr,
                reason: Reason::UserSet
            },
            port(22, PortState::Open, Reason::SynAck),
            port(443, PortState::Filtered, Reason::NoResponse),
            Event::ExtraPorts {
                addr,
                state: PortState::Closed,
                count: 99
            },
        ]
    );
    assert_eq!(listener.dropped(), 0);
}
