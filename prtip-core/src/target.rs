//! Target specifications (nmap grammar) expanded lazily into addresses.
//!
//! Supported expressions, as in nmap: `192.168.1.1`, CIDR `10.0.0.0/8`
//! (`/0`..`/32`, the network base is used), octet ranges and lists
//! `192.168.0-3.1-254`, `10.0.1,3.5-7`, open ends `10.0.0.-` / `10.0.0.100-`,
//! `*` for a whole octet, hostnames (`localhost`) and hostname/CIDR
//! (`localhost/30`). IPv6 literals are recognised and refused.
//!
//! Nothing here holds "all hosts": a [`TargetList`] keeps the text it was
//! given (arguments and `-iL` file contents) and re-parses one expression at a
//! time while iterating; a CIDR or octet range is walked with a cursor. The
//! only per-address allocation is the hostname copy for addresses that came
//! from a hostname. Excludes are merged address ranges searched by bisection,
//! and an excluded range is skipped in one step, not address by address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Result};

/// Forward name resolution, supplied by the caller (prtip-core does no I/O).
///
/// Called once per hostname expression. nmap scans the first IPv4 address a
/// name resolves to, and so does prtip.
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

/// One address to scan, with the hostname the user typed for it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The address to scan.
    pub addr: Ipv4Addr,
    /// The name the user typed, set only on the address the name resolved to
    /// (for `localhost/30`, nmap names 127.0.0.1 but not .0, .2 and .3).
    pub hostname: Option<String>,
}

/// 256 bits per octet, as nmap represents `10.0.1,3.5-7`: 128 bytes, however
/// many addresses the expression covers.
#[derive(Clone, PartialEq, Eq)]
struct OctetSet([[u64; 4]; 4]);

impl fmt::Debug for OctetSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::with_capacity(4);
        for i in 0..4 {
            let mut runs = Vec::new();
            let mut v = self.next_in(i, 0);
            while let Some(lo) = v {
                let hi = self.run_end(i, lo);
                runs.push(if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                });
                v = self.next_in(i, u16::from(hi) + 1);
            }
            parts.push(runs.join(","));
        }
        write!(f, "OctetSet({})", parts.join("."))
    }
}

impl OctetSet {
    fn empty() -> Self {
        OctetSet([[0; 4]; 4])
    }

    fn set(&mut self, i: usize, v: u8) {
        self.0[i][usize::from(v / 64)] |= 1 << (v % 64);
    }

    fn has(&self, i: usize, v: u8) -> bool {
        self.0[i][usize::from(v / 64)] & (1 << (v % 64)) != 0
    }

    fn popcount(&self, i: usize) -> u32 {
        self.0[i].iter().map(|w| w.count_ones()).sum()
    }

    fn is_full(&self, i: usize) -> bool {
        self.0[i].iter().all(|&w| w == u64::MAX)
    }

    /// Smallest value >= `from` in octet `i`.
    fn next_in(&self, i: usize, from: u16) -> Option<u8> {
        let mut word = usize::from(from / 64);
        let mut bits = self.0[i].get(word)? & (u64::MAX << (from % 64));
        loop {
            if bits != 0 {
                return u8::try_from(word * 64 + bits.trailing_zeros() as usize).ok();
            }
            word += 1;
            bits = *self.0[i].get(word)?;
        }
    }

    /// Last value of the run of set values that starts at `v` in octet `i`.
    fn run_end(&self, i: usize, v: u8) -> u8 {
        let mut end = v;
        while end < u8::MAX && self.has(i, end + 1) {
            end += 1;
        }
        end
    }

    fn runs(&self, i: usize) -> u64 {
        let mut n = 0;
        let mut v = self.next_in(i, 0);
        while let Some(lo) = v {
            n += 1;
            v = self.next_in(i, u16::from(self.run_end(i, lo)) + 1);
        }
        n
    }

    fn count(&self) -> u64 {
        (0..4).map(|i| u64::from(self.popcount(i))).product()
    }

    fn contains(&self, addr: u32) -> bool {
        addr.to_be_bytes()
            .iter()
            .enumerate()
            .all(|(i, &v)| self.has(i, v))
    }

    /// Smallest address >= `x` in the set: keep the longest prefix of `x`
    /// that is in the set, bump the next octet to its next allowed value,
    /// and fill the rest with the smallest allowed values.
    fn first_at_or_after(&self, x: u32) -> Option<u32> {
        let o = x.to_be_bytes();
        let prefix = (0..4).take_while(|&i| self.has(i, o[i])).count();
        if prefix == 4 {
            return Some(x);
        }
        for k in (0..=prefix).rev() {
            if let Some(v) = self.next_in(k, u16::from(o[k]) + 1) {
                let mut out = o;
                out[k] = v;
                for (j, slot) in out.iter_mut().enumerate().skip(k + 1) {
                    *slot = self.next_in(j, 0)?;
                }
                return Some(u32::from_be_bytes(out));
            }
        }
        None
    }

