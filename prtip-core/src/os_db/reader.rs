//! A one-pass reader over the text of `nmap-os-db`.
//!
//! Entries are yielded as [`Reference`]s: a name plus the slice of text the
//! entry occupies, checked once while reading. Nothing is copied and nothing
//! is allocated per entry, so a caller that keeps only a few entries uses
//! memory independent of the size of the file.

use std::fmt;

use super::expr::{check_expr, split_ascii, split_once_ascii};

/// Label used in warnings when the caller does not name the file.
pub const DEFAULT_FILE_NAME: &str = "nmap-os-db";

/// A problem found while reading; the entry (or line) it concerns was
/// skipped. Displays as `file:line: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsDbWarning {
    /// The file name given to the reader.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for OsDbWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// Attributes of one test are tracked in a `u64` bit set while checking.
const MAX_ATTRS_PER_TEST: usize = 64;
/// Tests of one entry are tracked in a `u64` bit set while checking.
const MAX_TESTS: usize = 64;

/// Weights of one test's attributes, from the `MatchPoints` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPoints<'a> {
    name: &'a str,
    attrs: Vec<(&'a str, u32)>,
}

impl<'a> TestPoints<'a> {
    /// The test's name, e.g. `T1`.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// `(attribute, weight)` pairs in file order.
    pub fn attrs(&self) -> &[(&'a str, u32)] {
        &self.attrs
    }

    /// The weight of `attr`, if the test defines it.
    pub fn weight(&self, attr: &str) -> Option<u32> {
        self.attrs.iter().find(|(a, _)| *a == attr).map(|(_, w)| *w)
    }

    fn index(&self, attr: &str) -> Option<usize> {
        self.attrs.iter().position(|(a, _)| *a == attr)
    }
}

/// The `MatchPoints` section: which tests and attributes exist, and what a
/// match of each is worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchPoints<'a> {
    tests: Vec<TestPoints<'a>>,
}

impl<'a> MatchPoints<'a> {
    /// Tests in file order.
    pub fn tests(&self) -> &[TestPoints<'a>] {
        &self.tests
    }

    /// The weights of test `name`, if the section defines it.
    pub fn test(&self, name: &str) -> Option<&TestPoints<'a>> {
        self.tests.iter().find(|t| t.name == name)
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.tests.iter().position(|t| t.name == name)
    }
}

/// One `Class vendor | family | generation | device type` line. The
/// generation is often empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsClass<'a> {
    /// e.g. `Linux`, `Microsoft`, `2Wire`.
    pub vendor: &'a str,
    /// OS family, e.g. `Linux`, `Windows`, `embedded`.
    pub family: &'a str,
    /// e.g. `2.6.X`; may be empty.
    pub generation: &'a str,
    /// e.g. `general purpose`, `WAP`.
    pub device_type: &'a str,
}

impl fmt::Display for OsClass<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} | {} | {} | {}",
            self.vendor, self.family, self.generation, self.device_type
        )
    }
}

/// One test line of a reference fingerprint, e.g.
/// `T1(R=Y%DF=Y%T=3B-45%S=O%A=S+)`; values are expressions (see
/// [`value_matches`](super::value_matches)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefTest<'a> {
    name: &'a str,
    attrs: &'a str,
}

impl<'a> RefTest<'a> {
    /// The test's name, e.g. `T1`.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// `(attribute, expression)` pairs in file order.
    pub fn attrs(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let attrs = self.attrs;
        split_ascii(attrs, b'%')
            .filter(move |_| !attrs.is_empty())
            .filter_map(|pair| split_once_ascii(pair, b'='))
    }

    /// The expression given for `attr`, if any.
    pub fn get(&self, attr: &str) -> Option<&'a str> {
        self.attrs().find(|(a, _)| *a == attr).map(|(_, e)| e)
    }
}

/// One `Fingerprint` entry, borrowed from the file's text and already
/// checked against `MatchPoints`: its accessors re-read the slice on demand
/// instead of holding vectors, so an entry is a few words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference<'a> {
    name: &'a str,
    line: usize,
    body: &'a str,
}

impl<'a> Reference<'a> {
    /// The text after `Fingerprint `, e.g. `Linux 2.6.32`.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// 1-based line number of the `Fingerprint` line (nmap's XML reports it).
    pub fn line(&self) -> usize {
        self.line
    }

