//! Parsing one target expression into a [`Spec`].

use std::net::Ipv6Addr;

use super::octets::OctetSet;
use super::{Family, MAX_IPV6_HOST_BITS};
use crate::error::{Error, Result};

/// One parsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Spec {
    /// A plain address, CIDR block, or any octet expression that is one
    /// contiguous range: 8 bytes.
    Range(u32, u32),
    Octets(Box<OctetSet>),
    /// An IPv6 address or block, with the interface of a scoped
    /// (link-local) address.
    Range6 {
        lo: u128,
        hi: u128,
        scope: Option<Box<str>>,
    },
    Host {
        name: String,
        prefix: Option<u8>,
    },
}

/// What a netmask longer than the family's (`10.0.0.0/33`) means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Netmasks {
    /// An error (exclusions: nmap quits on them).
    Strict,
    /// For IPv4 the one address, after a warning (scan targets: nmap 7.93
    /// says `Illegal netmask in "10.0.0.0/33". Assuming /32 (one host)` and
    /// scans it). See `TargetList::warnings`. IPv6 netmasks stay strict.
    AssumeHost,
}

pub(super) fn parse_spec(token: &str, netmasks: Netmasks, family: Family) -> Result<Spec> {
    if token.is_empty() {
        return Err(Error::target(token, "empty target"));
    }
    let (host, prefix_text) = match token.rfind('/') {
        Some(i) => (&token[..i], Some(&token[i + 1..])),
        None => (token, None),
    };
    if host.contains(':') {
        let prefix = prefix_text
            .map(|p| parse_prefix(p, token, Family::V6.bits()))
            .transpose()?;
        return parse_v6(host, prefix, token);
    }
    let literal = host
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b',' | b'-' | b'*'));
    // A hostname's netmask is as wide as the scan's family; an IPv4
    // literal's is 32 bits whatever the scan.
    let bits = if literal { 32 } else { family.bits() };
    let prefix = match prefix_text {
        Some(p) if netmasks == Netmasks::AssumeHost && bits == 32 && oversized_netmask(p) => {
            Some(32)
        }
        Some(p) => Some(parse_prefix(p, token, bits)?),
        None => None,
    };
    if host.is_empty() {
        return Err(Error::target(token, "missing address before \"/\""));
    }
    if literal {
        let mut set = parse_octets(host, token)?;
        set.apply_prefix(prefix.unwrap_or(32));
        return Ok(simplify(set));
    }
    check_hostname(host, token)?;
    if let Some(p) = prefix.filter(|_| family == Family::V6) {
        check_sweepable(p, token)?;
    }
    Ok(Spec::Host {
        name: host.to_owned(),
        prefix,
    })
}

fn parse_prefix(text: &str, token: &str, max: u8) -> Result<u8> {
    match text.parse::<u8>() {
        Ok(p) if p <= max && text.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => Err(Error::InvalidPrefix {
            prefix: text.to_owned(),
            token: token.to_owned(),
        }),
    }
}

/// `2001:db8::1`, `2001:db8::/120`, `fe80::1%eth0`.
fn parse_v6(host: &str, prefix: Option<u8>, token: &str) -> Result<Spec> {
    let (addr_text, scope) = match host.split_once('%') {
        Some((a, s)) => (a, Some(check_scope(s, token)?)),
        None => (host, None),
    };
    let addr: Ipv6Addr = addr_text
        .parse()
        .map_err(|_| Error::target(token, "not a valid IPv6 address"))?;
    if let Some(p) = prefix {
        check_sweepable(p, token)?;
    }
    let (lo, hi) = block6(u128::from(addr), prefix);
    Ok(Spec::Range6 {
        lo,
        hi,
        scope: scope.map(Box::from),
    })
}

/// An interface name as Linux allows it (at most 15 bytes, no `/` or
/// whitespace), or an interface index.
fn check_scope<'a>(scope: &'a str, token: &str) -> Result<&'a str> {
    let ok = !scope.is_empty()
        && scope.len() <= 15
        && scope
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'));
    if ok {
        Ok(scope)
    } else {
        Err(Error::target(
            token,
            format!("\"{scope}\" is not an interface name"),
        ))
    }
}

