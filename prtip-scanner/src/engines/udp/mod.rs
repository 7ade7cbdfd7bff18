//! Stateless raw UDP scan (`-sU`).
//!
//! One thread sends, host by host, batches of probes (with nmap's payloads
//! for each port); a receiver thread classifies UDP answers and ICMP
//! errors. Nothing is kept per probe but a byte of outcome
//! ([`state::UdpWindow`]); a reply is recognised as ours by the keyed
//! source port, an ICMP error by the keyed tag it quotes (which also
//! carries the batch number): the IPv4 identification, or over IPv6 the
//! flow label (20 bits: the batch tag's 16 and four more keyed bits), and,
//! where the protocol echoes a request field (a DNS ID, an NTP timestamp),
//! by keyed bytes in it. One scan is one family, its source's.
//!
//! How batches are spaced and what silence proves under ICMP rate limits
//! is explained in [`schedule`]; ARCHITECTURE.md has the overview.

mod probe;
mod receive;
pub mod schedule;
mod setup;
pub mod state;

pub use setup::open_scanner;

use crate::cancel::StopFlag;
use crate::error::ScanError;
use crate::events::{Event, Events};
use crate::net::PacketIo;
use crate::plan::{Engine, HostJob, HostOutcome, OnHost, ScanPlan};
use crate::rtt::RttEstimator;
use prtip_core::config::Timing;
use prtip_core::cookie::SynCookie;
use prtip_core::payloads::PayloadDb;
use prtip_core::ports::PortList;
use prtip_core::result::{
    HostStatus, PortResult, PortState, PortTable, PortTableBuilder, Protocol, Reason,
};
use schedule::{HostPlan, Rules};
use state::{PortOrder, UdpWindow};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime};

use super::hosts::{report, HostSet};
use super::send::{RateGate, Sender};

/// Least time a deciding batch waits for answers after it went out.
const MIN_ANSWER: Duration = Duration::from_millis(2);
/// Longest nap of the sending thread between looks at its hosts.
const TICK: Duration = Duration::from_millis(20);

/// What the user chose for a UDP scan; everything else is looked up.
#[derive(Debug, Clone)]
pub struct UdpSetup {
    pub timing: Timing,
    /// `-S`: the one source address of every probe.
    pub source: Option<IpAddr>,
    /// `-e`: send and receive on this interface only.
    pub interface: Option<String>,
    /// `--seed`; drawn from the kernel's random source when absent.
    pub seed: Option<u64>,
    /// UDP ports probed on every host.
    pub ports: Arc<PortList>,
    /// Payloads per port (nmap-payloads, or prtip's own).
    pub payloads: Arc<PayloadDb>,
    /// `--defeat-icmp-ratelimit`: do not wait out ICMP rate limits; silent
    /// ports are reported closed|filtered.
    pub defeat_icmp_ratelimit: bool,
    /// The probes of the raw discovery that runs first (unless `-Pn`).
    pub ping: crate::engines::ping::PingProbes,
    /// `-g`, `--ttl`, `--badsum`.
    pub shape: crate::engines::shape::ProbeShape,
}

/// Settings of a UDP scan with every address and secret resolved.
#[derive(Debug, Clone)]
pub struct UdpConfig {
    pub timing: Timing,
    /// Our address as targets see it (`-S`, or the route to the first target).
    /// Its family is the scan's.
    pub source: IpAddr,
    /// Look the source address up for every target (false with `-S` or `-e`).
    pub source_per_target: bool,
    /// Source ports used: `sport_base .. sport_base + sport_range`.
    pub sport_base: u16,
    pub sport_range: u16,
    /// Secret of the scan's cookies.
    pub key: [u8; 16],
    /// Seed of the port order.
    pub seed: u64,
    pub ttl: u8,
    pub defeat_icmp_ratelimit: bool,
    /// `--badsum`: every probe goes with a wrong UDP checksum.
    pub badsum: bool,
}

/// Counters of a finished (or stopped) scan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdpStats {
    pub sent: u64,
    pub received: u64,
    /// Replies that answered one of our probes.
    pub matched: u64,
    /// Replies addressed to our probes that failed validation (forged, or
    /// from another scan): dropped.
    pub dropped: u64,
}

/// A UDP scan over one packet interface.
pub struct UdpScanner {
    io: Arc<dyn PacketIo>,
    cfg: UdpConfig,
    cookie: SynCookie,
    stop: StopFlag,
    order: PortOrder,
    ports: Arc<PortList>,
    payloads: Arc<PayloadDb>,
    rtt: RttEstimator,
    sent: AtomicU64,
    received: AtomicU64,
    matched: AtomicU64,
    dropped: AtomicU64,
    current: RwLock<Option<Arc<UdpWindow>>>,
    /// Set by [`Engine::publish_to`]; empty means nobody listens.
    events: OnceLock<Events>,
}

