//! The raw engine's other TCP scan types (`-sA`, `-sW`, `-sM`, `-sN`,
//! `-sF`, `-sX`, `--scanflags`) on an in-memory network whose host answers
//! as a TCP stack does (RFC 9293's rules for segments to a closed port and
//! to a listening one): every state of every type, forged resets rejected,
//! and discovery's answers kept apart from the port probes'.

use prtip_core::config::{Timing, TimingTemplate};
use prtip_core::ports::PortList;
use prtip_core::result::{HostResult, HostStatus, PortState, Reason};
use prtip_core::wire::{
    build_tcp_probe, parse_reply, Ipv4Fields, ProbeIp, Reply, TcpFields, TcpFlags, TcpReply,
};
use prtip_scanner::cancel::StopFlag;
use prtip_scanner::engines::syn::{SynConfig, SynScanner, TcpProbe, TcpScanType};
use prtip_scanner::net::fake::FakeNet;
use prtip_scanner::plan::{Engine, HostJob, HostOutcome, ScanPlan};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

const SRC: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const HOST: Ipv4Addr = Ipv4Addr::new(198, 18, 4, 7);

/// What the simulated host's firewall and stack do with a segment to a port.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Role {
    /// A listener; its resets carry a non-zero window (as some stacks do,
    /// which is what a window scan reads).
    Listening,
    /// No listener; resets with window 0.
    Closed,
    /// The firewall drops the probe.
    Dropped,
    /// The firewall answers with ICMP administratively prohibited.
    Rejected,
    /// A closed port whose reset is forged: its numbers are off by one.
    Forged,
}

/// Ports of the simulated host and their roles.
const PORTS: [(u16, Role); 5] = [
    (22, Role::Listening),
    (23, Role::Closed),
    (24, Role::Dropped),
    (25, Role::Rejected),
    (26, Role::Forged),
];

fn role(port: u16) -> Role {
    PORTS
        .iter()
        .find(|(p, _)| *p == port)
        .map_or(Role::Closed, |&(_, r)| r)
}

fn timing() -> Timing {
    let mut t = TimingTemplate::Aggressive.timing();
    t.initial_rtt_timeout = Duration::from_millis(60);
    t.min_rtt_timeout = Duration::from_millis(20);
    t.max_rtt_timeout = Duration::from_millis(100);
    t
}

fn config(probe: TcpProbe) -> SynConfig {
    SynConfig {
        timing: timing(),
        source: SRC.into(),
        source_per_target: false,
        sport_base: 61000,
        sport_range: 4096,
        key: [7; 16],
        seed: 3,
        shard: None,
        ttl: 64,
        probe,
        ping: Default::default(),
        badsum: false,
    }
}

/// A segment from the probe's target back to us.
fn segment(p: &TcpReply, flags: TcpFlags, seq: u32, ack: u32, window: u16) -> Vec<u8> {
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (p.dst, p.src) else {
        panic!("an IPv4 probe");
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
        window,
        mss: None,
    };
    let mut buf = vec![0u8; 80];
    let n = build_tcp_probe(&mut buf, &ip, &tcp).expect("room");
    buf.truncate(n);
    buf
}

/// RFC 9293 §3.10.7: what a stack sends back to segment `p`, with `window`
/// in its reset; `listening` for a port with a listener. `bump` forges it.
fn stack_answer(p: &TcpReply, listening: bool, window: u16, bump: u32) -> Option<Vec<u8>> {
    let f = p.flags;
    if f.contains(TcpFlags::RST) {
        return None;
    }
    if f.contains(TcpFlags::ACK) {
        // Listening or closed, an unacceptable ACK draws <SEQ=SEG.ACK><RST>.
        return Some(segment(
            p,
            TcpFlags::RST,
            p.ack.wrapping_add(bump),
            0,
            window,
        ));
    }
    if listening {
        // A SYN is answered; a segment without SYN, ACK or RST is dropped.
        return f.contains(TcpFlags::SYN).then(|| {
            let ack = p.seq.wrapping_add(1 + bump);
            segment(p, TcpFlags::SYN_ACK, 0x1000, ack, 64240)
        });
    }
    let taken = u32::from(f.contains(TcpFlags::SYN)) + u32::from(f.contains(TcpFlags::FIN));
    let ack = p.seq.wrapping_add(taken + bump);
    Some(segment(p, TcpFlags::RST_ACK, 0, ack, window))
}

