//! The UDP engine on an in-memory network: every state and reason, ICMP
//! rate limits, forged and stale replies, lost probes and
//! `--defeat-icmp-ratelimit`, without privileges.

use prtip_core::config::{Timing, TimingTemplate};
use prtip_core::payloads::PayloadDb;
use prtip_core::ports::PortList;
use prtip_core::result::{HostResult, PortState, Reason};
use prtip_core::wire::{
    build_ipv4_icmp, build_ipv4_udp, IcmpMessage, Ipv4Header, Ipv4View, UdpHeader, UdpView,
    ICMP_DEST_UNREACHABLE,
};
use prtip_scanner::cancel::StopFlag;
use prtip_scanner::engines::udp::{schedule, UdpConfig, UdpScanner, UdpStats};
use prtip_scanner::events::{Event, Events};
use prtip_scanner::net::fake::FakeNet;
use prtip_scanner::plan::Engine;
use prtip_scanner::plan::{HostJob, HostOutcome, ScanPlan};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SRC: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const HOST: Ipv4Addr = Ipv4Addr::new(198, 18, 4, 7);
const ROUTER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 254);

/// What the simulated host does with a datagram to a port.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Answer {
    /// Answers with a datagram.
    Open,
    /// Port unreachable from the host, subject to its ICMP bucket.
    Closed,
    /// Drops it.
    Silent,
    /// An ICMP error of this code from the host (bucket applies).
    HostIcmp(u8),
    /// An ICMP error of this code from a router in front (no bucket).
    RouterIcmp(u8),
}

/// Linux's per-destination ICMP limit as a token bucket, sped up.
struct Bucket {
    tokens: f64,
    burst: f64,
    per_sec: f64,
    last: Instant,
}

