//! PCRE pattern syntax (as nmap's `m|...|` patterns use it) parsed into a
//! small tree that both engines share.
//!
//! One parser serves three purposes: it decides which engine a pattern needs,
//! it emits syntax the `regex` crate accepts (PCRE and `regex` disagree on
//! `$`, `\<`, `[` inside classes, octal escapes and unmatched `{`), and it
//! yields the literal prefilters. Case-insensitivity and `.` are resolved into
//! explicit byte sets here, so neither engine has to know the flags.

use std::fmt::Write as _;

/// A set of bytes, one bit per byte value.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct ByteSet(pub(crate) [u64; 4]);

impl ByteSet {
    pub(crate) fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }
    fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }
    fn insert_range(&mut self, lo: u8, hi: u8) {
        for b in lo..=hi {
            self.insert(b);
        }
    }
    fn union(&mut self, other: &ByteSet) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
    }
    fn negate(&mut self) {
        for a in &mut self.0 {
            *a = !*a;
        }
    }
    fn len(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }
    fn single(b: u8) -> Self {
        let mut s = Self::default();
        s.insert(b);
        s
    }
    fn fold_case(&mut self) {
        for b in b'a'..=b'z' {
            let u = b.to_ascii_uppercase();
            if self.contains(b) || self.contains(u) {
                self.insert(b);
                self.insert(u);
            }
        }
    }
    /// Exactly one byte, or an ASCII letter in both cases.
    fn as_literal(&self) -> Option<(u8, bool)> {
        match self.len() {
            1 => (0..=255u8).find(|&b| self.contains(b)).map(|b| (b, false)),
            2 => {
                let lower = (b'a'..=b'z').find(|&b| self.contains(b))?;
                self.contains(lower.to_ascii_uppercase())
                    .then_some((lower, true))
            }
            _ => None,
        }
    }
}

fn class_digit() -> ByteSet {
    let mut s = ByteSet::default();
    s.insert_range(b'0', b'9');
    s
}
fn class_word() -> ByteSet {
    let mut s = class_digit();
    s.insert_range(b'a', b'z');
    s.insert_range(b'A', b'Z');
    s.insert(b'_');
    s
}
fn class_space() -> ByteSet {
    // PCRE 8.34+ includes VT in \s.
    let mut s = ByteSet::default();
    for b in [b' ', b'\t', b'\n', 0x0b, 0x0c, b'\r'] {
        s.insert(b);
    }
    s
}

/// One node of a parsed pattern.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Empty,
    Literal(Vec<u8>),
    Set(ByteSet),
    /// `^` / `\A`: only start of subject (nmap never sets multiline).
    Start,
    /// `$` / `\Z`: end of subject or before a final newline.
    End,
    /// `\z`.
    EndAbs,
    WordBoundary(bool),
    Group(Box<Node>, Option<usize>),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
        greedy: bool,
        possessive: bool,
    },
    Backref {
        group: usize,
        fold: bool,
    },
    Look {
        node: Box<Node>,
        ahead: bool,
        negate: bool,
    },
    Atomic(Box<Node>),
}

/// A parsed pattern and how many capture groups it has.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub(crate) root: Node,
    pub(crate) groups: usize,
}

#[derive(Clone, Copy)]
struct Flags {
    fold: bool,
    dotall: bool,
}

/// How deeply groups (and quantifiers stacked on one atom, as in `a{1}{1}`)
/// may nest. The parser, the translation for the automata engine, the
/// literal extraction and the backtracker all recurse on the tree, so an
/// unbounded depth overflowed the stack on a hostile `--datadir` file. The
/// deepest nesting in nmap's nmap-service-probes (7.93) is 3. PCRE's default
/// limit is 250, but the parser takes about 5.3 KiB of stack per level in a
/// debug build (0.8 KiB in release), and patterns compile lazily on 2 MiB
/// worker threads; 32 levels stay under 256 KiB in either.
pub(crate) const MAX_NESTING: usize = 32;

struct Parser<'p> {
    s: &'p [u8],
    i: usize,
    groups: usize,
    /// Groups open at the cursor.
    depth: usize,
}

type PResult<T> = Result<T, String>;