    /// The entry's lines after the `Fingerprint` line, comments included.
    pub fn body(&self) -> &'a str {
        self.body
    }

    /// `Class` lines in file order.
    pub fn classes(&self) -> impl Iterator<Item = OsClass<'a>> + 'a {
        self.body.lines().filter_map(|line| match classify(line) {
            Kind::Class(rest) => Some(parse_class(rest).unwrap_or(OsClass {
                vendor: "",
                family: "",
                generation: "",
                device_type: "",
            })),
            _ => None,
        })
    }

    /// CPE names (`cpe:/o:linux:linux_kernel:2.6`) in file order; nmap's
    /// `auto` marker after a name is dropped.
    pub fn cpes(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.body.lines().filter_map(|line| match classify(line) {
            Kind::Cpe(rest) => rest.split_whitespace().next(),
            _ => None,
        })
    }

    /// `Class` lines with the CPE names listed after each (before the next
    /// `Class`), in file order.
    pub fn class_cpes(&self) -> Vec<(OsClass<'a>, Vec<&'a str>)> {
        let mut out: Vec<(OsClass<'a>, Vec<&'a str>)> = Vec::new();
        for line in self.body.lines() {
            match classify(line) {
                Kind::Class(rest) => {
                    if let Ok(c) = parse_class(rest) {
                        out.push((c, Vec::new()));
                    }
                }
                Kind::Cpe(rest) => {
                    if let (Some(last), Some(cpe)) =
                        (out.last_mut(), rest.split_whitespace().next())
                    {
                        last.1.push(cpe);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Test lines in file order.
    pub fn tests(&self) -> impl Iterator<Item = RefTest<'a>> + 'a {
        self.body.lines().filter_map(|line| match classify(line) {
            Kind::Test(line) => split_test_line(line)
                .ok()
                .map(|(name, attrs)| RefTest { name, attrs }),
            _ => None,
        })
    }

    /// The test line named `name`, if present.
    pub fn test(&self, name: &str) -> Option<RefTest<'a>> {
        self.tests().find(|t| t.name == name)
    }
}

/// What a line of the file is, judged by its first word.
enum Kind<'a> {
    Skip,
    MatchPoints,
    Fingerprint(&'a str),
    Class(&'a str),
    Cpe(&'a str),
    Test(&'a str),
}

fn classify(line: &str) -> Kind<'_> {
    let line = line.trim_end();
    if line.is_empty() || line.starts_with('#') {
        return Kind::Skip;
    }
    if line == "MatchPoints" {
        return Kind::MatchPoints;
    }
    // Prefix tests rather than splitting off the first word: most lines are
    // test lines without any whitespace, and scanning them all was measurable.
    let keyword = |word: &str| {
        let rest = line.strip_prefix(word)?;
        if rest.is_empty() {
            Some(rest)
        } else if rest.starts_with(|c: char| c.is_ascii_whitespace()) {
            Some(rest.trim())
        } else {
            None
        }
    };
    if let Some(rest) = keyword("Fingerprint") {
        Kind::Fingerprint(rest)
    } else if let Some(rest) = keyword("Class") {
        Kind::Class(rest)
    } else if let Some(rest) = keyword("CPE") {
        Kind::Cpe(rest)
    } else {
        Kind::Test(line)
    }
}

fn parse_class(rest: &str) -> Result<OsClass<'_>, String> {
    let mut fields = rest.split('|').map(str::trim);
    let (Some(vendor), Some(family), Some(generation), Some(device_type), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(format!(
            "Class \"{rest}\": expected vendor | family | generation | device type"
        ));
    };
    if vendor.is_empty() || family.is_empty() || device_type.is_empty() {
        return Err(format!(
            "Class \"{rest}\": vendor, family and device type must not be empty"
        ));
    }
    Ok(OsClass {
        vendor,
        family,
        generation,
        device_type,
    })
}

fn check_cpe(rest: &str) -> Result<(), String> {
    let mut words = rest.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(cpe), None | Some("auto"), None) if cpe.starts_with("cpe:/") => Ok(()),
        _ => Err(format!(
            "CPE \"{rest}\": expected cpe:/... optionally followed by \"auto\""
        )),
    }
}

/// `NAME(attrs)` -> (`NAME`, `attrs`).
fn split_test_line(line: &str) -> Result<(&str, &str), String> {
    let line = line.trim_end();
    let Some((name, rest)) = split_once_ascii(line, b'(') else {
        return Err(format!("\"{line}\": expected a test line NAME(...)"));
    };
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("\"{line}\": expected a test line NAME(...)"));
    }
    let Some(attrs) = rest.strip_suffix(')') else {
        return Err(format!("{name}: missing ')' at the end of the line"));
    };
    if attrs.bytes().any(|b| b == b'(' || b == b')') {
        return Err(format!("{name}: unbalanced parentheses"));
    }
    Ok((name, attrs))
}

