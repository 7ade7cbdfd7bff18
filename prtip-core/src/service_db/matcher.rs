//! Matching a response against a probe's rules.
//!
//! Cost order per rule: literal prefilter (a few byte compares), then the
//! compiled-regex cache, then compiling. Compiled regexes live in a small LRU
//! so that memory is bounded by its capacity, not by the file.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use memchr::memmem;
use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;

use super::backtrack;
use super::parse::{
    fields, Field, Probe, Rule, ServiceDb, DOTALL, FOLD, INNER_FOLD, PREFIX_FOLD, SOFT,
};
use super::pattern::{self, Pattern};
use super::template::{render, render_cpe};
use crate::result::Protocol;

/// Which engine runs a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// `regex-automata` (PikeVM / bounded backtracking over an NFA; linear time).
    Regex,
    /// The built-in backtracker, for lookaround, backreferences, atomic
    /// groups and possessive quantifiers (bounded by a step budget).
    Backtrack,
}

/// Limit for one compiled NFA; past it the backtracker takes over, so one
/// huge counted repetition cannot claim megabytes of the cache.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The PikeVM alone: DFAs make long scans fast, but responses are at most a
/// few KiB, and each cached pattern kept tens of KiB of DFA tables (23 KiB per
/// entry with the regex crate's defaults); the bounded backtracker's scratch
/// grows to 256 KiB per pattern on a 4 KiB response. The PikeVM's scratch is
/// proportional to the pattern alone.
///
/// `utf8_empty(false)`: responses are bytes, not UTF-8. With the default, an
/// empty match (`\B`, `x?`) between bytes that are not UTF-8 was skipped,
/// and the match came later than PCRE's.
fn regex_config() -> meta::Config {
    meta::Config::new()
        .utf8_empty(false)
        .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
        .hybrid(false)
        .dfa(false)
        .onepass(false)
        .backtrack(false)
}

/// A compiled pattern, either engine.
// Always held in its own `Arc`, so the size difference costs nothing that a
// boxed field (one more allocation per pattern) would save.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Compiled {
    /// The regex and its one search scratch. `Regex`'s own scratch pool keeps
    /// a scratch per thread that ever used it: with eight -sV workers that was
    /// 4 MiB of scratch for 37 HTTP patterns. One per pattern is enough; a
    /// thread that finds it busy makes a temporary one.
    Regex(Regex, Mutex<meta::Cache>),
    Backtrack(Pattern),
}

impl Compiled {
    /// Parses and compiles a pattern with the engine it needs.
    pub(crate) fn new(src: &str, fold: bool, dotall: bool) -> Result<Compiled, String> {
        let pat = pattern::parse(src.as_bytes(), fold, dotall)?;
        Ok(match automaton(&pat) {
            Some(re) => {
                let scratch = Mutex::new(re.create_cache());
                Compiled::Regex(re, scratch)
            }
            None => Compiled::Backtrack(pat),
        })
    }

    pub(crate) fn engine(&self) -> Engine {
        match self {
            Compiled::Regex(..) => Engine::Regex,
            Compiled::Backtrack(_) => Engine::Backtrack,
        }
    }

    /// Capture spans of the leftmost match, index 0 the whole match.
    pub(crate) fn captures(&self, hay: &[u8]) -> Option<backtrack::Spans> {
        match self {
            Compiled::Regex(re, scratch) => match scratch.try_lock() {
                Ok(mut cache) => automaton_captures(re, &mut cache, hay),
                Err(_) => automaton_captures(re, &mut re.create_cache(), hay),
            },
            Compiled::Backtrack(p) => backtrack::find(p, hay),
        }
    }
}

/// The automata engine for `pat`, or `None` when only the backtracker can
/// run it (its constructs, or an NFA over the size limit).
fn automaton(pat: &Pattern) -> Option<Regex> {
    let syntax = pat.to_regex_syntax()?;
    meta::Builder::new()
        .configure(regex_config())
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .build(&syntax)
        .ok()
}

fn automaton_captures(re: &Regex, cache: &mut meta::Cache, hay: &[u8]) -> Option<backtrack::Spans> {
    let mut caps = re.create_captures();
    re.search_captures_with(cache, &regex_automata::Input::new(hay), &mut caps);
    if !caps.is_match() {
        return None;
    }
    Some(
        (0..caps.group_len())
            .map(|i| caps.get_group(i).map(|s| (s.start, s.end)))
            .collect(),
    )
}