/// Parses PCRE syntax; `fold` and `dotall` are nmap's `i` and `s` flags.
pub(crate) fn parse(src: &[u8], fold: bool, dotall: bool) -> PResult<Pattern> {
    let mut p = Parser {
        s: src,
        i: 0,
        groups: 0,
        depth: 0,
    };
    let mut flags = Flags { fold, dotall };
    let root = p.alt(&mut flags)?;
    if p.i < p.s.len() {
        return Err(format!("unmatched ')' at offset {}", p.i));
    }
    Ok(Pattern {
        root,
        groups: p.groups,
    })
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn starts_with(&self, lit: &[u8]) -> bool {
        self.s[self.i..].starts_with(lit)
    }

    fn alt(&mut self, flags: &mut Flags) -> PResult<Node> {
        let mut branches = vec![self.concat(flags)?];
        while self.eat(b'|') {
            branches.push(self.concat(flags)?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(branches)
        })
    }

    fn concat(&mut self, flags: &mut Flags) -> PResult<Node> {
        let mut items: Vec<Node> = Vec::new();
        while let Some(c) = self.peek() {
            if c == b'|' || c == b')' {
                break;
            }
            if self.extend_literal(&mut items, *flags) {
                continue;
            }
            let Some(atom) = self.atom(flags)? else {
                continue;
            };
            let node = self.quantified(atom)?;
            // Merging adjacent bytes keeps the backtracker's recursion shallow.
            match (items.last_mut(), node) {
                (Some(Node::Literal(prev)), Node::Literal(next)) => prev.extend(next),
                (_, node) => items.push(node),
            }
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    /// Appends a plain, unquantified byte at the cursor to a literal run
    /// that `items` ends with, in place. Patterns are mostly text, and
    /// making a one-byte node per byte cost about 100 allocations per rule
    /// when the database was loaded.
    fn extend_literal(&mut self, items: &mut [Node], flags: Flags) -> bool {
        let (Some(Node::Literal(prev)), Some(b)) = (items.last_mut(), self.peek()) else {
            return false;
        };
        let special = matches!(
            b,
            b'(' | b'[' | b'.' | b'^' | b'$' | b'\\' | b'*' | b'+' | b'?' | b'{' | b'|' | b')'
        );
        let quantified = matches!(self.s.get(self.i + 1), Some(b'*' | b'+' | b'?' | b'{'));
        if special || quantified || (flags.fold && b.is_ascii_alphabetic()) {
            return false;
        }
        prev.push(b);
        self.i += 1;
        true
    }

    /// A valid `{n}`, `{n,}` or `{n,m}` at the cursor, without consuming it.
    fn brace_quantifier(&self) -> Option<(u32, Option<u32>, usize)> {
        let rest = &self.s[self.i..];
        let close = rest.iter().position(|&b| b == b'}')?;
        let body = std::str::from_utf8(&rest[1..close]).ok()?;
        let (lo, hi) = match body.split_once(',') {
            Some((lo, hi)) => (lo, Some(hi)),
            None => (body, None),
        };
        if lo.is_empty() || !lo.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let min: u32 = lo.parse().ok()?;
        let max = match hi {
            None => Some(min),
            Some("") => None,
            Some(h) if h.bytes().all(|b| b.is_ascii_digit()) => Some(h.parse().ok()?),
            Some(_) => return None,
        };
        Some((min, max, close + 1))
    }

    fn quantified(&mut self, atom: Node) -> PResult<Node> {
        let mut node = atom;
        let mut stacked = 0;
        loop {
            let (min, max) = match self.peek() {
                Some(b'*') => {
                    self.i += 1;
                    (0, None)
                }
                Some(b'+') => {
                    self.i += 1;
                    (1, None)
                }
                Some(b'?') => {
                    self.i += 1;
                    (0, Some(1))
                }
                Some(b'{') => match self.brace_quantifier() {
                    Some((min, max, len)) => {
                        self.i += len;
                        (min, max)
                    }
                    None => return Ok(node),
                },
                _ => return Ok(node),
            };
            if max.is_some_and(|m| m < min) {
                return Err("quantifier range out of order".into());
            }
            if matches!(node, Node::Start | Node::End | Node::EndAbs | Node::Empty) {
                return Err("nothing to repeat".into());
            }
            stacked += 1;
            if self.depth + stacked > MAX_NESTING {
                return Err(format!("quantifiers nested deeper than {MAX_NESTING}"));
            }
            // A quantifier binds to the last byte of a merged literal only.
            if let Node::Literal(ref mut bytes) = node {
                if bytes.len() > 1 {
                    let last = bytes.pop().unwrap_or_default();
                    let head = Node::Literal(std::mem::take(bytes));
                    let rep = self.finish_repeat(Node::Literal(vec![last]), min, max);
                    return Ok(Node::Concat(vec![head, rep]));
                }
            }
            node = self.finish_repeat(node, min, max);
        }
    }

    fn finish_repeat(&mut self, node: Node, min: u32, max: Option<u32>) -> Node {
        let (greedy, possessive) = if self.eat(b'?') {
            (false, false)
        } else if self.eat(b'+') {
            (true, true)
        } else {
            (true, false)
        };
        Node::Repeat {
            node: Box::new(node),
            min,
            max,
            greedy,
            possessive,
        }
    }

    fn lit(&self, b: u8, flags: &Flags) -> Node {
        if flags.fold && b.is_ascii_alphabetic() {
            let mut s = ByteSet::single(b);
            s.fold_case();
            Node::Set(s)
        } else {
            Node::Literal(vec![b])
        }
    }

    /// `None` for constructs that match nothing and only change state (flags).
    fn atom(&mut self, flags: &mut Flags) -> PResult<Option<Node>> {
        let Some(c) = self.peek() else {
            return Err("unexpected end".into());
        };
        self.i += 1;
        Ok(Some(match c {
            b'(' => return self.group(flags),
            b'[' => Node::Set(self.class(flags.fold)?),
            b'.' => {
                let mut s = ByteSet::default();
                s.negate();
                if !flags.dotall {
                    s.0[0] &= !(1 << b'\n');
                }
                Node::Set(s)
            }
            b'^' => Node::Start,
            b'$' => Node::End,
            b'\\' => return self.escape(flags).map(Some),
            b'*' | b'+' | b'?' => return Err("nothing to repeat".into()),
            b'{' => {
                self.i -= 1;
                if self.brace_quantifier().is_some() {
                    return Err("nothing to repeat".into());
                }
                self.i += 1;
                Node::Literal(vec![b'{'])
            }
            other => self.lit(other, flags),
        }))
    }

    /// A group after its `(`, at most [`MAX_NESTING`] deep.
    fn group(&mut self, flags: &mut Flags) -> PResult<Option<Node>> {
        if self.depth >= MAX_NESTING {
            return Err(format!("parentheses nested deeper than {MAX_NESTING}"));
        }
        self.depth += 1;
        let node = self.group_body(flags);
        self.depth -= 1;
        node
    }

    fn group_body(&mut self, flags: &mut Flags) -> PResult<Option<Node>> {
        let mut inner_flags = *flags;
        let kind = if self.eat(b'?') {
            match self.peek() {
                Some(b':') => {
                    self.i += 1;
                    0
                }
                Some(b'=') | Some(b'!') => {
                    let negate = self.peek() == Some(b'!');
                    self.i += 1;
                    let node = self.alt(&mut inner_flags)?;
                    self.close()?;
                    return Ok(Some(Node::Look {
                        node: Box::new(node),
                        ahead: true,
                        negate,
                    }));
                }
                Some(b'<')
                    if self
                        .s
                        .get(self.i + 1)
                        .is_some_and(|&b| b == b'=' || b == b'!') =>
                {
                    let negate = self.s[self.i + 1] == b'!';
                    self.i += 2;
                    let node = self.alt(&mut inner_flags)?;
                    self.close()?;
                    if !lookbehind_ok(&node) {
                        return Err("lookbehind is not fixed length".into());
                    }
                    return Ok(Some(Node::Look {
                        node: Box::new(node),
                        ahead: false,
                        negate,
                    }));
                }
                Some(b'>') => {
                    self.i += 1;
                    let node = self.alt(&mut inner_flags)?;
                    self.close()?;
                    return Ok(Some(Node::Atomic(Box::new(node))));
                }
                Some(b'#') => {
                    while let Some(b) = self.peek() {
                        self.i += 1;
                        if b == b')' {
                            return Ok(None);
                        }
                    }
                    return Err("unterminated comment".into());
                }
                Some(b'P') | Some(b'<') | Some(b'\'') => {
                    if self.starts_with(b"P<") {
                        self.i += 1;
                    }
                    let close = if self.eat(b'\'') {
                        b'\''
                    } else if self.eat(b'<') {
                        b'>'
                    } else {
                        return Err("unsupported (?P construct".into());
                    };
                    while let Some(b) = self.peek() {
                        self.i += 1;
                        if b == close {
                            break;
                        }
                        if !(b.is_ascii_alphanumeric() || b == b'_') {
                            return Err("bad group name".into());
                        }
                    }
                    1
                }
                _ => {
                    // Inline flags: (?i) (?s) (?-i) (?i:...).
                    let mut on = true;
                    let mut f = *flags;
                    loop {
                        match self.peek() {
                            Some(b'i') => f.fold = on,
                            Some(b's') => f.dotall = on,
                            Some(b'-') => on = false,
                            Some(b')') => {
                                self.i += 1;
                                *flags = f;
                                return Ok(None);
                            }
                            Some(b':') => {
                                self.i += 1;
                                inner_flags = f;
                                break;
                            }
                            Some(other) => {
                                return Err(format!("unsupported group flag '{}'", other as char))
                            }
                            None => return Err("unterminated group".into()),
                        }
                        self.i += 1;
                    }
                    0
                }
            }
        } else {
            1
        };
        let index = if kind == 1 {
            self.groups += 1;
            Some(self.groups)
        } else {
            None
        };
        let node = self.alt(&mut inner_flags)?;
        self.close()?;
        Ok(Some(Node::Group(Box::new(node), index)))
    }

    fn close(&mut self) -> PResult<()> {
        if self.eat(b')') {
            Ok(())
        } else {
            Err("missing ')'".into())
        }
    }

    fn hex(&mut self, max_digits: usize) -> u32 {
        let mut v = 0u32;
        for _ in 0..max_digits {
            match self.peek().and_then(|b| (b as char).to_digit(16)) {
                Some(d) => {
                    v = v * 16 + d;
                    self.i += 1;
                }
                None => break,
            }
        }
        v
    }

    fn octal(&mut self, first: u32, more: usize) -> u8 {
        let mut v = first;
        for _ in 0..more {
            match self.peek() {
                Some(b @ b'0'..=b'7') => {
                    v = v * 8 + u32::from(b - b'0');
                    self.i += 1;
                }
                _ => break,
            }
        }
        (v & 0xff) as u8
    }

    /// Escapes that denote one byte, shared by classes and the main syntax.
    fn byte_escape(&mut self, c: u8) -> PResult<Option<u8>> {
        Ok(Some(match c {
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'f' => 0x0c,
            b'e' => 0x1b,
            b'a' => 0x07,
            b'0' => self.octal(0, 2),
            b'x' => {
                if self.eat(b'{') {
                    let v = self.hex(8);
                    if !self.eat(b'}') || v > 0xff {
                        return Err("bad \\x{...} escape".into());
                    }
                    v as u8
                } else {
                    self.hex(2) as u8
                }
            }
            b'c' => match self.peek() {
                Some(b) => {
                    self.i += 1;
                    b.to_ascii_uppercase() ^ 0x40
                }
                None => return Err("\\c at end".into()),
            },
            _ => return Ok(None),
        }))
    }

    fn set_escape(c: u8) -> Option<ByteSet> {
        let mut set = match c.to_ascii_lowercase() {
            b'd' => class_digit(),
            b'w' => class_word(),
            b's' => class_space(),
            b'h' => {
                let mut s = ByteSet::single(b' ');
                s.insert(b'\t');
                s.insert(0xa0);
                s
            }
            b'v' => {
                let mut s = ByteSet::default();
                s.insert_range(0x0a, 0x0d);
                s.insert(0x85);
                s
            }
            _ => return None,
        };
        if c.is_ascii_uppercase() {
            set.negate();
        }
        Some(set)
    }

    fn escape(&mut self, flags: &Flags) -> PResult<Node> {
        let Some(c) = self.peek() else {
            return Err("trailing backslash".into());
        };
        self.i += 1;
        if let Some(b) = self.byte_escape(c)? {
            return Ok(self.lit(b, flags));
        }
        if let Some(set) = Self::set_escape(c) {
            return Ok(Node::Set(set));
        }
        Ok(match c {
            b'A' => Node::Start,
            b'Z' => Node::End,
            b'z' => Node::EndAbs,
            b'b' => Node::WordBoundary(true),
            b'B' => Node::WordBoundary(false),
            b'N' => {
                let mut s = ByteSet::single(b'\n');
                s.negate();
                Node::Set(s)
            }
            b'Q' => {
                let start = self.i;
                let end = self.s[start..]
                    .windows(2)
                    .position(|w| w == b"\\E")
                    .map_or(self.s.len(), |p| start + p);
                self.i = (end + 2).min(self.s.len());
                let nodes: Vec<Node> = self.s[start..end]
                    .iter()
                    .map(|&b| self.lit(b, flags))
                    .collect();
                Node::Group(Box::new(Node::Concat(nodes)), None)
            }
            b'E' => Node::Empty,
            b'g' => {
                let braced = self.eat(b'{');
                let start = self.i;
                while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    self.i += 1;
                }
                let n = std::str::from_utf8(&self.s[start..self.i])
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .ok_or("unsupported \\g form")?;
                if braced && !self.eat(b'}') {
                    return Err("bad \\g{...}".into());
                }
                Node::Backref {
                    group: n,
                    fold: flags.fold,
                }
            }
            b'1'..=b'9' => {
                let start = self.i - 1;
                while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    self.i += 1;
                }
                let n: usize = std::str::from_utf8(&self.s[start..self.i])
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                if n < 10 || n <= self.groups {
                    Node::Backref {
                        group: n,
                        fold: flags.fold,
                    }
                } else if c <= b'7' {
                    // PCRE reads \12 etc. as octal when there are not that many groups.
                    self.i = start + 1;
                    let b = self.octal(u32::from(c - b'0'), 2);
                    self.lit(b, flags)
                } else {
                    return Err("backreference to a missing group".into());
                }
            }
            b'G' | b'K' | b'R' | b'X' | b'C' | b'p' | b'P' | b'k' => {
                return Err(format!("unsupported escape \\{}", c as char))
            }
            // PCRE1 takes unknown escapes literally.
            other => self.lit(other, flags),
        })
    }

    /// A class after its `[`. Under `i` the members are case-folded before
    /// a `^` negates them, as PCRE does: `[^a]` then excludes `A` too
    /// (folding after negating let it match every byte).
    fn class(&mut self, fold: bool) -> PResult<ByteSet> {
        let mut set = ByteSet::default();
        let negate = self.eat(b'^');
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err("missing ']'".into());
            };
            if c == b']' && !first {
                self.i += 1;
                break;
            }
            first = false;
            let lo = match self.class_item()? {
                Ok(b) => b,
                Err(s) => {
                    set.union(&s);
                    continue;
                }
            };
            // A range, unless '-' is last or the end is a class like \d.
            if self.peek() == Some(b'-') && self.s.get(self.i + 1).is_some_and(|&b| b != b']') {
                let save = self.i;
                self.i += 1;
                match self.class_item()? {
                    Ok(hi) if hi >= lo => {
                        set.insert_range(lo, hi);
                        continue;
                    }
                    Ok(_) => return Err("class range out of order".into()),
                    Err(_) => self.i = save,
                }
            }
            set.insert(lo);
        }
        if fold {
            set.fold_case();
        }
        if negate {
            set.negate();
        }
        Ok(set)
    }

    /// One class member: a byte (`Ok`) or a set such as `\d` (`Err`).
    fn class_item(&mut self) -> PResult<Result<u8, ByteSet>> {
        let Some(c) = self.peek() else {
            return Err("missing ']'".into());
        };
        self.i += 1;
        if c == b'[' && matches!(self.peek(), Some(b':')) {
            // The closing ":]" comes after the opening "[:", as in PCRE: in
            // `[[:]` the one colon cannot do both, and the class is '[' and
            // ':' (looking for ":]" from the opening colon sliced the
            // pattern backwards and panicked).
            let name_at = self.i + 1;
            if let Some(len) = self.s[name_at..].windows(2).position(|w| w == b":]") {
                let name = &self.s[name_at..name_at + len];
                let (neg, name) = match name.strip_prefix(b"^") {
                    Some(n) => (true, n),
                    None => (false, name),
                };
                let mut s = posix_class(name).ok_or("unknown POSIX class")?;
                if neg {
                    s.negate();
                }
                self.i = name_at + len + 2;
                return Ok(Err(s));
            }
        }
        if c != b'\\' {
            return Ok(Ok(c));
        }
        let Some(e) = self.peek() else {
            return Err("trailing backslash".into());
        };
        self.i += 1;
        if let Some(b) = self.byte_escape(e)? {
            return Ok(Ok(b));
        }
        if let Some(s) = Self::set_escape(e) {
            return Ok(Err(s));
        }
        Ok(Ok(match e {
            b'b' => 0x08,
            b'1'..=b'7' => self.octal(u32::from(e - b'0'), 2),
            other => other,
        }))
    }
}

