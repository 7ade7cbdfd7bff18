//! Target specifications (nmap grammar) expanded lazily into addresses.
//!
//! Supported expressions, as in nmap:
//!
//! - IPv4: `192.168.1.1`, CIDR `10.0.0.0/8` (`/0`..`/32`, the network base
//!   is used), octet ranges and lists `192.168.0-3.1-254`, `10.0.1,3.5-7`,
//!   open ends `10.0.0.-` / `10.0.0.100-`, `*` for a whole octet;
//! - IPv6 (with `-6`): `2001:db8::1`, CIDR `2001:db8::/120`, and link-local
//!   addresses with their interface, `fe80::1%eth0`;
//! - hostnames (`localhost`) and hostname/CIDR (`localhost/30`), resolved to
//!   the list's [`Family`].
//!
//! A scan is of one family, as in nmap: a literal of the other family on
//! the command line is an error, and in an `-iL` file it is skipped with a
//! warning ([`TargetList::warnings`]). An IPv6 block larger than a /96
//! (2^32 addresses) is refused: a /64 would take centuries to sweep.
//!
//! Nothing here holds "all hosts": a [`TargetList`] keeps the text it was
//! given (arguments and `-iL` file contents) and re-parses one expression at a
//! time while iterating; a CIDR or octet range is walked with a cursor. The
//! only per-address allocations are the hostname copy for the address a
//! hostname resolved to and the interface name of a scoped IPv6 block.
//! Excludes are merged address ranges searched by bisection, and an excluded
//! range is skipped in one step, not address by address.

mod exclude;
mod octets;
mod parse;
mod tokens;
mod walk;

use std::net::IpAddr;

use crate::error::{Error, Result};
use parse::{oversized_netmask, parse_spec, Netmasks, Spec};
use tokens::{Source, Token, Tokens};

pub use exclude::ExcludeSet;
pub use walk::Targets;

/// The largest IPv6 block that is scanned, in host bits: a /96.
pub const MAX_IPV6_HOST_BITS: u32 = 32;

/// Forward name resolution, supplied by the caller (prtip-core does no I/O).
///
/// Called once per hostname expression. nmap scans the first address of
/// the scan's family a name resolves to, and so does prtip.
pub trait Resolver {
    /// All addresses of `name`, in resolver order, or a one-line reason.
    fn resolve(&self, name: &str) -> std::result::Result<Vec<IpAddr>, String>;
}

impl<F> Resolver for F
where
    F: Fn(&str) -> std::result::Result<Vec<IpAddr>, String>,
{
    fn resolve(&self, name: &str) -> std::result::Result<Vec<IpAddr>, String> {
        self(name)
    }
}

/// A resolver that knows no names: for callers (and tests) without DNS.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoResolver;

impl Resolver for NoResolver {
    fn resolve(&self, _name: &str) -> std::result::Result<Vec<IpAddr>, String> {
        Err("name resolution is not available".to_owned())
    }
}

/// The address family of a scan: IPv4, or IPv6 with nmap's `-6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Family {
    #[default]
    V4,
    V6,
}

impl Family {
    /// The family of `addr`.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// "IPv4" or "IPv6".
    pub fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }

    /// Address bits: 32 or 128.
    pub fn bits(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }
}

/// One address to scan, with the hostname the user typed for it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The address to scan.
    pub addr: IpAddr,
    /// The name the user typed, set only on the address the name resolved to
    /// (for `localhost/30`, nmap names 127.0.0.1 but not .0, .2 and .3).
    pub hostname: Option<String>,
    /// The interface of a link-local IPv6 target (`fe80::1%eth0`).
    pub scope: Option<String>,
}

/// One parsed target expression (not yet resolved or expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    spec: Spec,
    /// The family a hostname resolves to, and its netmask's width.
    family: Family,
}

