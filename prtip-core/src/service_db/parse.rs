//! The `nmap-service-probes` grammar.
//!
//! The database borrows the file's text: names, port lists and version
//! templates stay in the (memory-mapped) file and rules keep `u32` offsets
//! into it. Only what must be decoded is owned: probe payloads (escapes) and
//! the prefilter literals (escapes and case folding).

use std::ops::Range;
use std::sync::Mutex;

use super::matcher::{Cache, Counters};
use super::pattern::{self, MAX_LITERAL};
use crate::ports::PortList;
use crate::result::Protocol;
use crate::services::ServiceWarning;

/// One `Probe` directive and the directives that follow it.
#[derive(Debug, Clone)]
pub struct Probe<'a> {
    /// `TCP` or `UDP`.
    pub protocol: Protocol,
    /// The probe's name, e.g. `GetRequest`.
    pub name: &'a str,
    /// Bytes to send, escapes decoded.
    pub payload: Box<[u8]>,
    /// `no-payload`: the probe is only sent as part of a protocol negotiation
    /// (nmap uses it for DTLS/TLS session probes), not as-is.
    pub no_payload: bool,
    /// `ports`: where this probe is most likely to get an answer.
    pub ports: Option<PortList>,
    /// `sslports`: the same, for services wrapped in TLS.
    pub sslports: Option<PortList>,
    /// `totalwaitms`: how long to wait for the answer.
    pub totalwaitms: Option<u32>,
    /// `tcpwrappedms`: a close within this many ms means "tcpwrapped".
    pub tcpwrappedms: Option<u32>,
    /// `rarity` 1..=9: compared with `--version-intensity`.
    pub rarity: Option<u8>,
    /// 1-based line of the `Probe` directive.
    pub line: u32,
    /// Probes whose matches are tried when this one's do not match, resolved
    /// from the `fallback` directive (indices into [`ServiceDb::probes`]).
    pub(crate) fallback: Box<[u16]>,
    /// This probe's rules in [`ServiceDb`]'s rule table.
    pub(crate) rules: Range<u32>,
}

impl Probe<'_> {
    /// Indices (into [`ServiceDb::probes`]) of the probes named by `fallback`.
    pub fn fallback(&self) -> &[u16] {
        &self.fallback
    }
}

pub(crate) const SOFT: u8 = 1;
pub(crate) const FOLD: u8 = 2;
pub(crate) const DOTALL: u8 = 4;
pub(crate) const PREFIX_FOLD: u8 = 8;
/// The inner literal is lower-case and compared case-insensitively.
pub(crate) const INNER_FOLD: u8 = 16;

/// One `match` or `softmatch` line: 32 bytes of offsets into the text and
/// the literal arena.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub(crate) line: u32,
    pub(crate) svc: u32,
    pub(crate) pat: u32,
    pub(crate) tail: u32,
    /// Start of this rule's leading literal in the arena.
    pub(crate) prefix: u32,
    /// Start of this rule's inner literal in the arena.
    pub(crate) inner: u32,
    pub(crate) pat_len: u16,
    pub(crate) tail_len: u16,
    pub(crate) svc_len: u8,
    pub(crate) prefix_len: u8,
    pub(crate) inner_len: u8,
    pub(crate) flags: u8,
}

/// Sizes of a parsed database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// `Probe` directives.
    pub probes: usize,
    /// `match` lines.
    pub matches: usize,
    /// `softmatch` lines.
    pub softmatches: usize,
}

/// How many rules carry which literal prefilter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrefilterStats {
    /// Rules with a required leading literal (anchored patterns).
    pub with_prefix: usize,
    /// Rules with a required literal somewhere (possibly besides a prefix).
    pub with_inner: usize,
    /// Rules with neither: every response reaches their regex.
    pub without: usize,
}

/// A parsed `nmap-service-probes`, borrowing the file's text.
#[derive(Debug)]
pub struct ServiceDb<'a> {
    pub(crate) text: &'a str,
    pub(crate) exclude: Option<&'a str>,
    pub(crate) probes: Vec<Probe<'a>>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) arena: Vec<u8>,
    pub(crate) warnings: Vec<ServiceWarning>,
    pub(crate) cache: Mutex<Cache>,
    /// Counted outside `cache`'s lock: most rules are rejected by the
    /// prefilter, and a lock per rejection serialised every -sV worker.
    pub(crate) counters: Counters,
}

