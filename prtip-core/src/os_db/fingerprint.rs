//! Subject fingerprints: the plain values a scan measured, in nmap's printed
//! form (`SEQ(SP=105%GCD=1%ISR=10B%TI=Z)` ...).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// A fingerprint parse failure; the message names the offending text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid fingerprint: {reason}")]
pub struct FingerprintError {
    /// What is wrong, quoting the text.
    pub reason: String,
}

fn error(reason: String) -> FingerprintError {
    FingerprintError { reason }
}

/// Byte range in [`Fingerprint::text`]; `u32` keeps entries small, and a
/// fingerprint is a few hundred bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct TestEntry {
    name: Span,
    /// Index range into [`Fingerprint::attrs`].
    first_attr: u32,
    end_attr: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct AttrEntry {
    name: Span,
    value: Span,
}

/// A subject fingerprint: tests (`SEQ`, `OPS`, `T1` ...), each a list of
/// `attribute = value` pairs with plain values (no expressions).
///
/// Stored compactly: one string holding every name and value, plus two
/// vectors of offsets, so a whole fingerprint is three allocations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint {
    text: String,
    tests: Vec<TestEntry>,
    attrs: Vec<AttrEntry>,
}

/// One test of a [`Fingerprint`].
#[derive(Debug, Clone, Copy)]
pub struct SubjectTest<'f> {
    fp: &'f Fingerprint,
    entry: &'f TestEntry,
}

impl<'f> SubjectTest<'f> {
    /// The test's name, e.g. `SEQ`.
    pub fn name(&self) -> &'f str {
        self.fp.span(self.entry.name)
    }

    /// `(attribute, value)` pairs in the order they were given.
    pub fn attrs(&self) -> impl Iterator<Item = (&'f str, &'f str)> + 'f {
        let fp = self.fp;
        fp.attrs[self.entry.first_attr as usize..self.entry.end_attr as usize]
            .iter()
            .map(move |a| (fp.span(a.name), fp.span(a.value)))
    }

    /// The value of `attr`, if this test has it.
    pub fn get(&self, attr: &str) -> Option<&'f str> {
        self.attrs().find(|(name, _)| *name == attr).map(|(_, v)| v)
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        (self.entry.end_attr - self.entry.first_attr) as usize
    }

    /// Whether the test has no attributes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Fingerprint {
    /// An empty fingerprint, to fill with [`Fingerprint::push_test`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses nmap's printed form. Accepts one or more tests per line, and
    /// the `OS:`-prefixed wrapped form nmap prints for submission (wrapped
    /// lines are joined first, since nmap breaks lines inside values).
    /// Blank lines are ignored; anything else that is not `NAME(a=v%...)` is
    /// an error, so pass only the fingerprint block of nmap's output.
    pub fn parse(text: &str) -> Result<Self, FingerprintError> {
        let mut fp = Self::new();
        let mut wrapped = String::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("OS:") {
                wrapped.push_str(rest);
                continue;
            }
            if !wrapped.is_empty() {
                fp.push_tests_text(&wrapped)?;
                wrapped.clear();
            }
            fp.push_tests_text(line)?;
        }
        fp.push_tests_text(&wrapped)?;
        if fp.tests.is_empty() {
            return Err(error("no tests".to_owned()));
        }
        Ok(fp)
    }

    /// Parses a run of tests such as `T2(R=N)T3(R=N)`.
    fn push_tests_text(&mut self, mut s: &str) -> Result<(), FingerprintError> {
        loop {
            s = s.trim_start();
            if s.is_empty() {
                return Ok(());
            }
            let open = s
                .find('(')
                .ok_or_else(|| error(format!("\"{s}\": expected NAME(...)")))?;
            let close = s[open..]
                .find(')')
                .map(|i| open + i)
                .ok_or_else(|| error(format!("\"{s}\": missing ')'")))?;
            let name = &s[..open];
            let body = &s[open + 1..close];
            let mut pairs = Vec::new();
            if !body.is_empty() {
                for pair in body.split('%') {
                    let (attr, value) = pair.split_once('=').ok_or_else(|| {
                        error(format!("{name}: \"{pair}\" is not attribute=value"))
                    })?;
                    pairs.push((attr, value));
                }
            }
            self.push_test(name, pairs)?;
            s = &s[close + 1..];
        }
    }

    /// Appends a test. Names must be alphanumeric and unique (a repeated test
    /// or attribute is an error); values must not contain `%`, `(`, `)`, `=`
    /// or whitespace, which would make the printed form ambiguous.
    pub fn push_test<A, V>(
        &mut self,
        name: &str,
        attrs: impl IntoIterator<Item = (A, V)>,
    ) -> Result<(), FingerprintError>
    where
        A: AsRef<str>,
        V: AsRef<str>,
    {
        check_name(name, "test")?;
        if self.test(name).is_some() {
            return Err(error(format!("test {name} given twice")));
        }
        let (text_len, attrs_len) = (self.text.len(), self.attrs.len());
        let result = self.push_test_unchecked_name(name, attrs);
        if result.is_err() {
            // Leave the fingerprint as it was before the call.
            self.text.truncate(text_len);
            self.attrs.truncate(attrs_len);
        }
        result
    }

    fn push_test_unchecked_name<A, V>(
        &mut self,
        name: &str,
        attrs: impl IntoIterator<Item = (A, V)>,
    ) -> Result<(), FingerprintError>
    where
        A: AsRef<str>,
        V: AsRef<str>,
    {
        let name_span = self.push_str(name)?;
        let first_attr = self.attrs.len();
        for (attr, value) in attrs {
            let (attr, value) = (attr.as_ref(), value.as_ref());
            check_name(attr, "attribute")?;
            if let Some(bad) = value
                .chars()
                .find(|c| matches!(c, '%' | '(' | ')' | '=') || c.is_whitespace())
            {
                return Err(error(format!(
                    "{name}.{attr}: '{bad}' in value \"{value}\""
                )));
            }
            let dup = self.attrs[first_attr..]
                .iter()
                .any(|a| self.span(a.name) == attr);
            if dup {
                return Err(error(format!("{name}.{attr} given twice")));
            }
            let entry = AttrEntry {
                name: self.push_str(attr)?,
                value: self.push_str(value)?,
            };
            self.attrs.push(entry);
        }
        self.tests.push(TestEntry {
            name: name_span,
            first_attr: index_u32(first_attr)?,
            end_attr: index_u32(self.attrs.len())?,
        });
        Ok(())
    }

    fn push_str(&mut self, s: &str) -> Result<Span, FingerprintError> {
        let start = index_u32(self.text.len())?;
        self.text.push_str(s);
        Ok(Span {
            start,
            end: index_u32(self.text.len())?,
        })
    }

    fn span(&self, span: Span) -> &str {
        self.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or_default()
    }

    /// Tests in the order they were given.
    pub fn tests(&self) -> impl Iterator<Item = SubjectTest<'_>> + '_ {
        self.tests
            .iter()
            .map(move |entry| SubjectTest { fp: self, entry })
    }

    /// The test named `name` (`SEQ`, `T1` ...), if present.
    pub fn test(&self, name: &str) -> Option<SubjectTest<'_>> {
        self.tests().find(|t| t.name() == name)
    }

    /// The value of `test.attr`, if present.
    pub fn get(&self, test: &str, attr: &str) -> Option<&str> {
        self.test(test)?.get(attr)
    }
}

