//! nmap-service-probes: the file's grammar, the pattern compiler and the
//! two engines that run patterns on what services send back.

use std::hint::black_box;

use prtip_core::ports::PortSpec;
use prtip_core::service_db::{compile_check, search_with, Engine, Match, ServiceDb, FIELD_CAP};

use crate::{assert_one_line, split_line, text};

/// Rules whose pattern is compiled per input: compiling is the slow part,
/// and more rules add little that the first few do not reach.
const COMPILED_RULES: usize = 16;

/// The probe-file parser on arbitrary text, then each probe's rules run on
/// its own payload and on a fixed banner.
pub fn service_probes(data: &[u8]) {
    let text = text(data);
    let db = ServiceDb::parse(&text, "fuzz");
    let counts = db.counts();
    assert_eq!(counts.probes, db.probes().len());
    let rules = db.rules().count();
    assert_eq!(counts.matches + counts.softmatches, rules);
    let stats = db.prefilter_stats();
    assert!(stats.with_prefix <= rules && stats.with_inner <= rules && stats.without <= rules);
    for w in db.warnings() {
        assert_one_line("an nmap-service-probes warning", &w.to_string());
    }
    for p in db.probes() {
        assert!(p
            .fallback()
            .iter()
            .all(|&f| usize::from(f) < db.probes().len()));
        assert!(p.rarity.is_none_or(|r| (1..=9).contains(&r)));
        assert!(!p.name.is_empty());
    }
    for r in db.rules().take(COMPILED_RULES) {
        black_box(compile_check(r.pattern, r.case_insensitive, r.dot_all).ok());
    }
    if let Some(exclude) = db.exclude() {
        black_box(PortSpec::parse(exclude, None).ok());
    }
    for p in db.probes().iter().take(4) {
        for response in [&p.payload[..], b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"] {
            if let Some(m) = db.match_response(p, response) {
                check_match(&m);
            }
        }
    }
    black_box(db.cache_stats());
}

fn check_match(m: &Match<'_>) {
    for field in [
        &m.product,
        &m.version,
        &m.info,
        &m.hostname,
        &m.ostype,
        &m.devicetype,
    ]
    .into_iter()
    .flatten()
    {
        // Captures come from the network: rendered fields are capped and
        // free of control characters.
        assert!(field.chars().count() <= FIELD_CAP, "{field:?}");
        assert!(!field.chars().any(char::is_control), "{field:?}");
    }
    assert!(!m.service.is_empty());
}

/// One rule against one response: the first line is a `match` line
/// without its keyword (`svc m|pattern|flags p/.../`), the rest is what
/// the service sent. The matcher's verdict is checked against the engine
/// it uses, and the two engines against each other where both can run
/// the pattern: the automata engine is what almost every rule runs on, the
/// backtracker is the one written here, so a disagreement is a bug in one.
pub fn service_match(data: &[u8]) {
    let (rule, response) = split_line(data);
    let db_text = format!("Probe TCP NULL q||\nmatch {}\n", text(rule));
    let db = ServiceDb::parse(&db_text, "fuzz");
    let Some(info) = db.rules().next() else {
        return;
    };
    let probe = &db.probes()[0];
    let found = db.match_response(probe, response);
    if let Some(m) = &found {
        check_match(m);
    }
    let (pattern, fold, dotall) = (info.pattern, info.case_insensitive, info.dot_all);
    let automaton = search_with(pattern, fold, dotall, Engine::Regex, response);
    let backtracker = search_with(pattern, fold, dotall, Engine::Backtrack, response);
    for spans in [&automaton, &backtracker].into_iter().flatten().flatten() {
        for &(start, end) in spans.iter().flatten() {
            assert!(start <= end && end <= response.len());
        }
    }
    // The matcher runs the automaton when it can, the backtracker otherwise
    // (what compile_check would say, without compiling a third time).
    match (&automaton, &backtracker) {
        (Ok(a), _) => assert_eq!(found.is_some(), a.is_some(), "matcher and automaton"),
        (Err(_), Ok(b)) => assert_eq!(found.is_some(), b.is_some(), "matcher and backtracker"),
        (Err(_), Err(_)) => {}
    }
    if let (Ok(a), Ok(b)) = (&automaton, &backtracker) {
        assert_eq!(
            a.as_ref().map(|s| comparable(s)),
            b.as_ref().map(|s| comparable(s)),
            "the engines disagree on {pattern:?} with {response:?}"
        );
    }
}

/// A capture group's byte range, if the group took part.
type Span = Option<(usize, usize)>;

/// What the two engines must agree on: where the match starts and every
/// group. Not where the whole match ends: for the automaton a final `$`
/// becomes `\n?\z`, which takes in the newline PCRE's `$` only looks at,
/// and no template reads the whole match (`$` inside a group is left to
/// the backtracker, so the groups are exact).
fn comparable(spans: &[Span]) -> (Option<usize>, &[Span]) {
    let start = spans.first().copied().flatten().map(|(s, _)| s);
    (start, spans.get(1..).unwrap_or_default())
}
