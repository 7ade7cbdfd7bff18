//! A short attribute value on the stack, so computing a fingerprint costs
//! no allocation per attribute (only the `Fingerprint` itself allocates).

use std::fmt;

/// Longest value: an `O` string of 40 option bytes is at most 50 characters
/// (`M` + 4 hex digits per 4-byte MSS option).
const CAP: usize = 64;

/// An ASCII attribute value of at most 64 bytes; longer writes are cut
/// (which no test can produce).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Val {
    buf: [u8; CAP],
    len: u8,
}

impl Val {
    /// The empty value (`O=` for a reply without options, `Q=` without quirks).
    pub const fn empty() -> Val {
        Val {
            buf: [0; CAP],
            len: 0,
        }
    }

    /// A value from a short literal.
    pub fn lit(s: &str) -> Val {
        let mut v = Val::empty();
        v.push_str(s);
        v
    }

    /// Upper-case hex without leading zeros, as nmap's `%X`.
    pub fn hex(n: u64) -> Val {
        let mut v = Val::empty();
        let _ = fmt::Write::write_fmt(&mut v, format_args!("{n:X}"));
        v
    }

    /// Appends one ASCII character.
    pub fn push(&mut self, c: u8) {
        if usize::from(self.len) < CAP && c.is_ascii() {
            self.buf[usize::from(self.len)] = c;
            self.len += 1;
        }
    }

    /// Appends ASCII text.
    pub fn push_str(&mut self, s: &str) {
        for b in s.bytes() {
            self.push(b);
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever pushed, so this cannot fail.
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl Default for Val {
    fn default() -> Self {
        Val::empty()
    }
}

impl AsRef<str> for Val {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Write for Val {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

impl fmt::Debug for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A test line under construction: name and up to 12 attributes, on the stack.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line {
    pub name: &'static str,
    attrs: [(&'static str, Val); 12],
    n: usize,
}

impl Line {
    pub fn new(name: &'static str) -> Line {
        Line {
            name,
            attrs: [("", Val::empty()); 12],
            n: 0,
        }
    }

    pub fn add(&mut self, attr: &'static str, v: Val) {
        if let Some(slot) = self.attrs.get_mut(self.n) {
            *slot = (attr, v);
            self.n += 1;
        }
    }

    pub fn add_lit(&mut self, attr: &'static str, v: &str) {
        self.add(attr, Val::lit(v));
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn attrs(&self) -> impl Iterator<Item = (&'static str, Val)> + '_ {
        self.attrs[..self.n].iter().copied()
    }
}