fn index_u32(i: usize) -> Result<u32, FingerprintError> {
    u32::try_from(i).map_err(|_| error("fingerprint larger than 4 GiB".to_owned()))
}

fn check_name(name: &str, what: &str) -> Result<(), FingerprintError> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(error(format!("{what} name \"{name}\" is not alphanumeric")));
    }
    Ok(())
}

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// One test per line, `NAME(a=v%b=w)`, the unwrapped form nmap prints.
impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, test) in self.tests().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}(", test.name())?;
            for (j, (attr, value)) in test.attrs().enumerate() {
                let sep = if j > 0 { "%" } else { "" };
                write!(f, "{sep}{attr}={value}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_one_test_per_line() {
        let fp = Fingerprint::parse(
            "SEQ(SP=105%GCD=1%ISR=10B%TI=Z%CI=Z%II=I%TS=A)\n\
             OPS(O1=M5B4ST11NW7%O2=M5B4ST11NW7)\n\
             T2(R=N)\n\
             T4(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)\n",
        )
        .unwrap();
        assert_eq!(fp.tests().count(), 4);
        assert_eq!(fp.get("SEQ", "ISR"), Some("10B"));
        assert_eq!(fp.get("OPS", "O2"), Some("M5B4ST11NW7"));
        assert_eq!(fp.get("T4", "O"), Some(""));
        assert_eq!(fp.get("T4", "Q"), Some(""));
        assert_eq!(fp.get("T4", "X"), None);
        assert_eq!(fp.get("T9", "R"), None);
        assert_eq!(fp.test("T2").map(|t| t.len()), Some(1));
    }

    #[test]
    fn parses_wrapped_submission_form() {
        // nmap breaks these lines at a fixed width, inside values.
        let fp = Fingerprint::parse(
            "OS:SCAN(V=7.93%E=4%D=11/25%OT=22%CT=1%P=x86_64-pc-linux-gnu)SEQ(SP=104%GCD=1%IS\n\
             OS:R=10C%TI=Z)T2(R=N)T3(R=N)IE(R=Y%DFI=\n\
             OS:N%T=40%CD=S)\n",
        )
        .unwrap();
        let names: Vec<_> = fp.tests().map(|t| t.name()).collect();
        assert_eq!(names, ["SCAN", "SEQ", "T2", "T3", "IE"]);
        assert_eq!(fp.get("SEQ", "ISR"), Some("10C"));
        assert_eq!(fp.get("IE", "DFI"), Some("N"));
        assert_eq!(fp.get("SCAN", "P"), Some("x86_64-pc-linux-gnu"));
    }

    #[test]
    fn display_round_trips() {
        let text = "SEQ(SP=105%GCD=1)\nT2(R=N)\nT4(R=Y%O=%Q=)\nX()";
        let fp: Fingerprint = text.parse().unwrap();
        assert_eq!(fp.to_string(), text);
        assert_eq!(Fingerprint::parse(&fp.to_string()), Ok(fp));
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "TCP/IP fingerprint:",
            "SEQ(SP=1",
            "SEQ(SP)",
            "SEQ(SP=1)SEQ(GCD=1)",
            "SEQ(SP=1%SP=2)",
            "S-Q(SP=1)",
            "SEQ(S P=1)",
        ] {
            assert!(Fingerprint::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn failed_push_leaves_fingerprint_unchanged() {
        let mut fp = Fingerprint::new();
        fp.push_test("T1", [("R", "Y")]).unwrap();
        let before = fp.clone();
        assert!(fp.push_test("T2", [("R", "Y"), ("W", "a b")]).is_err());
        assert_eq!(fp, before);
    }
}
