//! The state of one window of hosts in flight: 4 bits per probe, nothing else.
//!
//! A window covers `hosts × ports` probes. Each probe's outcome is a nibble
//! in a shared array (0 = no answer yet), written by the receiver with a
//! compare-and-swap and read by the sender to skip answered probes on
//! retransmission. This is the only per-probe memory of the stateless scan:
//! `hosts × ports / 2` bytes, bounded by [`MAX_WINDOW_PROBES`].

use crate::engines::icmp::{icmp_verdict, Filtered, IcmpVerdict};
use prtip_core::result::{PortState, Reason};
use prtip_core::wire::IcmpError;
use std::sync::atomic::{AtomicU64, Ordering};

pub use crate::engines::hosts::{HostAddrs, HostReason, HostSet};
pub use crate::engines::portindex::PortIndex;

/// Most probes in one window: 2^21 probes is a 1 MiB outcome map.
pub const MAX_WINDOW_PROBES: u64 = 1 << 21;
/// Most hosts in one window (bounds the per-host arrays).
pub const MAX_WINDOW_HOSTS: usize = 4096;

/// Hosts per window for `ports` ports per host.
pub fn window_hosts(ports: usize) -> usize {
    crate::engines::hosts::window_hosts(ports, MAX_WINDOW_PROBES, MAX_WINDOW_HOSTS)
}

/// What is known of one probe, kept as a nibble (0 = nothing yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// SYN-ACK.
    Open,
    /// RST.
    Closed,
    /// An ICMP error that filters the port (see [`crate::engines::icmp`]).
    Filtered(Filtered),
    /// RST to an ACK-scan probe.
    Unfiltered,
}

/// Nibble of the first [`Filtered`] reason; the others follow it.
const FILTERED_BASE: u8 = 3;
/// Nibble of [`Outcome::Unfiltered`], after the filtered reasons.
const UNFILTERED: u8 = FILTERED_BASE + Filtered::COUNT;
const _: () = assert!(UNFILTERED < 16, "outcomes fit a nibble");

impl Outcome {
    fn code(self) -> u8 {
        match self {
            Outcome::Open => 1,
            Outcome::Closed => 2,
            Outcome::Filtered(f) => FILTERED_BASE + f as u8,
            Outcome::Unfiltered => UNFILTERED,
        }
    }

    fn from_code(c: u8) -> Option<Outcome> {
        match c {
            1 => Some(Outcome::Open),
            2 => Some(Outcome::Closed),
            UNFILTERED => Some(Outcome::Unfiltered),
            _ => Filtered::from_index(c.checked_sub(FILTERED_BASE)?).map(Outcome::Filtered),
        }
    }

    /// The outcome of an ICMP error quoting one of our TCP probes, by the
    /// rules shared with the UDP engine; `None` when it says nothing.
    pub fn from_icmp(e: &IcmpError) -> Option<Outcome> {
        match icmp_verdict(e, false)? {
            // A TCP probe is never closed by ICMP: icmp_verdict only
            // closes UDP ports.
            IcmpVerdict::Closed => None,
            IcmpVerdict::Filtered(f) => Some(Outcome::Filtered(f)),
        }
    }

    /// State and reason as nmap reports them for a SYN scan (other types:
    /// [`super::TcpProbe::state_reason`]).
    pub fn state_reason(self) -> (PortState, Reason) {
        super::TcpProbe::SYN.state_reason(self)
    }
}

/// One window of hosts being scanned: the hosts ([`HostSet`], reached
/// through `Deref`) and a nibble per probe.
#[derive(Debug)]
pub struct Window {
    set: HostSet,
    nports: u64,
    outcomes: Vec<AtomicU64>,
    /// Probes with an outcome.
    answered: AtomicU64,
}

impl std::ops::Deref for Window {
    type Target = HostSet;
    fn deref(&self) -> &HostSet {
        &self.set
    }
}

impl Window {
    pub fn new(hosts: impl Into<HostAddrs>, nports: u32) -> Self {
        Window::of(HostSet::new(hosts), nports)
    }

    /// The window of the hosts of `set`.
    pub fn of(set: HostSet, nports: u32) -> Self {
        let nprobes = set.host_count() * u64::from(nports);
        let words = nprobes.div_ceil(16) as usize;
        Window {
            set,
            nports: u64::from(nports),
            outcomes: (0..words).map(|_| AtomicU64::new(0)).collect(),
            answered: AtomicU64::new(0),
        }
    }

    pub fn probe_count(&self) -> u64 {
        self.host_count() * self.nports
    }

