//! Host discovery's ping types (`-PE`, `-PP`, `-PM`, `-PS`, `-PA`, `-PU`)
//! on an in-memory network: each simulated host answers one kind of probe,
//! so every reply maps to nmap's host reason (echo-reply, timestamp-reply,
//! addressmask-reply, syn-ack, reset, udp-response, port-unreach), a set
//! of types replaces the default probes, and forged or third-party answers
//! leave a host down.

use prtip_core::config::{Timing, TimingTemplate};
use prtip_core::ports::PortList;
use prtip_core::result::{HostStatus, Reason};
use prtip_core::wire::{
    build_ipv4_udp, build_tcp_probe, parse_reply, Ipv4Fields, Ipv4Header, ProbeIp, Reply,
    TcpFields, TcpFlags, TcpReply, UdpHeader,
};
use prtip_scanner::cancel::StopFlag;
use prtip_scanner::engines::ping::{PingProbe, PingProbes};
use prtip_scanner::engines::syn::{SynConfig, SynScanner, TcpProbe};
use prtip_scanner::net::fake::FakeNet;
use prtip_scanner::plan::{HostJob, HostOutcome, ScanPlan};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

const SRC: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const ROUTER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

/// How each simulated host (198.18.4.N) behaves.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Host {
    /// Answers ICMP echo only.
    Echo = 1,
    /// Answers ICMP timestamp only.
    Timestamp = 2,
    /// Answers ICMP address mask only.
    Mask = 3,
    /// A TCP stack: port 22 listens, the rest are closed; no ICMP.
    Tcp = 4,
    /// UDP: port 53 answers, the others draw port unreachable; nothing else.
    Udp = 5,
    /// Answers every probe, but forged: wrong ICMP identifier, wrong UDP
    /// port, port unreachables from a router instead of itself.
    Forger = 6,
    /// Silent.
    Silent = 7,
    /// Speaks no IP protocol but TCP, UDP and ICMP: the others draw a
    /// protocol unreachable.
    Proto = 8,
}

const HOSTS: [Host; 8] = [
    Host::Echo,
    Host::Timestamp,
    Host::Mask,
    Host::Tcp,
    Host::Udp,
    Host::Forger,
    Host::Silent,
    Host::Proto,
];

fn addr(h: Host) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 4, h as u8)
}

fn host_at(a: Ipv4Addr) -> Option<Host> {
    HOSTS.iter().copied().find(|&h| addr(h) == a)
}

fn timing() -> Timing {
    let mut t = TimingTemplate::Aggressive.timing();
    t.initial_rtt_timeout = Duration::from_millis(60);
    t.min_rtt_timeout = Duration::from_millis(20);
    t.max_rtt_timeout = Duration::from_millis(100);
    t
}

fn config(ping: PingProbes) -> SynConfig {
    SynConfig {
        timing: timing(),
        source: SRC.into(),
        source_per_target: false,
        sport_base: 61000,
        sport_range: 4096,
        key: [9; 16],
        seed: 5,
        shard: None,
        ttl: 64,
        probe: TcpProbe::SYN,
        ping,
        badsum: false,
    }
}

/// The probe with source and destination swapped: enough of an IPv4
/// header for the parser (checksums are not verified).
fn swapped(probe: &[u8]) -> Vec<u8> {
    let mut p = probe.to_vec();
    let (src, dst) = (probe[12..16].to_vec(), probe[16..20].to_vec());
    p[12..16].copy_from_slice(&dst);
    p[16..20].copy_from_slice(&src);
    p
}

/// The ICMP request answered with `reply_type`, identifier bumped by `bump`.
fn icmp_answer(probe: &[u8], reply_type: u8, bump: u16) -> Vec<u8> {
    let mut p = swapped(probe);
    p[20] = reply_type;
    let id = u16::from_be_bytes([p[24], p[25]]).wrapping_add(bump);
    p[24..26].copy_from_slice(&id.to_be_bytes());
    p
}

/// ICMP port unreachable from `from`, quoting the probe's first 28 bytes.
fn port_unreachable(probe: &[u8], from: Ipv4Addr) -> Vec<u8> {
    unreachable(probe, from, 3)
}