/// ICMP destination unreachable (administratively prohibited) quoting the
/// probe's IP header and first 8 TCP bytes.
fn prohibited(probe: &[u8]) -> Vec<u8> {
    let quoted = &probe[..28];
    let total = 20 + 8 + quoted.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[8] = 64;
    p[9] = 1;
    p[12..16].copy_from_slice(&HOST.octets());
    p[16..20].copy_from_slice(&SRC.octets());
    p[20] = 3;
    p[21] = 13;
    p[28..].copy_from_slice(quoted);
    p
}

fn network() -> FakeNet {
    FakeNet::new(Box::new(|bytes: &[u8]| {
        let Some(Reply::Tcp(p)) = parse_reply(bytes) else {
            return Vec::new();
        };
        let answer = match role(p.dport) {
            Role::Listening => stack_answer(&p, true, 1024, 0),
            Role::Closed => stack_answer(&p, false, 0, 0),
            Role::Forged => stack_answer(&p, false, 0, 1),
            Role::Rejected => Some(prohibited(bytes)),
            Role::Dropped => None,
        };
        answer.into_iter().collect()
    }))
}

fn scan(net: Arc<FakeNet>, probe: TcpProbe, ports: &PortList, discovery: bool) -> HostResult {
    let scanner = SynScanner::new(net, config(probe), ports, StopFlag::new());
    let plan = ScanPlan {
        discovery,
        port_scan: true,
        max_per_state: 25,
        open_only: false,
    };
    let mut out = Vec::new();
    let jobs = [HostJob {
        addr: IpAddr::V4(HOST),
        hostname: None,
        scope_id: 0,
    }];
    scanner
        .run_counted(jobs.into_iter(), plan, &mut |o| {
            if let HostOutcome::Done(h) = o {
                out.push(h);
            }
            Ok(())
        })
        .expect("scan");
    assert_eq!(out.len(), 1);
    out.remove(0)
}

fn state_of(host: &HostResult, port: u16) -> (PortState, Reason) {
    let p = host.ports.shown.iter().find(|p| p.port == port);
    p.map(|p| (p.state, p.reason)).expect("port shown")
}

fn all_ports() -> PortList {
    PortList::from_ranges(PORTS.iter().map(|&(p, _)| (p, p)))
}

/// The states and reasons nmap gives each role, for one scan type.
fn expected(t: TcpScanType, r: Role) -> (PortState, Reason) {
    use PortState::*;
    use TcpScanType::*;
    let silent = TcpProbe::of(t).silent_state();
    match (r, t) {
        (Role::Dropped | Role::Forged, _) => (silent, Reason::NoResponse),
        (Role::Rejected, _) => (Filtered, Reason::AdminProhibited),
        (Role::Listening, Syn) => (Open, Reason::SynAck),
        (_, Ack) => (Unfiltered, Reason::Reset),
        (Role::Listening, Window) => (Open, Reason::Reset),
        // The listener resets FIN|ACK as it resets any ACK (Linux's way;
        // the BSD stacks Maimon found dropped it).
        (Role::Listening, Maimon) => (Closed, Reason::Reset),
        (Role::Listening, _) => (OpenFiltered, Reason::NoResponse),
        (_, _) => (Closed, Reason::Reset),
    }
}

#[test]
fn every_state_of_every_scan_type() {
    use TcpScanType::*;
    for t in [Syn, Ack, Window, Maimon, Null, Fin, Xmas] {
        // Syn is run through the generic builder with an extra bit, the
        // way --scanflags SYNECE does.
        let probe = match t {
            Syn => TcpProbe {
                scan: Syn,
                flags: TcpFlags(0x42),
            },
            _ => TcpProbe::of(t),
        };
        let h = scan(Arc::new(network()), probe, &all_ports(), false);
        assert_eq!(h.status, HostStatus::Up);
        for (port, r) in PORTS {
            assert_eq!(
                state_of(&h, port),
                expected(t, r),
                "{t:?} port {port} ({r:?})"
            );
        }
    }
}

#[test]
fn probes_carry_the_type_bits_and_keyed_numbers() {
    let ports = PortList::from_ranges([(23, 23)]);
    for (t, bits) in [(TcpScanType::Xmas, 0x29), (TcpScanType::Maimon, 0x11)] {
        let net = Arc::new(network());
        scan(Arc::clone(&net), TcpProbe::of(t), &ports, false);
        let sent = net.sent();
        let Some(Reply::Tcp(p)) = parse_reply(&sent[0]) else {
            panic!("a TCP probe");
        };
        assert_eq!(p.flags, TcpFlags(bits), "{t:?}");
        let cookie = prtip_core::cookie::SynCookie::new([7; 16]);
        let k = cookie.scan_seq(p.src, p.dst, p.sport, p.dport);
        assert_eq!(p.seq, k);
        let with_ack = TcpFlags(bits).contains(TcpFlags::ACK);
        assert_eq!(p.ack, if with_ack { k } else { 0 });
    }
}