fn posix_class(name: &[u8]) -> Option<ByteSet> {
    let mut s = ByteSet::default();
    let pred: fn(&u8) -> bool = match name {
        b"alpha" => u8::is_ascii_alphabetic,
        b"digit" => u8::is_ascii_digit,
        b"alnum" => u8::is_ascii_alphanumeric,
        b"upper" => u8::is_ascii_uppercase,
        b"lower" => u8::is_ascii_lowercase,
        b"punct" => u8::is_ascii_punctuation,
        b"graph" => u8::is_ascii_graphic,
        b"print" => |b| (0x20..0x7f).contains(b),
        b"cntrl" => u8::is_ascii_control,
        b"xdigit" => u8::is_ascii_hexdigit,
        b"space" => |b| class_space().contains(*b),
        b"blank" => |b| *b == b' ' || *b == b'\t',
        b"word" => |b| class_word().contains(*b),
        b"ascii" => u8::is_ascii,
        _ => return None,
    };
    for b in 0..=255u8 {
        if pred(&b) {
            s.insert(b);
        }
    }
    Some(s)
}

/// PCRE lets each top-level alternative of a lookbehind have its own length.
fn lookbehind_ok(node: &Node) -> bool {
    match node {
        Node::Alt(v) => v.iter().all(|n| fixed_width(n).is_some()),
        n => fixed_width(n).is_some(),
    }
}

