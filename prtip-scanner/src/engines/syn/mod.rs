//! Stateless TCP SYN scan (`-sS`).
//!
//! A sender walks a seeded random permutation of (host, port) probes of one
//! window of hosts at a time; a receiver thread classifies replies. The TCP
//! sequence number is a keyed hash of the 4-tuple (prtip_core::cookie), so a
//! reply is validated by its acknowledgment number alone: no per-probe state
//! but a 4-bit outcome per probe of the current window (see [`window`]).
//!
//! Retransmission works in rounds over the window: a round resends every
//! probe that has no outcome yet. Like nmap, a further round is allowed only
//! when the previous retransmission round produced new answers, capped by
//! `--max-retries`.
//!
//! Memory bound: per window `hosts × ports / 2` bytes of outcomes plus about
//! 24 bytes per host (48 for IPv6); windows hold at most
//! [`window::MAX_WINDOW_PROBES`] probes and [`window::MAX_WINDOW_HOSTS`]
//! hosts, whatever the target count.
//!
//! One scan is one family, the family of its source address
//! ([`SynConfig::source`]): targets of the other family are not this
//! scan's and are skipped, as nmap scans one family per run. Over IPv6,
//! discovery is nmap's `-6` default (ICMPv6 echo, SYN to 443, ACK to 80:
//! ICMPv6 has no timestamp request).
//!
//! The other TCP scan types (`-sA`, `-sW`, `-sM`, `-sN`, `-sF`, `-sX`,
//! `--scanflags`; [`TcpScanType`]) run on the same windows. Their port probes
//! are built per probe (no template) and keyed by
//! [`SynCookie::scan_seq`], apart from the discovery probes, so the
//! receiver tells an answer to a port probe from one to discovery on the
//! same 4-tuple.

mod discovery;
mod scantype;
mod setup;
pub mod window;

pub use scantype::{TcpProbe, TcpScanType};
pub use setup::{open, SynSetup};

use super::hosts::report;
use super::send::{self, RateGate, Sender};
use crate::cancel::StopFlag;
use crate::engines::ping::PingProbes;
use crate::error::ScanError;
use crate::events::{Event, Events};
use crate::net::PacketIo;
use crate::plan::{Engine, HostJob, HostOutcome, OnHost, ScanPlan};
use prtip_core::config::Timing;
use prtip_core::cookie::SynCookie;
use prtip_core::permutation::Permutation;
use prtip_core::ports::PortList;
use prtip_core::result::{HostStatus, PortResult, PortTable, PortTableBuilder, Protocol, Reason};
use prtip_core::wire::{
    build_tcp_probe, parse_reply, IcmpError, Ipv4Fields, Ipv6Header, ProbeIp, Reply, SynTemplate,
    SynTemplate6, TcpFields, TcpFlags, TcpReply, IPPROTO_TCP, IPPROTO_UDP, NMAP_MSS, NMAP_WINDOW,
};
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime};
use window::{window_hosts, HostReason, HostSet, Outcome, PortIndex, Window};

/// Probes handed to the kernel per system call.
const BATCH: usize = 64;
/// Largest packet a probe needs (the SYN over IPv6, 64 bytes).
const MAX_PROBE: usize = 64;

/// Settings of a SYN scan.
#[derive(Debug, Clone)]
pub struct SynConfig {
    pub timing: Timing,
    /// Our address as targets see it (`-S`, or the route to the first
    /// target); its family is the scan's.
    pub source: IpAddr,
    /// Look the source address up in the routing table for every target
    /// (false with `-S` or `-e`, where one address serves all targets).
    pub source_per_target: bool,
    /// Source ports used: `sport_base .. sport_base + sport_range`.
    pub sport_base: u16,
    pub sport_range: u16,
    /// Secret of the scan's cookies.
    pub key: [u8; 16],
    /// Seed of the probe order (`--seed`).
    pub seed: u64,
    /// `--shard i/n`: this machine sends probes at positions i, i+n, ... of each round.
    pub shard: Option<(u64, u64)>,
    pub ttl: u8,
    /// The scan type: the port probes' control bits and how answers are read.
    pub probe: TcpProbe,
    /// Host discovery's probes (nmap's default set unless `-P` options).
    pub ping: PingProbes,
    /// `--badsum`: every TCP and UDP probe goes with a wrong checksum.
    pub badsum: bool,
}

