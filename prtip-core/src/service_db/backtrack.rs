//! A small backtracking matcher for the patterns the `regex` crate cannot run
//! (lookaround, backreferences, atomic groups, possessive quantifiers).
//!
//! It interprets the tree from [`super::pattern`] directly on bytes, so Perl's
//! byte semantics hold without any Latin-1 mapping. Like PCRE's match limit,
//! a step budget and a recursion budget turn pathological patterns into "no
//! match" instead of a hang or a stack overflow.

use super::pattern::{fixed_width, Node, Pattern};

/// Steps (node visits) per match attempt over all start positions.
const STEP_LIMIT: u64 = 2_000_000;
/// Stack the matcher may use below `find`'s frame. Measured by address, not
/// by recursion depth, because frame sizes differ tenfold between debug and
/// release builds; 512 KiB leaves room on a 2 MiB thread (tokio's default).
const STACK_BUDGET: usize = 512 << 10;

/// Capture spans, index 0 being the whole match.
pub(crate) type Spans = Vec<Option<(usize, usize)>>;

struct State<'h> {
    hay: &'h [u8],
    caps: Spans,
    steps: u64,
    stack_base: usize,
    aborted: bool,
}

type Cont<'k, 'h> = &'k mut dyn FnMut(usize, &mut State<'h>) -> bool;

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Leftmost match with Perl's priorities; `None` also when a budget ran out.
pub(crate) fn find(pat: &Pattern, hay: &[u8]) -> Option<Spans> {
    find_checked(pat, hay).ok().flatten()
}

/// A step or stack budget ran out before the search could decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exhausted;

/// [`find`], telling "no match" from "gave up": differential tests compare
/// the backtracker with the automata engine only where it decided.
pub(crate) fn find_checked(pat: &Pattern, hay: &[u8]) -> Result<Option<Spans>, Exhausted> {
    let mut st = State {
        hay,
        caps: vec![None; pat.groups + 1],
        steps: 0,
        stack_base: stack_addr(),
        aborted: false,
    };
    let anchored = starts_anchored(&pat.root);
    for start in 0..=hay.len() {
        let mut end = None;
        let ok = m(&pat.root, start, &mut st, &mut |p, _| {
            end = Some(p);
            true
        });
        if ok {
            st.caps[0] = end.map(|e| (start, e));
            return Ok(Some(st.caps));
        }
        if st.aborted {
            return Err(Exhausted);
        }
        if anchored {
            return Ok(None);
        }
        st.caps.iter_mut().for_each(|c| *c = None);
    }
    Ok(None)
}

fn starts_anchored(node: &Node) -> bool {
    match node {
        Node::Start => true,
        Node::Concat(v) => v.first().is_some_and(starts_anchored),
        Node::Group(n, _) | Node::Atomic(n) => starts_anchored(n),
        Node::Alt(v) => v.iter().all(starts_anchored),
        _ => false,
    }
}

/// Matches `node` at `pos`, then calls `k` with the end; true once `k` accepts.
fn m<'h>(node: &Node, pos: usize, st: &mut State<'h>, k: Cont<'_, 'h>) -> bool {
    st.steps += 1;
    if st.aborted || st.steps > STEP_LIMIT || stack_addr().abs_diff(st.stack_base) > STACK_BUDGET {
        st.aborted = true;
        return false;
    }
    m_inner(node, pos, st, k)
}

#[inline(never)]
fn stack_addr() -> usize {
    let marker = 0u8;
    std::hint::black_box(std::ptr::addr_of!(marker)) as usize
}