/// Width in bytes when every path matches the same length (lookbehind needs it
/// per alternative; `None` otherwise).
pub(crate) fn fixed_width(node: &Node) -> Option<usize> {
    match node {
        Node::Empty
        | Node::Start
        | Node::End
        | Node::EndAbs
        | Node::WordBoundary(_)
        | Node::Look { .. } => Some(0),
        Node::Literal(b) => Some(b.len()),
        Node::Set(_) => Some(1),
        Node::Group(n, _) | Node::Atomic(n) => fixed_width(n),
        Node::Concat(v) => v.iter().map(fixed_width).sum(),
        Node::Alt(v) => {
            let first = fixed_width(v.first()?)?;
            v.iter()
                .all(|n| fixed_width(n) == Some(first))
                .then_some(first)
        }
        Node::Repeat { node, min, max, .. } => {
            (Some(*min) == *max).then(|| fixed_width(node).map(|w| w * *min as usize))?
        }
        Node::Backref { .. } => None,
    }
}

impl Pattern {
    /// Syntax for the automata engine (`regex-automata`), or `None` when only the backtracker
    /// can run this pattern (lookaround, backreferences, atomic and possessive
    /// groups, or a `$` that is not at the very end).
    pub(crate) fn to_regex_syntax(&self) -> Option<String> {
        let mut out = String::from("(?-u)");
        emit(&self.root, true, false, &mut out).then_some(out)
    }
}

