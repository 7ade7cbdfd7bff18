//! Port lists: nmap's `-p` grammar, and the compact set every scan iterates.
//!
//! A [`PortList`] is a sorted vector of disjoint, non-adjacent inclusive
//! ranges, so `-p-` costs one range (4 bytes), not 65,535 entries.

use crate::error::{Error, Result};
use crate::services;

/// Highest port number.
const MAX_PORT: u32 = 65_535;

/// A set of ports stored as sorted, merged, inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PortList {
    /// Invariant: sorted, and `ranges[i].1 + 1 < ranges[i + 1].0`.
    ranges: Vec<(u16, u16)>,
}

impl PortList {
    /// An empty list.
    pub fn new() -> Self {
        PortList { ranges: Vec::new() }
    }

    /// All ports from 1 to 65535 (nmap's `-p-`).
    pub fn all() -> Self {
        PortList {
            ranges: vec![(1, u16::MAX)],
        }
    }

    /// Builds a list from inclusive ranges in any order; overlapping and
    /// adjacent ranges are merged and reversed ones are ignored.
    pub fn from_ranges<I: IntoIterator<Item = (u16, u16)>>(ranges: I) -> Self {
        let mut ranges: Vec<(u16, u16)> = ranges.into_iter().filter(|(a, b)| a <= b).collect();
        ranges.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => {
                    last.1 = last.1.max(hi);
                }
                _ => merged.push((lo, hi)),
            }
        }
        merged.shrink_to_fit();
        PortList { ranges: merged }
    }

    /// Number of ports in the list.
    pub fn len(&self) -> usize {
        self.ranges
            .iter()
            .map(|&(lo, hi)| usize::from(hi - lo) + 1)
            .sum()
    }

    /// True when the list holds no port.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether `port` is in the list (binary search over the ranges).
    pub fn contains(&self, port: u16) -> bool {
        let idx = self.ranges.partition_point(|&(_, hi)| hi < port);
        self.ranges.get(idx).is_some_and(|&(lo, _)| lo <= port)
    }

    /// The ports in ascending order.
    pub fn iter(&self) -> PortIter<'_> {
        PortIter {
            ranges: &self.ranges,
            next: self.ranges.first().map_or(0, |&(lo, _)| u32::from(lo)),
        }
    }

    /// The merged inclusive ranges, ascending.
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }

    /// The smallest and the largest port, if any.
    pub fn bounds(&self) -> Option<(u16, u16)> {
        Some((self.ranges.first()?.0, self.ranges.last()?.1))
    }

    /// nmap's compact form, as in XML `<scaninfo services="...">`:
    /// `1-1000`, `22,80,443`, `1,3-4,6-7` (a two-port run is written as a range).
    pub fn to_nmap_string(&self) -> String {
        let mut out = String::with_capacity(self.ranges.len() * 6);
        for (i, &(lo, hi)) in self.ranges.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&lo.to_string());
            if hi != lo {
                out.push('-');
                out.push_str(&hi.to_string());
            }
        }
        out
    }

    /// Ports of `self` that are not in `other` (`--exclude-ports`).
    pub fn difference(&self, other: &PortList) -> PortList {
        let mut out = Vec::with_capacity(self.ranges.len());
        let mut j = 0;
        for &(lo, hi) in &self.ranges {
            // Ranges of `other` wholly below this one cannot matter again.
            while other.ranges.get(j).is_some_and(|&(_, b_hi)| b_hi < lo) {
                j += 1;
            }
            let mut start = u32::from(lo);
            let mut k = j;
            while let Some(&(b_lo, b_hi)) = other.ranges.get(k) {
                if u32::from(b_lo) > u32::from(hi) {
                    break;
                }
                if u32::from(b_lo) > start {
                    out.push((start, u32::from(b_lo) - 1));
                }
                start = start.max(u32::from(b_hi) + 1);
                k += 1;
            }
            if start <= u32::from(hi) {
                out.push((start, u32::from(hi)));
            }
        }
        // Every bound lies within one of self's u16 ranges.
        PortList::from_ranges(
            out.into_iter()
                .filter_map(|(a, b)| Some((u16::try_from(a).ok()?, u16::try_from(b).ok()?))),
        )
    }

    /// Ports of `self` that are also in `other`.
    pub fn intersect(&self, other: &PortList) -> PortList {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while let (Some(&(a_lo, a_hi)), Some(&(b_lo, b_hi))) =
            (self.ranges.get(i), other.ranges.get(j))
        {
            let lo = a_lo.max(b_lo);
            let hi = a_hi.min(b_hi);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a_hi < b_hi {
                i += 1;
            } else {
                j += 1;
            }
        }
        PortList { ranges: out }
    }
}

