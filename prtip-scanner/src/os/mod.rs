//! OS detection (`-O`) for one host: sends nmap's sixteen OS probes through
//! a [`PacketIo`], collects and attributes the replies, and computes the
//! fingerprint with `prtip_core::os_fp`.
//!
//! Timing follows nmap where the tests depend on it: the six SEQ probes
//! leave [`OsOptions::seq_interval`] (100 ms) apart, because ISR, SP and TS
//! are rates over the send times. The other probes follow at a short gap.
//!
//! A "try" is one round: the first sends every probe, each later one resends
//! only the probes still unanswered, then waits a timeout derived from the
//! round-trip times seen so far. Rounds stop as soon as every probe is
//! answered or after [`OsOptions::max_tries`] (nmap's `--max-os-tries`,
//! default 5). Many stacks never answer T2/T3 or rate-limit ICMP, so the last
//! rounds are usually short resends of those few probes.
//!
//! Memory: the engine's state is a fixed-size struct on the stack (replies
//! are parsed into small `Copy` values, nothing is kept of the bytes), and
//! send and receive reuse one buffer each; the only heap use is the final
//! `Fingerprint` (three small allocations).

use std::io;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use prtip_core::os_db::Fingerprint;
use prtip_core::os_fp::{
    compute, parse_os_reply, Observations, Probe, ProbePlan, MAX_PROBE_LEN, PROBE_COUNT,
};

use crate::error::ScanError;
use crate::net::PacketIo;

/// Settings of OS probing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsOptions {
    /// Rounds at most, the first included (nmap's `--max-os-tries`).
    pub max_tries: u32,
    /// Gap between SEQ probes (nmap: 100 ms; the rate tests assume it).
    pub seq_interval: Duration,
    /// Gap between the other probes.
    pub probe_gap: Duration,
    /// Wait after a round before any round-trip time is known.
    pub initial_timeout: Duration,
    /// Bounds of the wait after a round once round trips are known
    /// (four times the slowest seen, within these).
    pub min_timeout: Duration,
    pub max_timeout: Duration,
    /// TTL of every probe.
    pub ttl: u8,
    /// Seed of ports, sequence numbers and ids; `None` draws one from the
    /// clock and the process id.
    pub seed: Option<u64>,
    /// `--host-timeout`'s end for this host: no probe is sent and no reply
    /// waited for after it; what was answered by then is the fingerprint.
    pub deadline: Option<Instant>,
}

impl Default for OsOptions {
    fn default() -> Self {
        OsOptions {
            max_tries: prtip_core::config::DEFAULT_MAX_OS_TRIES,
            seq_interval: Duration::from_millis(100),
            probe_gap: Duration::from_millis(5),
            initial_timeout: Duration::from_secs(1),
            min_timeout: Duration::from_millis(100),
            max_timeout: Duration::from_secs(3),
            ttl: 64,
            seed: None,
            deadline: None,
        }
    }
}

/// What OS probing of one host produced.
#[derive(Debug, Clone)]
pub struct OsProbeResult {
    /// The computed fingerprint (no `SCAN` line), ready for `os_db::best_matches`.
    pub fingerprint: Fingerprint,
    /// Every reply and the SEQ probes' send times (offsets from the start of
    /// probing), from which the fingerprint was computed.
    pub observations: Observations,
    /// Ports, sequence numbers and ids used.
    pub plan: ProbePlan,
    /// Rounds run.
    pub tries: u32,
    /// Probes sent, retransmissions included.
    pub sent: u32,
    /// Probes answered.
    pub answered: u32,
    /// Slowest round trip seen.
    pub max_rtt: Option<Duration>,
}

/// Probes `dst` (with an open TCP port `open`, a closed TCP port `closed`
/// and a closed UDP port `closed_udp`) from `src` and returns its fingerprint.
pub fn fingerprint(
    io: &dyn PacketIo,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    open: u16,
    closed: u16,
    closed_udp: u16,
    opts: &OsOptions,
) -> Result<OsProbeResult, ScanError> {
    let seed = opts.seed.unwrap_or_else(|| clock_seed(dst));
    let mut plan = ProbePlan::new(src, dst, open, closed, closed_udp, seed);
    plan.ttl = opts.ttl;
    fingerprint_with_plan(io, &plan, opts)
}

/// [`fingerprint`] with ports and numbers chosen by the caller.
pub fn fingerprint_with_plan(
    io: &dyn PacketIo,
    plan: &ProbePlan,
    opts: &OsOptions,
) -> Result<OsProbeResult, ScanError> {
    let _phase = memprof::phase(memprof::Phase::OsDetection);
    let mut s = Session::new(io, *plan, opts);
    let mut tries = 0;
    while tries < opts.max_tries.max(1) && !s.complete() && !s.out_of_time() {
        tries += 1;
        s.round()?;
    }
    Ok(OsProbeResult {
        fingerprint: compute(&s.obs),
        observations: s.obs,
        plan: s.plan,
        tries,
        sent: s.sent,
        answered: s.obs.answered() as u32,
        max_rtt: s.max_rtt,
    })
}

/// A seed that differs between runs and hosts.
fn clock_seed(dst: Ipv4Addr) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32) ^ u64::from(u32::from(dst))
}

