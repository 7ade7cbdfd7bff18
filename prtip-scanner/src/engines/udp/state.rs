//! What the UDP engine remembers about one window of hosts: a byte per
//! probe, and per host one word describing the batch in flight.
//!
//! Probe byte: the low 4 bits are the [`Outcome`] (0 = none yet), bits 4-6
//! count the batches in which the port was silent *although the target
//! could have answered* (see `schedule`). Hosts × ports bytes, bounded by
//! [`MAX_WINDOW_PROBES`].

use super::super::hosts::HostSet;
use super::super::portindex::PortIndex;
use crate::engines::icmp::{icmp_verdict, Filtered, IcmpVerdict};
use prtip_core::permutation::Permutation;
use prtip_core::ports::PortList;
use prtip_core::result::{PortState, Reason};
use prtip_core::wire::IcmpError;
#[cfg(test)]
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// Most probes in one window: 2^20 probes is a 1 MiB state array.
pub const MAX_WINDOW_PROBES: u64 = 1 << 20;
/// Most hosts in one window (bounds the per-host arrays).
pub const MAX_WINDOW_HOSTS: usize = 4096;
/// Most confirmed silences a probe byte counts (bits 4-6).
const MAX_CONFIRMATIONS: u8 = 7;
/// "No sentinel port yet".
const NO_SENTINEL: u32 = u32::MAX;
/// Batch position meaning "after every port": a sentinel's answer.
pub const SENTINEL_POS: u32 = u32::MAX;

/// Hosts per window for `ports` ports per host.
pub fn window_hosts(ports: usize) -> usize {
    crate::engines::hosts::window_hosts(ports, MAX_WINDOW_PROBES, MAX_WINDOW_HOSTS)
}

/// What is known of one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A UDP answer.
    Open,
    /// ICMP port unreachable from the target itself.
    Closed,
    /// Any other ICMP error that filters the port (a port unreachable from
    /// someone else included): see [`crate::engines::icmp`].
    Filtered(Filtered),
    /// No answer, decided by the scheduler: open|filtered.
    Silent,
    /// No answer under `--defeat-icmp-ratelimit`: closed|filtered.
    SilentUnsure,
}

/// Codes of the low nibble: 0 is "nothing yet".
const FILTERED_BASE: u8 = 3;
const SILENT: u8 = FILTERED_BASE + Filtered::COUNT;
const SILENT_UNSURE: u8 = SILENT + 1;
const _: () = assert!(SILENT_UNSURE < 16, "outcomes fit the low nibble");

impl Outcome {
    fn code(self) -> u8 {
        match self {
            Outcome::Open => 1,
            Outcome::Closed => 2,
            Outcome::Filtered(f) => FILTERED_BASE + f as u8,
            Outcome::Silent => SILENT,
            Outcome::SilentUnsure => SILENT_UNSURE,
        }
    }

    fn from_code(c: u8) -> Option<Outcome> {
        Some(match c {
            1 => Outcome::Open,
            2 => Outcome::Closed,
            SILENT => Outcome::Silent,
            SILENT_UNSURE => Outcome::SilentUnsure,
            _ => Outcome::Filtered(Filtered::from_index(c.checked_sub(FILTERED_BASE)?)?),
        })
    }

    /// The outcome of an ICMP error quoting one of our UDP probes, by the
    /// rules shared with the SYN engine (only the target itself closes a
    /// port); `None` when it says nothing about the port.
    pub fn from_icmp(e: &IcmpError) -> Option<Outcome> {
        Some(match icmp_verdict(e, true)? {
            IcmpVerdict::Closed => Outcome::Closed,
            IcmpVerdict::Filtered(f) => Outcome::Filtered(f),
        })
    }

    /// Decided by silence, so a late real answer may still replace it.
    pub fn is_silence(self) -> bool {
        matches!(self, Outcome::Silent | Outcome::SilentUnsure)
    }

    /// State and reason as nmap reports them for a UDP scan.
    pub fn state_reason(self) -> (PortState, Reason) {
        match self {
            Outcome::Open => (PortState::Open, Reason::UdpResponse),
            Outcome::Closed => (PortState::Closed, Reason::PortUnreach),
            Outcome::Filtered(f) => (PortState::Filtered, f.reason()),
            Outcome::Silent => (PortState::OpenFiltered, Reason::NoResponse),
            Outcome::SilentUnsure => (PortState::ClosedFiltered, Reason::NoResponse),
        }
    }
}

/// The order ports are probed in on every host: a seeded permutation of
/// the port list, and its inverse, so a reply's port gives its rank. Two
/// `u16` a port (ranks fit: a list has at most 65,536 ports), whatever the
/// span of port numbers.
#[derive(Debug)]
pub struct PortOrder {
    index: PortIndex,
    /// The list position of the port probed at each rank.
    at_rank: Vec<u16>,
    /// The rank of the port at each list position.
    rank_of: Vec<u16>,
}