    /// nmap's netmask on octet ranges: every value whose masked bits match
    /// some value already present is added (so `10.0.0.5/24` is 10.0.0.0-255).
    fn apply_prefix(&mut self, bits: u8) {
        for i in 0..4u8 {
            let m = bits.saturating_sub(i * 8).min(8);
            if m == 8 {
                continue;
            }
            let mask: u8 = if m == 0 { 0 } else { u8::MAX << (8 - m) };
            let idx = usize::from(i);
            let mut masked = [false; 256];
            for v in 0..=u8::MAX {
                if self.has(idx, v) {
                    masked[usize::from(v & mask)] = true;
                }
            }
            for v in 0..=u8::MAX {
                if masked[usize::from(v & mask)] {
                    self.set(idx, v);
                }
            }
        }
    }

    /// Number of maximal address ranges the set splits into (an upper bound:
    /// neighbouring pieces may still touch and merge).
    fn piece_count(&self) -> u64 {
        match (0..4).rev().find(|&i| !self.is_full(i)) {
            None => 1,
            Some(k) => (0..k).map(|i| u64::from(self.popcount(i))).product::<u64>() * self.runs(k),
        }
    }

    /// The set as address ranges, ascending.
    fn pieces(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let last_partial = (0..4).rev().find(|&i| !self.is_full(i));
        let mut cursor: u64 = 0;
        std::iter::from_fn(move || {
            let start = self.first_at_or_after(u32::try_from(cursor).ok()?)?;
            let end = match last_partial {
                None => u32::MAX,
                Some(k) => {
                    let mut e = start.to_be_bytes();
                    e[k] = self.run_end(k, e[k]);
                    for slot in e.iter_mut().skip(k + 1) {
                        *slot = u8::MAX;
                    }
                    u32::from_be_bytes(e)
                }
            };
            cursor = u64::from(end) + 1;
            Some((start, end))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Spec {
    /// A plain address, CIDR block, or any octet expression that is one
    /// contiguous range: 8 bytes.
    Range(u32, u32),
    Octets(Box<OctetSet>),
    Host {
        name: String,
        prefix: Option<u8>,
    },
}

/// One parsed target expression (not yet resolved or expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec(Spec);

impl TargetSpec {
    /// Parses one nmap target expression; the error names the bad token.
    /// A netmask longer than 32 bits means the one address, as nmap reads
    /// a scan target (see [`TargetList::warnings`]); [`ExcludeSet`] refuses
    /// it, as nmap does in `--exclude`.
    pub fn parse(token: &str) -> Result<TargetSpec> {
        parse_spec(token, Netmasks::AssumeHost).map(TargetSpec)
    }

    /// [`TargetSpec::parse`] for an exclusion: a netmask longer than 32
    /// bits is an error.
    fn parse_exclusion(token: &str) -> Result<TargetSpec> {
        parse_spec(token, Netmasks::Strict).map(TargetSpec)
    }

    /// Number of addresses the expression covers (a hostname counts as one
    /// address, `name/n` as the size of the block); computed, not expanded.
    pub fn count(&self) -> u64 {
        match &self.0 {
            Spec::Range(lo, hi) => u64::from(hi - lo) + 1,
            Spec::Octets(set) => set.count(),
            Spec::Host { prefix, .. } => prefix.map_or(1, |p| 1u64 << (32 - u32::from(p))),
        }
    }

    /// The hostname, when the expression is one.
    pub fn hostname(&self) -> Option<&str> {
        match &self.0 {
            Spec::Host { name, .. } => Some(name),
            _ => None,
        }
    }
}

impl std::str::FromStr for TargetSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<TargetSpec> {
        TargetSpec::parse(s)
    }
}

/// What a netmask of more than 32 bits (`10.0.0.0/33`) means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Netmasks {
    /// An error (exclusions: nmap quits on them).
    Strict,
    /// The one address, after a warning (scan targets: nmap 7.93 says
    /// `Illegal netmask in "10.0.0.0/33". Assuming /32 (one host)` and
    /// scans it). See [`TargetList::warnings`].
    AssumeHost,
}

/// nmap reads the netmask with `strtol` into an `int`: digits only, and a
/// value beyond `i32::MAX` is a failed split, not an illegal netmask.
fn oversized_netmask(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<i32>().is_ok_and(|bits| bits > 32)
}

fn parse_spec(token: &str, netmasks: Netmasks) -> Result<Spec> {
    if token.is_empty() {
        return Err(Error::target(token, "empty target"));
    }
    let (host, prefix_text) = match token.rfind('/') {
        Some(i) => (&token[..i], Some(&token[i + 1..])),
        None => (token, None),
    };
    if host.contains(':') {
        return if host.parse::<Ipv6Addr>().is_ok() {
            Err(Error::Ipv6Unsupported {
                token: token.to_owned(),
            })
        } else {
            Err(Error::target(
                token,
                "not an IPv4 address, range or hostname",
            ))
        };
    }
    let prefix = match prefix_text {
        Some(p) if netmasks == Netmasks::AssumeHost && oversized_netmask(p) => Some(32),
        Some(p) => Some(parse_prefix(p, token)?),
        None => None,
    };
    if host.is_empty() {
        return Err(Error::target(token, "missing address before \"/\""));
    }
    if host
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b',' | b'-' | b'*'))
    {
        let mut set = parse_octets(host, token)?;
        set.apply_prefix(prefix.unwrap_or(32));
        return Ok(simplify(set));
    }
    check_hostname(host, token)?;
    Ok(Spec::Host {
        name: host.to_owned(),
        prefix,
    })
}

