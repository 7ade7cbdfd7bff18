//! UDP payloads sent with each `-sU` probe: nmap's `nmap-payloads`, read at
//! run time, or prtip's own small file ([`BUILTIN_PAYLOADS`]) when nmap is
//! not installed.
//!
//! A bare UDP datagram rarely gets an answer from an open port: most
//! services stay silent unless the request makes sense to them. A payload is
//! a well-formed request for the service usually found on a port.
//!
//! # File format
//!
//! ```text
//! # comment (anywhere outside a string)
//! udp 53,5353 "\x00\x00\x01\x00"  # ports, then the payload
//!   "\x00\x01" "more"             # adjacent strings are joined, across lines
//! source 5678                     # optional keyword, parsed and ignored
//! ```
//!
//! An entry is `udp`, a comma-separated list of ports (`53`) and ranges
//! (`32768-65535`), then one or more double-quoted strings; these tokens may
//! be spread over several lines. Strings take the escapes `\xHH` (exactly two
//! hex digits, so `"\x002"` is a NUL then `2`), `\0`, `\n`, `\r`, `\t`, `\\`
//! and `\"`, and must end on the line they start on. Every entry adds one
//! payload to each of its ports; a port named by several entries gets all of
//! them, in file order.
//!
//! Where this parser draws lines nmap's header leaves open:
//!
//! - `source PORT` after the strings asks for a source port; nmap does not
//!   honour it and neither does prtip, but the port must be valid. It is the
//!   only keyword (as in nmap 7.93). Any other word after an entry starts
//!   the next entry, so an unknown keyword on its own line is reported as an
//!   unknown protocol and the entry before it is kept.
//! - nmap ignores lines over 1024 characters; prtip has no fixed line
//!   buffer and reads them whole. Dropping one line of a multi-line entry
//!   would silently send a different payload, which is worse than accepting
//!   a line nmap would not.
//! - nmap stops at 255 payloads per port; prtip has no such limit (every
//!   payload costs a datagram per probe, so the file's author decides).
//! - A payload longer than [`MAX_PAYLOAD`] cannot be sent in one IPv4
//!   datagram and is rejected.
//! - `\0` followed by an octal digit is rejected rather than read as C's
//!   octal escape or as NUL plus a digit: either guess could be wrong.
//! - Only the ASCII word `udp` starts an entry; other protocols are reported.
//!
//! A malformed entry is skipped with a [`ServiceWarning`] (`file:line:
//! reason`, the line of the offending token) and parsing resumes at the next
//! line that starts with a word, so one bad entry costs only itself.
//!
//! # Memory
//!
//! All payload bytes live back to back in one arena, each payload is its
//! end offset (4 bytes), and ports point at payloads by index. A port list
//! is kept as ranges only for runs longer than [`EXPAND_UP_TO`] ports (there
//! are two in nmap 7.93's file, 1025-1199 and 32768-65535, which expanded
//! would cost 33k entries); shorter ones are expanded to sorted single ports
//! found by binary search. nmap 7.93's file (21 KB of text; 63 payloads
//! for 33,053 ports) costs 3,490 bytes of heap in total: 2,690 payload
//! bytes, 63 ends, 134 single ports and two ranges ([`PayloadDb::heap_bytes`],
//! checked against the allocator by `tests/payloads_heap.rs`; parsing peaks
//! at about 8 KB). prtip's built-in file costs 461 bytes.

use std::ops::Range;

use crate::services::{Loaded, ServiceWarning};

/// prtip's own payload file (`prtip-core/data/prtip-payloads`), for machines
/// without nmap.
pub const BUILTIN_PAYLOADS: &str = include_str!("../data/prtip-payloads");

/// The name [`BUILTIN_PAYLOADS`] is reported under in warnings.
pub const BUILTIN_NAME: &str = "prtip-payloads (built in)";

/// The largest payload accepted: what one UDP datagram carries over IPv4
/// (65,535 minus a 20-byte IP header and an 8-byte UDP header).
pub const MAX_PAYLOAD: usize = 65_507;

/// Port runs up to this length are stored as single ports (4 bytes each,
/// found by binary search); longer runs as one range each, which every
/// lookup scans, so the two kinds stay cheap together.
pub const EXPAND_UP_TO: u32 = 16;

/// Payloads per UDP port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayloadDb {
    /// Every payload's bytes, back to back in file order.
    bytes: Box<[u8]>,
    /// End of payload `i` in `bytes`; it starts where payload `i - 1` ends.
    ends: Box<[u32]>,
    /// Single ports, sorted by port then payload (so file order per port).
    singles: Box<[Single]>,
    /// Long port ranges in payload order.
    spans: Box<[Span]>,
    /// Distinct ports with at least one payload.
    ports: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Single {
    port: u16,
    payload: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    lo: u16,
    hi: u16,
    payload: u16,
}

impl PayloadDb {
    /// Parses the text of an nmap-payloads file named `file` (for warnings).
    /// Malformed entries are skipped with a warning; this never fails.
    pub fn parse(text: &str, file: &str) -> Loaded<PayloadDb> {
        // An editor's byte-order mark would otherwise read as part of `udp`.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut parser = Parser::new(text, file);
        parser.run();
        Loaded {
            value: parser.db.finish(),
            warnings: parser.warnings,
        }
    }

