//! The hosts of one window of a raw scan, shared by the SYN and UDP
//! engines: lookup of a reply's address, the source address towards each
//! host, and whether (and why) each host answered.

use crate::plan::{HostJob, HostOutcome};
use prtip_core::result::{HostResult, HostStatus, PortTable, Reason};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::time::SystemTime;

/// Hosts per window for `ports` ports per host, when a window may hold at
/// most `max_probes` probes and `max_hosts` hosts.
pub fn window_hosts(ports: usize, max_probes: u64, max_hosts: usize) -> usize {
    let per = (max_probes / ports.max(1) as u64).max(1);
    usize::try_from(per).unwrap_or(usize::MAX).min(max_hosts)
}

/// Why a host counts as up, recorded by the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum HostReason {
    SynAck = 1,
    Reset = 2,
    EchoReply = 3,
    TimestampReply = 4,
    Unreachable = 5,
    UdpResponse = 6,
}

impl HostReason {
    fn from_code(c: u8) -> Option<HostReason> {
        Some(match c {
            1 => HostReason::SynAck,
            2 => HostReason::Reset,
            3 => HostReason::EchoReply,
            4 => HostReason::TimestampReply,
            5 => HostReason::Unreachable,
            6 => HostReason::UdpResponse,
            _ => return None,
        })
    }

    /// nmap's reason name for the host's status.
    pub fn reason(self) -> Reason {
        match self {
            HostReason::SynAck => Reason::SynAck,
            HostReason::Reset => Reason::Reset,
            HostReason::EchoReply => Reason::EchoReply,
            HostReason::TimestampReply => Reason::TimestampReply,
            HostReason::Unreachable => Reason::PortUnreach,
            HostReason::UdpResponse => Reason::UdpResponse,
        }
    }
}

/// Hosts in target order, with what the receiver learnt of each.
#[derive(Debug)]
pub struct HostSet {
    /// Hosts in target order.
    pub hosts: Vec<Ipv4Addr>,
    /// (address, position in `hosts`), sorted by address, for reply lookup.
    lookup: Vec<(u32, u32)>,
    /// TTL of the last reply per host (nmap's reason_ttl).
    ttl: Vec<AtomicU8>,
    /// Hosts that answered anything, one bit each.
    alive: Vec<AtomicU64>,
    /// Why each host is up: the first reply's kind ([`HostReason`] code).
    reason: Vec<AtomicU8>,
    /// Source address per host, when targets route through different ones;
    /// empty when `default_source` serves every host.
    sources: Vec<Ipv4Addr>,
    default_source: Ipv4Addr,
}

impl HostSet {
    pub fn new(hosts: Vec<Ipv4Addr>) -> Self {
        let mut lookup: Vec<(u32, u32)> = hosts
            .iter()
            .enumerate()
            .map(|(i, a)| (u32::from(*a), i as u32))
            .collect();
        lookup.sort_unstable();
        let n = hosts.len();
        HostSet {
            lookup,
            ttl: (0..n).map(|_| AtomicU8::new(0)).collect(),
            alive: (0..n.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
            reason: (0..n).map(|_| AtomicU8::new(0)).collect(),
            sources: Vec::new(),
            default_source: Ipv4Addr::UNSPECIFIED,
            hosts,
        }
    }

    /// Set the source address of each host (`sources`, in host order, or
    /// empty when `default` serves all of them).
    pub fn with_sources(mut self, sources: Vec<Ipv4Addr>, default: Ipv4Addr) -> Self {
        self.sources = sources;
        self.default_source = default;
        self
    }

    /// Our address towards host `host`.
    pub fn source(&self, host: u32) -> Ipv4Addr {
        self.sources
            .get(host as usize)
            .copied()
            .unwrap_or(self.default_source)
    }

    pub fn host_count(&self) -> u64 {
        self.hosts.len() as u64
    }

    /// Position of `addr` in this window (the first, if listed twice).
    pub fn host_index(&self, addr: Ipv4Addr) -> Option<u32> {
        let key = u32::from(addr);
        let at = self.lookup.partition_point(|&(a, _)| a < key);
        self.lookup
            .get(at)
            .filter(|&&(a, _)| a == key)
            .map(|&(_, i)| i)
    }

    /// Note that `host` answered something.
    pub fn mark_alive(&self, host: u32, ttl: u8, why: HostReason) {
        if let Some(t) = self.ttl.get(host as usize) {
            t.store(ttl, Ordering::Relaxed);
        }
        if let Some(r) = self.reason.get(host as usize) {
            let _ = r.compare_exchange(0, why as u8, Ordering::Relaxed, Ordering::Relaxed);
        }
        if let Some(w) = self.alive.get(host as usize / 64) {
            w.fetch_or(1 << (host % 64), Ordering::Relaxed);
        }
    }

    pub fn is_alive(&self, host: u32) -> bool {
        self.alive
            .get(host as usize / 64)
            .is_some_and(|w| w.load(Ordering::Relaxed) & (1 << (host % 64)) != 0)
    }

    pub fn ttl(&self, host: u32) -> u8 {
        self.ttl
            .get(host as usize)
            .map_or(0, |t| t.load(Ordering::Relaxed))
    }

    /// Why `host` is up, if it answered.
    pub fn host_reason(&self, host: u32) -> Option<HostReason> {
        HostReason::from_code(self.reason.get(host as usize)?.load(Ordering::Relaxed))
    }

    /// Whether `host` is up, and why: as the user said (`discovery` off,
    /// `-Pn`), as one of our own addresses (`local`), or by what it answered.
    pub fn status(&self, host: u32, discovery: bool, local: bool) -> (HostStatus, Reason) {
        if !discovery {
            (HostStatus::Up, Reason::UserSet)
        } else if local {
            (HostStatus::Up, Reason::Localhost)
        } else {
            match self.host_reason(host) {
                Some(r) => (HostStatus::Up, r.reason()),
                None => (HostStatus::Down, Reason::NoResponse),
            }
        }
    }

    /// Number of hosts that answered anything.
    pub fn alive_count(&self) -> u64 {
        self.alive
            .iter()
            .map(|w| u64::from(w.load(Ordering::Relaxed).count_ones()))
            .sum()
    }
}

/// A raw engine's report of one host of a window, scanned since `start`.
pub fn report(
    job: HostJob,
    (status, reason): (HostStatus, Reason),
    start: SystemTime,
    ports: PortTable,
) -> HostOutcome {
    HostOutcome::Done(HostResult {
        addr: job.addr,
        hostname: job.hostname,
        status,
        reason,
        latency: None,
        start,
        end: SystemTime::now(),
        ports,
        os: None,
    })
}