fn m_inner<'h>(node: &Node, pos: usize, st: &mut State<'h>, k: Cont<'_, 'h>) -> bool {
    let hay = st.hay;
    match node {
        Node::Empty => k(pos, st),
        Node::Literal(bytes) => hay[pos..].starts_with(bytes) && k(pos + bytes.len(), st),
        Node::Set(s) => hay.get(pos).is_some_and(|&b| s.contains(b)) && k(pos + 1, st),
        Node::Start => pos == 0 && k(pos, st),
        Node::End => {
            (pos == hay.len() || (pos + 1 == hay.len() && hay[pos] == b'\n')) && k(pos, st)
        }
        Node::EndAbs => pos == hay.len() && k(pos, st),
        Node::WordBoundary(want) => {
            let before = pos > 0 && is_word(hay[pos - 1]);
            let after = hay.get(pos).is_some_and(|&b| is_word(b));
            ((before != after) == *want) && k(pos, st)
        }
        Node::Group(inner, None) => m(inner, pos, st, k),
        Node::Group(inner, Some(i)) => {
            let i = *i;
            m(inner, pos, st, &mut |end, st| {
                let old = st.caps[i];
                st.caps[i] = Some((pos, end));
                if k(end, st) {
                    return true;
                }
                st.caps[i] = old;
                false
            })
        }
        Node::Concat(items) => seq(items, pos, st, k),
        Node::Alt(branches) => branches.iter().any(|b| m(b, pos, st, k)),
        Node::Repeat {
            node,
            min,
            max,
            greedy,
            possessive,
        } => {
            if let Node::Set(set) = &**node {
                // One byte per iteration: try counts in a loop, not recursion.
                let limit = max.map_or(usize::MAX, |m| m as usize);
                let n = hay[pos..]
                    .iter()
                    .take(limit)
                    .take_while(|&&b| set.contains(b))
                    .count();
                let min = *min as usize;
                if n < min {
                    return false;
                }
                if *possessive {
                    return k(pos + n, st);
                }
                if *greedy {
                    return (min..=n).rev().any(|c| k(pos + c, st));
                }
                return (min..=n).any(|c| k(pos + c, st));
            }
            if *possessive {
                let inner = Node::Repeat {
                    node: node.clone(),
                    min: *min,
                    max: *max,
                    greedy: true,
                    possessive: false,
                };
                return atomic(&inner, pos, st, k);
            }
            rep(node, *min, *max, *greedy, 0, pos, st, k)
        }
        Node::Backref { group, fold } => {
            let Some(Some((s, e))) = st.caps.get(*group).copied() else {
                return false;
            };
            let want = &hay[s..e];
            let Some(got) = hay.get(pos..pos + want.len()) else {
                return false;
            };
            let same = if *fold {
                got.eq_ignore_ascii_case(want)
            } else {
                got == want
            };
            same && k(pos + want.len(), st)
        }
        Node::Look {
            node,
            ahead,
            negate,
        } => {
            let saved = st.caps.clone();
            let found = if *ahead {
                m(node, pos, st, &mut |_, _| true)
            } else {
                let branches: &[Node] = match &**node {
                    Node::Alt(v) => v,
                    n => std::slice::from_ref(n),
                };
                branches.iter().any(|b| {
                    let w = fixed_width(b).unwrap_or(usize::MAX);
                    w <= pos && m(b, pos - w, st, &mut |p, _| p == pos)
                })
            };
            if found != *negate {
                if *negate {
                    st.caps = saved.clone();
                }
                if k(pos, st) {
                    return true;
                }
            }
            st.caps = saved;
            false
        }
        Node::Atomic(inner) => atomic(inner, pos, st, k),
    }
}

fn atomic<'h>(node: &Node, pos: usize, st: &mut State<'h>, k: Cont<'_, 'h>) -> bool {
    let saved = st.caps.clone();
    let mut end = None;
    if m(node, pos, st, &mut |p, _| {
        end = Some(p);
        true
    }) {
        if let Some(e) = end {
            if k(e, st) {
                return true;
            }
        }
    }
    st.caps = saved;
    false
}

fn seq<'h>(items: &[Node], pos: usize, st: &mut State<'h>, k: Cont<'_, 'h>) -> bool {
    match items.split_first() {
        None => k(pos, st),
        Some((first, rest)) => m(first, pos, st, &mut |p, st| seq(rest, p, st, k)),
    }
}