/// Runs `pattern` (with nmap's `i` / `s` flags) on `hay` with the engine
/// given, uncached: the capture spans of the leftmost match, index 0 being
/// the whole match, or `Ok(None)` when nothing matches.
///
/// `Err` when the pattern does not parse, when [`Engine::Regex`] is asked
/// for a pattern only the backtracker can run, or when the backtracker's
/// budget ran out (the matcher would report "no match"). The matcher picks
/// the engine itself; this exists so tests and fuzzers can run one
/// pattern on both engines and compare them.
#[allow(clippy::type_complexity)]
pub fn search_with(
    pattern: &str,
    case_insensitive: bool,
    dot_all: bool,
    engine: Engine,
    hay: &[u8],
) -> Result<Option<Vec<Option<(usize, usize)>>>, String> {
    let pat = pattern::parse(pattern.as_bytes(), case_insensitive, dot_all)?;
    match engine {
        Engine::Regex => {
            let re = automaton(&pat).ok_or("the automata engine cannot run this pattern")?;
            Ok(automaton_captures(&re, &mut re.create_cache(), hay))
        }
        Engine::Backtrack => backtrack::find_checked(&pat, hay)
            .map_err(|_| "the backtracker's budget ran out".to_owned()),
    }
}

/// Compiles `pattern` (with nmap's `i` / `s` flags) without caching it, and
/// says which engine it needs. For validating a whole file.
pub fn compile_check(
    pattern: &str,
    case_insensitive: bool,
    dot_all: bool,
) -> Result<Engine, String> {
    Compiled::new(pattern, case_insensitive, dot_all).map(|c| c.engine())
}

/// A response, and its lower-case copy once a case-insensitive literal
/// needs it (made at most once per response).
struct Haystack<'r> {
    raw: &'r [u8],
    lower: Option<Vec<u8>>,
}

impl Haystack<'_> {
    fn lower(&mut self) -> &[u8] {
        self.lower
            .get_or_insert_with(|| self.raw.to_ascii_lowercase())
    }
}

/// Counters of the compiled-regex cache since the database was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Rules skipped by the literal prefilter: no regex was needed.
    pub prefilter_rejects: u64,
    /// Regex runs served from the cache.
    pub hits: u64,
    /// Patterns compiled (first use, or again after eviction).
    pub compiles: u64,
    /// Compiled patterns dropped to stay within capacity.
    pub evictions: u64,
    /// Compiled patterns held now.
    pub held: usize,
    /// Responses matched against a probe's rules (one per
    /// `match_response*` call): what a response that grows byte by byte
    /// costs.
    pub passes: u64,
}

/// Counters bumped without the cache's lock.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    prefilter_rejects: AtomicU64,
    passes: AtomicU64,
}

/// The bounded LRU of compiled patterns, keyed by rule index. A linear scan
/// over a few dozen entries costs less than one regex run.
#[derive(Debug)]
pub(crate) struct Cache {
    capacity: usize,
    tick: u64,
    entries: Vec<(u32, u64, Arc<Compiled>)>,
    /// One bit per rule whose pattern failed to compile, so it is not retried.
    broken: Vec<u64>,
    stats: CacheStats,
}

impl Cache {
    pub(crate) fn new(capacity: usize) -> Cache {
        Cache {
            capacity: capacity.max(1),
            tick: 0,
            entries: Vec::new(),
            broken: Vec::new(),
            stats: CacheStats::default(),
        }
    }

    fn get(&mut self, rule: u32) -> Option<Arc<Compiled>> {
        self.tick += 1;
        let tick = self.tick;
        let e = self.entries.iter_mut().find(|e| e.0 == rule)?;
        e.1 = tick;
        self.stats.hits += 1;
        Some(Arc::clone(&e.2))
    }

    fn insert(&mut self, rule: u32, c: Arc<Compiled>) {
        self.stats.compiles += 1;
        if self.entries.len() >= self.capacity {
            if let Some(oldest) = (0..self.entries.len()).min_by_key(|&i| self.entries[i].1) {
                self.entries.swap_remove(oldest);
                self.stats.evictions += 1;
            }
        }
        self.entries.push((rule, self.tick, c));
    }

    fn is_broken(&self, rule: u32) -> bool {
        self.broken
            .get(rule as usize / 64)
            .is_some_and(|w| w & (1 << (rule % 64)) != 0)
    }

    fn mark_broken(&mut self, rule: u32) {
        let word = rule as usize / 64;
        if self.broken.len() <= word {
            self.broken.resize(word + 1, 0);
        }
        self.broken[word] |= 1 << (rule % 64);
    }
}

