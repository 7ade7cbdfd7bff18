//! `--exclude` and `--excludefile`: addresses of either family never to scan.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::octets::OctetSet;
use super::parse::{block, block6, Spec};
use super::tokens::file_tokens;
use super::{Family, Resolver, TargetSpec};
use crate::error::{Error, Result};

/// Above this many ranges an octet pattern is kept as a pattern (128 bytes)
/// instead of being split into ranges (8 bytes each).
const MAX_PIECES: u64 = 4096;

/// Addresses never to scan (`--exclude`, `--excludefile`).
///
/// Stored as sorted, merged inclusive ranges, one list per family; octet
/// patterns that would split into more than 4096 ranges (like `*.*.*.1`)
/// are kept as patterns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExcludeSet {
    ranges: Vec<(u32, u32)>,
    pub(super) patterns: Vec<OctetSet>,
    ranges6: Vec<(u128, u128)>,
}

impl ExcludeSet {
    /// An empty set.
    pub fn new() -> Self {
        ExcludeSet::default()
    }

    /// Adds the argument of `--exclude`: expressions separated by commas (as
    /// in nmap, so octet lists like `10.0.0.1,2` cannot be used here).
    pub fn add_list<R: Resolver + ?Sized>(&mut self, list: &str, resolver: &R) -> Result<()> {
        for item in list.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let spec = TargetSpec::parse_exclusion(item)?;
            self.insert(&spec, resolver)?;
        }
        self.normalize();
        Ok(())
    }

    /// Adds the content of an `--excludefile`; errors carry `file:line`.
    pub fn add_file<R: Resolver + ?Sized>(
        &mut self,
        file: &str,
        content: &str,
        resolver: &R,
    ) -> Result<()> {
        for (token, line) in file_tokens(content) {
            TargetSpec::parse_exclusion(token)
                .and_then(|spec| self.insert(&spec, resolver))
                .map_err(|e| e.in_file(file, line))?;
        }
        self.normalize();
        Ok(())
    }

    /// Adds one parsed expression. A hostname excludes every address it
    /// resolves to, of both families (with its `/n` block, if given).
    pub fn add_spec<R: Resolver + ?Sized>(
        &mut self,
        spec: &TargetSpec,
        resolver: &R,
    ) -> Result<()> {
        self.insert(spec, resolver)?;
        self.normalize();
        Ok(())
    }

    fn insert<R: Resolver + ?Sized>(&mut self, spec: &TargetSpec, resolver: &R) -> Result<()> {
        match &spec.spec {
            Spec::Range(lo, hi) => self.ranges.push((*lo, *hi)),
            Spec::Octets(set) if set.piece_count() <= MAX_PIECES => {
                self.ranges.extend(set.pieces());
            }
            Spec::Octets(set) => self.patterns.push((**set).clone()),
            // An exclusion is an address, whatever link it is reached on.
            Spec::Range6 { lo, hi, .. } => self.ranges6.push((*lo, *hi)),
            Spec::Host { name, prefix } => {
                let addrs = resolver.resolve(name).map_err(|reason| Error::Resolve {
                    name: name.clone(),
                    reason,
                })?;
                for a in addrs {
                    self.insert_block(a, *prefix, spec.family);
                }
            }
        }
        Ok(())
    }

    /// A resolved name's block. The netmask was checked against the family
    /// the list was parsed for; an address of the other family is excluded
    /// alone, since a `/24` means nothing sensible for IPv6 and vice versa.
    fn insert_block(&mut self, addr: IpAddr, prefix: Option<u8>, family: Family) {
        match addr {
            IpAddr::V4(a) => {
                let p = prefix.filter(|_| family == Family::V4);
                self.ranges.push(block(u32::from(a), p));
            }
            IpAddr::V6(a) => {
                let p = prefix.filter(|_| family == Family::V6);
                self.ranges6.push(block6(u128::from(a), p));
            }
        }
    }

    fn normalize(&mut self) {
        merge(&mut self.ranges, |hi| u64::from(hi) + 1, u64::from);
        merge(&mut self.ranges6, |hi| hi.saturating_add(1), |lo| lo);
    }

    /// Whether `addr` is excluded.
    pub fn contains(&self, addr: impl Into<IpAddr>) -> bool {
        match addr.into() {
            IpAddr::V4(a) => self.skip(u32::from(a)).is_some(),
            IpAddr::V6(a) => self.skip6(u128::from(a)).is_some(),
        }
    }

    /// If `addr` is excluded, the next address that might not be.
    pub(super) fn skip(&self, addr: u32) -> Option<u64> {
        let i = self.ranges.partition_point(|&(_, hi)| hi < addr);
        if let Some(&(lo, hi)) = self.ranges.get(i) {
            if lo <= addr {
                return Some(u64::from(hi) + 1);
            }
        }
        self.patterns
            .iter()
            .any(|p| p.contains(addr))
            .then_some(u64::from(addr) + 1)
    }

    /// [`ExcludeSet::skip`] for IPv6: `None` past the end means the rest of
    /// the address space is excluded.
    pub(super) fn skip6(&self, addr: u128) -> Option<Option<u128>> {
        let i = self.ranges6.partition_point(|&(_, hi)| hi < addr);
        match self.ranges6.get(i) {
            Some(&(lo, hi)) if lo <= addr => Some(hi.checked_add(1)),
            _ => None,
        }
    }

    /// The merged excluded IPv4 ranges, ascending (octet patterns not included).
    pub fn ranges(&self) -> impl Iterator<Item = (Ipv4Addr, Ipv4Addr)> + '_ {
        self.ranges
            .iter()
            .map(|&(lo, hi)| (Ipv4Addr::from(lo), Ipv4Addr::from(hi)))
    }

    /// The merged excluded IPv6 ranges, ascending.
    pub fn ranges6(&self) -> impl Iterator<Item = (Ipv6Addr, Ipv6Addr)> + '_ {
        self.ranges6
            .iter()
            .map(|&(lo, hi)| (Ipv6Addr::from(lo), Ipv6Addr::from(hi)))
    }

    /// True when nothing is excluded.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty() && self.patterns.is_empty() && self.ranges6.is_empty()
    }
}

/// Sorts inclusive ranges and merges those that overlap or touch;
/// `after` is the value just past a range's end, `widen` the same scale
/// for a start, so the test cannot overflow at the top of the space.
fn merge<T: Copy + Ord, W: Ord>(
    ranges: &mut Vec<(T, T)>,
    after: impl Fn(T) -> W,
    widen: impl Fn(T) -> W,
) {
    ranges.sort_unstable();
    let mut merged: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for &(lo, hi) in ranges.iter() {
        match merged.last_mut() {
            Some(last) if widen(lo) <= after(last.1) => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged.shrink_to_fit();
    *ranges = merged;
}