impl TargetSpec {
    /// Parses one nmap target expression of an IPv4 scan; the error names
    /// the bad token. A netmask longer than 32 bits means the one address,
    /// as nmap reads a scan target (see [`TargetList::warnings`]);
    /// [`ExcludeSet`] refuses it, as nmap does in `--exclude`. IPv6 literals
    /// parse too (their family is [`TargetSpec::literal_family`]).
    pub fn parse(token: &str) -> Result<TargetSpec> {
        TargetSpec::parse_in(token, Family::V4)
    }

    /// [`TargetSpec::parse`] for a scan of `family`: with [`Family::V6`], a
    /// hostname's netmask may be up to /128.
    pub fn parse_in(token: &str, family: Family) -> Result<TargetSpec> {
        let spec = parse_spec(token, Netmasks::AssumeHost, family)?;
        Ok(TargetSpec { spec, family })
    }

    /// [`TargetSpec::parse`] for an exclusion: a netmask longer than the
    /// family's is an error. Names resolve to both families there.
    fn parse_exclusion(token: &str) -> Result<TargetSpec> {
        let family = if token.contains(':') {
            Family::V6
        } else {
            Family::V4
        };
        let spec = parse_spec(token, Netmasks::Strict, family)?;
        Ok(TargetSpec { spec, family })
    }

    /// Number of addresses the expression covers (a hostname counts as one
    /// address, `name/n` as the size of the block); computed, not expanded.
    pub fn count(&self) -> u64 {
        match &self.spec {
            Spec::Range(lo, hi) => u64::from(hi - lo) + 1,
            Spec::Octets(set) => set.count(),
            Spec::Range6 { lo, hi, .. } => u64::try_from(hi - lo).map_or(u64::MAX, |n| n + 1),
            Spec::Host { prefix, .. } => prefix.map_or(1, |p| {
                1u64.checked_shl(u32::from(self.family.bits() - p))
                    .unwrap_or(u64::MAX)
            }),
        }
    }

