//! Walking a [`TargetList`]: one expression at a time, each with a cursor.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::octets::OctetSet;
use super::parse::{block, block6, Spec};
use super::tokens::{Token, Tokens};
use super::{ExcludeSet, Family, Resolver, Target, TargetList, Verdict};
use crate::error::{Error, Result};

/// The addresses of the expression being walked.
#[derive(Debug)]
enum AddrSet {
    Range(u32, u32),
    Octets(Box<OctetSet>),
    Range6(u128, u128),
}

/// The expression being walked.
#[derive(Debug)]
struct Active {
    set: AddrSet,
    /// Next candidate address (an IPv4 address in the low 32 bits);
    /// `None` when done.
    cursor: Option<u128>,
    /// Hostname and the address it resolved to.
    named: Option<(String, IpAddr)>,
    /// Interface of a scoped IPv6 block.
    scope: Option<Box<str>>,
}

impl Active {
    fn new(set: AddrSet, scope: Option<Box<str>>) -> Active {
        let cursor = match &set {
            AddrSet::Range(lo, _) => u128::from(*lo),
            AddrSet::Octets(_) => 0,
            AddrSet::Range6(lo, _) => *lo,
        };
        Active {
            set,
            cursor: Some(cursor),
            named: None,
            scope,
        }
    }

    /// The first address at or after the cursor that is not excluded, and
    /// the cursor moved past it.
    fn next_addr(&mut self, excludes: &ExcludeSet) -> Option<IpAddr> {
        loop {
            let from = self.cursor?;
            let found = match &self.set {
                AddrSet::Range6(lo, hi) => {
                    let a = from.max(*lo);
                    (a <= *hi).then_some(a)
                }
                v4 => next_v4(v4, from).map(u128::from),
            };
            let Some(addr) = found else {
                self.cursor = None;
                return None;
            };
            let (addr, skip) = match &self.set {
                AddrSet::Range6(..) => (IpAddr::V6(Ipv6Addr::from(addr)), excludes.skip6(addr)),
                _ => {
                    let a = addr as u32;
                    let skip = excludes.skip(a).map(|n| Some(u128::from(n)));
                    (IpAddr::V4(Ipv4Addr::from(a)), skip)
                }
            };
            if let Some(next) = skip {
                self.cursor = next;
                continue;
            }
            self.cursor = addr_after(&addr);
            return Some(addr);
        }
    }

    fn next_allowed(&mut self, excludes: &ExcludeSet) -> Option<Target> {
        let addr = self.next_addr(excludes)?;
        let hostname = match &self.named {
            Some((name, a)) if *a == addr => Some(name.clone()),
            _ => None,
        };
        Some(Target {
            addr,
            hostname,
            scope: self.scope.as_deref().map(str::to_owned),
        })
    }
}

/// The next IPv4 address of `set` at or after `from` (which may be past
/// the end of the IPv4 space).
fn next_v4(set: &AddrSet, from: u128) -> Option<u32> {
    let from = u32::try_from(from).ok()?;
    match set {
        AddrSet::Range(lo, hi) => {
            let a = from.max(*lo);
            (a <= *hi).then_some(a)
        }
        AddrSet::Octets(set) => set.first_at_or_after(from),
        AddrSet::Range6(..) => None,
    }
}

/// The cursor just past `addr`; `None` at the top of the space.
fn addr_after(addr: &IpAddr) -> Option<u128> {
    match addr {
        IpAddr::V4(a) => Some(u128::from(u32::from(*a)) + 1),
        IpAddr::V6(a) => u128::from(*a).checked_add(1),
    }
}

/// Lazy iterator over the targets of a [`TargetList`]; see [`TargetList::iter`].
pub struct Targets<'a, R: ?Sized> {
    list: &'a TargetList,
    tokens: Tokens<'a>,
    excludes: &'a ExcludeSet,
    resolver: &'a R,
    active: Option<Active>,
}

impl<R: ?Sized> fmt::Debug for Targets<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Targets")
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl<'a, R: Resolver + ?Sized> Targets<'a, R> {
    pub(super) fn new(list: &'a TargetList, excludes: &'a ExcludeSet, resolver: &'a R) -> Self {
        Targets {
            list,
            tokens: list.tokens(),
            excludes,
            resolver,
            active: None,
        }
    }

    /// The walk of one expression; `None` for a file's literal of the
    /// other family, which [`TargetList::warnings`] reports.
    fn activate(&self, token: Token<'_>) -> Result<Option<Active>> {
        let Verdict::Scan(spec) = self.list.judge(&token)? else {
            return Ok(None);
        };
        Ok(Some(match spec.spec {
            Spec::Range(lo, hi) => Active::new(AddrSet::Range(lo, hi), None),
            Spec::Octets(set) => Active::new(AddrSet::Octets(set), None),
            Spec::Range6 { lo, hi, scope } => Active::new(AddrSet::Range6(lo, hi), scope),
            Spec::Host { name, prefix } => {
                let addr = resolve_first(&name, self.resolver, self.list.family)
                    .map_err(|e| token.wrap(e))?;
                let set = match addr {
                    IpAddr::V4(a) => {
                        let (lo, hi) = block(u32::from(a), prefix);
                        AddrSet::Range(lo, hi)
                    }
                    IpAddr::V6(a) => {
                        let (lo, hi) = block6(u128::from(a), prefix);
                        AddrSet::Range6(lo, hi)
                    }
                };
                let mut active = Active::new(set, None);
                active.named = Some((name, addr));
                active
            }
        }))
    }
}

impl<R: Resolver + ?Sized> Iterator for Targets<'_, R> {
    type Item = Result<Target>;

    fn next(&mut self) -> Option<Result<Target>> {
        loop {
            if let Some(active) = &mut self.active {
                if let Some(t) = active.next_allowed(self.excludes) {
                    return Some(Ok(t));
                }
                self.active = None;
            }
            let token = self.tokens.next()?;
            match self.activate(token) {
                Ok(a) => self.active = a,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Resolves a hostname to its first address of `family`, as nmap does.
fn resolve_first<R: Resolver + ?Sized>(name: &str, resolver: &R, family: Family) -> Result<IpAddr> {
    let addrs = resolver.resolve(name).map_err(|reason| Error::Resolve {
        name: name.to_owned(),
        reason,
    })?;
    if let Some(a) = addrs.iter().find(|a| Family::of(a) == family) {
        return Ok(*a);
    }
    let reason = match (addrs.is_empty(), family) {
        (true, _) => "no addresses",
        (false, Family::V4) => "no IPv4 address (scan its IPv6 addresses with -6)",
        (false, Family::V6) => "no IPv6 address (scan its IPv4 addresses without -6)",
    };
    Err(Error::Resolve {
        name: name.to_owned(),
        reason: reason.to_owned(),
    })
}