    /// Probe index layout: consecutive indices are different hosts.
    pub fn probe_index(&self, host: u32, port: u32) -> u64 {
        u64::from(port) * self.host_count() + u64::from(host)
    }

    pub fn split(&self, probe: u64) -> (u32, u32) {
        let h = self.host_count().max(1);
        ((probe % h) as u32, (probe / h) as u32)
    }

    /// Outcome recorded for a probe, if any.
    pub fn outcome(&self, probe: u64) -> Option<Outcome> {
        let word = self.outcomes.get((probe / 16) as usize)?;
        let shift = (probe % 16) * 4;
        Outcome::from_code(((word.load(Ordering::Relaxed) >> shift) & 0xf) as u8)
    }

    /// Record the first outcome of a probe. False if it already had one.
    pub fn record(&self, probe: u64, outcome: Outcome, ttl: u8) -> bool {
        let Some(word) = self.outcomes.get((probe / 16) as usize) else {
            return false;
        };
        let shift = (probe % 16) * 4;
        let nibble = u64::from(outcome.code()) << shift;
        let mut cur = word.load(Ordering::Relaxed);
        loop {
            if (cur >> shift) & 0xf != 0 {
                return false;
            }
            match word.compare_exchange_weak(
                cur,
                cur | nibble,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        self.answered.fetch_add(1, Ordering::Relaxed);
        let (host, _) = self.split(probe);
        let why = match outcome {
            Outcome::Open => HostReason::SynAck,
            Outcome::Closed | Outcome::Unfiltered => HostReason::Reset,
            Outcome::Filtered(_) => HostReason::Unreachable,
        };
        self.mark_alive(host, ttl, why);
        true
    }

    /// Number of probes that have an outcome.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    #[test]
    fn outcomes_are_first_writer_wins() {
        let w = Window::new(
            vec![Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 1)],
            40,
        );
        assert_eq!(w.probe_count(), 80);
        assert_eq!(w.host_index(Ipv4Addr::new(10, 0, 0, 1).into()), Some(1));
        assert_eq!(w.host_index(Ipv4Addr::new(10, 0, 0, 3).into()), None);
        let p = w.probe_index(1, 39);
        assert_eq!(w.split(p), (1, 39));
        assert!(w.record(p, Outcome::Open, 64));
        assert!(!w.record(p, Outcome::Closed, 64));
        assert_eq!(w.outcome(p), Some(Outcome::Open));
        assert_eq!(w.outcome(p - 1), None);
        assert!(w.is_alive(1) && !w.is_alive(0));
        assert_eq!(w.host_reason(1), Some(HostReason::SynAck));
        assert_eq!(w.alive_count(), 1);
        assert_eq!(w.ttl(1), 64);
        assert_eq!(w.answered(), 1);
    }

    #[test]
    fn window_size_bounds_memory() {
        assert_eq!(window_hosts(1000), 2097);
        assert_eq!(window_hosts(65535), 32);
        assert_eq!(window_hosts(10), MAX_WINDOW_HOSTS);
        assert_eq!(window_hosts(0), MAX_WINDOW_HOSTS);
    }

    #[test]
    fn every_outcome_survives_its_nibble() {
        let mut all = vec![Outcome::Open, Outcome::Closed, Outcome::Unfiltered];
        all.extend(
            (0..Filtered::COUNT)
                .filter_map(Filtered::from_index)
                .map(Outcome::Filtered),
        );
        let w = Window::new(vec![Ipv4Addr::new(10, 0, 0, 1)], all.len() as u32);
        for (p, &o) in all.iter().enumerate() {
            assert!(w.record(p as u64, o, 1));
            assert_eq!(w.outcome(p as u64), Some(o));
        }
        assert_eq!(Outcome::from_code(0), None);
        assert_eq!(Outcome::from_code(UNFILTERED + 1), None);
    }

    #[test]
    fn ipv6_window_finds_its_hosts() {
        let a = |n| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n);
        let w = Window::new(vec![a(7), a(3)], 10);
        assert_eq!(w.host_index(IpAddr::V6(a(3))), Some(1));
        assert_eq!(w.host_index(IpAddr::V4(Ipv4Addr::new(0, 0, 0, 3))), None);
        let p = w.probe_index(1, 9);
        let unreach = Outcome::Filtered(Filtered::NoRoute);
        assert!(w.record(p, unreach, 60));
        assert_eq!(
            w.outcome(p).map(Outcome::state_reason),
            Some((PortState::Filtered, Reason::NoRoute))
        );
        assert_eq!(w.host_reason(1), Some(HostReason::Unreachable));
    }
}