fn check_test(points: &MatchPoints<'_>, line: &str, seen_tests: &mut u64) -> Result<(), String> {
    let (name, attrs) = split_test_line(line)?;
    let index = points
        .index(name)
        .ok_or_else(|| format!("test {name} is not in MatchPoints"))?;
    let bit = 1u64 << index;
    if *seen_tests & bit != 0 {
        return Err(format!("test {name} given twice"));
    }
    *seen_tests |= bit;
    let def = &points.tests[index];
    // nmap writes "no response" as R=N even for tests that have no R
    // attribute (SEQ, OPS, WIN); such a line carries no comparable result.
    if attrs == "R=N" && def.index("R").is_none() {
        return Ok(());
    }
    let mut seen_attrs = 0u64;
    for pair in split_ascii(attrs, b'%').filter(|_| !attrs.is_empty()) {
        let (attr, expr) = split_once_ascii(pair, b'=')
            .ok_or_else(|| format!("{name}: \"{pair}\" is not attribute=value"))?;
        let index = def
            .index(attr)
            .ok_or_else(|| format!("{name}.{attr} is not in MatchPoints"))?;
        let bit = 1u64 << index;
        if seen_attrs & bit != 0 {
            return Err(format!("{name}.{attr} given twice"));
        }
        seen_attrs |= bit;
        check_expr(expr).map_err(|e| format!("{name}.{attr}: {e}"))?;
    }
    Ok(())
}

fn parse_points_line<'a>(
    tests: &[TestPoints<'a>],
    line: &'a str,
) -> Result<TestPoints<'a>, String> {
    let (name, attrs) = split_test_line(line)?;
    if tests.iter().any(|t| t.name == name) {
        return Err(format!("MatchPoints: test {name} given twice"));
    }
    if tests.len() == MAX_TESTS {
        return Err(format!("MatchPoints: more than {MAX_TESTS} tests"));
    }
    let mut points = TestPoints {
        name,
        attrs: Vec::new(),
    };
    for pair in split_ascii(attrs, b'%').filter(|_| !attrs.is_empty()) {
        let (attr, weight) = split_once_ascii(pair, b'=')
            .ok_or_else(|| format!("MatchPoints {name}: \"{pair}\" is not attribute=weight"))?;
        if attr.is_empty() || !attr.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!("MatchPoints {name}: bad attribute name \"{attr}\""));
        }
        let weight: u32 = weight.parse().map_err(|_| {
            format!("MatchPoints {name}.{attr}: weight \"{weight}\" is not a non-negative integer")
        })?;
        if points.index(attr).is_some() {
            return Err(format!("MatchPoints {name}.{attr} given twice"));
        }
        if points.attrs.len() == MAX_ATTRS_PER_TEST {
            return Err(format!(
                "MatchPoints {name}: more than {MAX_ATTRS_PER_TEST} attributes"
            ));
        }
        points.attrs.push((attr, weight));
    }
    Ok(points)
}

/// Iterator over the well-formed `Fingerprint` entries of an `nmap-os-db`
/// text, in file order. The `MatchPoints` section is picked up on the way
/// (nmap's file has it first; entries before it are skipped, since their
/// attributes cannot be checked). Malformed entries and stray lines become
/// [`OsDbWarning`]s and are skipped; nothing panics.
#[derive(Debug)]
pub struct OsDbReader<'a> {
    text: &'a str,
    file: &'a str,
    /// Byte offset of the next unread line.
    pos: usize,
    /// 1-based number of the line at `pos`.
    line: usize,
    match_points: Option<MatchPoints<'a>>,
    warnings: Vec<OsDbWarning>,
    read: usize,
    skipped: usize,
}

impl<'a> OsDbReader<'a> {
    /// Reads `text`; warnings name the file [`DEFAULT_FILE_NAME`].
    pub fn new(text: &'a str) -> Self {
        Self::with_file_name(text, DEFAULT_FILE_NAME)
    }

    /// Reads `text`; warnings name the file `file`.
    pub fn with_file_name(text: &'a str, file: &'a str) -> Self {
        Self {
            text,
            file,
            pos: 0,
            line: 1,
            match_points: None,
            warnings: Vec::new(),
            read: 0,
            skipped: 0,
        }
    }