/// A `match`/`softmatch` line as written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo<'a> {
    /// 1-based line number.
    pub line: u32,
    /// Service name.
    pub service: &'a str,
    /// `softmatch` rather than `match`.
    pub soft: bool,
    /// The pattern between its delimiters.
    pub pattern: &'a str,
    /// The `i` flag.
    pub case_insensitive: bool,
    /// The `s` flag.
    pub dot_all: bool,
    /// Everything after the pattern's flags: the version-field templates.
    pub version_info: &'a str,
}

impl<'a> ServiceDb<'a> {
    /// Parses `text`, the content of the file called `file` (used only in
    /// warnings). Malformed lines are skipped with a warning; this never fails.
    pub fn parse(text: &'a str, file: &str) -> ServiceDb<'a> {
        Parser::new(text, file).run()
    }

    /// Lines that were skipped, as `file:line: reason`.
    pub fn warnings(&self) -> &[ServiceWarning] {
        &self.warnings
    }

    /// The `Exclude` port specification, unparsed (it uses `-p` syntax).
    pub fn exclude(&self) -> Option<&'a str> {
        self.exclude
    }

    /// All probes in file order.
    pub fn probes(&self) -> &[Probe<'a>] {
        &self.probes
    }

    /// The probe called `name` for `protocol`.
    pub fn probe(&self, protocol: Protocol, name: &str) -> Option<&Probe<'a>> {
        self.probes
            .iter()
            .find(|p| p.protocol == protocol && p.name == name)
    }

    /// Numbers of probes, matches and softmatches.
    pub fn counts(&self) -> Counts {
        let soft = self.rules.iter().filter(|r| r.flags & SOFT != 0).count();
        Counts {
            probes: self.probes.len(),
            matches: self.rules.len() - soft,
            softmatches: soft,
        }
    }

    /// Every rule, in file order.
    pub fn rules(&self) -> impl Iterator<Item = RuleInfo<'a>> + '_ {
        self.rules.iter().map(|r| self.info(r))
    }

    /// The rules of `probe` in file order.
    pub fn probe_rules(&self, probe: &Probe<'a>) -> impl Iterator<Item = RuleInfo<'a>> + '_ {
        let range = probe.rules.start as usize..probe.rules.end as usize;
        self.rules[range].iter().map(|r| self.info(r))
    }

    /// Coverage of the literal prefilters over all rules.
    pub fn prefilter_stats(&self) -> PrefilterStats {
        let mut s = PrefilterStats::default();
        for r in &self.rules {
            s.with_prefix += usize::from(r.prefix_len > 0);
            s.with_inner += usize::from(r.inner_len > 0);
            s.without += usize::from(r.prefix_len == 0 && r.inner_len == 0);
        }
        s
    }

    pub(crate) fn slice(&self, start: u32, len: usize) -> &'a str {
        let start = start as usize;
        self.text.get(start..start + len).unwrap_or_default()
    }

    pub(crate) fn info(&self, r: &Rule) -> RuleInfo<'a> {
        RuleInfo {
            line: r.line,
            service: self.slice(r.svc, usize::from(r.svc_len)),
            soft: r.flags & SOFT != 0,
            pattern: self.slice(r.pat, usize::from(r.pat_len)),
            case_insensitive: r.flags & FOLD != 0,
            dot_all: r.flags & DOTALL != 0,
            version_info: self.slice(r.tail, usize::from(r.tail_len)),
        }
    }
}