    /// prtip's own payload file ([`BUILTIN_PAYLOADS`]), for machines without
    /// nmap. A test keeps it free of warnings.
    pub fn builtin() -> PayloadDb {
        PayloadDb::parse(BUILTIN_PAYLOADS, BUILTIN_NAME).value
    }

    /// Every payload for `port`, in file order; none means the caller sends
    /// an empty datagram.
    pub fn for_port(&self, port: u16) -> impl Iterator<Item = &[u8]> + '_ {
        let first = self.singles.partition_point(|s| s.port < port);
        let singles = self.singles[first..]
            .iter()
            .take_while(move |s| s.port == port)
            .map(|s| s.payload);
        let spans = self
            .spans
            .iter()
            .filter(move |s| s.lo <= port && port <= s.hi)
            .map(|s| s.payload);
        // Both yield ascending payload indices; merging keeps file order.
        MergeAscending {
            a: singles.peekable(),
            b: spans.peekable(),
        }
        .map(move |i| self.payload(usize::from(i)))
    }

    /// Number of payloads (entries of the file that were kept).
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Number of distinct ports with at least one payload.
    pub fn port_count(&self) -> usize {
        self.ports as usize
    }

    /// True when no port has a payload.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Heap bytes held (every buffer is allocated to its exact length).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of_val;
        size_of_val(&*self.bytes)
            + size_of_val(&*self.ends)
            + size_of_val(&*self.singles)
            + size_of_val(&*self.spans)
    }

    fn payload(&self, i: usize) -> &[u8] {
        let start = match i.checked_sub(1) {
            Some(prev) => self.ends[prev] as usize,
            None => 0,
        };
        &self.bytes[start..self.ends[i] as usize]
    }
}

/// Merges two ascending iterators into one ascending iterator.
struct MergeAscending<A: Iterator, B: Iterator> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
}

impl<A, B> Iterator for MergeAscending<A, B>
where
    A: Iterator<Item = u16>,
    B: Iterator<Item = u16>,
{
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        match (self.a.peek(), self.b.peek()) {
            (Some(x), Some(y)) if y < x => self.b.next(),
            (Some(_), _) => self.a.next(),
            (None, _) => self.b.next(),
        }
    }
}

/// Bytes of a request that a well-behaved server copies into its reply:
/// the scanner can put a keyed value at `request` and expect it at `reply`,
/// so a forged or stray datagram does not count as an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo {
    /// Where the value sits in the request payload.
    pub request: Range<usize>,
    /// Where the server puts it in the reply payload.
    pub reply: Range<usize>,
}

/// The echoed field of `payload` sent to `port`, for the protocols where
/// it is known; `None` otherwise.
///
/// - DNS (53) and multicast DNS (5353): the 16-bit ID, bytes 0..2 of both.
///   An mDNS responder zeroes the ID only in multicast answers; a query from
///   a port other than 5353 gets a unicast answer echoing it (RFC 6762, 6.7).
/// - NTP (123), a 48-byte mode-3 (client) request: the client's transmit
///   timestamp, bytes 40..48, comes back as the reply's originate timestamp,
///   bytes 24..32 (RFC 5905, 8).
pub fn echo_field(port: u16, payload: &[u8]) -> Option<Echo> {
    const DNS_HEADER: usize = 12;
    const NTP_PACKET: usize = 48;
    const NTP_CLIENT: u8 = 3;
    match port {
        53 | 5353 if payload.len() >= DNS_HEADER => Some(Echo {
            request: 0..2,
            reply: 0..2,
        }),
        123 if payload.len() == NTP_PACKET && payload[0] & 0x07 == NTP_CLIENT => Some(Echo {
            request: 40..48,
            reply: 24..32,
        }),
        _ => None,
    }
}

/// The database while it is being built.
#[derive(Default)]
struct Builder {
    bytes: Vec<u8>,
    ends: Vec<u32>,
    singles: Vec<Single>,
    spans: Vec<Span>,
}

impl Builder {
    /// Stores the payload `bytes[start..]` for `ports` (sorted, disjoint,
    /// not adjacent), or says why not (the caller removes the bytes).
    fn commit(&mut self, start: usize, ports: &[(u16, u16)]) -> Result<(), String> {
        let len = self.bytes.len() - start;
        let fits = len <= MAX_PAYLOAD;
        let index = u16::try_from(self.ends.len()).ok().filter(|_| fits);
        let end = u32::try_from(self.bytes.len()).ok().filter(|_| fits);
        let (Some(index), Some(end)) = (index, end) else {
            return Err(if fits {
                format!("too many payloads (at most {})", u32::from(u16::MAX) + 1)
            } else {
                format!(
                    "payload of {len} bytes is longer than a UDP datagram carries ({MAX_PAYLOAD})"
                )
            });
        };
        self.ends.push(end);
        for &(lo, hi) in ports {
            if u32::from(hi - lo) < EXPAND_UP_TO {
                let singles = (lo..=hi).map(|port| Single {
                    port,
                    payload: index,
                });
                self.singles.extend(singles);
            } else {
                self.spans.push(Span {
                    lo,
                    hi,
                    payload: index,
                });
            }
        }
        Ok(())
    }

