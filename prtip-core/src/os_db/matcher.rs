//! Scoring a subject fingerprint against reference fingerprints, and the
//! one-pass search for the best few.

use std::cmp::Ordering;

use super::expr::value_matches;
use super::fingerprint::Fingerprint;
use super::reader::{MatchPoints, OsClass, OsDbReader, OsDbWarning, Reference};

/// Points won out of points possible, as nmap counts them: the weights of
/// attributes present in both fingerprints, and of those that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Score {
    /// Sum of the weights of attributes whose value satisfied the reference.
    pub matched: u32,
    /// Sum of the weights of attributes present in both fingerprints.
    pub possible: u32,
}

impl Score {
    /// `matched / possible`, 0 when nothing was comparable (as nmap).
    pub fn fraction(self) -> f64 {
        if self.possible == 0 {
            0.0
        } else {
            f64::from(self.matched) / f64::from(self.possible)
        }
    }

    /// Accuracy in whole percent, rounded down with nmap's own floating-point
    /// formula (`floor(fraction * 100)`), so printed numbers agree with nmap's
    /// even where the product lands just below an integer.
    pub fn percent(self) -> u8 {
        // In 0..=100 by construction, so the cast cannot truncate.
        (self.fraction() * 100.0).floor() as u8
    }

    /// Every comparable attribute matched.
    pub fn is_perfect(self) -> bool {
        self.possible > 0 && self.matched == self.possible
    }

    /// Orders by accuracy, exactly (cross-multiplied, no rounding).
    pub fn cmp_accuracy(self, other: Score) -> Ordering {
        let lhs = u64::from(self.matched) * u64::from(other.possible.max(1));
        let rhs = u64::from(other.matched) * u64::from(self.possible.max(1));
        lhs.cmp(&rhs)
    }
}

/// A reference fingerprint among the best for a subject, borrowing from the
/// database text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsMatch<'a> {
    /// The `Fingerprint` name, e.g. `Linux 5.0 - 5.2`.
    pub name: &'a str,
    /// Line of the `Fingerprint` line in the database.
    pub line: usize,
    /// Points behind `accuracy`.
    pub score: Score,
    /// Whole percent, rounded down like nmap.
    pub accuracy: u8,
    /// `Class` lines.
    pub classes: Vec<OsClass<'a>>,
    /// `CPE` names.
    pub cpes: Vec<&'a str>,
    /// Each class with the CPE lines that follow it in the entry (nmap
    /// attaches a CPE to the class before it).
    pub class_cpes: Vec<(OsClass<'a>, Vec<&'a str>)>,
}

/// Scores `reference` against `subject` with the weights of `points`.
/// Tests and attributes missing from either side, or absent from
/// `MatchPoints`, do not count. In particular a reference that leaves `R`
/// unstated (nmap's file never states it for `U1` and `IE`) is not compared
/// on `R`: nmap 7.93's printed accuracies agree only with that reading.
pub fn score(points: &MatchPoints<'_>, reference: &Reference<'_>, subject: &Fingerprint) -> Score {
    Scorer::new(points, subject).score(reference)
}

/// `MatchPoints` joined with one subject once, so that scoring thousands of
/// references compares names as integers instead of looking each attribute
/// up by string on both sides (those lookups were half of `best_matches`).
struct Scorer<'s> {
    /// Per test known to both: its key and its attributes.
    tests: Vec<(u64, Vec<ScoredAttr<'s>>)>,
}

/// An attribute's key, weight and the subject's value.
type ScoredAttr<'s> = (u64, u32, &'s str);

/// A test or attribute name as an integer (bytes, then the length in the top
/// bits). nmap's names are 1-3 characters (`SEQ`, `T1`, `W1`, `GCD`); one of
/// more than 7 bytes gets no key and is not scored.
fn name_key(name: &str) -> Option<u64> {
    (name.len() <= 7).then(|| {
        name.bytes().fold(0u64, |k, b| (k << 8) | u64::from(b)) | ((name.len() as u64) << 60)
    })
}