#[test]
fn silent_ports_of_fin_scans_are_retransmitted() {
    let net = Arc::new(network());
    let h = scan(
        Arc::clone(&net),
        TcpProbe::of(TcpScanType::Fin),
        &all_ports(),
        false,
    );
    assert_eq!(state_of(&h, 22).0, PortState::OpenFiltered);
    let to = |port: u16| {
        let sent = net.sent();
        sent.iter()
            .filter(|b| matches!(parse_reply(b), Some(Reply::Tcp(t)) if t.dport == port))
            .count()
    };
    assert!(to(22) >= 2, "open port probed {} times", to(22));
    assert!(to(24) >= 2, "dropped port probed {} times", to(24));
    assert_eq!(to(23), 1, "a closed port answered at once");
}

#[test]
fn discovery_answers_do_not_decide_ports() {
    // Discovery sends a SYN to 443 and an ACK to 80 on the port probes'
    // 4-tuples: here 443 listens and 80 is closed. The SYN-ACK from 443
    // answers discovery, not the FIN or NULL probe (443 stays
    // open|filtered); the reset of 80 to discovery's ACK is not the FIN
    // probe's, which draws its own.
    let net = || {
        Arc::new(FakeNet::new(Box::new(|bytes: &[u8]| {
            let Some(Reply::Tcp(p)) = parse_reply(bytes) else {
                return Vec::new();
            };
            stack_answer(&p, p.dport == 443, 0, 0).into_iter().collect()
        })))
    };
    let ports = PortList::from_ranges([(80, 80), (443, 443)]);
    let h = scan(net(), TcpProbe::of(TcpScanType::Fin), &ports, true);
    assert_eq!(h.status, HostStatus::Up);
    assert_eq!(
        state_of(&h, 443),
        (PortState::OpenFiltered, Reason::NoResponse)
    );
    assert_eq!(state_of(&h, 80), (PortState::Closed, Reason::Reset));
    let h = scan(net(), TcpProbe::of(TcpScanType::Null), &ports, true);
    assert_eq!(
        state_of(&h, 443),
        (PortState::OpenFiltered, Reason::NoResponse)
    );
    let h = scan(net(), TcpProbe::of(TcpScanType::Ack), &ports, true);
    assert_eq!(state_of(&h, 443), (PortState::Unfiltered, Reason::Reset));
    assert_eq!(state_of(&h, 80), (PortState::Unfiltered, Reason::Reset));
}

#[test]
fn resets_from_another_key_are_ignored() {
    // A stale scan's numbers: every answer is forged.
    let stale = prtip_core::cookie::SynCookie::new([9; 16]);
    let net = Arc::new(FakeNet::new(Box::new(move |bytes: &[u8]| {
        let Some(Reply::Tcp(p)) = parse_reply(bytes) else {
            return Vec::new();
        };
        let mut forged = p;
        forged.seq = stale.scan_seq(p.src, p.dst, p.sport, p.dport);
        forged.ack = forged.seq;
        stack_answer(&forged, false, 0, 0).into_iter().collect()
    })));
    let ports = PortList::from_ranges([(1, 5)]);
    for t in [TcpScanType::Ack, TcpScanType::Fin, TcpScanType::Null] {
        let h = scan(Arc::clone(&net), TcpProbe::of(t), &ports, false);
        let silent = TcpProbe::of(t).silent_state();
        assert_eq!(h.ports.count(silent), 5, "{t:?}");
    }
}

#[test]
fn scan_types_have_nmap_names() {
    let names: Vec<&str> = [
        TcpScanType::Syn,
        TcpScanType::Ack,
        TcpScanType::Window,
        TcpScanType::Maimon,
        TcpScanType::Null,
        TcpScanType::Fin,
        TcpScanType::Xmas,
    ]
    .into_iter()
    .map(|t| {
        let s = SynScanner::new(
            Arc::new(network()),
            config(TcpProbe::of(t)),
            &all_ports(),
            StopFlag::new(),
        );
        Engine::scan_type(&s)
    })
    .collect();
    assert_eq!(
        names,
        ["syn", "ack", "window", "maimon", "null", "fin", "xmas"]
    );
}