impl Bucket {
    fn new(burst: f64, per_sec: f64) -> Self {
        Bucket {
            tokens: burst,
            burst,
            per_sec,
            last: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.per_sec)
            .min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct Host {
    answers: HashMap<u16, Answer>,
    bucket: Option<Bucket>,
    /// Drop the first datagram to each port (a lossy path).
    lose_first: bool,
    /// Drop the first N datagrams to these ports.
    lose: HashMap<u16, u32>,
    seen: HashMap<u16, u32>,
}

fn timing() -> Timing {
    let mut t = TimingTemplate::Aggressive.timing();
    t.initial_rtt_timeout = Duration::from_millis(40);
    t.min_rtt_timeout = Duration::from_millis(20);
    t.max_rtt_timeout = Duration::from_millis(60);
    t
}

fn config(defeat: bool) -> UdpConfig {
    UdpConfig {
        timing: timing(),
        source: SRC.into(),
        source_per_target: false,
        sport_base: 61000,
        sport_range: 4096,
        key: [9; 16],
        seed: 3,
        ttl: 64,
        defeat_icmp_ratelimit: defeat,
        badsum: false,
    }
}

fn udp_reply(ip: &Ipv4View<'_>, udp: &UdpView<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 128];
    let h = Ipv4Header {
        src: ip.dst(),
        dst: ip.src(),
        id: 7,
        ttl: 63,
        tos: 0,
        df: false,
    };
    let n = build_ipv4_udp(
        &mut buf,
        &h,
        &UdpHeader {
            sport: udp.dport(),
            dport: udp.sport(),
        },
        b"hello",
    )
    .expect("room");
    buf.truncate(n);
    buf
}

fn icmp_error(from: Ipv4Addr, code: u8, probe: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 128 + probe.len()];
    let h = Ipv4Header {
        src: from,
        dst: SRC,
        id: 9,
        ttl: 62,
        tos: 0,
        df: false,
    };
    // Linux quotes the whole datagram (up to 576 bytes in all).
    let quote = &probe[..probe.len().min(548)];
    let m = IcmpMessage {
        icmp_type: ICMP_DEST_UNREACHABLE,
        code,
        rest: 0,
        body: quote,
    };
    let n = build_ipv4_icmp(&mut buf, &h, &m).expect("room");
    buf.truncate(n);
    buf
}

fn answer(host: &Mutex<Host>, probe: &[u8]) -> Vec<Vec<u8>> {
    let ip = Ipv4View::parse(probe).expect("ipv4");
    let udp = UdpView::parse(ip.payload()).expect("udp");
    let mut h = host.lock().unwrap();
    let n = {
        let n = h.seen.entry(udp.dport()).or_insert(0);
        *n += 1;
        *n
    };
    let lost = h.lose.get(&udp.dport()).is_some_and(|&k| n <= k);
    if (h.lose_first && n == 1) || lost {
        return Vec::new();
    }
    let what = h
        .answers
        .get(&udp.dport())
        .copied()
        .unwrap_or(Answer::Silent);
    let limited = |h: &mut Host| h.bucket.as_mut().is_none_or(Bucket::take);
    match what {
        Answer::Open => vec![udp_reply(&ip, &udp)],
        Answer::Silent => Vec::new(),
        Answer::Closed if limited(&mut h) => vec![icmp_error(ip.dst(), 3, probe)],
        Answer::HostIcmp(c) if limited(&mut h) => vec![icmp_error(ip.dst(), c, probe)],
        Answer::RouterIcmp(c) => vec![icmp_error(ROUTER, c, probe)],
        _ => Vec::new(),
    }
}

/// Runs `scanner` over [`HOST`] without discovery: what it reported, and its counters.
fn run_host(scanner: &UdpScanner) -> (Vec<HostOutcome>, UdpStats) {
    let mut got = Vec::new();
    let stats = scanner
        .run_counted(
            &mut std::iter::once(HostJob {
                addr: IpAddr::V4(HOST),
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
    (got, stats)
}

/// The one host's result of a run that must have finished it.
fn done(mut got: Vec<HostOutcome>) -> HostResult {
    match got.pop() {
        Some(HostOutcome::Done(r)) => r,
        other => panic!("no result: {other:?}"),
    }
}

struct Run {
    result: HostResult,
    stats: UdpStats,
    elapsed: Duration,
    sent: usize,
}

fn scan(host: Host, ports: &[u16], defeat: bool) -> Run {
    scan_publishing(host, ports, defeat, &Events::none())
}

/// [`scan`], the engine publishing its events to `events`.
fn scan_publishing(host: Host, ports: &[u16], defeat: bool, events: &Events) -> Run {
    let host = Arc::new(Mutex::new(host));
    let h = Arc::clone(&host);
    let net = Arc::new(FakeNet::new(Box::new(move |p| answer(&h, p))));
    let list = PortList::from_ranges(ports.iter().map(|&p| (p, p)));
    let scanner = UdpScanner::new(
        Arc::clone(&net) as _,
        config(defeat),
        Arc::new(list),
        Arc::new(PayloadDb::default()),
        StopFlag::new(),
    );
    scanner.publish_to(events);
    let t = Instant::now();
    let (got, stats) = run_host(&scanner);
    let elapsed = t.elapsed();
    let result = done(got);
    Run {
        result,
        stats,
        elapsed,
        sent: net.sent().len(),
    }
}

fn host(answers: &[(u16, Answer)], bucket: Option<Bucket>) -> Host {
    Host {
        answers: answers.iter().copied().collect(),
        bucket,
        lose_first: false,
        lose: HashMap::new(),
        seen: HashMap::new(),
    }
}

fn state_of(r: &HostResult, port: u16) -> (PortState, Reason) {
    let p = r
        .ports
        .shown
        .iter()
        .find(|p| p.port == port)
        .unwrap_or_else(|| panic!("port {port} not shown"));
    (p.state, p.reason)
}

#[test]
fn every_state_and_reason() {
    let answers = [
        (53, Answer::Open),
        (54, Answer::Closed),
        (55, Answer::Silent),
        (56, Answer::HostIcmp(13)),
        (57, Answer::HostIcmp(10)),
        (58, Answer::HostIcmp(9)),
        (59, Answer::RouterIcmp(1)),
        (60, Answer::RouterIcmp(0)),
        (61, Answer::RouterIcmp(3)),
        (62, Answer::HostIcmp(2)),
    ];
    let ports: Vec<u16> = answers.iter().map(|a| a.0).collect();
    let run = scan(host(&answers, None), &ports, false);
    let r = &run.result;
    use PortState::*;
    assert_eq!(state_of(r, 53), (Open, Reason::UdpResponse));
    assert_eq!(state_of(r, 54), (Closed, Reason::PortUnreach));
    assert_eq!(state_of(r, 55), (OpenFiltered, Reason::NoResponse));
    assert_eq!(state_of(r, 56), (Filtered, Reason::AdminProhibited));
    assert_eq!(state_of(r, 57), (Filtered, Reason::HostProhibited));
    assert_eq!(state_of(r, 58), (Filtered, Reason::NetProhibited));
    assert_eq!(state_of(r, 59), (Filtered, Reason::HostUnreach));
    assert_eq!(state_of(r, 60), (Filtered, Reason::NetUnreach));
    // Only the target itself can call a port closed.
    assert_eq!(state_of(r, 61), (Filtered, Reason::PortUnreach));
    assert_eq!(state_of(r, 62), (Filtered, Reason::ProtoUnreach));
    let closed = r.ports.shown.iter().find(|p| p.port == 54).unwrap();
    assert_eq!(closed.reason_ttl, 62, "the ICMP error's TTL");
    assert_eq!(run.stats.dropped, 0);
}

#[test]
fn rate_limited_closed_ports_stay_closed() {
    // 6 at once, then 40 a second: the shape of Linux's limit, 40x faster.
    let mut answers: Vec<(u16, Answer)> = (1000..1060).map(|p| (p, Answer::Closed)).collect();
    answers.extend((2000..2010).map(|p| (p, Answer::Silent)));
    answers.extend([(3000, Answer::Open), (3001, Answer::Open)]);
    let ports: Vec<u16> = answers.iter().map(|a| a.0).collect();
    let run = scan(host(&answers, Some(Bucket::new(6.0, 40.0))), &ports, false);
    for &(port, a) in &answers {
        let want = match a {
            Answer::Closed => PortState::Closed,
            Answer::Silent => PortState::OpenFiltered,
            _ => PortState::Open,
        };
        assert_eq!(state_of(&run.result, port).0, want, "port {port}");
    }
    // 54 errors beyond the burst at 40/s take 1.35 s; allow generous slack,
    // since the point is only that it did not give up or crawl.
    assert!(run.elapsed < Duration::from_secs(20), "{:?}", run.elapsed);
}

#[test]
fn lost_probes_are_sent_again() {
    let answers = [
        (7, Answer::Open),
        (8, Answer::Closed),
        (9, Answer::Closed),
        (10, Answer::Silent),
    ];
    let mut h = host(&answers, None);
    h.lose_first = true;
    let run = scan(h, &[7, 8, 9, 10], false);
    assert_eq!(state_of(&run.result, 7).0, PortState::Open);
    assert_eq!(state_of(&run.result, 8).0, PortState::Closed);
    assert_eq!(state_of(&run.result, 9).0, PortState::Closed);
    assert_eq!(state_of(&run.result, 10).0, PortState::OpenFiltered);
}

/// An open port whose first three probes are lost, among closed ports.
fn open_port_lost_three_times(closed_lose_first: bool) -> Run {
    let mut answers = vec![(7, Answer::Open)];
    answers.extend((8..=20).map(|p| (p, Answer::Closed)));
    let mut h = host(&answers, None);
    h.lose.insert(7, 3);
    if closed_lose_first {
        // All but one closed port lose their first probe, and answer the
        // second: answers after a confirmed silence, which show the loss.
        h.lose.extend((8..20).map(|p| (p, 1)));
    }
    let ports: Vec<u16> = (7..=20).collect();
    scan(h, &ports, false)
}

#[test]
fn once_probes_are_seen_lost_silence_needs_more_confirmations() {
    let run = open_port_lost_three_times(true);
    assert_eq!(state_of(&run.result, 7).0, PortState::Open);
    for p in 8..=20 {
        assert_eq!(state_of(&run.result, p).0, PortState::Closed, "{p}");
    }
}

#[test]
fn without_a_sign_of_loss_two_confirmed_silences_decide() {
    // Nothing else was lost: no extra batch is spent on the silent port.
    let run = open_port_lost_three_times(false);
    assert_eq!(state_of(&run.result, 7).0, PortState::OpenFiltered);
}

#[test]
fn a_host_that_never_answers_is_settled_after_one_retransmission() {
    let ports: Vec<u16> = (100..120).collect();
    let run = scan(host(&[], None), &ports, false);
    assert!(run
        .result
        .ports
        .shown
        .iter()
        .all(|p| p.state == PortState::OpenFiltered && p.reason == Reason::NoResponse));
    assert_eq!(run.result.ports.shown.len(), 20);
    // Once, again after a round trip, and a last time once a drained ICMP
    // bucket would have refilled: three probes a port at most.
    assert!(run.sent >= 40 && run.sent <= 60, "{} probes", run.sent);
    assert!(
        run.elapsed >= schedule::QUIET_HOST_WAIT,
        "{:?}",
        run.elapsed
    );
}

#[test]
fn defeat_icmp_ratelimit_calls_silence_closed_filtered() {
    let mut answers: Vec<(u16, Answer)> = (1000..1030).map(|p| (p, Answer::Closed)).collect();
    answers.push((3000, Answer::Open));
    let ports: Vec<u16> = answers.iter().map(|a| a.0).collect();
    // One error a second: a correct scan would take half a minute.
    let run = scan(host(&answers, Some(Bucket::new(6.0, 1.0))), &ports, true);
    let r = &run.result;
    assert_eq!(state_of(r, 3000).0, PortState::Open);
    let closed = r
        .ports
        .shown
        .iter()
        .filter(|p| p.state == PortState::Closed)
        .count();
    let unsure = r
        .ports
        .shown
        .iter()
        .filter(|p| p.state == PortState::ClosedFiltered)
        .count();
    assert!(closed >= 6, "the burst is answered: {closed}");
    assert_eq!(closed + unsure, 30);
    assert!(run.elapsed < Duration::from_secs(5), "{:?}", run.elapsed);
}

/// ICMP errors quoting probes we never sent, or sent by another scan, are
/// dropped and counted, and do not close the port.
#[test]
fn forged_errors_are_dropped() {
    let forged = Arc::new(Mutex::new(0u32));
    let f = Arc::clone(&forged);
    let net = Arc::new(FakeNet::new(Box::new(move |p: &[u8]| {
        let mut bad = p.to_vec();
        // Another scan's probe: same ports, another IP identification.
        bad[4] ^= 0x55;
        *f.lock().unwrap() += 1;
        vec![icmp_error(HOST, 3, &bad)]
    })));
    let scanner = UdpScanner::new(
        Arc::clone(&net) as _,
        config(false),
        Arc::new(PortList::from_ranges([(40, 44)])),
        Arc::new(PayloadDb::default()),
        StopFlag::new(),
    );
    let (got, stats) = run_host(&scanner);
    let r = done(got);
    assert!(r
        .ports
        .shown
        .iter()
        .all(|p| p.state == PortState::OpenFiltered));
    assert_eq!(stats.dropped, u64::from(*forged.lock().unwrap()));
    assert!(stats.dropped >= 10);
}

/// A reply on the DNS port must carry the keyed ID of our query: an answer
/// with another ID is someone else's (or forged), and is dropped.
#[test]
fn replies_must_echo_the_keyed_dns_id() {
    let net = Arc::new(FakeNet::new(Box::new(|p: &[u8]| {
        let ip = Ipv4View::parse(p).expect("ipv4");
        let udp = UdpView::parse(ip.payload()).expect("udp");
        let mut body = udp.payload().to_vec();
        if udp.dport() == 53 {
            body[0] ^= 1;
        }
        let mut buf = vec![0u8; 1600];
        let h = Ipv4Header {
            src: ip.dst(),
            dst: ip.src(),
            id: 1,
            ttl: 64,
            tos: 0,
            df: false,
        };
        let hdr = UdpHeader {
            sport: udp.dport(),
            dport: udp.sport(),
        };
        let n = build_ipv4_udp(&mut buf, &h, &hdr, &body).expect("room");
        buf.truncate(n);
        vec![buf]
    })));
    let scanner = UdpScanner::new(
        Arc::clone(&net) as _,
        config(false),
        Arc::new(PortList::from_ranges([(53, 54)])),
        Arc::new(PayloadDb::builtin()),
        StopFlag::new(),
    );
    let (got, stats) = run_host(&scanner);
    let r = done(got);
    assert_eq!(state_of(&r, 53).0, PortState::OpenFiltered);
    assert_eq!(state_of(&r, 54).0, PortState::Open);
    assert!(stats.dropped >= 1, "{stats:?}");
}

/// `--host-timeout` gives up on a host still waiting on its ICMP limit, and
/// reports it as timed out instead of guessing its ports.
#[test]
fn host_timeout_gives_up_on_a_rate_limited_host() {
    let answers: Vec<(u16, Answer)> = (1000..1040).map(|p| (p, Answer::Closed)).collect();
    let h = Arc::new(Mutex::new(host(&answers, Some(Bucket::new(6.0, 1.0)))));
    let responder = Arc::clone(&h);
    let net = Arc::new(FakeNet::new(Box::new(move |p| answer(&responder, p))));
    let mut cfg = config(false);
    cfg.timing.host_timeout = Some(Duration::from_millis(800));
    let scanner = UdpScanner::new(
        Arc::clone(&net) as _,
        cfg,
        Arc::new(PortList::from_ranges([(1000, 1039)])),
        Arc::new(PayloadDb::default()),
        StopFlag::new(),
    );
    let t = Instant::now();
    let (got, _) = run_host(&scanner);
    assert!(matches!(got.as_slice(), [HostOutcome::TimedOut(j)] if j.addr == IpAddr::V4(HOST)));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[test]
fn a_rate_limited_target_is_published_once_and_a_free_one_never() {
    let mut answers: Vec<(u16, Answer)> = (1000..1060).map(|p| (p, Answer::Closed)).collect();
    answers.push((3000, Answer::Open));
    let ports: Vec<u16> = answers.iter().map(|a| a.0).collect();
    let (events, listener) = Events::channel(64);
    let limited = host(&answers, Some(Bucket::new(6.0, 40.0)));
    let run = scan_publishing(limited, &ports, false, &events);
    assert_eq!(run.result.ports.count(PortState::Closed), 60);
    let got: Vec<Event> = std::iter::from_fn(|| listener.try_recv())
        .map(|s| s.event)
        .collect();
    assert_eq!(
        got,
        vec![Event::IcmpRateLimit {
            addr: IpAddr::V4(HOST)
        }]
    );
    let (events, listener) = Events::channel(64);
    scan_publishing(host(&answers, None), &ports, false, &events);
    assert!(listener.try_recv().is_none(), "no limit, no event");
}