impl FromIterator<u16> for PortList {
    fn from_iter<I: IntoIterator<Item = u16>>(iter: I) -> Self {
        PortList::from_ranges(iter.into_iter().map(|p| (p, p)))
    }
}

impl<'a> IntoIterator for &'a PortList {
    type Item = u16;
    type IntoIter = PortIter<'a>;
    fn into_iter(self) -> PortIter<'a> {
        self.iter()
    }
}

/// Ascending iterator over a [`PortList`]; allocates nothing.
#[derive(Debug, Clone)]
pub struct PortIter<'a> {
    ranges: &'a [(u16, u16)],
    next: u32,
}

impl Iterator for PortIter<'_> {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        let (&(_, hi), rest) = self.ranges.split_first()?;
        let port = u16::try_from(self.next).ok()?;
        if port >= hi {
            self.ranges = rest;
            self.next = rest.first().map_or(0, |&(lo, _)| u32::from(lo));
        } else {
            self.next += 1;
        }
        Some(port)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let Some((&(_, hi), rest)) = self.ranges.split_first() else {
            return (0, Some(0));
        };
        let first = (u32::from(hi) + 1).saturating_sub(self.next) as usize;
        let n = first
            + rest
                .iter()
                .map(|&(lo, hi)| usize::from(hi - lo) + 1)
                .sum::<usize>();
        (n, Some(n))
    }
}

impl ExactSizeIterator for PortIter<'_> {}

/// The port scans a command line asks for: where the items of `-p`
/// without a `T:`/`U:` prefix go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocols {
    pub tcp: bool,
    pub udp: bool,
}

impl Protocols {
    /// A TCP scan only.
    pub const TCP: Protocols = Protocols {
        tcp: true,
        udp: false,
    };
    /// A UDP scan only (`-sU`).
    pub const UDP: Protocols = Protocols {
        tcp: false,
        udp: true,
    };
    /// A TCP and a UDP scan (`-sS -sU`).
    pub const BOTH: Protocols = Protocols {
        tcp: true,
        udp: true,
    };

    fn kinds(self) -> &'static [Kind] {
        match (self.tcp, self.udp) {
            (true, true) => &[Kind::Tcp, Kind::Udp],
            (false, true) => &[Kind::Udp],
            // Neither cannot come from a command line; TCP is nmap's default.
            _ => &[Kind::Tcp],
        }
    }
}

/// A parsed `-p` argument, with TCP and UDP ports kept apart.
///
/// Items with a `T:`/`U:` prefix go to that protocol; items without one go
/// to every protocol the caller names (the scans requested, as in nmap).
/// Dropping the ports of a protocol that is not scanned is the caller's
/// choice (nmap warns and ignores them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortSpec {
    /// TCP ports (`T:` items, and unprefixed items when TCP is scanned).
    pub tcp: PortList,
    /// UDP ports (`U:` items, and unprefixed items when UDP is scanned).
    pub udp: PortList,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tcp,
    Udp,
}

impl Kind {
    fn protocol(self) -> crate::result::Protocol {
        match self {
            Kind::Tcp => crate::result::Protocol::Tcp,
            Kind::Udp => crate::result::Protocol::Udp,
        }
    }
}

impl PortSpec {
    /// Parses nmap's `-p` syntax for a TCP scan; see [`PortSpec::parse_for`].
    pub fn parse(spec: &str, services: Option<&str>) -> Result<PortSpec> {
        Self::parse_for(spec, services, Protocols::TCP)
    }

