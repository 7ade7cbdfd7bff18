//! The state of one window of hosts in flight: 4 bits per probe, nothing else.
//!
//! A window covers `hosts × ports` probes. Each probe's outcome is a nibble
//! in a shared array (0 = no answer yet), written by the receiver with a
//! compare-and-swap and read by the sender to skip answered probes on
//! retransmission. This is the only per-probe memory of the stateless scan:
//! `hosts × ports / 2` bytes, bounded by [`MAX_WINDOW_PROBES`].

use prtip_core::result::{PortState, Reason};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};

pub use crate::engines::hosts::{HostReason, HostSet};
pub use crate::engines::portindex::PortIndex;

/// Most probes in one window: 2^21 probes is a 1 MiB outcome map.
pub const MAX_WINDOW_PROBES: u64 = 1 << 21;
/// Most hosts in one window (bounds the per-host arrays).
pub const MAX_WINDOW_HOSTS: usize = 4096;

/// Hosts per window for `ports` ports per host.
pub fn window_hosts(ports: usize) -> usize {
    crate::engines::hosts::window_hosts(ports, MAX_WINDOW_PROBES, MAX_WINDOW_HOSTS)
}

/// Outcome codes stored per probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Outcome {
    Open = 1,
    Closed = 2,
    NetUnreach = 3,
    HostUnreach = 4,
    ProtoUnreach = 5,
    PortUnreach = 6,
    NetProhibited = 7,
    HostProhibited = 8,
    AdminProhibited = 9,
}

impl Outcome {
    fn from_code(c: u8) -> Option<Outcome> {
        Some(match c {
            1 => Outcome::Open,
            2 => Outcome::Closed,
            3 => Outcome::NetUnreach,
            4 => Outcome::HostUnreach,
            5 => Outcome::ProtoUnreach,
            6 => Outcome::PortUnreach,
            7 => Outcome::NetProhibited,
            8 => Outcome::HostProhibited,
            9 => Outcome::AdminProhibited,
            _ => return None,
        })
    }

    /// The ICMP destination-unreachable codes nmap treats as "filtered".
    pub fn from_icmp_code(code: u8) -> Option<Outcome> {
        Some(match code {
            0 => Outcome::NetUnreach,
            1 => Outcome::HostUnreach,
            2 => Outcome::ProtoUnreach,
            3 => Outcome::PortUnreach,
            9 => Outcome::NetProhibited,
            10 => Outcome::HostProhibited,
            13 => Outcome::AdminProhibited,
            _ => return None,
        })
    }

    /// State and reason as nmap reports them for a SYN scan.
    pub fn state_reason(self) -> (PortState, Reason) {
        match self {
            Outcome::Open => (PortState::Open, Reason::SynAck),
            Outcome::Closed => (PortState::Closed, Reason::Reset),
            Outcome::NetUnreach => (PortState::Filtered, Reason::NetUnreach),
            Outcome::HostUnreach => (PortState::Filtered, Reason::HostUnreach),
            Outcome::ProtoUnreach => (PortState::Filtered, Reason::ProtoUnreach),
            Outcome::PortUnreach => (PortState::Filtered, Reason::PortUnreach),
            Outcome::NetProhibited => (PortState::Filtered, Reason::NetProhibited),
            Outcome::HostProhibited => (PortState::Filtered, Reason::HostProhibited),
            Outcome::AdminProhibited => (PortState::Filtered, Reason::AdminProhibited),
        }
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
    pub fn new(hosts: Vec<Ipv4Addr>, nports: u32) -> Self {
        let nprobes = hosts.len() as u64 * u64::from(nports);
        let words = nprobes.div_ceil(16) as usize;
        Window {
            set: HostSet::new(hosts),
            nports: u64::from(nports),
            outcomes: (0..words).map(|_| AtomicU64::new(0)).collect(),
            answered: AtomicU64::new(0),
        }
    }

    /// Set the source address of each host (see [`HostSet::with_sources`]).
    pub fn with_sources(mut self, sources: Vec<Ipv4Addr>, default: Ipv4Addr) -> Self {
        self.set = self.set.with_sources(sources, default);
        self
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
        let nibble = (outcome as u64) << shift;
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
        let why = if outcome == Outcome::Open {
            HostReason::SynAck
        } else if outcome == Outcome::Closed {
            HostReason::Reset
        } else {
            HostReason::Unreachable
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

    #[test]
    fn outcomes_are_first_writer_wins() {
        let w = Window::new(
            vec![Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 1)],
            40,
        );
        assert_eq!(w.probe_count(), 80);
        assert_eq!(w.host_index(Ipv4Addr::new(10, 0, 0, 1)), Some(1));
        assert_eq!(w.host_index(Ipv4Addr::new(10, 0, 0, 3)), None);
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
    fn icmp_codes_follow_nmap() {
        for code in [0u8, 1, 2, 3, 9, 10, 13] {
            let o = Outcome::from_icmp_code(code).expect("filtered code");
            assert_eq!(o.state_reason().0, PortState::Filtered);
        }
        for code in [4u8, 5, 6, 7, 8, 11, 12, 14, 15] {
            assert_eq!(Outcome::from_icmp_code(code), None, "code {code}");
        }
    }
}