fn emit_byte(b: u8, out: &mut String) {
    if b.is_ascii_alphanumeric() || b == b' ' || b == b'_' {
        out.push(b as char);
    } else {
        let _ = write!(out, "\\x{b:02X}");
    }
}

fn emit_set(set: &ByteSet, out: &mut String) {
    if let Some((b, false)) = set.as_literal() {
        emit_byte(b, out);
        return;
    }
    let negated = set.len() > 128;
    let mut s = *set;
    if negated {
        s.negate();
        out.push_str("[^");
    } else {
        out.push('[');
    }
    if s.len() == 0 {
        // An empty class never matches; "[^\x00-\xFF]" without negation.
        out.truncate(out.len() - if negated { 2 } else { 1 });
        out.push_str(if negated {
            r"[\x00-\xFF]"
        } else {
            r"[^\x00-\xFF]"
        });
        return;
    }
    let mut b = 0u16;
    while b < 256 {
        if s.contains(b as u8) {
            let lo = b as u8;
            while b + 1 < 256 && s.contains((b + 1) as u8) {
                b += 1;
            }
            let hi = b as u8;
            let _ = write!(out, "\\x{lo:02X}");
            if hi != lo {
                let _ = write!(out, "-\\x{hi:02X}");
            }
        }
        b += 1;
    }
    out.push(']');
}