impl std::fmt::Debug for UdpScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpScanner")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl UdpScanner {
    pub fn new(
        io: Arc<dyn PacketIo>,
        cfg: UdpConfig,
        ports: Arc<PortList>,
        payloads: Arc<PayloadDb>,
        stop: StopFlag,
    ) -> Self {
        UdpScanner {
            io,
            cookie: SynCookie::new(cfg.key),
            order: PortOrder::new(&ports, cfg.seed),
            rtt: RttEstimator::new(&cfg.timing),
            cfg,
            stop,
            ports,
            payloads,
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            matched: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            current: RwLock::new(None),
            events: OnceLock::new(),
        }
    }

    fn sport(&self, dst: IpAddr, dport: u16) -> u16 {
        self.cookie
            .source_port(dst, dport, self.cfg.sport_base, self.cfg.sport_range)
    }

    fn stats(&self) -> UdpStats {
        UdpStats {
            sent: self.sent.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            matched: self.matched.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }

    /// How long an answer takes as measured (never under [`MIN_ANSWER`],
    /// never over the timeout `wait`).
    fn answer_time(&self, wait: Duration) -> Duration {
        self.rtt
            .estimate()
            .map_or(wait, |t| t.max(MIN_ANSWER))
            .min(wait)
    }

    fn rules(&self) -> Rules {
        Rules {
            defeat: self.cfg.defeat_icmp_ratelimit,
            max_quiet: self.cfg.timing.max_retries.max(1),
        }
    }

    /// Send batches to the hosts marked in `scan` until each is settled
    /// (or the scan stops); true for each host `--host-timeout` gave up.
    fn drive(&self, win: &UdpWindow, scan: &[bool]) -> Result<Vec<bool>, ScanError> {
        let start = Instant::now();
        let mut plans: Vec<HostPlan> = scan
            .iter()
            .map(|&s| {
                let mut p = HostPlan::new(start, self.rtt.timeout());
                p.done = !s || self.order.is_empty();
                p
            })
            .collect();
        let mut out = Sender {
            io: &*self.io,
            stop: &self.stop,
            sent: &self.sent,
            gate: RateGate::new(&self.cfg.timing),
            badsum: self.cfg.badsum,
        };
        let mut batch = probe::Batch::new();
        while !self.stop.is_stopped() {
            let now = Instant::now();
            let wait = self.rtt.timeout();
            let mut wake = now + TICK;
            let mut busy = false;
            for (h, plan) in plans.iter_mut().enumerate() {
                if plan.done || schedule::out_of_time(plan, self.cfg.timing.host_timeout, now) {
                    continue;
                }
                busy = true;
                if plan.in_flight.is_some() {
                    let answer = self.answer_time(wait);
                    if let Some(at) = schedule::judge_at(win, h as u32, plan, now, (wait, answer)) {
                        wake = wake.min(at);
                        continue;
                    }
                    let verdict = schedule::judge(win, h as u32, plan, self.rules(), now, wait);
                    if verdict.limited && !plan.limited {
                        plan.limited = true;
                        self.rate_limited(win, h);
                    }
                    if plan.done {
                        continue;
                    }
                }
                if now >= plan.next {
                    self.send_batch(win, h as u32, plan, &mut batch, &mut out)?;
                    wake = wake.min(now + wait);
                } else {
                    wake = wake.min(plan.next);
                }
            }
            out.flush(&mut batch)?;
            if !busy {
                break;
            }
            let nap = wake.saturating_duration_since(Instant::now());
            std::thread::sleep(nap.clamp(Duration::from_millis(1), TICK));
        }
        Ok(plans.iter().map(|p| p.timed_out).collect())
    }

    /// Publishes, once per host, that its ICMP errors are rate-limited.
    fn rate_limited(&self, win: &UdpWindow, host: usize) {
        if let (Some(events), Some(addr)) = (self.events.get(), win.hosts.get(host)) {
            events.publish(|| Event::IcmpRateLimit { addr });
        }
    }

    /// One batch to `host`: its unsettled ports in the scan's order, then
    /// the sentinel.
    fn send_batch(
        &self,
        win: &UdpWindow,
        host: u32,
        plan: &mut HostPlan,
        batch: &mut probe::Batch,
        out: &mut Sender<'_>,
    ) -> Result<(), ScanError> {
        plan.batch = probe::next_batch(plan.batch);
        win.start_batch(host, plan.batch);
        let now = Instant::now();
        win.set_sent(host, now);
        let mut count = 0u32;
        plan.end = win.nports();
        for rank in 0..win.nports() {
            if win.outcome(host, rank).is_some() {
                continue;
            }
            self.write_probes(win, host, rank, probe::tag(plan.batch, false), batch, out)?;
            count += 1;
            if count == schedule::MAX_BATCH_PORTS {
                plan.end = rank + 1;
                break;
            }
        }
        plan.sentinel = false;
        if let Some(s) = win.sentinel(host) {
            self.write_probes(win, host, s, probe::tag(plan.batch, true), batch, out)?;
            plan.sentinel = true;
        }
        plan.pending = count;
        plan.in_flight = Some(now);
        plan.batches += 1;
        plan.first.get_or_insert(now);
        Ok(())
    }

    fn port_result(&self, win: &UdpWindow, host: u32, port: u16) -> PortResult {
        let outcome = self.order.rank(port).and_then(|r| win.outcome(host, r));
        let (state, reason) = match outcome {
            Some(o) => o.state_reason(),
            // Stopped before the port was settled: nothing came back.
            None => (PortState::OpenFiltered, Reason::NoResponse),
        };
        let mut r = PortResult::new(port, Protocol::Udp, state, reason);
        if reason != Reason::NoResponse {
            r.reason_ttl = win.ttl(host);
        }
        r
    }

    fn host_results(
        &self,
        win: &UdpWindow,
        jobs: Vec<HostJob>,
        (plan, timed_out): (&ScanPlan, &[bool]),
        start: SystemTime,
        on_host: &mut OnHost<'_>,
    ) -> Result<(), ScanError> {
        for (h, job) in jobs.into_iter().enumerate() {
            if timed_out.get(h).copied().unwrap_or(false) {
                // nmap reports nothing of such a host but that it was skipped.
                on_host(HostOutcome::TimedOut(job)).map_err(ScanError::Output)?;
                continue;
            }
            let hi = h as u32;
            let (status, reason) = win.status(hi, plan.discovery, false);
            let mut ports = PortTable::default();
            if status == HostStatus::Up && plan.port_scan {
                let mut table = PortTableBuilder::new(plan.max_per_state, plan.open_only);
                for port in self.ports.iter() {
                    table.add(self.port_result(win, hi, port));
                }
                ports = table.finish();
            }
            on_host(report(job, (status, reason), start, ports)).map_err(ScanError::Output)?;
        }
        Ok(())
    }

    /// Scan `jobs` window by window; finished hosts go to `on_host` in target order.
    pub fn run_counted(
        &self,
        jobs: &mut dyn Iterator<Item = HostJob>,
        plan: ScanPlan,
        on_host: &mut OnHost<'_>,
    ) -> Result<UdpStats, ScanError> {
        let done = AtomicBool::new(false);
        let recv_error = Mutex::new(None);
        let result = std::thread::scope(|s| {
            s.spawn(|| {
                let _receiving = memprof::phase(memprof::Phase::Receiving);
                super::send::receive_until(&*self.io, &done, &recv_error, |p| self.handle(p));
            });
            let r = self.windows(jobs, &plan, on_host);
            done.store(true, Ordering::Relaxed);
            r
        });
        if let Some(e) = recv_error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(ScanError::Receive(e));
        }
        result?;
        Ok(self.stats())
    }

    fn window_of(&self, jobs: &[HostJob]) -> UdpWindow {
        let set = HostSet::for_jobs(jobs, self.cfg.source, self.cfg.source_per_target);
        UdpWindow::new(set, self.order.len())
    }

    fn windows(
        &self,
        jobs: &mut dyn Iterator<Item = HostJob>,
        plan: &ScanPlan,
        on_host: &mut OnHost<'_>,
    ) -> Result<(), ScanError> {
        let per_window = state::window_hosts(self.order.len() as usize);
        let v4 = self.cfg.source.is_ipv4();
        let mut jobs = jobs.filter(|j| super::hosts::same_family(j, v4)).peekable();
        while jobs.peek().is_some() && !self.stop.is_stopped() {
            let _sending = memprof::phase(memprof::Phase::Sending);
            let start = SystemTime::now();
            let batch: Vec<HostJob> = jobs.by_ref().take(per_window).collect();
            let win = Arc::new(self.window_of(&batch));
            *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&win));
            let timed_out = if plan.port_scan {
                self.drive(&win, &vec![true; batch.len()])?
            } else {
                Vec::new()
            };
            if self.stop.is_stopped() {
                // Unfinished hosts are not reported, like the other engines.
                break;
            }
            drop(_sending);
            let _output = memprof::phase(memprof::Phase::Output);
            self.host_results(&win, batch, (plan, &timed_out), start, on_host)?;
            *self.current.write().unwrap_or_else(|e| e.into_inner()) = None;
        }
        Ok(())
    }
}

impl Engine for UdpScanner {
    fn run(
        &self,
        jobs: &mut dyn Iterator<Item = HostJob>,
        plan: ScanPlan,
        on_host: &mut OnHost<'_>,
    ) -> Result<(), ScanError> {
        self.run_counted(jobs, plan, on_host).map(drop)
    }

    fn probes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    fn scan_type(&self) -> &'static str {
        "udp"
    }

    fn publish_to(&self, events: &Events) {
        let _ = self.events.set(events.clone());
    }
}

/// Opens the raw sockets and returns the engine.
pub fn open(
    setup: UdpSetup,
    first_target: Option<IpAddr>,
    stop: StopFlag,
) -> Result<Arc<dyn Engine>, ScanError> {
    Ok(Arc::new(open_scanner(setup, first_target, stop)?))
}