    /// Parses nmap's `-p` syntax: `22`, `22,80,443`, `1000-2000`, `-100`,
    /// `60000-`, `-` (1-65535), `T:`/`U:` prefixes (sticky until the next
    /// prefix, as in nmap), and service names with `*`/`?` wildcards
    /// (`http`, `http*`), looked up in `services` (the content of
    /// nmap-services) or, when that is `None`, in prtip's built-in table.
    /// Items without a prefix go to each protocol of `unprefixed`; a name
    /// there must match in at least one of them.
    ///
    /// Port 0 is accepted only when written explicitly (`0`, `0-10`); open
    /// ranges start at 1, like nmap. One trailing comma is allowed.
    pub fn parse_for(
        spec: &str,
        services: Option<&str>,
        unprefixed: Protocols,
    ) -> Result<PortSpec> {
        if spec.trim().is_empty() {
            return Err(Error::port(spec.trim(), "no ports specified"));
        }
        let mut lists = (Vec::new(), Vec::new());
        let mut prefix = None;
        let items: Vec<&str> = spec.split(',').collect();
        let last = items.len() - 1;
        for (i, raw) in items.into_iter().enumerate() {
            let mut item = raw.trim();
            if item.is_empty() && i == last && i > 0 {
                break; // nmap allows one trailing comma
            }
            item = strip_prefixes(item, &mut prefix)?;
            if item.is_empty() {
                return Err(Error::port(raw.trim(), "no ports in this item"));
            }
            let kinds = match prefix {
                Some(Kind::Tcp) => &[Kind::Tcp],
                Some(Kind::Udp) => &[Kind::Udp],
                None => unprefixed.kinds(),
            };
            parse_item(item, kinds, services, &mut lists)?;
        }
        let (tcp, udp) = lists;
        if tcp.is_empty() && udp.is_empty() {
            return Err(Error::port(spec.trim(), "no ports specified"));
        }
        Ok(PortSpec {
            tcp: PortList::from_ranges(tcp),
            udp: PortList::from_ranges(udp),
        })
    }

    /// True when neither protocol has a port.
    pub fn is_empty(&self) -> bool {
        self.tcp.is_empty() && self.udp.is_empty()
    }
}

type Lists = (Vec<(u16, u16)>, Vec<(u16, u16)>);

fn list_of(lists: &mut Lists, kind: Kind) -> &mut Vec<(u16, u16)> {
    match kind {
        Kind::Tcp => &mut lists.0,
        Kind::Udp => &mut lists.1,
    }
}

fn strip_prefixes<'s>(mut item: &'s str, kind: &mut Option<Kind>) -> Result<&'s str> {
    loop {
        let Some((head, rest)) = item.split_at_checked(2) else {
            return Ok(item);
        };
        match head {
            "T:" => *kind = Some(Kind::Tcp),
            "U:" => *kind = Some(Kind::Udp),
            "S:" => {
                return Err(Error::port(
                    item,
                    "SCTP ports (S:) are not supported; use T: or U:",
                ))
            }
            "P:" => {
                return Err(Error::port(
                    item,
                    "IP protocol lists (P:) are not supported; use T: or U:",
                ))
            }
            _ => return Ok(item),
        }
        item = rest.trim_start();
    }
}

fn parse_item(item: &str, kinds: &[Kind], services: Option<&str>, lists: &mut Lists) -> Result<()> {
    let Some(&first) = item.as_bytes().first() else {
        return Err(Error::port(item, "no ports in this item"));
    };
    if first.is_ascii_digit() || first == b'-' {
        let range = parse_range(item)?;
        for &kind in kinds {
            list_of(lists, kind).push(range);
        }
        Ok(())
    } else if first.is_ascii_lowercase() || first == b'*' || first == b'?' {
        add_service_ports(item, kinds, services, lists)
    } else if first == b'[' {
        Err(Error::port(
            item,
            "[...] (ports only if listed in nmap-services) is not supported yet",
        ))
    } else {
        Err(Error::port(
            item,
            "expected a port, a range like 1-1024, or a lower-case service name \
             (example: 22,80,T:8000-8100,U:53)",
        ))
    }
}