impl PortOrder {
    pub fn new(list: &PortList, seed: u64) -> Self {
        let index = PortIndex::new(list);
        let n = index.len();
        let perm = Permutation::new(u64::from(n), seed);
        let at_rank: Vec<u16> = perm.iter().map(|i| i as u16).collect();
        let mut rank_of = vec![0u16; n as usize];
        for (rank, &pos) in at_rank.iter().enumerate() {
            rank_of[usize::from(pos)] = rank as u16;
        }
        PortOrder {
            index,
            at_rank,
            rank_of,
        }
    }

    pub fn len(&self) -> u32 {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The port probed at `rank`.
    pub fn port(&self, rank: u32) -> Option<u16> {
        let pos = *self.at_rank.get(rank as usize)?;
        self.index.port(u32::from(pos))
    }

    /// The rank of `port`, if it is scanned.
    pub fn rank(&self, port: u16) -> Option<u32> {
        let pos = self.index.index(port)?;
        self.rank_of.get(pos as usize).map(|&r| u32::from(r))
    }
}

/// The batch in flight on one host, packed so the receiver can update it
/// with one compare-and-swap: batch number (16 bits), ICMP errors counted
/// for it (16), and the last position in it that drew an ICMP error (32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchMark {
    pub batch: u16,
    pub errors: u16,
    /// One past the rank of the latest-sent probe that drew an ICMP error,
    /// or [`SENTINEL_POS`]; 0 when none did.
    pub reach: u32,
}

impl BatchMark {
    fn pack(self) -> u64 {
        u64::from(self.batch) << 48 | u64::from(self.errors) << 32 | u64::from(self.reach)
    }

    fn unpack(w: u64) -> Self {
        BatchMark {
            batch: (w >> 48) as u16,
            errors: (w >> 32) as u16,
            reach: w as u32,
        }
    }
}

/// One window of hosts being UDP-scanned.
#[derive(Debug)]
pub struct UdpWindow {
    set: HostSet,
    nports: u32,
    probes: Vec<AtomicU8>,
    marks: Vec<AtomicU64>,
    /// Rank of a port on each host known to draw ICMP errors.
    sentinel: Vec<AtomicU32>,
    /// Probes with an outcome from the network.
    answered: AtomicU64,
    /// Answers to probes whose silence had been confirmed before: each
    /// proves a lost probe (or an answer slower than a batch), see
    /// [`UdpWindow::losses`].
    losses: AtomicU32,
    /// Probes of each host's batch in flight that got an outcome.
    batch_answers: Vec<AtomicU32>,
    /// When each host's batch in flight went out, in µs since `epoch`.
    sent_us: Vec<AtomicU64>,
    epoch: Instant,
}

impl std::ops::Deref for UdpWindow {
    type Target = HostSet;
    fn deref(&self) -> &HostSet {
        &self.set
    }
}

impl UdpWindow {
    pub fn new(set: HostSet, nports: u32) -> Self {
        let n = set.hosts.len();
        let probes = n as u64 * u64::from(nports);
        UdpWindow {
            nports,
            probes: (0..probes).map(|_| AtomicU8::new(0)).collect(),
            marks: (0..n).map(|_| AtomicU64::new(0)).collect(),
            sentinel: (0..n).map(|_| AtomicU32::new(NO_SENTINEL)).collect(),
            answered: AtomicU64::new(0),
            losses: AtomicU32::new(0),
            batch_answers: (0..n).map(|_| AtomicU32::new(0)).collect(),
            sent_us: (0..n).map(|_| AtomicU64::new(0)).collect(),
            epoch: Instant::now(),
            set,
        }
    }

    fn slot(&self, host: u32, rank: u32) -> Option<&AtomicU8> {
        if rank >= self.nports {
            return None;
        }
        self.probes
            .get(host as usize * self.nports as usize + rank as usize)
    }

    /// The outcome of `rank` on `host`, if any.
    pub fn outcome(&self, host: u32, rank: u32) -> Option<Outcome> {
        Outcome::from_code(self.slot(host, rank)?.load(Ordering::Relaxed) & 0xf)
    }

    /// Batches in which the probe was silent while an answer was possible.
    pub fn confirmations(&self, host: u32, rank: u32) -> u8 {
        self.slot(host, rank)
            .map_or(0, |s| (s.load(Ordering::Relaxed) >> 4) & MAX_CONFIRMATIONS)
    }

    /// Probes of this window that answered after their silence had been
    /// confirmed. A confirmed silence means the target would have answered
    /// a closed port, so a later answer shows that the probe (or its
    /// answer) was lost on the way, or that the service answers slower
    /// than a batch: either way, silence is worth less on this network.
    pub fn losses(&self) -> u32 {
        self.losses.load(Ordering::Relaxed)
    }