/// ICMP destination unreachable `code` from `from`, quoting the probe's
/// first 28 bytes.
fn unreachable(probe: &[u8], from: Ipv4Addr, code: u8) -> Vec<u8> {
    let total = 20 + 8 + 28;
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[8] = 64;
    p[9] = 1;
    p[12..16].copy_from_slice(&from.octets());
    p[16..20].copy_from_slice(&SRC.octets());
    p[20] = 3;
    p[21] = code;
    p[28..].copy_from_slice(&probe[..28]);
    p
}

/// A UDP datagram from the probe's target port back to `dport`.
fn udp_answer(to: &prtip_core::wire::UdpReply, dport: u16) -> Vec<u8> {
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (to.dst, to.src) else {
        panic!("IPv4");
    };
    let ip = Ipv4Header {
        src,
        dst,
        id: 1,
        ttl: 63,
        tos: 0,
        df: false,
    };
    let mut buf = vec![0u8; 64];
    let udp = UdpHeader {
        sport: to.dport,
        dport,
    };
    let n = build_ipv4_udp(&mut buf, &ip, &udp, b"answer").expect("room");
    buf.truncate(n);
    buf
}

/// A TCP stack's answer to a SYN or an ACK: port 22 listens.
fn tcp_answer(p: &TcpReply) -> Vec<u8> {
    let (flags, seq, ack) = if p.flags.contains(TcpFlags::ACK) {
        (TcpFlags::RST, p.ack, 0)
    } else if p.dport == 22 {
        (TcpFlags::SYN_ACK, 0x1000, p.seq.wrapping_add(1))
    } else {
        (TcpFlags::RST_ACK, 0, p.seq.wrapping_add(1))
    };
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (p.dst, p.src) else {
        panic!("IPv4");
    };
    let ip = ProbeIp::V4(Ipv4Fields {
        src,
        dst,
        ip_id: 1,
        ttl: 63,
    });
    let tcp = TcpFields {
        sport: p.dport,
        dport: p.sport,
        seq,
        ack,
        flags,
        window: 0,
        mss: None,
    };
    let mut buf = vec![0u8; 80];
    let n = build_tcp_probe(&mut buf, &ip, &tcp).expect("room");
    buf.truncate(n);
    buf
}

/// The reply type of an ICMP request type: echo, timestamp, mask.
fn reply_type(request: u8) -> u8 {
    match request {
        8 => 0,
        other => other + 1,
    }
}

fn answer(bytes: &[u8]) -> Option<Vec<u8>> {
    let dst = Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]);
    let host = host_at(dst)?;
    match (bytes[9], host) {
        // ICMP requests: echo 8, timestamp 13, mask 17.
        (1, Host::Echo) if bytes[20] == 8 => Some(icmp_answer(bytes, 0, 0)),
        (1, Host::Timestamp) if bytes[20] == 13 => Some(icmp_answer(bytes, 14, 0)),
        (1, Host::Mask) if bytes[20] == 17 => Some(icmp_answer(bytes, 18, 0)),
        (1, Host::Forger) => Some(icmp_answer(bytes, reply_type(bytes[20]), 1)),
        // IGMP and IP in IP: protocol unreachable, from the host itself or
        // (forged) from a router.
        (2 | 4, Host::Proto) => Some(unreachable(bytes, dst, 2)),
        (2 | 4, Host::Forger) => Some(unreachable(bytes, ROUTER, 2)),
        (6, Host::Tcp) => match parse_reply(bytes) {
            Some(Reply::Tcp(p)) => Some(tcp_answer(&p)),
            _ => None,
        },
        (17, Host::Udp | Host::Forger) => {
            let Some(Reply::Udp(u)) = parse_reply(bytes) else {
                return None;
            };
            Some(match (host, u.dport) {
                (Host::Udp, 53) => udp_answer(&u, u.sport),
                (Host::Udp, _) => port_unreachable(bytes, dst),
                // Forged: to another of our ports, or from a router.
                (_, 53) => udp_answer(&u, u.sport.wrapping_add(1)),
                _ => port_unreachable(bytes, ROUTER),
            })
        }
        _ => None,
    }
}