    /// The hostname, when the expression is one.
    pub fn hostname(&self) -> Option<&str> {
        match &self.spec {
            Spec::Host { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The family of an address literal; `None` for a hostname, which
    /// resolves to the scan's family.
    pub fn literal_family(&self) -> Option<Family> {
        match &self.spec {
            Spec::Range(..) | Spec::Octets(_) => Some(Family::V4),
            Spec::Range6 { .. } => Some(Family::V6),
            Spec::Host { .. } => None,
        }
    }
}

impl std::str::FromStr for TargetSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<TargetSpec> {
        TargetSpec::parse(s)
    }
}

/// Target expressions from the command line and `-iL` files, in order.
///
/// Holds only the text; [`TargetList::iter`] parses and expands one
/// expression at a time.
#[derive(Debug, Clone, Default)]
pub struct TargetList {
    sources: Vec<Source>,
    family: Family,
}

/// What to do with one expression of a list.
enum Verdict {
    Scan(TargetSpec),
    /// A literal of the other family in an `-iL` file.
    Skip(Family),
}

impl TargetList {
    /// An empty list of IPv4 targets.
    pub fn new() -> Self {
        TargetList::default()
    }

    /// An empty list of `family` targets (`-6` is [`Family::V6`]).
    pub fn with_family(family: Family) -> Self {
        TargetList {
            sources: Vec::new(),
            family,
        }
    }

    /// The family of the scan.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Adds one command-line target expression.
    pub fn push_arg(&mut self, spec: impl Into<String>) {
        self.sources.push(Source::Arg(spec.into()));
    }

    /// Adds the content of an `-iL` file: whitespace-separated expressions,
    /// `#` comments. `file` is the name used in errors (`-` for stdin).
    pub fn push_file(&mut self, file: impl Into<String>, content: impl Into<String>) {
        self.sources.push(Source::File {
            name: file.into(),
            content: content.into(),
        });
    }

    fn tokens(&self) -> Tokens<'_> {
        Tokens {
            sources: &self.sources,
            rest: None,
            line: 1,
        }
    }

    /// Parses a token and checks its family: a literal of the other family
    /// is an error on the command line (as in nmap) and skipped in a file.
    fn judge(&self, token: &Token<'_>) -> Result<Verdict> {
        let spec = TargetSpec::parse_in(token.text, self.family).map_err(|e| token.wrap(e))?;
        match spec.literal_family() {
            Some(f) if f != self.family && token.file.is_some() => Ok(Verdict::Skip(f)),
            Some(f) if f != self.family => Err(Error::WrongFamily {
                token: token.text.to_owned(),
                family: f.name(),
                hint: match f {
                    Family::V6 => "scan IPv6 targets with -6",
                    Family::V4 => "-6 scans IPv6 targets only; scan IPv4 without it",
                },
            }),
            _ => Ok(Verdict::Scan(spec)),
        }
    }

    /// Parses every expression (without resolving names) and returns the
    /// number of addresses before excludes, for progress reporting. The first
    /// bad expression is the error (`file:line: ...` for `-iL` content).
    pub fn count(&self) -> Result<u64> {
        let mut total: u64 = 0;
        for token in self.tokens() {
            if let Verdict::Scan(spec) = self.judge(&token)? {
                total = total.saturating_add(spec.count());
            }
        }
        Ok(total)
    }

    /// What nmap warns about but scans (or skips) anyway, one line each
    /// (with `file:line` for `-iL` content): a netmask longer than 32 bits is
    /// read as /32 (`10.0.0.0/33` is the one address 10.0.0.0), and a file's
    /// literal of the other family is skipped.
    pub fn warnings(&self) -> impl Iterator<Item = String> + '_ {
        self.tokens().filter_map(|token| {
            let what = match self.judge(&token) {
                Ok(Verdict::Skip(f)) => format!(
                    "skipping \"{}\": an {} address in an {} scan",
                    token.text,
                    f.name(),
                    self.family.name()
                ),
                Ok(Verdict::Scan(spec)) => {
                    let (_, bits) = token.text.rsplit_once('/')?;
                    if !oversized_netmask(bits) || spec.family != Family::V4 {
                        return None;
                    }
                    format!(
                        "illegal netmask in \"{}\": assuming /32 (one host), as nmap does",
                        token.text
                    )
                }
                Err(_) => return None,
            };
            Some(match token.file {
                Some((file, line)) => format!("{file}:{line}: {what}"),
                None => what,
            })
        })
    }

    /// The interface of the scan's link-local targets (`fe80::1%eth0`), if
    /// any: a scan reaches them through one interface, so two different
    /// scopes are an error. Parses every expression, like
    /// [`TargetList::count`], without expanding or resolving anything.
    pub fn link_scope(&self) -> Result<Option<String>> {
        let mut found: Option<Box<str>> = None;
        for token in self.tokens() {
            let Verdict::Scan(TargetSpec {
                spec: Spec::Range6 {
                    scope: Some(scope), ..
                },
                ..
            }) = self.judge(&token)?
            else {
                continue;
            };
            match &found {
                Some(first) if *first != scope => {
                    return Err(Error::target(
                        token.text,
                        format!(
                            "link-local targets on two interfaces ({first} and {scope}): scan each interface's targets separately"
                        ),
                    ))
                }
                _ => found = Some(scope),
            }
        }
        Ok(found.map(String::from))
    }

    /// True when no expression was given (a file of comments counts as none).
    pub fn is_empty(&self) -> bool {
        self.tokens().next().is_none()
    }

    /// The targets, lazily, skipping `excludes`. Hostnames are resolved when
    /// reached, once each. An expression that fails to parse or resolve
    /// yields one `Err` and iteration continues with the next one, so the
    /// caller can warn like nmap (`Failed to resolve "name".`) and go on.
    /// Call [`TargetList::count`] first to reject syntax errors up front.
    pub fn iter<'a, R: Resolver + ?Sized>(
        &'a self,
        excludes: &'a ExcludeSet,
        resolver: &'a R,
    ) -> Targets<'a, R> {
        Targets::new(self, excludes, resolver)
    }
}

#[cfg(test)]
mod tests;