    /// The `MatchPoints` section, once the reader has passed it.
    pub fn match_points(&self) -> Option<&MatchPoints<'a>> {
        self.match_points.as_ref()
    }

    /// Warnings so far.
    pub fn warnings(&self) -> &[OsDbWarning] {
        &self.warnings
    }

    /// Warnings so far, by value.
    pub fn into_warnings(self) -> Vec<OsDbWarning> {
        self.warnings
    }

    /// Entries yielded so far.
    pub fn fingerprints_read(&self) -> usize {
        self.read
    }

    /// Entries skipped as malformed so far.
    pub fn entries_skipped(&self) -> usize {
        self.skipped
    }

    /// The line starting at byte `pos` (without its line break) and the
    /// offset of the next one.
    fn line_at(&self, pos: usize) -> Option<(&'a str, usize)> {
        let rest = self.text.get(pos..).filter(|r| !r.is_empty())?;
        let (line, next) = match rest.bytes().position(|b| b == b'\n') {
            Some(i) => (&rest[..i], pos + i + 1),
            None => (rest, self.text.len()),
        };
        Some((line.strip_suffix('\r').unwrap_or(line), next))
    }

    fn advance(&mut self, next: usize) {
        self.pos = next;
        self.line += 1;
    }

    fn warn(&mut self, line: usize, reason: String) {
        self.warnings.push(OsDbWarning {
            file: self.file.to_owned(),
            line,
            reason,
        });
    }

    fn read_match_points(&mut self, header_line: usize) {
        let duplicate = self.match_points.is_some();
        if duplicate {
            self.warn(header_line, "second MatchPoints section ignored".to_owned());
        }
        let mut tests = Vec::new();
        while let Some((line, next)) = self.line_at(self.pos) {
            match classify(line) {
                Kind::Skip => {}
                Kind::Test(line) if !duplicate => match parse_points_line(&tests, line) {
                    Ok(points) => tests.push(points),
                    Err(reason) => self.warn(self.line, reason),
                },
                Kind::Test(_) => {}
                _ => break,
            }
            self.advance(next);
        }
        if !duplicate {
            if tests.is_empty() {
                self.warn(header_line, "MatchPoints section has no tests".to_owned());
            } else {
                self.match_points = Some(MatchPoints { tests });
            }
        }
    }

    /// Consumes the entry whose `Fingerprint` line was just read; `None` if it
    /// is malformed (after recording why).
    fn read_entry(&mut self, name: &'a str, header_line: usize) -> Option<Reference<'a>> {
        let body_start = self.pos;
        let mut problem: Option<(usize, String)> = None;
        if name.is_empty() {
            problem = Some((header_line, "Fingerprint without a name".to_owned()));
        } else if self.match_points.is_none() {
            problem = Some((
                header_line,
                "Fingerprint before the MatchPoints section".to_owned(),
            ));
        }
        let mut seen_tests = 0u64;
        let (mut pos, mut line_no) = (self.pos, self.line);
        while let Some((line, next)) = self.line_at(pos) {
            let kind = classify(line);
            if matches!(kind, Kind::MatchPoints | Kind::Fingerprint(_)) {
                break;
            }
            if let (None, Some(points)) = (&problem, &self.match_points) {
                let checked = match kind {
                    Kind::Class(rest) => parse_class(rest).map(drop),
                    Kind::Cpe(rest) => check_cpe(rest),
                    Kind::Test(line) => check_test(points, line, &mut seen_tests),
                    _ => Ok(()),
                };
                if let Err(reason) = checked {
                    problem = Some((line_no, reason));
                }
            }
            pos = next;
            line_no += 1;
        }
        let body = &self.text[body_start..pos];
        self.pos = pos;
        self.line = line_no;
        if problem.is_none() && seen_tests == 0 {
            problem = Some((header_line, format!("Fingerprint {name}: no test lines")));
        }
        match problem {
            Some((line, reason)) => {
                self.warn(line, format!("{reason} (entry skipped)"));
                self.skipped += 1;
                None
            }
            None => {
                self.read += 1;
                Some(Reference {
                    name,
                    line: header_line,
                    body,
                })
            }
        }
    }
}

impl<'a> Iterator for OsDbReader<'a> {
    type Item = Reference<'a>;

    fn next(&mut self) -> Option<Reference<'a>> {
        loop {
            let (line, next) = self.line_at(self.pos)?;
            let line_no = self.line;
            self.advance(next);
            match classify(line) {
                Kind::Skip => {}
                Kind::MatchPoints => self.read_match_points(line_no),
                Kind::Fingerprint(name) => {
                    if let Some(entry) = self.read_entry(name, line_no) {
                        return Some(entry);
                    }
                }
                Kind::Class(_) | Kind::Cpe(_) | Kind::Test(_) => {
                    self.warn(line_no, "line outside any Fingerprint entry".to_owned());
                }
            }
        }
    }
}