/// `tail`: nothing can follow this node in the overall match, so `$` may be
/// rendered as `\n?\z` (which consumes the newline instead of looking at it).
fn emit(node: &Node, tail: bool, in_capture: bool, out: &mut String) -> bool {
    match node {
        Node::Empty => true,
        Node::Literal(bytes) => {
            for &b in bytes {
                emit_byte(b, out);
            }
            true
        }
        Node::Set(s) => {
            emit_set(s, out);
            true
        }
        Node::Start => {
            out.push_str(r"\A");
            true
        }
        Node::End => {
            if !tail || in_capture {
                return false;
            }
            out.push_str(r"(?:\n?\z)");
            true
        }
        Node::EndAbs => {
            out.push_str(r"\z");
            true
        }
        Node::WordBoundary(yes) => {
            out.push_str(if *yes { r"\b" } else { r"\B" });
            true
        }
        Node::Group(inner, index) => {
            out.push_str(if index.is_some() { "(" } else { "(?:" });
            let ok = emit(inner, tail, in_capture || index.is_some(), out);
            out.push(')');
            ok
        }
        Node::Concat(items) => items
            .iter()
            .enumerate()
            .all(|(k, n)| emit(n, tail && k + 1 == items.len(), in_capture, out)),
        Node::Alt(branches) => {
            out.push_str("(?:");
            for (k, n) in branches.iter().enumerate() {
                if k > 0 {
                    out.push('|');
                }
                if !emit(n, tail, in_capture, out) {
                    return false;
                }
            }
            out.push(')');
            true
        }
        Node::Repeat {
            node,
            min,
            max,
            greedy,
            possessive,
        } => {
            if *possessive {
                return false;
            }
            out.push_str("(?:");
            if !emit(node, false, in_capture, out) {
                return false;
            }
            out.push(')');
            match max {
                Some(m) => {
                    let _ = write!(out, "{{{min},{m}}}");
                }
                None => {
                    let _ = write!(out, "{{{min},}}");
                }
            }
            if !greedy {
                out.push('?');
            }
            true
        }
        Node::Backref { .. } | Node::Look { .. } | Node::Atomic(_) => false,
    }
}

/// Literal bytes every match must contain: `prefix` at offset 0 (anchored
/// patterns only) and `inner`, the longest run found anywhere on the
/// mandatory path. `fold` says they were taken from case-folded text and must
/// be compared ignoring ASCII case.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Literals {
    pub(crate) prefix: Vec<u8>,
    pub(crate) prefix_fold: bool,
    /// Lower-cased when `inner_fold`: then it is looked for case-insensitively.
    pub(crate) inner: Vec<u8>,
    pub(crate) inner_fold: bool,
}

