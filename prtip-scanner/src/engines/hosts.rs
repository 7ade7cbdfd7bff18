//! The hosts of one window of a raw scan, shared by the SYN and UDP
//! engines: lookup of a reply's address, the source address towards each
//! host, and whether (and why) each host answered.
//!
//! One scan is one family (as in nmap), so a window's addresses are kept
//! in the family's own width ([`HostAddrs`]): an IPv4 window costs what it
//! did before IPv6 existed, 4 bytes an address and 8 a lookup entry.

use crate::plan::{HostJob, HostOutcome};
use prtip_core::result::{HostResult, HostStatus, PortTable, Reason};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
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
    MaskReply = 7,
    ProtoUnreach = 8,
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
            7 => HostReason::MaskReply,
            8 => HostReason::ProtoUnreach,
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
            HostReason::MaskReply => Reason::AddressMaskReply,
            HostReason::ProtoUnreach => Reason::ProtoUnreach,
        }
    }
}

/// Addresses of one family, in their own width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostAddrs {
    V4(Vec<Ipv4Addr>),
    V6(Vec<Ipv6Addr>),
}

impl HostAddrs {
    /// The addresses of `jobs` of `family`'s kind (`family` is any address
    /// of it); jobs of the other family are not this scan's.
    pub fn of_family<'a>(family: IpAddr, jobs: impl Iterator<Item = &'a IpAddr>) -> HostAddrs {
        match family {
            IpAddr::V4(_) => HostAddrs::V4(
                jobs.filter_map(|a| match a {
                    IpAddr::V4(a) => Some(*a),
                    IpAddr::V6(_) => None,
                })
                .collect(),
            ),
            IpAddr::V6(_) => HostAddrs::V6(
                jobs.filter_map(|a| match a {
                    IpAddr::V6(a) => Some(*a),
                    IpAddr::V4(_) => None,
                })
                .collect(),
            ),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            HostAddrs::V4(v) => v.len(),
            HostAddrs::V6(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The address at `i`.
    pub fn get(&self, i: usize) -> Option<IpAddr> {
        match self {
            HostAddrs::V4(v) => v.get(i).map(|&a| IpAddr::V4(a)),
            HostAddrs::V6(v) => v.get(i).map(|&a| IpAddr::V6(a)),
        }
    }

    /// Every address, in order.
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// (address, position) sorted by address, in the family's width.
#[derive(Debug)]
enum Lookup {
    V4(Vec<(u32, u32)>),
    V6(Vec<(u128, u32)>),
}

impl Lookup {
    fn new(hosts: &HostAddrs) -> Lookup {
        fn sorted<K: Ord + Copy>(keys: impl Iterator<Item = K>) -> Vec<(K, u32)> {
            let mut v: Vec<(K, u32)> = keys.enumerate().map(|(i, k)| (k, i as u32)).collect();
            v.sort_unstable();
            v
        }
        match hosts {
            HostAddrs::V4(v) => Lookup::V4(sorted(v.iter().map(|&a| u32::from(a)))),
            HostAddrs::V6(v) => Lookup::V6(sorted(v.iter().map(|&a| u128::from(a)))),
        }
    }

    fn find(&self, addr: IpAddr) -> Option<u32> {
        fn search<K: Ord + Copy>(v: &[(K, u32)], key: K) -> Option<u32> {
            let at = v.partition_point(|&(a, _)| a < key);
            v.get(at).filter(|&&(a, _)| a == key).map(|&(_, i)| i)
        }
        match (self, addr) {
            (Lookup::V4(v), IpAddr::V4(a)) => search(v, u32::from(a)),
            (Lookup::V6(v), IpAddr::V6(a)) => search(v, u128::from(a)),
            _ => None,
        }
    }
}

/// Hosts in target order, with what the receiver learnt of each.
#[derive(Debug)]
pub struct HostSet {
    /// Hosts in target order.
    pub hosts: HostAddrs,
    /// (address, position in `hosts`), sorted by address, for reply lookup.
    lookup: Lookup,
    /// TTL of the last reply per host (nmap's reason_ttl).
    ttl: Vec<AtomicU8>,
    /// Hosts that answered anything, one bit each.
    alive: Vec<AtomicU64>,
    /// Why each host is up: the first reply's kind ([`HostReason`] code).
    reason: Vec<AtomicU8>,
    /// Source address per host, when targets route through different ones;
    /// empty when `default_source` serves every host.
    sources: HostAddrs,
    default_source: IpAddr,
}

impl HostSet {
    pub fn new(hosts: impl Into<HostAddrs>) -> Self {
        let hosts = hosts.into();
        let n = hosts.len();
        HostSet {
            lookup: Lookup::new(&hosts),
            ttl: (0..n).map(|_| AtomicU8::new(0)).collect(),
            alive: (0..n.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
            reason: (0..n).map(|_| AtomicU8::new(0)).collect(),
            sources: HostAddrs::V4(Vec::new()),
            default_source: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            hosts,
        }
    }

    /// Set the source address of each host (`sources`, in host order, or
    /// empty when `default` serves all of them).
    pub fn with_sources(mut self, sources: impl Into<HostAddrs>, default: IpAddr) -> Self {
        self.sources = sources.into();
        self.default_source = default;
        self
    }

    /// The hosts of `jobs`, each with its source address from the routing
    /// table when `per_target`, else `source` for all. The caller keeps only
    /// jobs of `source`'s family (the scan's; see [`same_family`]): host
    /// `i` of the set must be job `i`.
    pub fn for_jobs(jobs: &[HostJob], source: IpAddr, per_target: bool) -> Self {
        let hosts = HostAddrs::of_family(source, jobs.iter().map(|j| &j.addr));
        let sources: Vec<IpAddr> = if per_target {
            hosts
                .iter()
                .map(|a| crate::net::route::source_for_addr(a).unwrap_or(source))
                .collect()
        } else {
            Vec::new()
        };
        let sources = HostAddrs::of_family(source, sources.iter());
        HostSet::new(hosts).with_sources(sources, source)
    }

    /// Our address towards host `host`.
    pub fn source(&self, host: u32) -> IpAddr {
        self.sources
            .get(host as usize)
            .unwrap_or(self.default_source)
    }

    /// The address of host `host` (unspecified past the end).
    pub fn host(&self, host: u32) -> IpAddr {
        self.hosts
            .get(host as usize)
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    pub fn host_count(&self) -> u64 {
        self.hosts.len() as u64
    }

    /// Position of `addr` in this window (the first, if listed twice); an
    /// address of the other family is never in it.
    pub fn host_index(&self, addr: IpAddr) -> Option<u32> {
        self.lookup.find(addr)
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

/// True when `job` is of the scan's family (`v4`: an IPv4 scan).
pub fn same_family(job: &HostJob, v4: bool) -> bool {
    job.addr.is_ipv4() == v4
}

impl From<Vec<Ipv4Addr>> for HostAddrs {
    fn from(v: Vec<Ipv4Addr>) -> Self {
        HostAddrs::V4(v)
    }
}

impl From<Vec<Ipv6Addr>> for HostAddrs {
    fn from(v: Vec<Ipv6Addr>) -> Self {
        HostAddrs::V6(v)
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
        scripts: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(last: u16) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last)
    }

    #[test]
    fn ipv6_hosts_are_found_and_ipv4_ones_are_not() {
        let set = HostSet::new(vec![v6(9), v6(1), v6(5)]);
        assert_eq!(set.host_index(IpAddr::V6(v6(1))), Some(1));
        assert_eq!(set.host_index(IpAddr::V6(v6(9))), Some(0));
        assert_eq!(set.host_index(IpAddr::V6(v6(2))), None);
        // The v4 address whose u32 equals a v6 key's low bits is not a host.
        assert_eq!(set.host_index(IpAddr::V4(Ipv4Addr::new(0, 0, 0, 1))), None);
        assert_eq!(set.host(2), IpAddr::V6(v6(5)));
        let v4 = HostSet::new(vec![Ipv4Addr::new(0, 0, 0, 1)]);
        assert_eq!(v4.host_index(IpAddr::V6(v6(1))), None);
        assert_eq!(
            v4.host_index(IpAddr::V4(Ipv4Addr::new(0, 0, 0, 1))),
            Some(0)
        );
    }

    #[test]
    fn a_window_takes_the_jobs_of_its_family() {
        let jobs: Vec<HostJob> = ["2001:db8::2", "198.18.0.1", "::1"]
            .iter()
            .map(|a| HostJob {
                addr: a.parse().expect("address"),
                hostname: None,
                scope_id: 0,
            })
            .collect();
        let src = IpAddr::V6(v6(1));
        let set = HostSet::for_jobs(&jobs, src, false);
        assert_eq!(set.host_count(), 2);
        assert_eq!(set.host(1), IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(set.source(1), src);
        let set = HostSet::for_jobs(&jobs, IpAddr::V4(Ipv4Addr::LOCALHOST), false);
        assert_eq!(set.host_count(), 1);
        assert_eq!(set.host(0), IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)));
        assert!(!same_family(&jobs[1], src.is_ipv4()) && same_family(&jobs[2], false));
    }

    /// The route to ::1 leaves from ::1 (needs IPv6 on loopback, which
    /// every Linux test machine here has).
    #[test]
    fn per_target_sources_come_from_the_routing_table() {
        let jobs = [HostJob {
            addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
            hostname: None,
            scope_id: 0,
        }];
        let set = HostSet::for_jobs(&jobs, IpAddr::V6(v6(1)), true);
        assert_eq!(set.source(0), IpAddr::V6(Ipv6Addr::LOCALHOST));
    }
}