    fn finish(mut self) -> PayloadDb {
        self.singles.sort_unstable();
        let ports = count_ports(&self.singles, &self.spans);
        PayloadDb {
            bytes: self.bytes.into_boxed_slice(),
            ends: self.ends.into_boxed_slice(),
            singles: self.singles.into_boxed_slice(),
            spans: self.spans.into_boxed_slice(),
            ports,
        }
    }
}

/// Size of the union of all ports; `singles` is sorted.
fn count_ports(singles: &[Single], spans: &[Span]) -> u32 {
    let mut runs: Vec<(u32, u32)> = singles
        .iter()
        .map(|s| (u32::from(s.port), u32::from(s.port)))
        .chain(spans.iter().map(|s| (u32::from(s.lo), u32::from(s.hi))))
        .collect();
    runs.sort_unstable();
    let (mut count, mut next_uncounted) = (0, 0);
    for (lo, hi) in runs {
        let from = lo.max(next_uncounted);
        if from <= hi {
            count += hi - from + 1;
            next_uncounted = hi + 1;
        }
    }
    count
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind<'a> {
    /// A run of characters other than whitespace, `"` and `#`.
    Word(&'a str),
    /// The text between a pair of quotes, escapes not yet decoded.
    Str(&'a str),
    /// A string the end of its line (or file) cut off.
    Unterminated,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind<'a>,
    line: usize,
    /// First token on its line: only such a word can start an entry, which
    /// is what lets an error skip the rest of the broken entry.
    starts_line: bool,
}

impl Token<'_> {
    /// A word that can begin an entry or a skipped entry's successor.
    fn starts_entry(&self) -> bool {
        match self.kind {
            Kind::Word(w) => {
                self.starts_line
                    && w != "source"
                    && w.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            }
            _ => false,
        }
    }
}

/// Splits the text into words and strings, dropping whitespace and comments.
struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    line_has_token: bool,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer {
            text,
            pos: 0,
            line: 1,
            line_has_token: false,
        }
    }

    fn skip_blanks(&mut self) {
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b'\n' => {
                    self.line += 1;
                    self.line_has_token = false;
                    self.pos += 1;
                }
                b'#' => {
                    let rest = &bytes[self.pos..];
                    self.pos += memchr::memchr(b'\n', rest).unwrap_or(rest.len());
                }
                // `\r` included: CRLF files read like LF files.
                b if b.is_ascii_whitespace() => self.pos += 1,
                _ => break,
            }
        }
    }

    /// The string opening at `self.pos`; leaves `pos` after its closing
    /// quote, or at the newline that cut it off.
    fn string(&mut self) -> Kind<'a> {
        let bytes = self.text.as_bytes();
        let mut i = self.pos + 1;
        loop {
            match bytes.get(i) {
                None | Some(b'\n') => {
                    self.pos = i;
                    return Kind::Unterminated;
                }
                Some(b'"') => {
                    // Both ends are at ASCII quotes, so on char boundaries.
                    let raw = &self.text[self.pos + 1..i];
                    self.pos = i + 1;
                    return Kind::Str(raw);
                }
                // An escaped character cannot close the string, but an
                // escaped newline still ends the line.
                Some(b'\\') if bytes.get(i + 1).is_some_and(|&c| c != b'\n') => i += 2,
                Some(_) => i += 1,
            }
        }
    }

    fn word(&mut self) -> Kind<'a> {
        let start = self.pos;
        let rest = &self.text.as_bytes()[start..];
        let len = rest
            .iter()
            .position(|&b| b.is_ascii_whitespace() || b == b'"' || b == b'#')
            .unwrap_or(rest.len());
        self.pos += len;
        // Ends at an ASCII byte or the end of the text: a char boundary.
        Kind::Word(&self.text[start..self.pos])
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        self.skip_blanks();
        let &first = self.text.as_bytes().get(self.pos)?;
        let starts_line = !self.line_has_token;
        self.line_has_token = true;
        let line = self.line;
        let kind = if first == b'"' {
            self.string()
        } else {
            self.word()
        };
        Some(Token {
            kind,
            line,
            starts_line,
        })
    }
}

/// Why an entry was skipped, and the line to report.
struct Fault {
    line: usize,
    reason: String,
}

fn fault(line: usize, reason: impl Into<String>) -> Fault {
    Fault {
        line,
        reason: reason.into(),
    }
}