/// Upper bound on stored literal length; longer ones reject no better.
pub(crate) const MAX_LITERAL: usize = 16;

impl Pattern {
    pub(crate) fn literals(&self) -> Literals {
        let mut lits = Literals::default();
        let mut items = Vec::new();
        flatten(&self.root, &mut items);
        if let Some(Item::Anchor) = items.first() {
            for item in &items[1..] {
                match item {
                    Item::Byte(b, fold) if lits.prefix.len() < MAX_LITERAL => {
                        lits.prefix.push(*b);
                        lits.prefix_fold |= fold;
                    }
                    Item::Anchor => {}
                    _ => break,
                }
            }
        }
        // The longest run of known bytes besides those the prefix checks
        // already: hundreds of HTTP rules share the prefix "HTTP/1.1 200 OK\r"
        // and differ only after it. Case-insensitive letters count too (most
        // HTTP rules carry `i`, so exact runs would break at every letter); a
        // run with any of them is compared case-insensitively as a whole.
        let mut run: Vec<u8> = Vec::new();
        let mut run_fold = false;
        let mut covered = lits.prefix.len();
        for item in &items {
            match item {
                Item::Byte(..) if covered > 0 => covered -= 1,
                Item::Byte(b, fold) => {
                    run.push(*b);
                    run_fold |= fold;
                    if run.len() > lits.inner.len() {
                        lits.inner.clone_from(&run);
                        lits.inner_fold = run_fold;
                    }
                }
                Item::Anchor => {}
                Item::Gap => {
                    covered = 0;
                    run.clear();
                    run_fold = false;
                }
            }
        }
        lits.inner.truncate(MAX_LITERAL);
        if lits.inner_fold {
            lits.inner.make_ascii_lowercase();
        }
        lits
    }
}

enum Item {
    /// Start of subject: only meaningful as the first item.
    Anchor,
    Byte(u8, bool),
    /// Something that is not a known literal byte; breaks literal runs.
    Gap,
}