/// What a response was identified as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match<'a> {
    /// Service name, e.g. `ssh`.
    pub service: &'a str,
    /// Only a `softmatch` matched: the service is known, the version is not.
    pub soft: bool,
    /// `p/`: product name.
    pub product: Option<String>,
    /// `v/`: version.
    pub version: Option<String>,
    /// `i/`: extra information.
    pub info: Option<String>,
    /// `h/`: host name.
    pub hostname: Option<String>,
    /// `o/`: operating system.
    pub ostype: Option<String>,
    /// `d/`: device type.
    pub devicetype: Option<String>,
    /// `cpe:/.../` entries, rendered.
    pub cpe: Vec<String>,
    /// Name of the probe whose rule matched (a fallback's name when it
    /// came from a fallback).
    pub probe: &'a str,
    /// 1-based line of the rule in the file.
    pub line: u32,
}

impl<'a> ServiceDb<'a> {
    /// Sets how many compiled patterns are kept (at least 1); shrinking
    /// drops the least recently used ones.
    pub fn set_cache_capacity(&self, capacity: usize) {
        let mut cache = self.lock();
        cache.capacity = capacity.max(1);
        while cache.entries.len() > cache.capacity {
            if let Some(oldest) = (0..cache.entries.len()).min_by_key(|&i| cache.entries[i].1) {
                cache.entries.swap_remove(oldest);
                cache.stats.evictions += 1;
            }
        }
    }

    /// Counters of the compiled-pattern cache.
    pub fn cache_stats(&self) -> CacheStats {
        let cache = self.lock();
        CacheStats {
            held: cache.entries.len(),
            prefilter_rejects: self.counters.prefilter_rejects.load(Ordering::Relaxed),
            passes: self.counters.passes.load(Ordering::Relaxed),
            ..cache.stats
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A panic elsewhere cannot leave the cache inconsistent: recover it.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Identifies `response`, the answer to `probe`: its rules in file order,
    /// then its fallbacks' rules, then (for TCP) the NULL probe's, as nmap
    /// does. A `match` ends the search. After a `softmatch` only rules for
    /// that service are tried; if none matches, the softmatch is returned.
    pub fn match_response(&self, probe: &Probe<'a>, response: &[u8]) -> Option<Match<'a>> {
        self.match_response_after(probe, response, None)
    }

    /// Like [`match_response`](Self::match_response), for a port where an
    /// earlier probe already softmatched `softmatched`: only that service's
    /// rules are tried.
    pub fn match_response_after(
        &self,
        probe: &Probe<'a>,
        response: &[u8],
        softmatched: Option<&str>,
    ) -> Option<Match<'a>> {
        let mut rejects = 0;
        let found = self.search(probe, response, softmatched, &mut rejects);
        self.counters.passes.fetch_add(1, Ordering::Relaxed);
        self.counters
            .prefilter_rejects
            .fetch_add(rejects, Ordering::Relaxed);
        found
    }

    /// The probes whose rules a response to `probe` is tried against, in order.
    fn rule_lists<'p>(&'p self, probe: &'p Probe<'a>) -> Vec<&'p Probe<'a>> {
        let mut lists: Vec<&Probe<'a>> = vec![probe];
        lists.extend(
            probe
                .fallback
                .iter()
                .filter_map(|&i| self.probes.get(usize::from(i))),
        );
        if probe.protocol == Protocol::Tcp && probe.name != "NULL" {
            if let Some(null) = self.probe(Protocol::Tcp, "NULL") {
                if !lists.iter().any(|p| std::ptr::eq(*p, null)) {
                    lists.push(null);
                }
            }
        }
        lists
    }

    fn search(
        &self,
        probe: &Probe<'a>,
        response: &[u8],
        softmatched: Option<&str>,
        rejects: &mut u64,
    ) -> Option<Match<'a>> {
        let mut soft: Option<Match<'a>> = None;
        let mut hay = Haystack {
            raw: response,
            lower: None,
        };
        for owner in self.rule_lists(probe) {
            let range = owner.rules.start..owner.rules.end;
            for idx in range {
                let Some(rule) = self.rules.get(idx as usize) else {
                    break;
                };
                let narrowed = soft.as_ref().map(|m| m.service).or(softmatched);
                if let Some(svc) = narrowed {
                    if rule.flags & SOFT != 0
                        || self.slice(rule.svc, usize::from(rule.svc_len)) != svc
                    {
                        continue;
                    }
                }
                if !self.prefilter_passes(rule, &mut hay) {
                    *rejects += 1;
                    continue;
                }
                let Some(spans) = self.try_rule(idx, rule, &hay) else {
                    continue;
                };
                let m = self.build(rule, owner.name, response, &spans);
                if !m.soft {
                    return Some(m);
                }
                soft = Some(m);
            }
        }
        soft
    }