fn parse_prefix(text: &str, token: &str) -> Result<u8> {
    match text.parse::<u8>() {
        Ok(p) if p <= 32 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => Err(Error::InvalidPrefix {
            prefix: text.to_owned(),
            token: token.to_owned(),
        }),
    }
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
fn block(addr: u32, prefix: Option<u8>) -> (u32, u32) {
    match prefix {
        None | Some(32) => (addr, addr),
        Some(0) => (0, u32::MAX),
        Some(p) => {
            let host_bits = u32::MAX >> p;
            (addr & !host_bits, addr | host_bits)
        }
    }
}

/// Resolves a hostname to its first IPv4 address.
fn resolve_first<R: Resolver + ?Sized>(name: &str, resolver: &R) -> Result<u32> {
    let addrs = resolver.resolve(name).map_err(|reason| Error::Resolve {
        name: name.to_owned(),
        reason,
    })?;
    addrs
        .iter()
        .find_map(|a| match a {
            IpAddr::V4(v4) => Some(u32::from(*v4)),
            IpAddr::V6(_) => None,
        })
        .ok_or_else(|| Error::Resolve {
            name: name.to_owned(),
            reason: if addrs.is_empty() {
                "no addresses".to_owned()
            } else {
                "no IPv4 address (IPv6 targets not supported yet)".to_owned()
            },
        })
}

/// Where a token came from, for `file:line` in errors.
#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    text: &'a str,
    file: Option<(&'a str, usize)>,
}

impl Token<'_> {
    fn wrap(&self, e: Error) -> Error {
        match self.file {
            Some((file, line)) => e.in_file(file, line),
            None => e,
        }
    }
}

/// Next whitespace-separated token of file content; `#` starts a comment
/// that runs to the end of the line. Advances `rest` and the line counter.
fn next_file_token<'a>(rest: &mut &'a str, line: &mut usize) -> Option<(&'a str, usize)> {
    let bytes = rest.as_bytes();
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            if bytes[i] == b'\n' {
                *line += 1;
            }
            i += 1;
        }
        if i == bytes.len() {
            *rest = "";
            return None;
        }
        if bytes[i] == b'#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'#' {
            i += 1;
        }
        // Token boundaries are ASCII bytes, so both indices are char boundaries.
        let token = rest.get(start..i)?;
        *rest = rest.get(i..)?;
        return Some((token, *line));
    }
}

/// Every token of a file's content with its line number.
fn file_tokens(content: &str) -> impl Iterator<Item = (&str, usize)> {
    let mut rest = content;
    let mut line = 1;
    std::iter::from_fn(move || next_file_token(&mut rest, &mut line))
}