    /// Record an answer from the network. The first answer wins, but an
    /// answer replaces a verdict of silence. False if nothing changed.
    pub fn record(&self, host: u32, rank: u32, outcome: Outcome) -> bool {
        let Some(slot) = self.slot(host, rank) else {
            return false;
        };
        let mut cur = slot.load(Ordering::Relaxed);
        loop {
            match Outcome::from_code(cur & 0xf) {
                Some(o) if !o.is_silence() => return false,
                _ => {}
            }
            let new = (cur & 0xf0) | outcome.code();
            match slot.compare_exchange_weak(cur, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        if (cur >> 4) & MAX_CONFIRMATIONS > 0 {
            self.losses.fetch_add(1, Ordering::Relaxed);
        }
        self.answered.fetch_add(1, Ordering::Relaxed);
        if let Some(a) = self.batch_answers.get(host as usize) {
            a.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// Probes of `host`'s batch in flight answered so far (a late answer to
    /// an earlier batch counts too, which only makes a batch judged sooner).
    pub fn batch_answers(&self, host: u32) -> u32 {
        self.batch_answers
            .get(host as usize)
            .map_or(0, |a| a.load(Ordering::Relaxed))
    }

    /// One more batch of confirmed silence for a probe; returns the new count.
    pub fn confirm_silence(&self, host: u32, rank: u32) -> u8 {
        let Some(slot) = self.slot(host, rank) else {
            return 0;
        };
        let mut cur = slot.load(Ordering::Relaxed);
        loop {
            let count = (((cur >> 4) & MAX_CONFIRMATIONS) + 1).min(MAX_CONFIRMATIONS);
            // Keeps the outcome bits, which the receiver may be writing.
            match slot.compare_exchange_weak(
                cur,
                (cur & !(MAX_CONFIRMATIONS << 4)) | (count << 4),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return count,
                Err(now) => cur = now,
            }
        }
    }

    /// Settle a probe as silent (`outcome`) unless an answer arrived.
    pub fn settle_silent(&self, host: u32, rank: u32, outcome: Outcome) {
        let Some(slot) = self.slot(host, rank) else {
            return;
        };
        let mut cur = slot.load(Ordering::Relaxed);
        while cur & 0xf == 0 {
            match slot.compare_exchange_weak(
                cur,
                (cur & 0xf0) | outcome.code(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => cur = now,
            }
        }
    }

    /// Start batch `batch` on `host`: what the receiver saw of the last one
    /// is returned, and counting starts over.
    pub fn start_batch(&self, host: u32, batch: u16) -> BatchMark {
        let Some(m) = self.marks.get(host as usize) else {
            return BatchMark::default();
        };
        let fresh = BatchMark {
            batch,
            errors: 0,
            reach: 0,
        };
        if let Some(a) = self.batch_answers.get(host as usize) {
            a.store(0, Ordering::Relaxed);
        }
        BatchMark::unpack(m.swap(fresh.pack(), Ordering::AcqRel))
    }

    /// What the receiver saw of the batch in flight on `host`.
    pub fn mark(&self, host: u32) -> BatchMark {
        self.marks
            .get(host as usize)
            .map_or(BatchMark::default(), |m| {
                BatchMark::unpack(m.load(Ordering::Acquire))
            })
    }

    /// The batch in flight on `host` drew an ICMP error at `reach` (rank + 1,
    /// or [`SENTINEL_POS`]). Ignored unless `batch` is the one in flight.
    pub fn note_error(&self, host: u32, batch: u16, reach: u32) {
        let Some(m) = self.marks.get(host as usize) else {
            return;
        };
        let mut cur = m.load(Ordering::Acquire);
        loop {
            let mut mark = BatchMark::unpack(cur);
            if mark.batch != batch {
                return;
            }
            mark.errors = mark.errors.saturating_add(1);
            mark.reach = mark.reach.max(reach);
            match m.compare_exchange_weak(cur, mark.pack(), Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(now) => cur = now,
            }
        }
    }

    /// A port of `host` known to draw ICMP errors, for sentinel probes.
    pub fn sentinel(&self, host: u32) -> Option<u32> {
        let s = self.sentinel.get(host as usize)?.load(Ordering::Relaxed);
        (s != NO_SENTINEL).then_some(s)
    }

    /// Remember `rank` as `host`'s sentinel if it has none.
    pub fn offer_sentinel(&self, host: u32, rank: u32) {
        if let Some(s) = self.sentinel.get(host as usize) {
            let _ = s.compare_exchange(NO_SENTINEL, rank, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    /// Probes answered from the network.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// Note when `host`'s batch went out, for round-trip samples.
    pub fn set_sent(&self, host: u32, at: Instant) {
        if let Some(s) = self.sent_us.get(host as usize) {
            s.store(
                at.duration_since(self.epoch).as_micros() as u64,
                Ordering::Relaxed,
            );
        }
    }

    /// Time since `host`'s batch in flight went out.
    pub fn since_sent(&self, host: u32, now: Instant) -> Option<Duration> {
        let us = self.sent_us.get(host as usize)?.load(Ordering::Relaxed);
        now.duration_since(self.epoch)
            .checked_sub(Duration::from_micros(us))
    }

    pub fn nports(&self) -> u32 {
        self.nports
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_survives_its_nibble() {
        let mut all = vec![
            Outcome::Open,
            Outcome::Closed,
            Outcome::Silent,
            Outcome::SilentUnsure,
        ];
        all.extend(
            (0..Filtered::COUNT)
                .filter_map(Filtered::from_index)
                .map(Outcome::Filtered),
        );
        let mut codes: Vec<u8> = all.iter().map(|o| o.code()).collect();
        for o in &all {
            assert_eq!(Outcome::from_code(o.code()), Some(*o));
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert!(codes.iter().all(|&c| (1..16).contains(&c)));
        assert_eq!(Outcome::from_code(0), None);
    }

    #[test]
    fn port_order_is_a_permutation_with_its_inverse() {
        let list = PortList::from_ranges([(7, 7), (53, 53), (1000, 1999), (65535, 65535)]);
        let order = PortOrder::new(&list, 5);
        assert_eq!(order.len(), 1003);
        let mut seen: Vec<u16> = (0..order.len()).filter_map(|r| order.port(r)).collect();
        assert_ne!(
            seen.iter().take(5).copied().collect::<Vec<_>>(),
            vec![7, 53, 1000, 1001, 1002]
        );
        for r in 0..order.len() {
            assert_eq!(order.rank(order.port(r).expect("port")), Some(r));
        }
        seen.sort_unstable();
        assert_eq!(seen, list.iter().collect::<Vec<_>>());
        assert_eq!(order.rank(8), None);
        assert_eq!(order.port(1003), None);
    }

    #[test]
    fn a_silence_verdict_gives_way_to_an_answer_but_not_the_reverse() {
        let w = UdpWindow::new(HostSet::new(vec![Ipv4Addr::new(198, 18, 1, 1)]), 4);
        w.settle_silent(0, 1, Outcome::Silent);
        assert!(w.record(0, 1, Outcome::Open));
        assert_eq!(w.outcome(0, 1), Some(Outcome::Open));
        assert!(!w.record(0, 1, Outcome::Closed));
        w.settle_silent(0, 1, Outcome::Silent);
        assert_eq!(w.outcome(0, 1), Some(Outcome::Open));
        assert_eq!(w.confirm_silence(0, 2), 1);
        assert_eq!(w.confirm_silence(0, 2), 2);
        assert_eq!(w.outcome(0, 2), None);
    }

    #[test]
    fn an_answer_after_a_confirmed_silence_is_a_loss() {
        let w = UdpWindow::new(HostSet::new(vec![Ipv4Addr::new(198, 18, 1, 1)]), 4);
        // Answered at once, or after silences nothing confirmed: no loss.
        assert!(w.record(0, 0, Outcome::Closed));
        assert_eq!(w.losses(), 0);
        // Confirmed silent, then answered: its probe was lost.
        assert_eq!(w.confirm_silence(0, 1), 1);
        assert!(w.record(0, 1, Outcome::Closed));
        assert_eq!(w.losses(), 1);
        // Settled silent after confirmations, then a late answer: too.
        for want in 1..=3 {
            assert_eq!(w.confirm_silence(0, 2), want);
        }
        w.settle_silent(0, 2, Outcome::Silent);
        assert!(w.record(0, 2, Outcome::Open));
        assert_eq!(w.losses(), 2);
        // The count stops at its field's width without touching the outcome.
        for _ in 0..10 {
            w.confirm_silence(0, 3);
        }
        assert_eq!(w.confirmations(0, 3), MAX_CONFIRMATIONS);
        assert_eq!(w.outcome(0, 3), None);
        assert_eq!(w.outcome(0, 2), Some(Outcome::Open));
    }

    #[test]
    fn errors_count_only_for_the_batch_in_flight() {
        let w = UdpWindow::new(HostSet::new(vec![Ipv4Addr::new(198, 18, 1, 1)]), 8);
        w.start_batch(0, 3);
        w.note_error(0, 3, 5);
        w.note_error(0, 2, 8);
        w.note_error(0, 3, 2);
        let m = w.mark(0);
        assert_eq!((m.batch, m.errors, m.reach), (3, 2, 5));
        let old = w.start_batch(0, 4);
        assert_eq!(old, m);
        w.note_error(0, 4, SENTINEL_POS);
        assert_eq!(w.mark(0).reach, SENTINEL_POS);
    }
}