/// `N`, `N-M`, `-M`, `N-`, `-`.
fn parse_range(item: &str) -> Result<(u16, u16)> {
    let (start, end) = match item.split_once('-') {
        None => {
            let p = parse_port(item, item)?;
            (p, p)
        }
        Some((a, b)) => {
            let start = if a.trim().is_empty() {
                1
            } else {
                parse_port(a.trim(), item)?
            };
            let end = if b.trim().is_empty() {
                MAX_PORT
            } else {
                parse_port(b.trim(), item)?
            };
            (start, end)
        }
    };
    if end < start {
        return Err(Error::ReversedPortRange {
            token: item.to_owned(),
            start,
            end,
        });
    }
    // Both are <= MAX_PORT, checked by parse_port.
    let cast = |p: u32| u16::try_from(p).map_err(|_| Error::port(item, "port out of range"));
    Ok((cast(start)?, cast(end)?))
}

fn parse_port(text: &str, item: &str) -> Result<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::port(
            item,
            format!("\"{text}\" is not a port number"),
        ));
    }
    match text.parse::<u32>() {
        Ok(p) if p <= MAX_PORT => Ok(p),
        _ => Err(Error::port(item, "port out of range (0-65535)")),
    }
}

/// Adds the ports whose name matches `mask`, for each protocol of `kinds`;
/// fails when none matches in any of them.
fn add_service_ports(
    mask: &str,
    kinds: &[Kind],
    services: Option<&str>,
    lists: &mut Lists,
) -> Result<()> {
    if mask.len() > 127 || mask.bytes().any(|b| b.is_ascii_whitespace()) {
        return Err(Error::port(mask, "malformed service name"));
    }
    let mut found = 0;
    for &kind in kinds {
        let out = list_of(lists, kind);
        let before = out.len();
        let mut add = |name: &str, port: u16| {
            if wildcard_match(mask, name) {
                out.push((port, port));
            }
        };
        match services {
            Some(content) => services::for_each_name(content, kind.protocol(), &mut add),
            None => services::builtin_names(kind.protocol(), &mut add),
        }
        found += out.len() - before;
    }
    if found == 0 {
        let table = if services.is_some() {
            "nmap-services"
        } else {
            "the built-in service table (nmap-services not found)"
        };
        let protocols: Vec<&str> = kinds.iter().map(|k| k.protocol().as_str()).collect();
        return Err(Error::port(
            mask,
            format!(
                "no {} service matches this name in {table}",
                protocols.join(" or ")
            ),
        ));
    }
    Ok(())
}