/// A version field of a rule, still as its template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field<'a> {
    /// `p v i h o d` and the template between delimiters.
    Text(u8, &'a str),
    /// `cpe:/.../` body (without `cpe:/`).
    Cpe(&'a str),
}

/// Splits the version-info tail into fields; `Err` names the first problem.
pub(crate) fn fields(tail: &str) -> Result<Vec<Field<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = tail.trim_start();
    while !rest.is_empty() {
        let (is_cpe, after) = match rest.strip_prefix("cpe:") {
            Some(after) => (true, after),
            None => (false, rest.get(1..).unwrap_or_default()),
        };
        let kind = rest.as_bytes()[0];
        if !is_cpe && !b"pvihod".contains(&kind) {
            return Err(format!(
                "unknown version field '{}'",
                rest.chars().next().unwrap_or(' ')
            ));
        }
        let delim = after
            .chars()
            .next()
            .ok_or("version field without delimiter")?;
        let body_start = delim.len_utf8();
        let end = after[body_start..]
            .find(delim)
            .ok_or("unterminated version field")?;
        let body = &after[body_start..body_start + end];
        rest = &after[body_start + end + delim.len_utf8()..];
        if is_cpe {
            // `cpe:/a:x:y/`: the delimiter is conventionally '/', and `a`
            // after it marks a CPE nmap may drop when matching OS.
            out.push(Field::Cpe(body));
            rest = rest.strip_prefix('a').unwrap_or(rest);
        } else {
            out.push(Field::Text(kind, body));
        }
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            return Err("version fields must be separated by spaces".into());
        }
        rest = rest.trim_start();
    }
    Ok(out)
}

/// Decodes a probe string's escapes: `\0 \a \b \f \n \r \t \v \xHH \\` and
/// `\<any>` as that character (how a delimiter or `|` is written).
pub(crate) fn unescape_payload(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let Some(&e) = b.get(i + 1) else {
            return Err("probe string ends in a backslash".into());
        };
        i += 2;
        out.push(match e {
            b'0' => 0,
            b'a' => 7,
            b'b' => 8,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 0x0b,
            b'x' => {
                let hex = b
                    .get(i..i + 2)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("\\x needs two hex digits")?;
                i += 2;
                hex
            }
            other => other,
        });
    }
    Ok(out)
}

/// Where the probe string ends: the first `delim` not escaped by a backslash,
/// so `q|a\|b|` can carry the delimiter (`\\` is an escaped backslash).
fn probe_string_end(s: &str, delim: char) -> Option<usize> {
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == delim {
            return Some(i);
        }
    }
    None
}

fn port_list(spec: &str) -> Result<PortList, String> {
    let mut ranges = Vec::new();
    for part in spec.split(',') {
        let part = part.trim();
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let parse = |s: &str| {
            s.trim()
                .parse::<u16>()
                .map_err(|_| format!("bad port \"{part}\""))
        };
        let (lo, hi) = (parse(lo)?, parse(hi)?);
        if hi < lo {
            return Err(format!("bad port range \"{part}\""));
        }
        ranges.push((lo, hi));
    }
    Ok(PortList::from_ranges(ranges))
}

struct Parser<'a, 'f> {
    text: &'a str,
    file: &'f str,
    db: ServiceDb<'a>,
    /// `fallback` lists with their line, resolved once all probes are known.
    fallbacks: Vec<(usize, &'a str, u32)>,
}

impl<'a, 'f> Parser<'a, 'f> {
    fn new(text: &'a str, file: &'f str) -> Self {
        // Sized exactly up front: a doubling Vec would waste up to half.
        let rules = text
            .lines()
            .filter(|l| l.starts_with("match ") || l.starts_with("softmatch "))
            .count();
        Parser {
            text,
            file,
            db: ServiceDb {
                text,
                exclude: None,
                probes: Vec::new(),
                rules: Vec::with_capacity(rules),
                arena: Vec::new(),
                warnings: Vec::new(),
                cache: Mutex::new(Cache::new(super::DEFAULT_CACHE_CAPACITY)),
                counters: Counters::default(),
            },
            fallbacks: Vec::new(),
        }
    }

    fn warn(&mut self, line: u32, reason: impl Into<String>) {
        self.db.warnings.push(ServiceWarning {
            file: self.file.to_owned(),
            line: line as usize,
            reason: reason.into(),
        });
    }