impl<'s> Scorer<'s> {
    fn new(points: &MatchPoints<'_>, subject: &'s Fingerprint) -> Scorer<'s> {
        let tests = points
            .tests()
            .iter()
            .filter_map(|def| {
                let observed = subject.test(def.name())?;
                let attrs = def
                    .attrs()
                    .iter()
                    .filter_map(|&(attr, weight)| {
                        Some((name_key(attr)?, weight, observed.get(attr)?))
                    })
                    .collect();
                Some((name_key(def.name())?, attrs))
            })
            .collect();
        Scorer { tests }
    }

    fn score(&self, reference: &Reference<'_>) -> Score {
        let mut total = Score::default();
        for test in reference.tests() {
            let Some(key) = name_key(test.name()) else {
                continue;
            };
            let Some((_, attrs)) = self.tests.iter().find(|(k, _)| *k == key) else {
                continue;
            };
            for (attr, expr) in test.attrs() {
                let Some(key) = name_key(attr) else { continue };
                let Some(&(_, weight, value)) = attrs.iter().find(|(k, ..)| *k == key) else {
                    continue;
                };
                total.possible += weight;
                if value_matches(expr, value) {
                    total.matched += weight;
                }
            }
        }
        total
    }
}

/// Offers a scored reference to `kept` (best first, at most `n`). Like nmap:
/// one entry per OS name (the better score stays), ties keep file order, and
/// a newcomer must beat the last entry of a full list.
fn offer<'a>(
    kept: &mut Vec<(Score, Reference<'a>)>,
    n: usize,
    score: Score,
    reference: Reference<'a>,
) {
    if let Some(i) = kept.iter().position(|(_, r)| r.name() == reference.name()) {
        if kept[i].0.cmp_accuracy(score) != Ordering::Less {
            return;
        }
        kept.remove(i);
    }
    if kept.len() >= n {
        match kept.last() {
            Some((last, _)) if score.cmp_accuracy(*last) == Ordering::Greater => {
                kept.pop();
            }
            _ => return,
        }
    }
    let at = kept
        .iter()
        .position(|(s, _)| s.cmp_accuracy(score) == Ordering::Less)
        .unwrap_or(kept.len());
    kept.insert(at, (score, reference));
}

/// The `n` reference fingerprints of `db_text` (the content of
/// `nmap-os-db`) that best match `subject`, best first, and the warnings
/// about entries that were skipped.
///
/// Reads the text once. Only the current best `n` are held (as slices of the
/// text); classes and CPEs are collected for those `n` at the end, so heap
/// use depends on `n`, not on the size of the database. References sharing
/// no attribute with the subject are not candidates.
pub fn best_matches<'a>(
    db_text: &'a str,
    subject: &Fingerprint,
    n: usize,
) -> (Vec<OsMatch<'a>>, Vec<OsDbWarning>) {
    best_matches_in(OsDbReader::new(db_text), subject, n)
}

/// [`best_matches`] over a reader the caller set up (e.g. with the file's
/// path for warnings), from wherever it stands.
pub fn best_matches_in<'a>(
    mut reader: OsDbReader<'a>,
    subject: &Fingerprint,
    n: usize,
) -> (Vec<OsMatch<'a>>, Vec<OsDbWarning>) {
    // Bounded so that a huge `n` does not reserve memory up front.
    let mut kept = Vec::with_capacity(n.min(64));
    // Built once: the reader keeps the first MatchPoints section and ignores
    // any later one.
    let mut scorer: Option<Scorer<'_>> = None;
    while let Some(reference) = reader.next() {
        let Some(points) = reader.match_points() else {
            continue;
        };
        let scorer = scorer.get_or_insert_with(|| Scorer::new(points, subject));
        let s = scorer.score(&reference);
        if s.possible > 0 && n > 0 {
            offer(&mut kept, n, s, reference);
        }
    }
    let matches = kept
        .into_iter()
        .map(|(score, reference)| OsMatch {
            name: reference.name(),
            line: reference.line(),
            score,
            accuracy: score.percent(),
            classes: reference.classes().collect(),
            cpes: reference.cpes().collect(),
            class_cpes: reference.class_cpes(),
        })
        .collect();
    (matches, reader.into_warnings())
}