struct Parser<'a> {
    tokens: std::iter::Peekable<Lexer<'a>>,
    file: &'a str,
    warnings: Vec<ServiceWarning>,
    db: Builder,
    /// The current entry's ports, reused across entries.
    ports: Vec<(u16, u16)>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, file: &'a str) -> Self {
        Parser {
            tokens: Lexer::new(text).peekable(),
            file,
            warnings: Vec::new(),
            db: Builder::default(),
            ports: Vec::new(),
        }
    }

    fn run(&mut self) {
        while let Some(tok) = self.tokens.next() {
            let result = match tok.kind {
                Kind::Word("udp") => self.entry(tok.line),
                other => Err(fault(tok.line, not_an_entry(other))),
            };
            if let Err(f) = result {
                self.warn(f);
                self.skip_entry();
            }
        }
    }

    fn warn(&mut self, f: Fault) {
        self.warnings.push(ServiceWarning {
            file: self.file.to_owned(),
            line: f.line,
            reason: f.reason,
        });
    }

    /// Drops the rest of a broken entry: everything up to the next line
    /// that starts with a word.
    fn skip_entry(&mut self) {
        while self.tokens.next_if(|t| !t.starts_entry()).is_some() {}
    }

    /// The rest of an entry after `udp` (on `line`): ports, strings,
    /// keywords. Stores it, or leaves the database as it was.
    fn entry(&mut self, line: usize) -> Result<(), Fault> {
        let list = self.port_list(line)?;
        let start = self.db.bytes.len();
        let result = self.strings(line, list).and_then(|()| self.keywords());
        let result = result.and_then(|()| {
            self.db
                .commit(start, &self.ports)
                .map_err(|reason| fault(line, reason))
        });
        if result.is_err() {
            self.db.bytes.truncate(start);
        }
        result
    }

    fn port_list(&mut self, line: usize) -> Result<&'a str, Fault> {
        // A word starting the next line may be the next entry: leave it.
        let tok = self.tokens.next_if(|t| !t.starts_entry());
        let Some(Token {
            kind: Kind::Word(list),
            line: list_line,
            ..
        }) = tok
        else {
            return Err(fault(line, "`udp` without a port list"));
        };
        parse_ports(list, &mut self.ports)
            .map_err(|e| fault(list_line, format!("bad port list `{list}`: {e}")))?;
        Ok(list)
    }

    /// Decodes the payload strings into the arena.
    fn strings(&mut self, line: usize, list: &str) -> Result<(), Fault> {
        let mut count = 0;
        while let Some(tok) = self
            .tokens
            .next_if(|t| matches!(t.kind, Kind::Str(_) | Kind::Unterminated))
        {
            let Kind::Str(raw) = tok.kind else {
                return Err(fault(tok.line, "unterminated string"));
            };
            unescape(raw, &mut self.db.bytes).map_err(|e| fault(tok.line, e))?;
            count += 1;
        }
        if count == 0 {
            return Err(fault(line, format!("port list `{list}` without a payload")));
        }
        Ok(())
    }

    /// `source PORT` keywords (checked, then ignored), and the check that
    /// the entry ends where the next line starts with a word.
    fn keywords(&mut self) -> Result<(), Fault> {
        while let Some(tok) = self.tokens.next_if(|t| t.kind == Kind::Word("source")) {
            let port = self.tokens.next_if(|t| t.line == tok.line);
            match port.map(|t| t.kind) {
                Some(Kind::Word(p)) => {
                    parse_port(p).map_err(|e| fault(tok.line, format!("bad source port: {e}")))?;
                }
                _ => return Err(fault(tok.line, "`source` needs a port on its line")),
            }
        }
        match self.tokens.peek() {
            None => Ok(()),
            Some(t) if t.starts_line && matches!(t.kind, Kind::Word(_)) => Ok(()),
            Some(t) => Err(fault(t.line, unexpected(t.kind))),
        }
    }
}

/// Why a token where an entry should start is not one.
fn not_an_entry(kind: Kind<'_>) -> String {
    match kind {
        Kind::Word("source") => "`source` outside an entry".to_owned(),
        Kind::Word(w) if w.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) => {
            format!(
                "unknown protocol or keyword `{w}` (only `udp` entries and `source` are supported)"
            )
        }
        Kind::Word(w) => format!("expected `udp`, found `{w}`"),
        Kind::Str(_) => "quoted string outside an entry".to_owned(),
        Kind::Unterminated => "unterminated string".to_owned(),
    }
}

fn unexpected(kind: Kind<'_>) -> String {
    match kind {
        Kind::Word(w) => format!("unexpected `{w}` after the payload"),
        Kind::Str(_) => "quoted string after a keyword".to_owned(),
        Kind::Unterminated => "unterminated string".to_owned(),
    }
}

/// Parses `53,5353,1000-1010` into `out` as sorted, merged ranges, so that
/// no port gets the same payload twice.
fn parse_ports(list: &str, out: &mut Vec<(u16, u16)>) -> Result<(), String> {
    out.clear();
    for item in list.split(',') {
        let (lo, hi) = match item.split_once('-') {
            Some((lo, hi)) => (parse_port(lo)?, parse_port(hi)?),
            None => (parse_port(item)?, parse_port(item)?),
        };
        if lo > hi {
            return Err(format!("range `{item}` runs backwards"));
        }
        out.push((lo, hi));
    }
    out.sort_unstable();
    out.dedup_by(|next, prev| {
        let touches = u32::from(next.0) <= u32::from(prev.1) + 1;
        if touches {
            prev.1 = prev.1.max(next.1);
        }
        touches
    });
    Ok(())
}