/// Counters of a finished (or stopped) scan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SynStats {
    pub sent: u64,
    pub received: u64,
    pub matched: u64,
}

/// A SYN scan over one packet interface.
pub struct SynScanner {
    io: Arc<dyn PacketIo>,
    cfg: SynConfig,
    cookie: SynCookie,
    stop: StopFlag,
    sent: AtomicU64,
    received: AtomicU64,
    matched: AtomicU64,
    current: RwLock<Option<Arc<Window>>>,
    ports: PortIndex,
    /// Set by [`Engine::publish_to`]; empty means nobody listens.
    events: OnceLock<Events>,
}

impl std::fmt::Debug for SynScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SynScanner")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// One `sendmmsg` worth of SYN probes.
type Batch = send::Batch<MAX_PROBE, BATCH>;

impl SynScanner {
    pub fn new(io: Arc<dyn PacketIo>, cfg: SynConfig, ports: &PortList, stop: StopFlag) -> Self {
        SynScanner {
            io,
            cookie: SynCookie::new(cfg.key),
            cfg,
            stop,
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            matched: AtomicU64::new(0),
            current: RwLock::new(None),
            ports: PortIndex::new(ports),
            events: OnceLock::new(),
        }
    }

    /// Probes sent so far (for progress display).
    pub fn probes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    fn sport(&self, dst: IpAddr, dport: u16) -> u16 {
        self.cookie
            .source_port(dst, dport, self.cfg.sport_base, self.cfg.sport_range)
    }

    fn our_port(&self, port: u16) -> bool {
        let base = u32::from(self.cfg.sport_base);
        (base..base + u32::from(self.cfg.sport_range)).contains(&u32::from(port))
    }