/// The tokens of all sources in order; a cursor, so iterating allocates nothing.
#[derive(Debug, Clone)]
struct Tokens<'a> {
    sources: &'a [Source],
    /// Unread content of the file at `sources[0]`, once started.
    rest: Option<&'a str>,
    line: usize,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            let (source, later) = self.sources.split_first()?;
            match source {
                Source::Arg(arg) => {
                    self.sources = later;
                    let text = arg.trim();
                    if !text.is_empty() {
                        return Some(Token { text, file: None });
                    }
                }
                Source::File { name, content } => {
                    let rest = self.rest.get_or_insert(content.as_str());
                    if let Some((text, line)) = next_file_token(rest, &mut self.line) {
                        return Some(Token {
                            text,
                            file: Some((name.as_str(), line)),
                        });
                    }
                    self.sources = later;
                    self.rest = None;
                    self.line = 1;
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Source {
    Arg(String),
    File { name: String, content: String },
}

/// Target expressions from the command line and `-iL` files, in order.
///
/// Holds only the text; [`TargetList::iter`] parses and expands one
/// expression at a time.
#[derive(Debug, Clone, Default)]
pub struct TargetList {
    sources: Vec<Source>,
}

impl TargetList {
    /// An empty list.
    pub fn new() -> Self {
        TargetList::default()
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

    /// Parses every expression (without resolving names) and returns the
    /// number of addresses before excludes, for progress reporting. The first
    /// bad expression is the error (`file:line: ...` for `-iL` content).
    pub fn count(&self) -> Result<u64> {
        let mut total: u64 = 0;
        for token in self.tokens() {
            let spec = TargetSpec::parse(token.text).map_err(|e| token.wrap(e))?;
            total = total.saturating_add(spec.count());
        }
        Ok(total)
    }

    /// What nmap warns about but scans anyway, one line each (with
    /// `file:line` for `-iL` content): a netmask longer than 32 bits is read
    /// as /32 (`10.0.0.0/33` is the one address 10.0.0.0).
    pub fn warnings(&self) -> impl Iterator<Item = String> + '_ {
        self.tokens().filter_map(|token| {
            let (_, bits) = token.text.rsplit_once('/')?;
            if !oversized_netmask(bits) || token.text.contains(':') {
                return None;
            }
            let what = format!(
                "illegal netmask in \"{}\": assuming /32 (one host), as nmap does",
                token.text
            );
            Some(match token.file {
                Some((file, line)) => format!("{file}:{line}: {what}"),
                None => what,
            })
        })
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
        Targets {
            tokens: self.tokens(),
            excludes,
            resolver,
            active: None,
        }
    }
}

#[derive(Debug)]
enum AddrSet {
    Range(u32, u32),
    Octets(Box<OctetSet>),
}

impl AddrSet {
    fn first_at_or_after(&self, x: u32) -> Option<u32> {
        match self {
            AddrSet::Range(lo, hi) => {
                let a = x.max(*lo);
                (a <= *hi).then_some(a)
            }
            AddrSet::Octets(set) => set.first_at_or_after(x),
        }
    }
}

/// The expression being walked.
#[derive(Debug)]
struct Active {
    set: AddrSet,
    /// Next candidate address; above `u32::MAX` when done.
    cursor: u64,
    /// Hostname and the address it resolved to.
    named: Option<(String, u32)>,
}

impl Active {
    fn next_allowed(&mut self, excludes: &ExcludeSet) -> Option<Target> {
        loop {
            let from = u32::try_from(self.cursor).ok()?;
            let Some(addr) = self.set.first_at_or_after(from) else {
                self.cursor = u64::from(u32::MAX) + 1;
                return None;
            };
            if let Some(next) = excludes.skip(addr) {
                self.cursor = next;
                continue;
            }
            self.cursor = u64::from(addr) + 1;
            let hostname = match &self.named {
                Some((name, a)) if *a == addr => Some(name.clone()),
                _ => None,
            };
            return Some(Target {
                addr: Ipv4Addr::from(addr),
                hostname,
            });
        }
    }
}

/// Lazy iterator over the targets of a [`TargetList`]; see [`TargetList::iter`].
pub struct Targets<'a, R: ?Sized> {
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

impl<R: Resolver + ?Sized> Targets<'_, R> {
    fn activate(&self, token: Token<'_>) -> Result<Active> {
        let spec = parse_spec(token.text, Netmasks::AssumeHost).map_err(|e| token.wrap(e))?;
        Ok(match spec {
            Spec::Range(lo, hi) => Active {
                set: AddrSet::Range(lo, hi),
                cursor: u64::from(lo),
                named: None,
            },
            Spec::Octets(set) => Active {
                set: AddrSet::Octets(set),
                cursor: 0,
                named: None,
            },
            Spec::Host { name, prefix } => {
                let addr = resolve_first(&name, self.resolver).map_err(|e| token.wrap(e))?;
                let (lo, hi) = block(addr, prefix);
                Active {
                    set: AddrSet::Range(lo, hi),
                    cursor: u64::from(lo),
                    named: Some((name, addr)),
                }
            }
        })
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
                Ok(a) => self.active = Some(a),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Above this many ranges an octet pattern is kept as a pattern (128 bytes)
/// instead of being split into ranges (8 bytes each).
const MAX_PIECES: u64 = 4096;

/// Addresses never to scan (`--exclude`, `--excludefile`).
///
/// Stored as sorted, merged inclusive ranges; octet patterns that would
/// split into more than 4096 ranges (like `*.*.*.1`) are kept as patterns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExcludeSet {
    ranges: Vec<(u32, u32)>,
    patterns: Vec<OctetSet>,
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

    /// Adds one parsed expression. A hostname excludes every IPv4 address
    /// it resolves to (with its `/n` block, if given).
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
        match &spec.0 {
            Spec::Range(lo, hi) => self.ranges.push((*lo, *hi)),
            Spec::Octets(set) if set.piece_count() <= MAX_PIECES => {
                self.ranges.extend(set.pieces());
            }
            Spec::Octets(set) => self.patterns.push((**set).clone()),
            Spec::Host { name, prefix } => {
                let addrs = resolver.resolve(name).map_err(|reason| Error::Resolve {
                    name: name.clone(),
                    reason,
                })?;
                for a in addrs {
                    if let IpAddr::V4(v4) = a {
                        self.ranges.push(block(u32::from(v4), *prefix));
                    }
                }
            }
        }
        Ok(())
    }

    fn normalize(&mut self) {
        self.ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.ranges.len());
        for &(lo, hi) in &self.ranges {
            match merged.last_mut() {
                Some(last) if u64::from(lo) <= u64::from(last.1) + 1 => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        merged.shrink_to_fit();
        self.ranges = merged;
    }

    /// Whether `addr` is excluded.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        self.skip(u32::from(addr)).is_some()
    }

    /// If `addr` is excluded, the next address that might not be.
    fn skip(&self, addr: u32) -> Option<u64> {
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

    /// The merged excluded ranges, ascending (octet patterns not included).
    pub fn ranges(&self) -> impl Iterator<Item = (Ipv4Addr, Ipv4Addr)> + '_ {
        self.ranges
            .iter()
            .map(|&(lo, hi)| (Ipv4Addr::from(lo), Ipv4Addr::from(hi)))
    }

    /// True when nothing is excluded.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty() && self.patterns.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn resolver(name: &str) -> std::result::Result<Vec<IpAddr>, String> {
        let v4 = |s: &str| IpAddr::V4(s.parse().unwrap());
        match name {
            "localhost" => Ok(vec![
                "::1".parse().unwrap(),
                v4("127.0.0.1"),
                v4("127.0.0.2"),
            ]),
            "scanme.example" => Ok(vec![v4("198.18.0.5")]),
            "multi.example" => Ok(vec![v4("198.18.1.1"), v4("198.18.2.1")]),
            "v6only.example" => Ok(vec!["2001:db8::1".parse().unwrap()]),
            _ => Err("Name or service not known".to_owned()),
        }
    }

    fn expand(list: &TargetList, ex: &ExcludeSet, n: usize) -> Vec<String> {
        list.iter(ex, &resolver)
            .take(n)
            .map(|r| match r {
                Ok(Target {
                    addr,
                    hostname: Some(h),
                }) => format!("{h} ({addr})"),
                Ok(Target { addr, .. }) => addr.to_string(),
                Err(e) => format!("ERR {e}"),
            })
            .collect()
    }

    fn one(spec: &str) -> TargetList {
        let mut l = TargetList::new();
        l.push_arg(spec);
        l
    }

    #[test]
    fn good_specs_count_and_expand() {
        let cases: &[(&str, u64, &[&str])] = &[
            ("192.168.1.1", 1, &["192.168.1.1"]),
            ("010.0.0.001", 1, &["10.0.0.1"]),
            (
                "10.0.0.0/8",
                16_777_216,
                &["10.0.0.0", "10.0.0.1", "10.0.0.2"],
            ),
            ("10.0.0.5/24", 256, &["10.0.0.0", "10.0.0.1"]),
            ("10.0.0.5/32", 1, &["10.0.0.5"]),
            ("0.0.0.0/0", 1 << 32, &["0.0.0.0", "0.0.0.1"]),
            (
                "255.255.255.254/31",
                2,
                &["255.255.255.254", "255.255.255.255"],
            ),
            ("192.168.0-3.1-254", 1016, &["192.168.0.1", "192.168.0.2"]),
            (
                "10.0.1,3.5-7",
                6,
                &[
                    "10.0.1.5", "10.0.1.6", "10.0.1.7", "10.0.3.5", "10.0.3.6", "10.0.3.7",
                ],
            ),
            ("10.0.0.-", 256, &["10.0.0.0", "10.0.0.1"]),
            (
                "10.0.0.250-",
                6,
                &[
                    "10.0.0.250",
                    "10.0.0.251",
                    "10.0.0.252",
                    "10.0.0.253",
                    "10.0.0.254",
                    "10.0.0.255",
                ],
            ),
            ("10.0.0.-2", 3, &["10.0.0.0", "10.0.0.1", "10.0.0.2"]),
            ("10.*.0.1", 256, &["10.0.0.1", "10.1.0.1", "10.2.0.1"]),
            ("1-2.0.0.1", 2, &["1.0.0.1", "2.0.0.1"]),
            ("192.168.0-3.1/24", 1024, &["192.168.0.0", "192.168.0.1"]),
            (
                "10.0.0.1,3/31",
                4,
                &["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"],
            ),
            (
                "10.0.0.1,5/31",
                4,
                &["10.0.0.0", "10.0.0.1", "10.0.0.4", "10.0.0.5"],
            ),
            ("scanme.example", 1, &["scanme.example (198.18.0.5)"]),
            ("localhost", 1, &["localhost (127.0.0.1)"]),
            (
                "localhost/30",
                4,
                &[
                    "127.0.0.0",
                    "localhost (127.0.0.1)",
                    "127.0.0.2",
                    "127.0.0.3",
                ],
            ),
            ("multi.example/0", 1 << 32, &["0.0.0.0"]),
        ];
        for &(spec, count, first) in cases {
            let list = one(spec);
            assert_eq!(list.count(), Ok(count), "count of {spec}");
            let got = expand(&list, &ExcludeSet::new(), first.len() + 1);
            assert_eq!(&got[..first.len()], first, "expansion of {spec}");
            if u64::try_from(first.len()).unwrap() == count {
                assert_eq!(got.len(), first.len(), "{spec} yields more than {count}");
            }
        }
    }

    #[test]
    fn small_specs_expand_to_exactly_count_addresses() {
        for spec in [
            "192.168.0-3.1-254",
            "10.0.1,3.5-7",
            "1-3.0-1.*.7,9",
            "10.0.0.1,5/31",
        ] {
            let list = one(spec);
            let all: Vec<Target> = list
                .iter(&ExcludeSet::new(), &NoResolver)
                .map(|r| r.unwrap())
                .collect();
            assert_eq!(all.len() as u64, list.count().unwrap(), "{spec}");
            assert!(
                all.windows(2).all(|w| w[0].addr < w[1].addr),
                "{spec} not ascending"
            );
        }
    }

    #[test]
    fn bad_specs_name_the_token() {
        let cases = [
            ("10.0.0.300", "invalid target \"10.0.0.300\": octet 300 out of range"),
            ("10.0.0.0/", "invalid CIDR prefix \"/\" in \"10.0.0.0/\""),
            ("10.0.0.0/-1", "invalid CIDR prefix \"/-1\" in \"10.0.0.0/-1\""),
            ("10.0.0.0/+8", "invalid CIDR prefix \"/+8\" in \"10.0.0.0/+8\""),
            ("10.0.0.0/99999999999", "invalid CIDR prefix \"/99999999999\" in \"10.0.0.0/99999999999\""),
            ("localhost/x", "invalid CIDR prefix \"/x\" in \"localhost/x\""),
            ("/24", "invalid target \"/24\": missing address before \"/\""),
            ("10.0.0", "invalid target \"10.0.0\": expected 4 octets, found 3 (a range needs all four, like 10.0.0.1-254)"),
            ("10.0.0.1.2", "invalid target \"10.0.0.1.2\": more than 4 octets"),
            ("10..0.1", "invalid target \"10..0.1\": empty octet"),
            ("10.0.0.", "invalid target \"10.0.0.\": empty octet"),
            ("10.0.0.1,,2", "invalid target \"10.0.0.1,,2\": empty octet"),
            ("10.0.0.5-3", "invalid target \"10.0.0.5-3\": octet range 5-3 is reversed"),
            ("10.0.0.1--2", "invalid target \"10.0.0.1--2\": malformed octet \"-2\""),
            ("10.0.0.1*", "invalid target \"10.0.0.1*\": malformed octet \"1*\""),
            ("10.0.0.99999999999999999999", "invalid target \"10.0.0.99999999999999999999\": octet 99999999999999999999 out of range"),
            ("::1", "invalid target \"::1\": IPv6 targets not supported yet"),
            ("fe80::1/64", "invalid target \"fe80::1/64\": IPv6 targets not supported yet"),
            ("a:b", "invalid target \"a:b\": not an IPv4 address, range or hostname"),
            ("foo!bar", "invalid target \"foo!bar\": character '!' is not allowed in a hostname"),
            ("-oops", "invalid target \"-oops\": a hostname cannot start with '-'"),
            ("foo..example", "invalid target \"foo..example\": empty or over-long label in hostname"),
            ("", "invalid target \"\": empty target"),
        ];
        for (spec, want) in cases {
            match TargetSpec::parse(spec) {
                Ok(s) => panic!("{spec:?} parsed as {s:?}"),
                Err(e) => assert_eq!(e.to_string(), want, "spec {spec:?}"),
            }
        }
    }

    #[test]
    fn oversized_netmasks_mean_one_host_in_targets_as_in_nmap() {
        // nmap 7.93: `Illegal netmask in "10.0.0.0/33". Assuming /32 (one host)`.
        for (spec, count, first) in [
            ("10.0.0.0/33", 1, "10.0.0.0"),
            ("10.0.0.9/033", 1, "10.0.0.9"),
            ("10.0.0.9/2147483647", 1, "10.0.0.9"),
            ("10.0.0.1-3/40", 3, "10.0.0.1"),
        ] {
            let list = one(spec);
            assert_eq!(list.count(), Ok(count), "{spec}");
            assert_eq!(expand(&list, &ExcludeSet::new(), 1), vec![first], "{spec}");
            let warned: Vec<String> = list.warnings().collect();
            assert_eq!(
                warned,
                vec![format!(
                    "illegal netmask in \"{spec}\": assuming /32 (one host), as nmap does"
                )]
            );
        }
        // Beyond an int, nmap cannot split the netmask off at all.
        for spec in [
            "10.0.0.0/2147483648",
            "10.0.0.0/+33",
            "10.0.0.0/-1",
            "::1/200",
        ] {
            assert!(one(spec).count().is_err(), "{spec}");
            assert_eq!(one(spec).warnings().count(), 0, "{spec}");
        }
        // A legal netmask is no warning.
        assert_eq!(one("10.0.0.0/32").warnings().count(), 0);
        // In a file, the warning says where.
        let mut l = TargetList::new();
        l.push_file("list.txt", "10.0.0.1\n# x/99\n10.0.0.2/99\n");
        assert_eq!(l.count(), Ok(2));
        assert_eq!(
            l.warnings().collect::<Vec<_>>(),
            vec!["list.txt:3: illegal netmask in \"10.0.0.2/99\": assuming /32 (one host), as nmap does"]
        );
        // nmap quits on an exclusion with such a netmask; so does prtip.
        let e = ExcludeSet::new().add_list("10.0.0.1/33", &NoResolver);
        assert_eq!(
            e.map_err(|e| e.to_string()),
            Err("invalid CIDR prefix \"/33\" in \"10.0.0.1/33\"".to_string())
        );
        let e = ExcludeSet::new().add_file("x", "10.0.0.1/40\n", &NoResolver);
        assert!(e.is_err(), "{e:?}");
        assert_eq!(TargetSpec::parse("10.0.0.0/33").map(|s| s.count()), Ok(1));
    }

    #[test]
    fn resolution_failures_are_items_and_iteration_goes_on() {
        let mut l = TargetList::new();
        for t in ["nx.example", "10.0.0.1", "v6only.example", "10.0.0.2"] {
            l.push_arg(t);
        }
        assert_eq!(l.count(), Ok(4));
        assert_eq!(
            expand(&l, &ExcludeSet::new(), 10),
            vec![
                "ERR failed to resolve \"nx.example\": Name or service not known",
                "10.0.0.1",
                "ERR failed to resolve \"v6only.example\": no IPv4 address (IPv6 targets not supported yet)",
                "10.0.0.2",
            ]
        );
    }

    #[test]
    fn hostnames_are_resolved_once_per_expression() {
        let calls = std::cell::Cell::new(0);
        let counting = |name: &str| {
            calls.set(calls.get() + 1);
            resolver(name)
        };
        let l = one("localhost/24");
        let n = l.iter(&ExcludeSet::new(), &counting).count();
        assert_eq!(n, 256);
        assert_eq!(calls.get(), 1);
    }

    #[test]
    fn input_list_content_with_comments_and_line_numbers() {
        let content = "10.0.0.1 10.0.0.2 # trailing comment 10.9.9.9\n\
                       \n\
                       # whole-line comment\n\
                       \tlocalhost\tscanme.example#glued comment\n\
                       10.0.0.300\n\
                       10.0.0.3\n";
        let mut l = TargetList::new();
        l.push_file("hosts.txt", content);
        assert_eq!(
            l.count().unwrap_err().to_string(),
            "hosts.txt:5: invalid target \"10.0.0.300\": octet 300 out of range"
        );
        assert_eq!(
            expand(&l, &ExcludeSet::new(), 10),
            vec![
                "10.0.0.1",
                "10.0.0.2",
                "localhost (127.0.0.1)",
                "scanme.example (198.18.0.5)",
                "ERR hosts.txt:5: invalid target \"10.0.0.300\": octet 300 out of range",
                "10.0.0.3",
            ]
        );
        let mut empty = TargetList::new();
        empty.push_file("-", "# nothing here\n\n   \n");
        assert!(empty.is_empty());
        assert_eq!(empty.count(), Ok(0));
        assert!(!l.is_empty());
    }

    #[test]
    fn args_and_files_keep_their_order_and_duplicates() {
        let mut l = TargetList::new();
        l.push_arg("10.0.0.1");
        l.push_file("a.txt", "10.0.0.2\n10.0.0.1\n");
        l.push_arg(" 10.0.0.1 ");
        assert_eq!(l.count(), Ok(4));
        assert_eq!(
            expand(&l, &ExcludeSet::new(), 10),
            vec!["10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.1"]
        );
    }

    #[test]
    fn iterator_can_move_to_another_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<Targets<'static, NoResolver>>();
        assert_send::<TargetList>();
        assert_send::<ExcludeSet>();
    }

    #[test]
    fn huge_cidr_is_lazy() {
        let l = one("10.0.0.0/8");
        assert_eq!(l.count(), Ok(16_777_216));
        let first: Vec<Target> = l
            .iter(&ExcludeSet::new(), &NoResolver)
            .take(1000)
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(first.len(), 1000);
        assert_eq!(first[0].addr, ip("10.0.0.0"));
        assert_eq!(first[999].addr, ip("10.0.3.231"));
        assert!(first.iter().all(|t| t.hostname.is_none()));
        let mut all = TargetList::new();
        for _ in 0..5 {
            all.push_arg("0.0.0.0/0");
        }
        assert_eq!(all.count(), Ok(5 << 32));
    }

    #[test]
    fn overlapping_excludes_merge_into_ranges() {
        let mut ex = ExcludeSet::new();
        ex.add_list(
            "10.0.0.0/24, 10.0.0.128/25,10.0.0.250-255,10.0.1.0/24",
            &resolver,
        )
        .unwrap();
        ex.add_list("10.0.1.7,10.0.5.5", &resolver).unwrap();
        let ranges: Vec<_> = ex.ranges().collect();
        assert_eq!(
            ranges,
            vec![
                (ip("10.0.0.0"), ip("10.0.1.255")),
                (ip("10.0.5.5"), ip("10.0.5.5"))
            ]
        );
        assert!(ex.contains(ip("10.0.0.0")) && ex.contains(ip("10.0.1.255")));
        assert!(!ex.contains(ip("10.0.2.0")) && !ex.contains(ip("9.255.255.255")));
        let l = one("10.0.0.0/22");
        let got = expand(&l, &ex, 2000);
        assert_eq!(got.len(), 512);
        assert_eq!(got[0], "10.0.2.0");
        assert_eq!(got[511], "10.0.3.255");
    }

    #[test]
    fn an_exclude_covering_the_whole_target_skips_it_at_once() {
        let mut ex = ExcludeSet::new();
        ex.add_list("10.0.0.0/8", &NoResolver).unwrap();
        let mut l = TargetList::new();
        l.push_arg("10.0.0.0/8");
        l.push_arg("10.0-255.0-255.1");
        l.push_arg("10.1.2.3");
        l.push_arg("11.0.0.1");
        assert_eq!(l.count(), Ok(16_777_216 + 65_536 + 2));
        assert_eq!(expand(&l, &ex, 10), vec!["11.0.0.1"]);
        let mut everything = ExcludeSet::new();
        everything.add_list("0.0.0.0/0", &NoResolver).unwrap();
        assert!(expand(&one("0.0.0.0/0"), &everything, 1).is_empty());
    }

    #[test]
    fn octet_pattern_excludes() {
        let mut ex = ExcludeSet::new();
        ex.add_list("*.*.*.1", &NoResolver).unwrap();
        assert_eq!(ex.ranges().count(), 0, "kept as a pattern, not 16M ranges");
        assert_eq!(ex.patterns.len(), 1);
        assert_eq!(
            expand(&one("10.0.0.0/30"), &ex, 10),
            vec!["10.0.0.0", "10.0.0.2", "10.0.0.3"]
        );
        let mut small = ExcludeSet::new();
        small.add_list("10.0.0-3.1-2", &NoResolver).unwrap();
        assert_eq!(small.ranges().count(), 4);
        assert!(small.patterns.is_empty());
    }

    #[test]
    fn exclude_hostnames_and_files() {
        let mut ex = ExcludeSet::new();
        ex.add_list("multi.example", &resolver).unwrap();
        assert!(ex.contains(ip("198.18.1.1")) && ex.contains(ip("198.18.2.1")));
        ex.add_file("ex.txt", "# c\n127.0.0.0/30 # loopback\n", &resolver)
            .unwrap();
        assert_eq!(expand(&one("localhost"), &ex, 10), Vec::<String>::new());
        let err = ex
            .add_file("ex.txt", "10.0.0.1\n\n10.0.0.0/40\n", &resolver)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "ex.txt:3: invalid CIDR prefix \"/40\" in \"10.0.0.0/40\""
        );
        let err = ex.add_list("10.0.0.1,nx.example", &resolver).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to resolve \"nx.example\": Name or service not known"
        );
        let err = ex.add_list("10.0.0.300", &resolver).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid target \"10.0.0.300\": octet 300 out of range"
        );
    }

    /// Tiny xorshift generator, so the "fuzz" cases are reproducible.
    fn rng(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn first_at_or_after_agrees_with_brute_force() {
        let mut seed = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..40 {
            let mut set = OctetSet::empty();
            set.set(0, 10);
            set.set(1, 20);
            for i in 2..4 {
                for _ in 0..(rng(&mut seed) % 6 + 1) {
                    set.set(i, (rng(&mut seed) % 256) as u8);
                }
            }
            let base = u32::from(ip("10.20.0.0"));
            let members: Vec<u32> = (0..65_536u32)
                .map(|x| base + x)
                .filter(|&a| set.contains(a))
                .collect();
            assert_eq!(members.len() as u64, set.count());
            for _ in 0..200 {
                let x = u32::from(ip("10.19.255.0")) + (rng(&mut seed) % 66_000) as u32;
                let want = members.iter().copied().find(|&a| a >= x);
                assert_eq!(
                    set.first_at_or_after(x),
                    want,
                    "{set:?} from {}",
                    Ipv4Addr::from(x)
                );
            }
            let pieces: Vec<(u32, u32)> = set.pieces().collect();
            let from_pieces: u64 = pieces.iter().map(|&(lo, hi)| u64::from(hi - lo) + 1).sum();
            assert_eq!(from_pieces, set.count());
            assert!(pieces.len() as u64 <= set.piece_count());
        }
    }

    #[test]
    fn random_input_never_panics() {
        const ALPHABET: &[u8] = b"0123456789..../,,--**::abcxyzAZ #!_\t\n\xc3\xa9";
        let mut seed = 0x1234_5678_9ABC_DEF1;
        for _ in 0..20_000 {
            let len = (rng(&mut seed) % 24) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| ALPHABET[(rng(&mut seed) % ALPHABET.len() as u64) as usize])
                .collect();
            let s = String::from_utf8_lossy(&bytes).into_owned();
            if let Ok(spec) = TargetSpec::parse(&s) {
                let _ = spec.count();
            }
            let _ = crate::ports::PortSpec::parse(&s, None);
            let _ = ExcludeSet::new().add_list(&s, &resolver);
            let mut l = TargetList::new();
            l.push_arg(s.clone());
            l.push_file("f", s.clone());
            let _ = l.count();
            for r in l.iter(&ExcludeSet::new(), &resolver).take(3) {
                let _ = r;
            }
            let _ = crate::services::top_ports(&s, "f", crate::result::Protocol::Tcp, 3);
        }
    }
}