/// Largest datagram kept: U1's port unreachable quotes all 328 bytes of it
/// (356 in all); 1,600 holds anything an Ethernet link delivers.
const RECV_BUF: usize = 1600;
/// Attempts at handing one probe to a full send queue before it counts as lost.
const SEND_ATTEMPTS: u32 = 3;
/// nmap's order. It matters to `SS`: the echo requests must follow the SEQ
/// probes closely, or a counter shared between TCP and ICMP would have
/// moved on by the other probes' replies and look unshared.
const SEND_ORDER: [Probe; PROBE_COUNT] = [
    Probe::Seq1,
    Probe::Seq2,
    Probe::Seq3,
    Probe::Seq4,
    Probe::Seq5,
    Probe::Seq6,
    Probe::Ie1,
    Probe::Ie2,
    Probe::U1,
    Probe::Ecn,
    Probe::T2,
    Probe::T3,
    Probe::T4,
    Probe::T5,
    Probe::T6,
    Probe::T7,
];

struct Session<'a> {
    io: &'a dyn PacketIo,
    plan: ProbePlan,
    opts: OsOptions,
    obs: Observations,
    start: Instant,
    last_sent: [Option<Instant>; PROBE_COUNT],
    max_rtt: Option<Duration>,
    sent: u32,
    id_state: u64,
    send_buf: [u8; MAX_PROBE_LEN],
    recv_buf: [u8; RECV_BUF],
}

impl<'a> Session<'a> {
    fn new(io: &'a dyn PacketIo, plan: ProbePlan, opts: &OsOptions) -> Self {
        Session {
            io,
            obs: Observations::new(plan.numbers()),
            plan,
            opts: *opts,
            start: Instant::now(),
            last_sent: [None; PROBE_COUNT],
            max_rtt: None,
            sent: 0,
            id_state: u64::from(plan.seq_base) << 16 | u64::from(plan.icmp_id),
            send_buf: [0; MAX_PROBE_LEN],
            recv_buf: [0; RECV_BUF],
        }
    }

    fn complete(&self) -> bool {
        self.obs.answered() == PROBE_COUNT
    }

    fn unanswered(&self, probe: Probe) -> bool {
        self.obs.reply(probe).is_none()
    }

    /// One round: the unanswered SEQ probes at their interval, then the
    /// other unanswered probes, then the wait for stragglers.
    fn round(&mut self) -> Result<(), ScanError> {
        let mut next = Instant::now();
        for probe in SEND_ORDER {
            if !self.unanswered(probe) {
                continue;
            }
            self.receive_until(self.bounded(next), false)?;
            if self.out_of_time() {
                return Ok(());
            }
            let at = self.send(probe)?;
            let gap = if probe.seq_index().is_some() {
                self.opts.seq_interval
            } else {
                self.opts.probe_gap
            };
            next = at + gap;
        }
        let wait = self.timeout();
        self.receive_until(self.bounded(Instant::now() + wait), true)
    }

    /// `at`, or the host's deadline if that comes first.
    fn bounded(&self, at: Instant) -> Instant {
        self.opts.deadline.map_or(at, |d| at.min(d))
    }

    fn out_of_time(&self) -> bool {
        self.opts.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// The wait after a round: four times the slowest round trip, bounded.
    fn timeout(&self) -> Duration {
        match self.max_rtt {
            Some(rtt) => (rtt * 4).clamp(self.opts.min_timeout, self.opts.max_timeout),
            None => self.opts.initial_timeout,
        }
    }

    /// Fresh IP id per probe, so retransmissions are distinct datagrams.
    fn next_ip_id(&mut self) -> u16 {
        self.id_state = self
            .id_state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.id_state >> 48) as u16
    }

    fn send(&mut self, probe: Probe) -> Result<Instant, ScanError> {
        let ip_id = self.next_ip_id();
        let n = self
            .plan
            .build(probe, ip_id, &mut self.send_buf)
            .ok_or_else(|| {
                ScanError::Send(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("OS probe {} does not fit this plan", probe.name()),
                ))
            })?;
        let packet = &self.send_buf[..n];
        for attempt in 0..SEND_ATTEMPTS {
            if self
                .io
                .send_batch(&[packet], &[self.plan.dst.into()])
                .map_err(ScanError::Send)?
                > 0
            {
                break;
            }
            if attempt + 1 < SEND_ATTEMPTS {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        // Counted even if the queue stayed full: to the tests it is a lost
        // probe like any other, and the next round resends it.
        let now = Instant::now();
        self.sent += 1;
        self.last_sent[probe.index()] = Some(now);
        if let Some(i) = probe.seq_index() {
            self.obs.seq_sent_at[i] = Some(now.duration_since(self.start));
        }
        Ok(now)
    }

    /// Takes replies until `deadline`, or until every probe is answered when
    /// `stop_when_complete`. Bounded by the deadline whatever arrives.
    fn receive_until(
        &mut self,
        deadline: Instant,
        stop_when_complete: bool,
    ) -> Result<(), ScanError> {
        loop {
            if stop_when_complete && self.complete() {
                return Ok(());
            }
            let now = Instant::now();
            let Some(left) = deadline
                .checked_duration_since(now)
                .filter(|d| !d.is_zero())
            else {
                return Ok(());
            };
            let got = self
                .io
                .recv(&mut self.recv_buf, left)
                .map_err(ScanError::Receive)?;
            if let Some(n) = got {
                self.take(n.min(RECV_BUF));
            }
        }
    }

    /// Attributes one received datagram; anything that is not a reply to
    /// this plan's probes is ignored.
    fn take(&mut self, len: usize) {
        let Some(reply) = self.recv_buf.get(..len).and_then(parse_os_reply) else {
            return;
        };
        let Some(probe) = self.plan.classify(&reply) else {
            return;
        };
        if self.obs.record(probe, reply) {
            if let Some(sent) = self.last_sent[probe.index()] {
                let rtt = sent.elapsed();
                self.max_rtt = Some(self.max_rtt.map_or(rtt, |m| m.max(rtt)));
            }
        }
    }
}