/// Discovery only (`-sn`) of every simulated host with `ping`: address
/// -> (status, reason).
fn discover(ping: PingProbes) -> BTreeMap<Ipv4Addr, (HostStatus, Reason)> {
    let net = Arc::new(FakeNet::new(Box::new(|b: &[u8]| {
        answer(b).into_iter().collect()
    })));
    let scanner = SynScanner::new(net, config(ping), &PortList::new(), StopFlag::new());
    let plan = ScanPlan {
        discovery: true,
        port_scan: false,
        max_per_state: 25,
        open_only: false,
    };
    let jobs = HOSTS.map(|h| HostJob {
        addr: IpAddr::V4(addr(h)),
        hostname: None,
        scope_id: 0,
    });
    let mut out = BTreeMap::new();
    scanner
        .run_counted(jobs.into_iter(), plan, &mut |o| {
            if let HostOutcome::Done(h) = o {
                let IpAddr::V4(a) = h.addr else {
                    panic!("IPv4");
                };
                out.insert(a, (h.status, h.reason));
            }
            Ok(())
        })
        .expect("discovery");
    assert_eq!(out.len(), HOSTS.len());
    out
}

/// The hosts up and why.
fn up(ping: PingProbes) -> BTreeMap<Host, Reason> {
    discover(ping)
        .into_iter()
        .filter(|(_, (s, _))| *s == HostStatus::Up)
        .map(|(a, (_, r))| (host_at(a).expect("simulated"), r))
        .collect()
}

impl PartialOrd for Host {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Host {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
    }
}

impl Eq for Host {}

fn only(probe: PingProbe) -> PingProbes {
    let mut p = PingProbes::none();
    match probe {
        PingProbe::Echo => p.echo = true,
        PingProbe::Timestamp => p.timestamp = true,
        PingProbe::Netmask => p.netmask = true,
        PingProbe::Syn(port) => p.syn = vec![port],
        PingProbe::Ack(port) => p.ack = vec![port],
        PingProbe::Udp(port) => p.udp = vec![port],
        PingProbe::Proto(proto) => p.proto = vec![proto],
    }
    p
}

#[test]
fn each_ping_type_maps_its_reply_to_nmaps_reason() {
    use Reason::*;
    for (probe, host, reason) in [
        (PingProbe::Echo, Host::Echo, EchoReply),
        (PingProbe::Timestamp, Host::Timestamp, TimestampReply),
        (PingProbe::Netmask, Host::Mask, AddressMaskReply),
        (PingProbe::Syn(22), Host::Tcp, SynAck),
        (PingProbe::Syn(23), Host::Tcp, Reset),
        (PingProbe::Ack(80), Host::Tcp, Reset),
        (PingProbe::Udp(53), Host::Udp, UdpResponse),
        (PingProbe::Udp(40125), Host::Udp, PortUnreach),
        (PingProbe::Proto(2), Host::Proto, ProtoUnreach),
        (PingProbe::Proto(4), Host::Proto, ProtoUnreach),
    ] {
        // Exactly the host that answers this type is up: the type alone
        // was sent, and the forger's answers were all rejected.
        let found = up(only(probe));
        assert_eq!(found, BTreeMap::from([(host, reason)]), "{probe:?}");
    }
}

#[test]
fn several_types_find_each_hosts_own_answer() {
    let ping = PingProbes {
        echo: true,
        timestamp: true,
        netmask: true,
        syn: vec![22],
        ack: Vec::new(),
        udp: vec![53],
        proto: vec![4],
    };
    let found = up(ping);
    use Reason::*;
    let want = BTreeMap::from([
        (Host::Echo, EchoReply),
        (Host::Timestamp, TimestampReply),
        (Host::Mask, AddressMaskReply),
        (Host::Tcp, SynAck),
        (Host::Udp, UdpResponse),
        (Host::Proto, ProtoUnreach),
    ]);
    assert_eq!(found, want);
}

#[test]
fn the_default_set_is_nmaps_and_sends_nothing_else() {
    let found = up(PingProbes::default());
    use Reason::*;
    // Echo, SYN to 443 (closed: reset), ACK to 80, timestamp; no mask, no UDP.
    let want = BTreeMap::from([
        (Host::Echo, EchoReply),
        (Host::Timestamp, TimestampReply),
        (Host::Tcp, Reset),
    ]);
    assert_eq!(found, want);
}