fn parse_port(s: &str) -> Result<u16, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{s}` is not a port number"));
    }
    s.parse().map_err(|_| format!("port `{s}` is above 65535"))
}

/// Appends the bytes `raw` (a string's text between its quotes) stands for.
fn unescape(raw: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let mut rest = raw;
    while let Some(at) = rest.find('\\') {
        out.extend_from_slice(&rest.as_bytes()[..at]);
        let after = &rest[at + 1..];
        let (byte, used) = escape(after)?;
        out.push(byte);
        rest = &after[used..];
    }
    out.extend_from_slice(rest.as_bytes());
    Ok(())
}

/// The byte an escape stands for, from the text after its backslash, and
/// how many bytes of that text it used.
fn escape(after: &str) -> Result<(u8, usize), String> {
    let mut chars = after.chars();
    let byte = match chars.next() {
        Some('n') => b'\n',
        Some('r') => b'\r',
        Some('t') => b'\t',
        Some('\\') => b'\\',
        Some('"') => b'"',
        Some('0') if chars.next().is_some_and(|c| c.is_digit(8)) => {
            return Err(
                "octal escapes are not supported (use `\\x00` for a NUL before a digit)".to_owned(),
            );
        }
        Some('0') => 0,
        Some('x') => return hex_escape(after),
        Some(c) => return Err(format!("bad escape `\\{c}`")),
        None => return Err("backslash at the end of a string".to_owned()),
    };
    Ok((byte, 1))
}

/// `xHH` (after the backslash): exactly two hex digits.
fn hex_escape(after: &str) -> Result<(u8, usize), String> {
    let digits = after
        .get(1..3)
        .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
    digits
        .and_then(|d| u8::from_str_radix(d, 16).ok())
        .map(|b| (b, 3))
        .ok_or_else(|| {
            let shown: String = after.chars().take(3).collect();
            format!("bad escape `\\{shown}`: `\\x` needs two hex digits")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Loaded<PayloadDb> {
        PayloadDb::parse(text, "t")
    }

    /// Parses text that must be clean.
    fn clean(text: &str) -> PayloadDb {
        let loaded = parse(text);
        assert_eq!(loaded.warnings, [], "{text:?}");
        loaded.value
    }

    fn all(db: &PayloadDb, port: u16) -> Vec<&[u8]> {
        db.for_port(port).collect()
    }

    /// `(line, reason)` of each warning.
    fn warnings(text: &str) -> Vec<(usize, String)> {
        parse(text)
            .warnings
            .into_iter()
            .map(|w| (w.line, w.reason))
            .collect()
    }

    /// The single warning `text` gives: its line, and its reason, which must
    /// contain `needle`.
    fn one_warning(text: &str, needle: &str) -> usize {
        let w = warnings(text);
        assert_eq!(w.len(), 1, "{text:?}: {w:?}");
        assert!(w[0].1.contains(needle), "{text:?}: {w:?}");
        w[0].0
    }

    #[test]
    fn empty_and_comment_only_text_is_an_empty_db() {
        for text in ["", "\n\n", "# only a comment\n  # another", "\u{feff}"] {
            let db = clean(text);
            assert!(db.is_empty());
            assert_eq!((db.len(), db.port_count(), db.heap_bytes()), (0, 0, 0));
            assert_eq!(all(&db, 53), Vec::<&[u8]>::new());
        }
        assert_eq!(PayloadDb::default(), clean(""));
    }

    #[test]
    fn single_line_entry() {
        let db = clean("udp 7 \"\\x0d\\x0a\"\n");
        assert_eq!(all(&db, 7), [b"\r\n"]);
        assert_eq!((db.len(), db.port_count()), (1, 1));
        assert!(all(&db, 6).is_empty() && all(&db, 8).is_empty());
    }

    #[test]
    fn multi_line_entry_joins_strings_across_lines_and_comments() {
        let text = "# head\n\
                    udp\n  9\n\
                    \x20 \"ab\" \"cd\"  # trailing comment\n\
                    # a comment line inside the entry\n\
                    \"ef\"\n\
                    \t\"\"\n\
                    \"g#h\"\n";
        let db = clean(text);
        assert_eq!(all(&db, 9), [b"abcdefg#h"]);
    }

    #[test]
    fn port_lists_ranges_and_duplicates() {
        let db = clean("udp 0,5,3-4,4,65535,1000-1016,2000-2015 \"x\"");
        for port in [0, 3, 4, 5, 65535, 1000, 1008, 1016, 2000, 2015] {
            assert_eq!(all(&db, port), [b"x"], "port {port}");
        }
        for port in [1, 2, 6, 999, 1017, 1999, 2016, 65534] {
            assert!(all(&db, port).is_empty(), "port {port}");
        }
        assert_eq!(db.port_count(), 5 + 17 + 16);
        // 1000-1016 is longer than EXPAND_UP_TO: one range; 2000-2015 is not.
        assert_eq!((db.spans.len(), db.singles.len()), (1, 5 + 16));
    }

    #[test]
    fn overlapping_lists_in_one_entry_give_the_payload_once() {
        let db = clean("udp 53,53,50-60,55-100,101 \"x\"");
        for port in [50, 53, 60, 99, 100, 101] {
            assert_eq!(all(&db, port), [b"x"], "port {port}");
        }
        assert_eq!(db.port_count(), 52);
    }

    #[test]
    fn several_entries_for_a_port_keep_file_order() {
        let text = "udp 1000-2000 \"a\"\n\
                    udp 1500 \"b\"\n\
                    udp 53 \"dns\"\n\
                    udp 1400-1600,53 \"c\"\n\
                    udp 1500,1501 \"d\"\n";
        let db = clean(text);
        assert_eq!(all(&db, 1500), [&b"a"[..], b"b", b"c", b"d"]);
        assert_eq!(all(&db, 1501), [&b"a"[..], b"c", b"d"]);
        assert_eq!(all(&db, 1400), [b"a", b"c"]);
        assert_eq!(all(&db, 53), [&b"dns"[..], b"c"]);
        assert_eq!(all(&db, 1399), [b"a"]);
        assert!(all(&db, 999).is_empty());
        assert_eq!(db.len(), 5);
        assert_eq!(db.port_count(), 1001 + 1);
    }

    #[test]
    fn escapes() {
        let db = clean(r#"udp 1 "\x00\xfF\xAb\0\n\r\t\\\"" "\x002" "\0\x14\0a" "é""#);
        assert_eq!(
            all(&db, 1),
            [&b"\x00\xff\xab\x00\n\r\t\\\"\x002\x00\x14\x00a\xc3\xa9"[..]]
        );
    }

    #[test]
    fn source_keyword_is_parsed_and_ignored() {
        let text = "udp 500 \"a\"\n\
                    source 500\n\
                    udp 501 \"b\" source 501\n\
                    udp 502\n\"c\"\nsource 0 # why\nsource 65535\n\
                    udp 503 \"d\"\n";
        let db = clean(text);
        assert_eq!(all(&db, 500), [b"a"]);
        assert_eq!(all(&db, 501), [b"b"]);
        assert_eq!(all(&db, 502), [b"c"]);
        assert_eq!(all(&db, 503), [b"d"]);
    }

    #[test]
    fn crlf_line_endings_read_like_lf() {
        let lf = "# c\nudp 53,54\n  \"a\\r\\n\" # x\n  \"b\"\nsource 9\nudp 1 \"z\"\n";
        let crlf = lf.replace('\n', "\r\n");
        assert_eq!(clean(&crlf), clean(lf));
        assert_eq!(all(&clean(&crlf), 53), [b"a\r\nb"]);
        // Line numbers count the same way.
        let bad = "udp 1 \"a\"\r\nudp 2\r\nudp 3 \"c\"\r\n";
        assert_eq!(one_warning(bad, "without a payload"), 2);
    }

    #[test]
    fn comment_after_an_entry() {
        let db = clean("udp 7 \"x\" # echo\nudp 8 \"y\"# tight\nudp 9 \"#z\"#\n");
        assert_eq!(all(&db, 7), [b"x"]);
        assert_eq!(all(&db, 8), [b"y"]);
        assert_eq!(all(&db, 9), [b"#z"]);
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        assert_eq!(all(&clean("\u{feff}udp 7 \"x\""), 7), [b"x"]);
    }

    #[test]
    fn bad_escapes() {
        for (text, needle) in [
            (r#"udp 1 "a\q""#, "bad escape `\\q`"),
            (r#"udp 1 "\x4""#, "two hex digits"),
            (r#"udp 1 "\x4g""#, "two hex digits"),
            (r#"udp 1 "\x""#, "two hex digits"),
            (r#"udp 1 "\x+f""#, "two hex digits"),
            (r#"udp 1 "\xé0""#, "two hex digits"),
            (r#"udp 1 "\012""#, "octal"),
            (r#"udp 1 "\1""#, "bad escape"),
            (r#"udp 1 "\é""#, "bad escape `\\é`"),
        ] {
            assert_eq!(one_warning(text, needle), 1, "{text}");
        }
        // `\0` before a non-octal digit is NUL then the digit.
        assert_eq!(all(&clean(r#"udp 1 "\08""#), 1), [b"\x008"]);
    }

    #[test]
    fn each_error_names_its_line_and_parsing_continues() {
        let cases: &[(&str, &str, usize)] = &[
            ("udp 1 \"ok\"\nudp 2 \"a\\qb\"\n", "bad escape", 2),
            (
                "udp 1 \"ok\"\nudp 2\n  \"a\"\n  \"b\\q\"\n",
                "bad escape",
                4,
            ),
            (
                "udp 1 \"ok\"\nudp 2 \"abc\nudp 3 \"x\"\n",
                "unterminated string",
                2,
            ),
            ("udp 1 \"ok\"\nudp 2 \"abc\\\"\n", "unterminated string", 2),
            (
                "udp 1 \"ok\"\nudp 2 \"abc\\\n\"x\"\n",
                "unterminated string",
                2,
            ),
            ("udp 1 \"ok\"\nudp 65536 \"a\"\n", "above 65535", 2),
            (
                "udp 1 \"ok\"\nudp 99999999999999999999 \"a\"\n",
                "above 65535",
                2,
            ),
            ("udp 1 \"ok\"\nudp 5-3 \"a\"\n", "backwards", 2),
            ("udp 1 \"ok\"\nudp 5, \"a\"\n", "not a port number", 2),
            ("udp 1 \"ok\"\nudp ,5 \"a\"\n", "not a port number", 2),
            ("udp 1 \"ok\"\nudp 5-\"a\"\n", "not a port number", 2),
            ("udp 1 \"ok\"\nudp 1-2-3 \"a\"\n", "not a port number", 2),
            ("udp 1 \"ok\"\nudp x \"a\"\n", "not a port number", 2),
            (
                "udp 1 \"ok\"\nudp\n\n  53a \"a\"\n",
                "bad port list `53a`",
                4,
            ),
            (
                "udp 1 \"ok\"\nudp 2\nudp 3 \"c\"\n",
                "port list `2` without a payload",
                2,
            ),
            ("udp 1 \"ok\"\nudp 2 # none\n\n", "without a payload", 2),
            ("udp 1 \"ok\"\nudp \"a\"\n", "`udp` without a port list", 2),
            (
                "udp 1 \"ok\"\nudp\nudp 3 \"c\"\n",
                "`udp` without a port list",
                2,
            ),
            (
                "udp 1 \"ok\"\ntcp 80 \"GET\"\n",
                "unknown protocol or keyword `tcp`",
                2,
            ),
            (
                "udp 1 \"ok\"\nUDP 2 \"a\"\n",
                "unknown protocol or keyword `UDP`",
                2,
            ),
            (
                "udp 1 \"ok\"\nttl 64\n",
                "unknown protocol or keyword `ttl`",
                2,
            ),
            // (After an entry, a string on its own line continues it.)
            (
                "\"stray\"\nudp 1 \"ok\"\n",
                "quoted string outside an entry",
                1,
            ),
            ("\"stray\nudp 1 \"ok\"\n", "unterminated string", 1),
            ("udp 1 \"ok\"\n42 \"a\"\n", "expected `udp`, found `42`", 2),
            ("source 5\nudp 1 \"ok\"\n", "`source` outside an entry", 1),
            (
                "udp 1 \"ok\"\nudp 2 \"a\"\nsource\n",
                "`source` needs a port",
                3,
            ),
            (
                "udp 1 \"ok\"\nudp 2 \"a\"\nsource\n9\n",
                "`source` needs a port",
                3,
            ),
            (
                "udp 1 \"ok\"\nudp 2 \"a\"\nsource x\n",
                "bad source port",
                3,
            ),
            (
                "udp 1 \"ok\"\nudp 2 \"a\"\nsource 70000\n",
                "bad source port",
                3,
            ),
            (
                "udp 1 \"ok\"\nudp 2 \"a\"\nsource 5 6\n",
                "unexpected `6`",
                3,
            ),
            (
                "udp 1 \"ok\"\nudp 2 \"a\"\nsource 5\n\"b\"\n",
                "quoted string after",
                4,
            ),
            ("udp 1 \"ok\"\nudp 2 \"a\" junk\n", "unexpected `junk`", 2),
            ("udp 1 \"ok\"\nudp 2 \"a\"\n\"b\" 7\n", "unexpected `7`", 3),
        ];
        for &(text, needle, line) in cases {
            assert_eq!(one_warning(text, needle), line, "{text:?}");
            let loaded = parse(text);
            assert_eq!(all(&loaded.value, 1), [b"ok"], "{text:?}");
            assert!(all(&loaded.value, 2).is_empty(), "{text:?}");
            assert_eq!(loaded.value.len(), 1 + usize::from(text.contains("udp 3")));
            // The skipped entry left no bytes behind.
            assert_eq!(
                loaded.value.bytes.len(),
                2 + usize::from(text.contains("udp 3"))
            );
        }
    }

    #[test]
    fn a_broken_entry_costs_only_itself() {
        let text = "udp 1 \"\\q\"\n  \"more\"\n\"more\" 5\nsource 7\nudp 2 \"b\"\nfoo 1\n  \"x\"\nudp 3 \"c\"\n";
        assert_eq!(
            warnings(text),
            [
                (1, "bad escape `\\q`".to_owned()),
                (
                    6,
                    "unknown protocol or keyword `foo` (only `udp` entries and `source` are supported)"
                        .to_owned()
                ),
            ]
        );
        let db = parse(text).value;
        assert_eq!(
            (db.len(), all(&db, 2), all(&db, 3)),
            (2, vec![&b"b"[..]], vec![&b"c"[..]])
        );
    }

    #[test]
    fn warnings_print_as_file_line_reason() {
        let w = PayloadDb::parse("udp 1\n", "nmap-payloads").warnings;
        assert_eq!(
            w[0].to_string(),
            "nmap-payloads:1: port list `1` without a payload"
        );
    }

    #[test]
    fn payload_size_limit() {
        let text = |n: usize| format!("udp 1 \"{}\"\nudp 2 \"ok\"", "a".repeat(n));
        let db = clean(&text(MAX_PAYLOAD));
        assert_eq!(all(&db, 1)[0].len(), MAX_PAYLOAD);
        // Split across strings, the total is what counts.
        let split = format!("udp 1 \"{}\" \"{}\"", "a".repeat(MAX_PAYLOAD), "b");
        assert_eq!(one_warning(&split, "65507"), 1);
        let loaded = parse(&text(MAX_PAYLOAD + 1));
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        assert!(loaded.warnings[0].reason.contains("65508 bytes"));
        assert_eq!(loaded.value.bytes.len(), 2);
        assert_eq!(all(&loaded.value, 2), [b"ok"]);
    }

    #[test]
    fn lines_over_1024_characters_are_read() {
        let long = format!("udp {} \"{}\"", "7,".repeat(600) + "7", "\\x41".repeat(400));
        assert!(long.len() > 2048);
        assert_eq!(all(&clean(&long), 7), ["A".repeat(400).as_bytes()]);
    }

    #[test]
    fn heap_bytes_counts_every_buffer() {
        let db = clean("udp 1,2,3 \"ab\"\nudp 100-200 \"c\"");
        // 3 payload bytes, 2 ends, 3 singles, 1 span.
        assert_eq!(db.heap_bytes(), 3 + 2 * 4 + 3 * 4 + 6);
    }

    #[test]
    fn echo_field_for_dns_and_ntp() {
        let dns = [0u8; 12];
        let ntp = |first: u8| {
            let mut p = [0u8; 48];
            p[0] = first;
            p
        };
        let id = Some(Echo {
            request: 0..2,
            reply: 0..2,
        });
        assert_eq!(echo_field(53, &dns), id);
        assert_eq!(echo_field(5353, &[0; 40]), id);
        assert_eq!(echo_field(53, &dns[..11]), None);
        assert_eq!(echo_field(54, &dns), None);
        let xmt = Some(Echo {
            request: 40..48,
            reply: 24..32,
        });
        assert_eq!(echo_field(123, &ntp(0x23)), xmt);
        assert_eq!(echo_field(123, &ntp(0xe3)), xmt);
        assert_eq!(echo_field(123, &ntp(0x1b)), xmt);
        assert_eq!(echo_field(123, &ntp(0x24)), None, "mode 4 is a server");
        assert_eq!(echo_field(123, &ntp(0xd9)), None, "mode 1 is symmetric");
        assert_eq!(echo_field(123, &ntp(0x23)[..47]), None);
        assert_eq!(echo_field(123, &[0x23; 49]), None);
        assert_eq!(echo_field(123, &[]), None);
        assert_eq!(echo_field(53, &[]), None);
        assert_eq!(echo_field(161, &ntp(0x23)), None);
        assert_eq!(echo_field(0, &dns), None);
    }

    /// Walks a DNS query (RFC 1035, 4.1): returns QDCOUNT after checking
    /// that the header and every question fill the message exactly.
    fn dns_questions(msg: &[u8]) -> u16 {
        assert!(msg.len() >= 12, "header");
        assert_eq!(msg[2] & 0x80, 0, "QR must say query");
        let qd = u16::from_be_bytes([msg[4], msg[5]]);
        assert_eq!(&msg[6..12], [0; 6], "no records besides questions");
        let mut at = 12;
        for _ in 0..qd {
            loop {
                let len = usize::from(msg[at]);
                assert!(len < 64, "plain label");
                at += 1 + len;
                if len == 0 {
                    break;
                }
            }
            at += 4;
        }
        assert_eq!(at, msg.len(), "questions fill the message");
        qd
    }

    #[test]
    fn builtin_file_is_clean_and_covers_the_common_services() {
        let loaded = PayloadDb::parse(BUILTIN_PAYLOADS, BUILTIN_NAME);
        assert_eq!(loaded.warnings, []);
        let db = loaded.value;
        assert_eq!(db, PayloadDb::builtin());
        for (port, count) in [
            (53, 1),
            (123, 1),
            (137, 1),
            (161, 2),
            (1900, 1),
            (3478, 1),
            (5353, 1),
            (5683, 1),
        ] {
            assert_eq!(db.for_port(port).count(), count, "port {port}");
        }
        assert_eq!((db.len(), db.port_count()), (9, 8));

        for port in [53, 5353] {
            let query = all(&db, port)[0];
            assert_eq!(dns_questions(query), 1, "port {port}");
            assert!(echo_field(port, query).is_some());
        }
        assert!(all(&db, 5353)[0].ends_with(b"\x05local\x00\x00\x0c\x00\x01"));

        let ntp = all(&db, 123)[0];
        assert_eq!(ntp.len(), 48);
        assert_eq!((ntp[0] >> 3 & 7, ntp[0] & 7), (4, 3), "version 4, client");
        assert_ne!(&ntp[40..48], [0; 8], "transmit timestamp set");
        assert!(echo_field(123, ntp).is_some());

        let snmp = all(&db, 161);
        for (payload, version) in snmp.iter().zip([0u8, 1]) {
            assert_eq!(payload.len(), 43);
            assert_eq!(payload[..2], [0x30, 41], "SEQUENCE of the rest");
            assert_eq!(payload[2..5], [2, 1, version], "version");
            assert_eq!(&payload[5..13], b"\x04\x06public");
            assert_eq!(payload[13..15], [0xa0, 28], "GetRequest of the rest");
            assert!(payload.ends_with(b"\x06\x08\x2b\x06\x01\x02\x01\x01\x01\x00\x05\x00"));
        }

        let nbns = all(&db, 137)[0];
        assert_eq!(nbns.len(), 50);
        assert_eq!(dns_questions(nbns), 1, "NetBIOS shares DNS's layout");
        assert_eq!(&nbns[12..15], b"\x20CK", "\"*\" first-level encoded");
        assert_eq!(&nbns[46..], b"\x00\x21\x00\x01", "NBSTAT, IN");

        let ssdp = all(&db, 1900)[0];
        assert!(ssdp.starts_with(b"M-SEARCH * HTTP/1.1\r\n"));
        assert!(ssdp.ends_with(b"\r\n\r\n"));
        assert_eq!(ssdp.windows(4).filter(|w| w == b"\r\n\r\n").count(), 1);

        let stun = all(&db, 3478)[0];
        assert_eq!(
            (stun.len(), &stun[..8]),
            (20, &b"\x00\x01\x00\x00\x21\x12\xa4\x42"[..])
        );

        let coap = all(&db, 5683)[0];
        assert_eq!(coap, b"\x40\x01\x3a\x5f\xbb.well-known\x04core");
    }
}