/// An IPv6 block wider than a /96 cannot be swept: a /64 holds 2^64
/// addresses, centuries of probes at any rate.
fn check_sweepable(prefix: u8, token: &str) -> Result<()> {
    let host_bits = 128 - u32::from(prefix);
    if host_bits <= MAX_IPV6_HOST_BITS {
        return Ok(());
    }
    Err(Error::TooManyAddresses {
        token: token.to_owned(),
        host_bits,
        max_prefix: 128 - MAX_IPV6_HOST_BITS,
    })
}

/// An IPv6 address range for one CIDR block around `addr`.
pub(super) fn block6(addr: u128, prefix: Option<u8>) -> (u128, u128) {
    match prefix {
        None | Some(128) => (addr, addr),
        Some(0) => (0, u128::MAX),
        Some(p) => {
            let host_bits = u128::MAX >> p;
            (addr & !host_bits, addr | host_bits)
        }
    }
}

/// nmap reads the netmask with `strtol` into an `int`: digits only, and a
/// value beyond `i32::MAX` is a failed split, not an illegal netmask.
pub(super) fn oversized_netmask(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<i32>().is_ok_and(|bits| bits > 32)
}

/// A set that is one contiguous range is stored as the range.
fn simplify(set: OctetSet) -> Spec {
    if set.piece_count() == 1 {
        if let Some((lo, hi)) = set.pieces().next() {
            return Spec::Range(lo, hi);
        }
    }
    Spec::Octets(Box::new(set))
}

fn parse_octets(host: &str, token: &str) -> Result<OctetSet> {
    let mut set = OctetSet::empty();
    let mut n = 0;
    for part in host.split('.') {
        if n == 4 {
            return Err(Error::target(token, "more than 4 octets"));
        }
        parse_octet(part, n, &mut set, token)?;
        n += 1;
    }
    if n < 4 {
        return Err(Error::target(
            token,
            format!("expected 4 octets, found {n} (a range needs all four, like 10.0.0.1-254)"),
        ));
    }
    Ok(set)
}

/// `*`, or a comma list of `#`, `#-#`, `-#`, `#-`, `-`.
fn parse_octet(part: &str, i: usize, set: &mut OctetSet, token: &str) -> Result<()> {
    if part.is_empty() {
        return Err(Error::target(token, "empty octet"));
    }
    if part == "*" {
        for v in 0..=u8::MAX {
            set.set(i, v);
        }
        return Ok(());
    }
    for item in part.split(',') {
        let (lo, hi) = match item.split_once('-') {
            None => {
                let v = octet_value(item, token)?;
                (v, v)
            }
            Some((a, b)) => {
                let lo = if a.is_empty() {
                    0
                } else {
                    octet_value(a, token)?
                };
                let hi = if b.is_empty() {
                    u8::MAX
                } else {
                    octet_value(b, token)?
                };
                if hi < lo {
                    return Err(Error::target(
                        token,
                        format!("octet range {item} is reversed"),
                    ));
                }
                (lo, hi)
            }
        };
        for v in lo..=hi {
            set.set(i, v);
        }
    }
    Ok(())
}

fn octet_value(text: &str, token: &str) -> Result<u8> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        let what = if text.is_empty() {
            "empty octet".to_owned()
        } else {
            format!("malformed octet \"{text}\"")
        };
        return Err(Error::target(token, what));
    }
    let trimmed = text.trim_start_matches('0');
    match trimmed.parse::<u8>() {
        Ok(v) => Ok(v),
        Err(_) if trimmed.is_empty() => Ok(0),
        Err(_) => Err(Error::target(token, format!("octet {text} out of range"))),
    }
}

fn check_hostname(host: &str, token: &str) -> Result<()> {
    if host.len() > 253 {
        return Err(Error::target(token, "hostname longer than 253 characters"));
    }
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        return Err(Error::target(
            token,
            format!("character {c:?} is not allowed in a hostname"),
        ));
    }
    if host.starts_with('-') {
        return Err(Error::target(token, "a hostname cannot start with '-'"));
    }
    let labels = host.strip_suffix('.').unwrap_or(host);
    if labels.split('.').any(|l| l.is_empty() || l.len() > 63) {
        return Err(Error::target(token, "empty or over-long label in hostname"));
    }
    Ok(())
}

/// An address range for one CIDR block around `addr`.
pub(super) fn block(addr: u32, prefix: Option<u8>) -> (u32, u32) {
    match prefix {
        None | Some(32) => (addr, addr),
        Some(0) => (0, u32::MAX),
        Some(p) => {
            let host_bits = u32::MAX >> p;
            (addr & !host_bits, addr | host_bits)
        }
    }
}