/// Case-insensitive glob with `*` (any run) and `?` (one character), the
/// matching nmap applies to service names in `-p`. Iterative, so hostile
/// patterns cannot recurse deeply.
pub(crate) fn wildcard_match(pattern: &str, name: &str) -> bool {
    let p = pattern.as_bytes();
    let n = name.as_bytes();
    let (mut pi, mut ni) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some(b'*') => {
                backtrack = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == b'?' || c.eq_ignore_ascii_case(&n[ni]) => {
                pi += 1;
                ni += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    pi = star + 1;
                    ni = matched + 1;
                    backtrack = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICES: &str = "\
# test table
ftp\t21/tcp\t0.197667\t# File Transfer
ssh\t22/tcp\t0.182286
domain\t53/udp\t0.213496
domain\t53/tcp\t0.048463
http\t80/tcp\t0.484143
http-mgmt\t280/tcp\t0.000704
https\t443/tcp\t0.208669
http-proxy\t8080/tcp\t0.042052
";

    fn tcp(spec: &str) -> String {
        match PortSpec::parse(spec, Some(SERVICES)) {
            Ok(p) => {
                assert!(p.udp.is_empty(), "{spec}: unexpected udp");
                p.tcp.to_nmap_string()
            }
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn good_specs() {
        let cases = [
            ("22", "22"),
            ("22,80,443", "22,80,443"),
            ("443,80,22", "22,80,443"),
            ("1000-2000", "1000-2000"),
            ("-100", "1-100"),
            ("60000-", "60000-65535"),
            ("-", "1-65535"),
            ("0", "0"),
            ("0-5", "0-5"),
            ("65535", "65535"),
            ("T:22,80", "22,80"),
            ("22,22,20-25,1-3", "1-3,20-25"),
            ("1,3,4,6,7", "1,3-4,6-7"),
            ("22,", "22"),
            (" 22 , 80 ", "22,80"),
            ("http", "80"),
            ("ssh,http", "22,80"),
            ("http*", "80,280,443,8080"),
            ("HTTP", "ERR invalid port specification \"HTTP\": expected a port, a range like 1-1024, or a lower-case service name (example: 22,80,T:8000-8100,U:53)"),
            ("h?tp", "80"),
            ("*", "21-22,53,80,280,443,8080"),
            ("domain", "53"),
        ];
        for (spec, want) in cases {
            assert_eq!(tcp(spec), want, "spec {spec:?}");
        }
    }

    #[test]
    fn protocol_prefixes_are_sticky_like_nmap() {
        let p = PortSpec::parse("T:22,U:53,54,T:80", Some(SERVICES)).unwrap();
        assert_eq!(p.tcp.to_nmap_string(), "22,80");
        assert_eq!(p.udp.to_nmap_string(), "53-54");
        let p = PortSpec::parse("U:domain", Some(SERVICES)).unwrap();
        assert_eq!(p.udp.to_nmap_string(), "53");
        assert!(p.tcp.is_empty());
        let p = PortSpec::parse("U:53", None).unwrap();
        assert!(!p.udp.is_empty() && p.tcp.is_empty());
    }

    fn both(spec: &str, unprefixed: Protocols) -> (String, String) {
        match PortSpec::parse_for(spec, Some(SERVICES), unprefixed) {
            Ok(p) => (p.tcp.to_nmap_string(), p.udp.to_nmap_string()),
            Err(e) => (format!("ERR {e}"), String::new()),
        }
    }

    #[test]
    fn unprefixed_items_go_to_every_scanned_protocol() {
        let s = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(both("53", Protocols::BOTH), s("53", "53"));
        assert_eq!(both("53", Protocols::UDP), s("", "53"));
        assert_eq!(both("53", Protocols::TCP), s("53", ""));
        assert_eq!(both("U:53,T:22", Protocols::TCP), s("22", "53"));
        assert_eq!(both("U:53,T:22", Protocols::UDP), s("22", "53"));
        assert_eq!(both("22,U:53,54", Protocols::BOTH), s("22", "22,53-54"));
        // Names are looked up per protocol: "domain" is both, "ssh" TCP only here.
        assert_eq!(both("domain", Protocols::BOTH), s("53", "53"));
        assert_eq!(both("domain", Protocols::UDP), s("", "53"));
        assert_eq!(both("ssh,domain", Protocols::BOTH), s("22,53", "53"));
        assert_eq!(both("ssh", Protocols::BOTH), s("22", ""));
        assert_eq!(
            both("ssh", Protocols::UDP).0,
            "ERR invalid port specification \"ssh\": no udp service matches this name in nmap-services"
        );
        assert_eq!(
            both("nosuch", Protocols::BOTH).0,
            "ERR invalid port specification \"nosuch\": no tcp or udp service matches this name in nmap-services"
        );
        assert_eq!(
            both("U:ssh", Protocols::BOTH).0,
            "ERR invalid port specification \"ssh\": no udp service matches this name in nmap-services"
        );
    }

    #[test]
    fn difference_removes_ports_and_ranges() {
        let l = |s: &str| PortSpec::parse(s, None).unwrap().tcp;
        let d = |a: &str, b: &str| l(a).difference(&l(b)).to_nmap_string();
        assert_eq!(d("1-100", "50"), "1-49,51-100");
        assert_eq!(d("1-100", "1-10,90-200"), "11-89");
        assert_eq!(d("1-100", "-"), "");
        assert_eq!(d("22,80,443", "80"), "22,443");
        assert_eq!(d("22,80,443", "1000-2000"), "22,80,443");
        assert_eq!(d("1-10,20-30,40-50", "5-45"), "1-4,46-50");
        assert_eq!(d("0-65535", "1-65534"), "0,65535");
        assert_eq!(d("65535", "65535"), "");
        assert_eq!(PortList::new().difference(&l("1")), PortList::new());
        assert_eq!(l("5-9").difference(&PortList::new()), l("5-9"));
    }

    #[test]
    fn bad_specs_name_the_token() {
        let cases = [
            (
                "70000",
                "invalid port specification \"70000\": port out of range (0-65535)",
            ),
            ("90-80", "invalid port range \"90-80\": 90 is greater than 80 (did you mean 80-90?)"),
            ("", "invalid port specification \"\": no ports specified"),
            (",", "invalid port specification \"\": no ports in this item"),
            ("22,,80", "invalid port specification \"\": no ports in this item"),
            ("T:", "invalid port specification \"T:\": no ports in this item"),
            ("S:22", "invalid port specification \"S:22\": SCTP ports (S:) are not supported; use T: or U:"),
            ("P:6", "invalid port specification \"P:6\": IP protocol lists (P:) are not supported; use T: or U:"),
            ("22-x", "invalid port specification \"22-x\": \"x\" is not a port number"),
            ("1-2-3", "invalid port specification \"1-2-3\": \"2-3\" is not a port number"),
            ("99999999999999999999", "invalid port specification \"99999999999999999999\": port out of range (0-65535)"),
            ("nosuchservice", "invalid port specification \"nosuchservice\": no tcp service matches this name in nmap-services"),
            ("[1-1024]", "invalid port specification \"[1-1024]\": [...] (ports only if listed in nmap-services) is not supported yet"),
            ("-0", "invalid port range \"-0\": 1 is greater than 0 (did you mean 0-1?)"),
        ];
        for (spec, want) in cases {
            match PortSpec::parse(spec, Some(SERVICES)) {
                Ok(p) => panic!("{spec:?} parsed as {p:?}"),
                Err(e) => assert_eq!(e.to_string(), want, "spec {spec:?}"),
            }
        }
    }

    #[test]
    fn builtin_names_are_used_without_nmap_services() {
        let p = PortSpec::parse("ssh,http,https", None).unwrap();
        // 8008 is also named http, as in nmap's table.
        assert_eq!(p.tcp.to_nmap_string(), "22,80,443,8008");
        let e = PortSpec::parse("nosuchservice", None).unwrap_err();
        assert!(e.to_string().contains("built-in"), "{e}");
    }

    #[test]
    fn port_list_is_compact() {
        let all = PortSpec::parse("-", None).unwrap().tcp;
        assert_eq!(all.ranges().len(), 1);
        assert_eq!(all.len(), 65_535);
        assert_eq!(all, PortList::all());
        assert!(all.contains(1) && all.contains(65_535) && !all.contains(0));
        let l = PortList::from_ranges([(10, 20), (15, 30), (31, 31), (40, 41), (5, 4)]);
        assert_eq!(l.ranges(), &[(10, 31), (40, 41)]);
        assert_eq!(l.len(), 24);
        assert_eq!(l.bounds(), Some((10, 41)));
        assert!(!l.contains(9) && l.contains(10) && l.contains(31) && !l.contains(32));
        assert!(!l.contains(39) && l.contains(41) && !l.contains(42));
        let v: Vec<u16> = l.iter().collect();
        assert_eq!(v.len(), l.len());
        assert_eq!(l.iter().len(), 24);
        assert_eq!(v[0], 10);
        assert_eq!(v[23], 41);
        assert!(v.windows(2).all(|w| w[0] < w[1]));
        let edge = PortList::from_ranges([(65_530, 65_535), (0, 1)]);
        let v: Vec<u16> = edge.iter().collect();
        assert_eq!(
            v,
            vec![0, 1, 65_530, 65_531, 65_532, 65_533, 65_534, 65_535]
        );
        assert!(PortList::new().iter().next().is_none());
        assert_eq!(PortList::new().to_nmap_string(), "");
    }

    #[test]
    fn intersect_and_from_iter() {
        let a: PortList = [1u16, 2, 3, 10, 11, 12, 100].into_iter().collect();
        assert_eq!(a.to_nmap_string(), "1-3,10-12,100");
        let b = PortList::from_ranges([(2, 11), (50, 60)]);
        assert_eq!(a.intersect(&b).to_nmap_string(), "2-3,10-11");
        assert!(a.intersect(&PortList::new()).is_empty());
    }

    #[test]
    fn wildcards() {
        let cases = [
            ("http", "http", true),
            ("http", "https", false),
            ("http*", "https", true),
            ("*", "", true),
            ("*tp", "http", true),
            ("?", "", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("H?TP", "http", true),
        ];
        for (p, n, want) in cases {
            assert_eq!(wildcard_match(p, n), want, "{p} vs {n}");
        }
    }
}