    /// A sender for one thread, paced by `timing`.
    fn sender(&self, timing: &Timing) -> Sender<'_> {
        Sender {
            io: &*self.io,
            stop: &self.stop,
            sent: &self.sent,
            gate: RateGate::new(timing),
            badsum: self.cfg.badsum,
        }
    }

    fn write_syn(&self, tpl: &Template, batch: &mut Batch, dst: IpAddr, dport: u16, ip_id: u16) {
        let sport = self.sport(dst, dport);
        let seq = self.cookie.seq(tpl.src(), dst, sport, dport);
        let len = match (tpl, dst) {
            (Template::V4(t, _), IpAddr::V4(d)) => {
                t.write(batch.slot(), d, sport, dport, seq, ip_id)
            }
            (Template::V6(t, _), IpAddr::V6(d)) => t.write(batch.slot(), d, sport, dport, seq),
            // A window holds one family, the templates' (see `windows`).
            _ => 0,
        };
        batch.commit(len, dst);
    }

    /// A port probe of the other scan types: built in full (these scans
    /// are not the hot path a template is for), keyed by `scan_seq`.
    fn write_scan_probe(&self, batch: &mut Batch, src: IpAddr, dst: IpAddr, dport: u16, id: u16) {
        let flags = self.cfg.probe.flags;
        let sport = self.sport(dst, dport);
        let k = self.cookie.scan_seq(src, dst, sport, dport);
        let tcp = TcpFields {
            sport,
            dport,
            seq: k,
            ack: if flags.contains(TcpFlags::ACK) { k } else { 0 },
            flags,
            window: NMAP_WINDOW,
            // As nmap: the MSS option rides on probes with SYN set.
            mss: flags.contains(TcpFlags::SYN).then_some(NMAP_MSS),
        };
        let len = self
            .probe_ip(src, dst, id)
            .and_then(|ip| build_tcp_probe(batch.slot(), &ip, &tcp))
            .unwrap_or(0);
        batch.commit(len, dst);
    }

    /// The IP layer of a probe from `src` to `dst` (`None` for a mixed pair,
    /// which a window never holds).
    fn probe_ip(&self, src: IpAddr, dst: IpAddr, ip_id: u16) -> Option<ProbeIp> {
        Some(match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => ProbeIp::V4(Ipv4Fields {
                src,
                dst,
                ip_id,
                ttl: self.cfg.ttl,
            }),
            (IpAddr::V6(src), IpAddr::V6(dst)) => ProbeIp::V6(Ipv6Header {
                src,
                dst,
                hop_limit: self.cfg.ttl,
                traffic_class: 0,
                flow_label: 0,
            }),
            _ => return None,
        })
    }

    /// Records `reply` when it answers a port probe of the other scan
    /// types; true when it did (whatever it meant for the port).
    fn handle_scan_answer(&self, win: &Window, reply: &Reply) -> bool {
        let probe = self.cfg.probe;
        let (h, port, outcome, ttl) = match reply {
            Reply::Tcp(t) => {
                if !self.our_port(t.dport) || !self.cookie.answers_scan_probe(t, probe.flags) {
                    return false;
                }
                let Some(h) = win.host_index(t.src) else {
                    return false;
                };
                if t.flags.contains(TcpFlags::RST) {
                    // Any reset shows the host up, with reason reset (a
                    // window scan's open port too).
                    win.mark_alive(h, t.ttl, HostReason::Reset);
                }
                (h, t.sport, probe.outcome(t), t.ttl)
            }
            Reply::IcmpError(u) => {
                if !self.cookie.quotes_scan_probe(u) {
                    return false;
                }
                let Some(h) = win.host_index(u.orig_dst) else {
                    return false;
                };
                (h, u.orig_dport, Outcome::from_icmp(u), u.ttl)
            }
            _ => return false,
        };
        self.matched.fetch_add(1, Ordering::Relaxed);
        if let (Some(p), Some(o)) = (self.ports.index(port), outcome) {
            win.record(win.probe_index(h, p), o, ttl);
        }
        true
    }

    /// Publishes an open port as soon as its first SYN-ACK arrives (nmap's
    /// "Discovered open port"), long before its host is reported.
    fn discovered(&self, addr: IpAddr, port: u16) {
        if let Some(events) = self.events.get() {
            events.publish(|| Event::Discovered {
                addr,
                protocol: prtip_core::result::Protocol::Tcp,
                port,
            });
        }
    }

    /// Handle one received datagram.
    fn handle(&self, packet: &[u8]) {
        self.received.fetch_add(1, Ordering::Relaxed);
        let Some(reply) = parse_reply(packet) else {
            return;
        };
        if matches!(reply, Reply::Udp(_))
            || matches!(reply, Reply::IcmpError(e)
                if e.orig_proto == IPPROTO_UDP || self.is_proto_ping(e.orig_proto))
        {
            // Only a UDP or an IP protocol ping draws these.
            let guard = self.current.read().unwrap_or_else(|e| e.into_inner());
            if let Some(win) = guard.as_ref() {
                self.handle_udp_ping(win, &reply);
            }
            return;
        }
        let plain_syn = self.cfg.probe.is_plain_syn();
        // The SYN scan's order as it always was: validate, then lock.
        if plain_syn && !self.cookie.validate(&reply) {
            return;
        }
        let guard = self.current.read().unwrap_or_else(|e| e.into_inner());
        let Some(win) = guard.as_ref() else { return };
        if !plain_syn && (self.handle_scan_answer(win, &reply) || !self.cookie.validate(&reply)) {
            return;
        }
        match reply {
            Reply::Tcp(t) => self.handle_tcp(win, &t, plain_syn),
            Reply::IcmpError(u) => self.handle_icmp_error(win, &u, plain_syn),
            Reply::IcmpEchoReply(e) => self.host_answered(win, e.src, e.ttl, HostReason::EchoReply),
            Reply::IcmpTimestampReply(t) => {
                self.host_answered(win, t.src, t.ttl, HostReason::TimestampReply)
            }
            Reply::IcmpMaskReply(m) => self.host_answered(win, m.src, m.ttl, HostReason::MaskReply),
            // Taken by the UDP ping above.
            Reply::Udp(_) => {}
        }
    }

    /// A TCP answer the cookie proved ours: a port's state, or a host up.
    fn handle_tcp(&self, win: &Window, t: &TcpReply, plain_syn: bool) {
        // The cookie already proved the reply answers our probe from
        // `t.dst`; any of the scan's source addresses may be it.
        if !self.our_port(t.dport) {
            return;
        }
        let Some(h) = win.host_index(t.src) else {
            return;
        };
        self.matched.fetch_add(1, Ordering::Relaxed);
        if !t.flags.contains(TcpFlags::ACK) {
            // A bare RST answers our ACK discovery probe: the host is up.
            win.mark_alive(h, t.ttl, HostReason::Reset);
            return;
        }
        let outcome = if t.is_syn_ack() {
            Outcome::Open
        } else if t.is_rst() {
            Outcome::Closed
        } else {
            return;
        };
        // Other scan types learn ports from their own probes only.
        match self.ports.index(t.sport).filter(|_| plain_syn) {
            Some(p) => {
                let first = win.record(win.probe_index(h, p), outcome, t.ttl);
                if first && outcome == Outcome::Open {
                    self.discovered(t.src, t.sport);
                }
            }
            // The discovery SYN to 443 when 443 is not scanned.
            None => {
                let reason = if outcome == Outcome::Open {
                    HostReason::SynAck
                } else {
                    HostReason::Reset
                };
                win.mark_alive(h, t.ttl, reason);
            }
        }
    }

    /// An ICMP error quoting one of our probes: the SYN scan's port state.
    fn handle_icmp_error(&self, win: &Window, u: &IcmpError, plain_syn: bool) {
        let Some(h) = win.host_index(u.orig_dst) else {
            return;
        };
        self.matched.fetch_add(1, Ordering::Relaxed);
        if u.orig_proto != IPPROTO_TCP || !plain_syn {
            return;
        }
        let (Some(p), Some(outcome)) = (self.ports.index(u.orig_dport), Outcome::from_icmp(u))
        else {
            return;
        };
        win.record(win.probe_index(h, p), outcome, u.ttl);
    }

    /// An ICMP ping answered: the host is up.
    fn host_answered(&self, win: &Window, src: IpAddr, ttl: u8, reason: HostReason) {
        if let Some(h) = win.host_index(src) {
            self.matched.fetch_add(1, Ordering::Relaxed);
            win.mark_alive(h, ttl, reason);
        }
    }

    /// Wait up to `limit` for `target` answers, returning early when reached
    /// or when the scan is stopped.
    fn wait_for(&self, limit: Duration, mut reached: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline && !reached() && !self.stop.is_stopped() {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn round_wait(&self) -> Duration {
        let t = &self.cfg.timing;
        t.initial_rtt_timeout
            .clamp(t.min_rtt_timeout, t.max_rtt_timeout.max(t.min_rtt_timeout))
    }

    /// Sender threads: the kernel does the work of sending (and, on a veth
    /// or loopback, of the target's reply) in the sender's context, so one
    /// thread per core; one is enough when a rate limit is the bottleneck.
    fn sender_threads(&self) -> u64 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
        let slow = self.cfg.timing.max_rate.is_some_and(|r| r < 20_000.0)
            || !self.cfg.timing.scan_delay.is_zero();
        if slow {
            1
        } else {
            cores.clamp(1, 4)
        }
    }

    /// Send one round's probes that still lack an outcome: slice `part` of
    /// `parts` of the round's permuted order.
    /// Returns how many of the slice's probes are to scanned hosts, answered or not.
    fn send_round(
        &self,
        win: &Window,
        scan: &[bool],
        part: u64,
        parts: u64,
    ) -> Result<u64, ScanError> {
        // One template per source address; a scan rarely has more than one or two.
        let mut templates: Vec<Template> = Vec::new();
        let mut timing = self.cfg.timing;
        timing.max_rate = timing.max_rate.map(|r| r / parts as f64);
        let mut out = self.sender(&timing);
        let mut batch = Batch::new();
        // Every round walks the same order: with --shard, a round must cover
        // exactly this machine's positions, and those depend on the order.
        let perm = Permutation::new(win.probe_count(), self.cfg.seed);
        // This thread's slice of this machine's shard: positions
        // shard + n * (part + parts * k).
        let (shard, n) = self.cfg.shard.unwrap_or((0, 1));
        let Some(order) = perm.shard(shard + n * part, n * parts) else {
            return Ok(0);
        };
        let mut mine = 0u64;
        let plain_syn = self.cfg.probe.is_plain_syn();
        for (k, probe) in order.enumerate() {
            if k % 4096 == 0 && self.stop.is_stopped() {
                return Ok(mine);
            }
            let (h, p) = win.split(probe);
            if !scan[h as usize] {
                continue;
            }
            mine += 1;
            if win.outcome(probe).is_some() {
                continue;
            }
            let Some(dport) = self.ports.port(p) else {
                continue;
            };
            let dst = win.host(h);
            let src = win.source(h);
            let at = match templates.iter().position(|t| t.src() == src) {
                Some(i) => i,
                None => {
                    templates.push(Template::new(src, self.cfg.ttl));
                    templates.len() - 1
                }
            };
            if plain_syn {
                self.write_syn(&templates[at], &mut batch, dst, dport, probe as u16);
            } else {
                self.write_scan_probe(&mut batch, src, dst, dport, probe as u16);
            }
            if batch.full() {
                out.flush(&mut batch)?;
            }
        }
        out.flush(&mut batch)?;
        Ok(mine)
    }

    /// Port probing rounds over the hosts of `win` marked in `scan`.
    fn probe_ports(&self, win: &Window, scan: &[bool]) -> Result<(), ScanError> {
        let parts = self.sender_threads();
        // Probes this machine owns (all of them unless --shard); known after round 0.
        let mut expected = u64::MAX;
        let mut useful_round = 0u32;
        let mut round = 0u32;
        loop {
            let before = win.answered();
            let owned = std::thread::scope(|s| {
                let workers: Vec<_> = (0..parts)
                    .map(|part| {
                        s.spawn(move || {
                            let _sending = memprof::phase(memprof::Phase::Sending);
                            self.send_round(win, scan, part, parts)
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|w| {
                        w.join().unwrap_or_else(|_| {
                            Err(ScanError::Send(io::Error::other(
                                "a sender thread panicked",
                            )))
                        })
                    })
                    .sum::<Result<u64, ScanError>>()
            })?;
            if round == 0 {
                expected = owned;
            }
            self.wait_for(self.round_wait(), || win.answered() >= expected);
            let gained = win.answered() > before;
            if round > 0 && gained {
                useful_round = round;
            }
            let allowed = self.cfg.timing.max_retries.min(useful_round + 1);
            if win.answered() >= expected || round >= allowed || self.stop.is_stopped() {
                return Ok(());
            }
            round += 1;
            if let Some(events) = self.events.get() {
                let pending = expected.saturating_sub(win.answered());
                events.publish(|| Event::Retransmission { round, pending });
            }
        }
    }

    fn host_results(
        &self,
        win: &Window,
        jobs: Vec<HostJob>,
        plan: &ScanPlan,
        local: &[bool],
        start: SystemTime,
        on_host: &mut dyn FnMut(HostOutcome) -> io::Result<()>,
    ) -> Result<(), ScanError> {
        for (h, job) in jobs.into_iter().enumerate() {
            let hi = h as u32;
            let (status, reason) = win.status(hi, plan.discovery, local[h]);
            let mut ports = PortTable::default();
            if status == HostStatus::Up && plan.port_scan {
                let mut table = PortTableBuilder::new(plan.max_per_state, plan.open_only);
                let ttl = win.ttl(hi);
                for p in 0..self.ports.len() {
                    let Some(port) = self.ports.port(p) else {
                        continue;
                    };
                    let result = match win.outcome(win.probe_index(hi, p)) {
                        Some(o) => {
                            let (state, reason) = self.cfg.probe.state_reason(o);
                            let mut r = PortResult::new(port, Protocol::Tcp, state, reason);
                            r.reason_ttl = ttl;
                            r
                        }
                        None => PortResult::new(
                            port,
                            Protocol::Tcp,
                            self.cfg.probe.silent_state(),
                            Reason::NoResponse,
                        ),
                    };
                    table.add(result);
                }
                ports = table.finish();
            }
            on_host(report(job, (status, reason), start, ports)).map_err(ScanError::Output)?;
        }
        Ok(())
    }

    /// Scan `jobs` window by window; finished hosts go to `on_host` in target order.
    pub fn run_counted<I>(
        &self,
        jobs: I,
        plan: ScanPlan,
        on_host: &mut dyn FnMut(HostOutcome) -> io::Result<()>,
    ) -> Result<SynStats, ScanError>
    where
        I: Iterator<Item = HostJob>,
    {
        let done = AtomicBool::new(false);
        let recv_error = Mutex::new(None);
        let per_window = window_hosts(self.ports.len() as usize);
        let mut jobs = jobs.peekable();
        let result = std::thread::scope(|s| {
            s.spawn(|| {
                let _receiving = memprof::phase(memprof::Phase::Receiving);
                super::send::receive_until(&*self.io, &done, &recv_error, |p| self.handle(p));
            });
            let r = self.windows(&mut jobs, per_window, &plan, on_host);
            done.store(true, Ordering::Relaxed);
            r
        });
        if let Some(e) = recv_error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(ScanError::Receive(e));
        }
        result?;
        Ok(SynStats {
            sent: self.sent.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            matched: self.matched.load(Ordering::Relaxed),
        })
    }

    fn windows(
        &self,
        jobs: &mut std::iter::Peekable<impl Iterator<Item = HostJob>>,
        per_window: usize,
        plan: &ScanPlan,
        on_host: &mut dyn FnMut(HostOutcome) -> io::Result<()>,
    ) -> Result<(), ScanError> {
        while jobs.peek().is_some() && !self.stop.is_stopped() {
            let _sending = memprof::phase(memprof::Phase::Sending);
            let start = SystemTime::now();
            let v4 = self.cfg.source.is_ipv4();
            let batch: Vec<HostJob> = jobs
                .by_ref()
                .filter(|j| super::hosts::same_family(j, v4))
                .take(per_window)
                .collect();
            let set = HostSet::for_jobs(&batch, self.cfg.source, self.cfg.source_per_target);
            let local: Vec<bool> = set.hosts.iter().map(|a| a.is_loopback()).collect();
            let win = Arc::new(Window::of(set, self.ports.len()));
            *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&win));
            if plan.discovery {
                self.discover(&win, &local)?;
            }
            let scan: Vec<bool> = (0..win.host_count() as usize)
                .map(|h| !plan.discovery || local[h] || win.is_alive(h as u32))
                .collect();
            if plan.port_scan {
                self.probe_ports(&win, &scan)?;
            }
            if self.stop.is_stopped() {
                // Unfinished hosts are not reported, like the connect scan.
                break;
            }
            drop(_sending);
            let _output = memprof::phase(memprof::Phase::Output);
            self.host_results(&win, batch, plan, &local, start, on_host)?;
            *self.current.write().unwrap_or_else(|e| e.into_inner()) = None;
        }
        Ok(())
    }
}

/// The hot-loop SYN builder of one source address.
enum Template {
    V4(SynTemplate, IpAddr),
    V6(SynTemplate6, IpAddr),
}

impl Template {
    fn new(src: IpAddr, ttl: u8) -> Template {
        match src {
            IpAddr::V4(a) => Template::V4(SynTemplate::new(a, ttl), src),
            IpAddr::V6(a) => Template::V6(SynTemplate6::new(a, ttl), src),
        }
    }

    fn src(&self) -> IpAddr {
        match self {
            Template::V4(_, a) | Template::V6(_, a) => *a,
        }
    }
}

impl Engine for SynScanner {
    fn run(
        &self,
        jobs: &mut dyn Iterator<Item = HostJob>,
        plan: ScanPlan,
        on_host: &mut OnHost<'_>,
    ) -> Result<(), ScanError> {
        self.run_counted(jobs, plan, on_host).map(drop)
    }

    fn probes_sent(&self) -> u64 {
        SynScanner::probes_sent(self)
    }

    fn scan_type(&self) -> &'static str {
        self.cfg.probe.scan.nmap_name()
    }

    fn publish_to(&self, events: &Events) {
        let _ = self.events.set(events.clone());
    }
}