    fn run(mut self) -> ServiceDb<'a> {
        if u32::try_from(self.text.len()).is_err() {
            self.warn(0, "file larger than 4 GiB; ignored");
            return self.db;
        }
        let mut offset = 0usize;
        for (n, raw) in self.text.split('\n').enumerate() {
            let line_no = u32::try_from(n + 1).unwrap_or(u32::MAX);
            let start = offset;
            offset += raw.len() + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let lead = line.len() - trimmed.len();
            if let Err(reason) = self.directive(trimmed, start + lead, line_no) {
                self.warn(line_no, reason);
            }
        }
        self.finish_probe();
        for (probe, names, line) in std::mem::take(&mut self.fallbacks) {
            let mut resolved = Vec::new();
            for name in names.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let proto = self.db.probes[probe].protocol;
                // Same protocol first; nmap's own file has TCP DNS probes
                // fall back to the UDP probes' matches (same payload framing).
                let found = |same: bool| {
                    self.db
                        .probes
                        .iter()
                        .position(|p| p.name == name && (p.protocol == proto) == same)
                };
                match found(true).or_else(|| found(false)) {
                    Some(i) => resolved.push(i as u16),
                    None => self.warn(line, format!("fallback to unknown probe \"{name}\"")),
                }
            }
            self.db.probes[probe].fallback = resolved.into_boxed_slice();
        }
        self.db.arena.shrink_to_fit();
        self.db.rules.shrink_to_fit();
        self.db.probes.shrink_to_fit();
        self.db
    }

    fn finish_probe(&mut self) {
        let end = self.db.rules.len() as u32;
        if let Some(p) = self.db.probes.last_mut() {
            p.rules.end = end;
        }
    }

    fn directive(&mut self, line: &'a str, at: usize, line_no: u32) -> Result<(), String> {
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        let rest_at = at + (line.len() - line[word.len()..].trim_start().len());
        if word != "Exclude" && word != "Probe" && self.db.probes.is_empty() {
            return Err(format!("{word} before any Probe"));
        }
        match word {
            "Exclude" => {
                if self.db.exclude.is_some() {
                    return Err("Exclude given more than once".into());
                }
                if rest.is_empty() {
                    return Err("Exclude without ports".into());
                }
                self.db.exclude = Some(rest);
            }
            "Probe" => self.probe(rest, line_no)?,
            "match" | "softmatch" => self.rule(word == "softmatch", rest, rest_at, line_no)?,
            "ports" | "sslports" => {
                let list = port_list(rest)?;
                let probe = self.current();
                let slot = if word == "ports" {
                    &mut probe.ports
                } else {
                    &mut probe.sslports
                };
                if slot.is_some() {
                    return Err(format!("{word} given twice for one probe"));
                }
                *slot = Some(list);
            }
            "totalwaitms" | "tcpwrappedms" => {
                let ms: u32 = rest
                    .parse()
                    .map_err(|_| format!("{word} needs a number of milliseconds"))?;
                let probe = self.current();
                if word == "totalwaitms" {
                    probe.totalwaitms = Some(ms);
                } else {
                    probe.tcpwrappedms = Some(ms);
                }
            }
            "rarity" => match rest.parse::<u8>() {
                Ok(r @ 1..=9) => self.current().rarity = Some(r),
                _ => return Err("rarity must be 1..9".into()),
            },
            "fallback" => {
                if rest.is_empty() {
                    return Err("fallback without probe names".into());
                }
                let probe = self.db.probes.len() - 1;
                self.fallbacks.push((probe, rest, line_no));
            }
            other => return Err(format!("unknown directive \"{other}\"")),
        }
        Ok(())
    }

    /// Stores a literal, reusing a copy among recently stored bytes: rules
    /// for one service sit together and share prefixes, which halves the
    /// arena for nmap's file at a bounded search cost.
    fn intern(&mut self, lit: &[u8]) -> u32 {
        const WINDOW: usize = 8 << 10;
        let arena = &mut self.db.arena;
        let from = arena.len().saturating_sub(WINDOW);
        if let Some(at) = memchr::memmem::find(&arena[from..], lit) {
            return (from + at) as u32;
        }
        let at = arena.len() as u32;
        arena.extend_from_slice(lit);
        at
    }

    fn current(&mut self) -> &mut Probe<'a> {
        // `directive` has checked that a probe exists.
        let last = self.db.probes.len() - 1;
        &mut self.db.probes[last]
    }

    fn probe(&mut self, rest: &'a str, line_no: u32) -> Result<(), String> {
        let mut words = rest.splitn(3, char::is_whitespace);
        let protocol = match words.next() {
            Some("TCP") => Protocol::Tcp,
            Some("UDP") => Protocol::Udp,
            other => {
                return Err(format!(
                    "Probe protocol must be TCP or UDP, not \"{}\"",
                    other.unwrap_or_default()
                ))
            }
        };
        let name = words
            .next()
            .filter(|n| !n.is_empty())
            .ok_or("Probe without name")?;
        let spec = words.next().unwrap_or_default().trim_start();
        let body = spec
            .strip_prefix('q')
            .ok_or("probe string must start with q")?;
        let delim = body
            .chars()
            .next()
            .ok_or("probe string without delimiter")?;
        let inner = &body[delim.len_utf8()..];
        let end = probe_string_end(inner, delim).ok_or("unterminated probe string")?;
        let payload = unescape_payload(&inner[..end])?;
        let tail = inner[end + delim.len_utf8()..].trim();
        let no_payload = match tail {
            "" => false,
            "no-payload" => true,
            other => return Err(format!("unexpected \"{other}\" after probe string")),
        };
        if u16::try_from(self.db.probes.len()).is_err() {
            return Err("too many probes".into());
        }
        self.finish_probe();
        let first_rule = self.db.rules.len() as u32;
        self.db.probes.push(Probe {
            protocol,
            name,
            payload: payload.into_boxed_slice(),
            no_payload,
            ports: None,
            sslports: None,
            totalwaitms: None,
            tcpwrappedms: None,
            rarity: None,
            line: line_no,
            fallback: Box::default(),
            rules: first_rule..first_rule,
        });
        Ok(())
    }

    fn rule(&mut self, soft: bool, rest: &'a str, at: usize, line_no: u32) -> Result<(), String> {
        let (svc, spec) = rest
            .split_once(char::is_whitespace)
            .ok_or("match without pattern")?;
        let spec = spec.trim_start();
        let spec_at = at + (rest.len() - spec.len());
        let body = spec.strip_prefix('m').ok_or("pattern must start with m")?;
        let delim = body.chars().next().ok_or("pattern without delimiter")?;
        let pat_off = 1 + delim.len_utf8();
        let end = spec[pat_off..].find(delim).ok_or("unterminated pattern")?;
        let pattern = &spec[pat_off..pat_off + end];
        let after = &spec[pat_off + end + delim.len_utf8()..];
        let flag_len = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let mut flags = if soft { SOFT } else { 0 };
        for f in after[..flag_len].chars() {
            flags |= match f {
                'i' => FOLD,
                's' => DOTALL,
                other => return Err(format!("unknown pattern flag '{other}'")),
            };
        }
        let tail = after[flag_len..].trim();
        fields(tail)?;
        let pat = pattern::parse(pattern.as_bytes(), flags & FOLD != 0, flags & DOTALL != 0)
            .map_err(|e| format!("bad pattern: {e}"))?;
        let lits = pat.literals();
        if lits.prefix_fold {
            flags |= PREFIX_FOLD;
        }
        if lits.inner_fold {
            flags |= INNER_FOLD;
        }
        let too_long = |n: usize, what: &str| format!("{what} longer than {n} bytes");
        let svc_len = u8::try_from(svc.len()).map_err(|_| too_long(255, "service name"))?;
        let pat_len = u16::try_from(pattern.len()).map_err(|_| too_long(65535, "pattern"))?;
        let tail_len = u16::try_from(tail.len()).map_err(|_| too_long(65535, "version info"))?;
        let prefix = self.intern(&lits.prefix);
        let inner = self.intern(&lits.inner);
        let offset = |s: &str| (s.as_ptr() as usize - self.text.as_ptr() as usize) as u32;
        self.db.rules.push(Rule {
            line: line_no,
            svc: at as u32,
            pat: (spec_at + pat_off) as u32,
            tail: offset(tail),
            prefix,
            inner,
            pat_len,
            tail_len,
            svc_len,
            prefix_len: lits.prefix.len().min(MAX_LITERAL) as u8,
            inner_len: lits.inner.len().min(MAX_LITERAL) as u8,
            flags,
        });
        Ok(())
    }
}