    fn prefilter_passes(&self, rule: &Rule, hay: &mut Haystack<'_>) -> bool {
        let response = hay.raw;
        let lit = |at: u32, len: u8| {
            let at = at as usize;
            self.arena
                .get(at..at + usize::from(len))
                .unwrap_or_default()
        };
        let prefix = lit(rule.prefix, rule.prefix_len);
        let inner = lit(rule.inner, rule.inner_len);
        let head = response.get(..prefix.len());
        let prefix_ok = match head {
            None => false,
            Some(h) if rule.flags & PREFIX_FOLD != 0 => h.eq_ignore_ascii_case(prefix),
            Some(h) => h == prefix,
        };
        if !prefix_ok {
            return false;
        }
        if inner.is_empty() {
            return true;
        }
        let searched = if rule.flags & INNER_FOLD != 0 {
            hay.lower()
        } else {
            response
        };
        memmem::find(searched, inner).is_some()
    }

    /// Runs a rule that passed the prefilter.
    fn try_rule(&self, idx: u32, rule: &Rule, hay: &Haystack<'_>) -> Option<backtrack::Spans> {
        let cached = {
            let mut cache = self.lock();
            if cache.is_broken(idx) {
                return None;
            }
            cache.get(idx)
        };
        let compiled = match cached {
            Some(c) => c,
            None => {
                let src = self.slice(rule.pat, usize::from(rule.pat_len));
                match Compiled::new(src, rule.flags & FOLD != 0, rule.flags & DOTALL != 0) {
                    Ok(c) => {
                        let c = Arc::new(c);
                        self.lock().insert(idx, Arc::clone(&c));
                        c
                    }
                    Err(_) => {
                        self.lock().mark_broken(idx);
                        return None;
                    }
                }
            }
        };
        compiled.captures(hay.raw)
    }

    fn build(
        &self,
        rule: &Rule,
        probe: &'a str,
        response: &[u8],
        spans: &backtrack::Spans,
    ) -> Match<'a> {
        let caps: Vec<Option<&[u8]>> = spans
            .iter()
            .map(|s| s.and_then(|(a, b)| response.get(a..b)))
            .collect();
        let mut m = Match {
            service: self.slice(rule.svc, usize::from(rule.svc_len)),
            soft: rule.flags & SOFT != 0,
            product: None,
            version: None,
            info: None,
            hostname: None,
            ostype: None,
            devicetype: None,
            cpe: Vec::new(),
            probe,
            line: rule.line,
        };
        let tail = self.slice(rule.tail, usize::from(rule.tail_len));
        // Validated at parse time, so an error cannot occur here.
        for field in fields(tail).unwrap_or_default() {
            match field {
                Field::Cpe(body) => m.cpe.push(render_cpe(body, &caps)),
                Field::Text(kind, t) => {
                    let value = Some(render(t, &caps)).filter(|v| !v.is_empty());
                    let slot = match kind {
                        b'p' => &mut m.product,
                        b'v' => &mut m.version,
                        b'i' => &mut m.info,
                        b'h' => &mut m.hostname,
                        b'o' => &mut m.ostype,
                        _ => &mut m.devicetype,
                    };
                    *slot = value;
                }
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_match(pattern: &str, hay: &[u8]) -> Option<(usize, usize)> {
        let c = Compiled::new(pattern, false, false).unwrap();
        assert_eq!(c.engine(), Engine::Regex, "{pattern}");
        c.captures(hay)?[0]
    }

    #[test]
    fn empty_matches_are_found_between_any_two_bytes() {
        // Found by the service_match fuzz target: the automaton skipped empty
        // matches inside bytes that are not UTF-8 (responses are bytes, and
        // `\B` holds between two non-word bytes), so it answered at 8 where
        // the backtracker, like PCRE, answers at 0.
        let hay = b"\xa4\xa4\xa4\xa4\xa4\xa4\xa4cpe\xe4";
        assert_eq!(first_match(r"\B", hay), Some((0, 0)));
        assert_eq!(first_match(r"\B", b"\xe4\xe4"), Some((0, 0)));
        assert_eq!(first_match(r"(?:x)?", b"\xff"), Some((0, 0)));
        assert_eq!(first_match(r"\xe4\B", b"a\xe4\xe4"), Some((1, 2)));
    }
}