/// The mandatory path as a flat sequence: optional parts, alternations and
/// lookarounds become gaps; a repeat with min >= 1 contributes one copy.
fn flatten(node: &Node, out: &mut Vec<Item>) {
    match node {
        Node::Empty => {}
        Node::Start => {
            if out.is_empty() {
                out.push(Item::Anchor);
            } else {
                out.push(Item::Gap);
            }
        }
        Node::Literal(bytes) => out.extend(bytes.iter().map(|&b| Item::Byte(b, false))),
        Node::Set(s) => match s.as_literal() {
            Some((b, fold)) => out.push(Item::Byte(b, fold)),
            None => out.push(Item::Gap),
        },
        Node::Group(inner, _) | Node::Atomic(inner) => flatten(inner, out),
        Node::Concat(items) => items.iter().for_each(|n| flatten(n, out)),
        Node::Repeat { node, min, .. } if *min >= 1 => {
            flatten(node, out);
            out.push(Item::Gap);
        }
        // Zero-width assertions keep literal runs intact.
        Node::WordBoundary(_) | Node::Look { .. } => {
            if out.is_empty() {
                // Nothing known about the first byte after all.
                out.push(Item::Gap);
            }
        }
        _ => out.push(Item::Gap),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(p: &str) -> Option<String> {
        parse(p.as_bytes(), false, false).unwrap().to_regex_syntax()
    }

    #[test]
    fn translates_pcre_quirks() {
        assert_eq!(re(r"^a\0b$").unwrap(), r"(?-u)\Aa\x00b(?:\n?\z)");
        assert_eq!(re(r"\040x{").unwrap(), r"(?-u) x\x7B");
        assert!(re(r"a$b").is_none());
        assert!(re(r"(a$)").is_none());
        assert!(re(r"(?!x)").is_none());
        assert!(re(r"(a)\1").is_none());
        assert!(re(r"a++").is_none());
        assert_eq!(re(r"[]a]").unwrap(), r"(?-u)[\x5D\x61]");
        assert_eq!(re(r"[\d-z]").unwrap(), r"(?-u)[\x2D\x30-\x39\x7A]");
    }

    #[test]
    fn prefilter_literals() {
        let l = parse(br"^HTTP/1\.[01] \d\d\d .*\r\nServer: nginx", false, false)
            .unwrap()
            .literals();
        assert_eq!(l.prefix, b"HTTP/1.");
        assert_eq!(l.inner, b" .*\r\nServer: nginx"[3..].to_vec());
        let l = parse(b"^ssh-", true, false).unwrap().literals();
        assert_eq!((l.prefix.as_slice(), l.prefix_fold), (&b"ssh-"[..], true));
        assert!(l.inner.is_empty());
        let l = parse(
            br"^HTTP/1\.0 200 OK\r\n.*<title>Web Admin</title>",
            true,
            true,
        )
        .unwrap()
        .literals();
        assert_eq!(
            (l.prefix.as_slice(), l.prefix_fold),
            (&b"http/1.0 200 ok\r"[..], true)
        );
        assert_eq!(
            (l.inner.as_slice(), l.inner_fold),
            (&b"<title>web admin"[..], true)
        );
        let l = parse(br"^X.*Server: Foo", false, false).unwrap().literals();
        assert_eq!(
            (l.inner.as_slice(), l.inner_fold),
            (&b"Server: Foo"[..], false)
        );
        let l = parse(b"^a?b", false, false).unwrap().literals();
        assert!(l.prefix.is_empty());
        let l = parse(b"^(?:ab|ac)", false, false).unwrap().literals();
        assert!(l.prefix.is_empty());
        let l = parse(b"^x+y", false, false).unwrap().literals();
        assert_eq!(l.prefix, b"x");
    }

    /// Runs `f` on a thread with a 256 KiB stack: without the nesting
    /// limit, the patterns below overflow it (and abort the test binary).
    fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let errs = on_small_stack(|| {
            let open = "(".repeat(100_000);
            let closed = format!("{open}a{}", ")".repeat(100_000));
            let lookahead = "(?=".repeat(100_000);
            let stacked = format!("a{}", "{1}".repeat(100_000));
            [open, closed, lookahead, stacked].map(|p| parse(p.as_bytes(), false, false).err())
        });
        assert_eq!(
            errs[0].as_deref(),
            Some("parentheses nested deeper than 32")
        );
        assert_eq!(
            errs[1].as_deref(),
            Some("parentheses nested deeper than 32")
        );
        assert_eq!(
            errs[2].as_deref(),
            Some("parentheses nested deeper than 32")
        );
        assert_eq!(
            errs[3].as_deref(),
            Some("quantifiers nested deeper than 32")
        );
    }

    #[test]
    fn nesting_up_to_the_limit_compiles_and_matches() {
        let n = MAX_NESTING;
        let src = format!("{}a{}", "(?:".repeat(n), ")".repeat(n));
        let (syntax, found) = on_small_stack(move || {
            let pat = parse(src.as_bytes(), false, false).unwrap();
            (
                pat.to_regex_syntax().is_some(),
                crate::service_db::backtrack::find(&pat, b"xa").is_some(),
            )
        });
        assert!(syntax);
        assert!(found);
        let over = format!("{}a{}", "(".repeat(n + 1), ")".repeat(n + 1));
        assert!(parse(over.as_bytes(), false, false).is_err());
    }

    #[test]
    fn posix_class_needs_its_own_closing_colon() {
        // Found by the service_match fuzz target: `[[:]` panicked.
        let set = |p: &str| match parse(p.as_bytes(), false, false).unwrap().root {
            Node::Set(s) => s,
            other => panic!("{p}: {other:?}"),
        };
        let s = set("[[:]");
        assert!(s.contains(b'[') && s.contains(b':'));
        assert!(!s.contains(b']') && !s.contains(b'a'));
        let s = set("[[:digit:]]");
        assert!(s.contains(b'7') && !s.contains(b':'));
        let s = set("[[:^digit:]]");
        assert!(!s.contains(b'7') && s.contains(b':'));
        // PCRE rejects an empty or unknown name.
        assert!(parse(b"[[::]]", false, false).is_err());
        assert!(parse(b"[[:nope:]]", false, false).is_err());
    }

    #[test]
    fn negated_class_folds_before_negating() {
        // Found by the PCRE property test: under `i`, `[^a]` matched "A"
        // and "a" (the negated set was folded, so it took in every byte).
        let pat = parse(b"^[^a]$", true, false).unwrap();
        let Node::Concat(items) = &pat.root else {
            panic!("{:?}", pat.root)
        };
        let Node::Set(s) = &items[1] else {
            panic!("{items:?}")
        };
        assert!(!s.contains(b'a') && !s.contains(b'A') && s.contains(b'b'));
        let s = match parse(b"[^a-c]", true, false).unwrap().root {
            Node::Set(s) => s,
            other => panic!("{other:?}"),
        };
        assert!(!s.contains(b'B') && s.contains(b'D') && s.contains(b'd'));
        assert!(crate::service_db::backtrack::find(&pat, b"A").is_none());
    }

    #[test]
    fn errors_not_panics() {
        for bad in ["(", "[a", "*", "a{2,1}", "\\", "(?<=a+)", "\\p{L}"] {
            assert!(parse(bad.as_bytes(), false, false).is_err(), "{bad}");
        }
    }
}