#[allow(clippy::too_many_arguments)]
fn rep<'h>(
    node: &Node,
    min: u32,
    max: Option<u32>,
    greedy: bool,
    count: u32,
    pos: usize,
    st: &mut State<'h>,
    k: Cont<'_, 'h>,
) -> bool {
    let can_more = max.is_none_or(|m| count < m);
    let more = |st: &mut State<'h>, k: Cont<'_, 'h>| {
        can_more
            && m(node, pos, st, &mut |p, st| {
                // An iteration that matched nothing past the minimum ends the
                // loop, as in PCRE (looping on would never end). Rejecting it
                // instead made `(?:.??)+` on "a" take the "a", where PCRE
                // stops after the empty iteration and matches "".
                if p == pos && count >= min {
                    return k(p, st);
                }
                rep(node, min, max, greedy, count + 1, p, st, k)
            })
    };
    // Perl's priority: greedy tries another iteration first, lazy stops first.
    let stop_ok = count >= min;
    if greedy {
        if more(st, k) {
            return true;
        }
        stop_ok && k(pos, st)
    } else {
        if stop_ok && k(pos, st) {
            return true;
        }
        more(st, k)
    }
}

#[cfg(test)]
mod tests {
    use super::super::pattern::parse;
    use super::*;

    fn caps(p: &str, hay: &[u8]) -> Option<Vec<Option<Vec<u8>>>> {
        let pat = parse(p.as_bytes(), false, false).unwrap();
        find(&pat, hay).map(|c| {
            c.into_iter()
                .map(|s| s.map(|(a, b)| hay[a..b].to_vec()))
                .collect()
        })
    }

    #[test]
    fn perl_semantics() {
        let c = caps(r"^(\w+) (?!bad)(\w+)\r\n$", b"hello good\r\n\n").unwrap();
        assert_eq!(c[1].as_deref(), Some(&b"hello"[..]));
        assert_eq!(c[2].as_deref(), Some(&b"good"[..]));
        assert!(caps(r"^(\w+) (?!bad)", b"hello bad").is_none());
        assert!(caps(r"^<([a-z]+)>.*</\1>", b"<b>x</b>").is_some());
        assert!(caps(r"^<([a-z]+)>.*</\1>", b"<b>x</i>").is_none());
        assert!(caps(r"(?<=ab)c", b"xabc").is_some());
        assert!(caps(r"(?<!ab)c", b"xabc").is_none());
        assert!(caps(r"^a++a", b"aaa").is_none());
        assert!(caps(r"^(?>a*)a", b"aaa").is_none());
        let c = caps(r"^(a|ab)(c|bcd)(d*)", b"abcd").unwrap();
        assert_eq!(c[0].as_deref(), Some(&b"abcd"[..]));
        assert_eq!(c[1].as_deref(), Some(&b"a"[..]));
        let c = caps(r"x(.*?)y", b"__x12y34y").unwrap();
        assert_eq!(c[1].as_deref(), Some(&b"12"[..]));
        assert!(caps(r"^\xff\x00$", b"\xff\x00").is_some());
        assert!(caps(r"^(?:a|b)*c", b"ababc").is_some());
        assert!(caps(r"^(a?)*$", b"aa").is_some());
    }

    #[test]
    fn an_empty_iteration_ends_the_loop_as_in_pcre() {
        // Found by the PCRE property test (fuzz-targets/tests/properties.rs).
        let whole = |p: &str, hay: &[u8]| caps(p, hay).map(|c| c[0].clone().unwrap_or_default());
        assert_eq!(whole(r"(?:(?:.)??)++", b"a"), Some(Vec::new()));
        assert_eq!(whole(r"(?:(?:.)??)+", b"a"), Some(Vec::new()));
        assert_eq!(whole(r"(?:(?:.)??)+$", b"a"), Some(b"a".to_vec()));
        assert_eq!(whole(r"^(a?)*$", b"aa"), Some(b"aa".to_vec()));
        let c = caps(r"^(a|)*b", b"aab").unwrap();
        assert_eq!(c[1].as_deref(), Some(&b""[..]));
    }

    #[test]
    fn budgets_stop_runaway_patterns() {
        let hay = vec![b'a'; 5_000];
        assert!(caps(r"^(a|aa)+(?!a)b", &hay).is_none());
        assert!(caps(r"^(?:(a)(?=a))*b", &hay).is_none());
    }
}
