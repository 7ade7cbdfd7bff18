//! The edit script ndiff prints for a host's OS matches: Python difflib's
//! `SequenceMatcher.get_opcodes` (Ratcliff/Obershelp: the longest common
//! run, then the same on each side of it), reimplemented for short lists
//! of names. difflib's junk heuristics apply only from 200 items, more OS
//! matches than a host ever has, so they are left out.

/// What to do with `a[a0..a1]` to get `b[b0..b1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Equal,
    Replace,
    Delete,
    Insert,
}

/// One step of the edit script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Step {
    pub op: Op,
    pub a0: usize,
    pub a1: usize,
    pub b0: usize,
    pub b1: usize,
}

/// The longest run `a[i..i+k] == b[j..j+k]` inside the ranges; among the
/// longest, the one that ends first while scanning `a`, then `b`, in order
/// (difflib's choice, which decides what equal ties print).
fn longest<T: PartialEq>(
    a: &[T],
    b: &[T],
    (alo, ahi): (usize, usize),
    (blo, bhi): (usize, usize),
) -> (usize, usize, usize) {
    let (mut bi, mut bj, mut bk) = (alo, blo, 0);
    // run[j] = length of the common run ending at a[i-1], b[j-1].
    let mut run = vec![0usize; bhi - blo + 1];
    for (i, x) in a.iter().enumerate().take(ahi).skip(alo) {
        let mut next = vec![0usize; bhi - blo + 1];
        for (j, y) in b.iter().enumerate().take(bhi).skip(blo) {
            if x == y {
                let k = run[j - blo] + 1;
                next[j - blo + 1] = k;
                if k > bk {
                    (bi, bj, bk) = (i + 1 - k, j + 1 - k, k);
                }
            }
        }
        run = next;
    }
    (bi, bj, bk)
}

/// The matching runs, in order, adjacent ones merged, ending with the
/// empty run at (len a, len b).
fn matching_blocks<T: PartialEq>(a: &[T], b: &[T]) -> Vec<(usize, usize, usize)> {
    let mut queue = vec![(0, a.len(), 0, b.len())];
    let mut found = Vec::new();
    while let Some((alo, ahi, blo, bhi)) = queue.pop() {
        let (i, j, k) = longest(a, b, (alo, ahi), (blo, bhi));
        if k == 0 {
            continue;
        }
        found.push((i, j, k));
        if alo < i && blo < j {
            queue.push((alo, i, blo, j));
        }
        if i + k < ahi && j + k < bhi {
            queue.push((i + k, ahi, j + k, bhi));
        }
    }
    found.sort_unstable();
    let mut merged: Vec<(usize, usize, usize)> = Vec::new();
    for (i, j, k) in found {
        match merged.last_mut() {
            Some(last) if last.0 + last.2 == i && last.1 + last.2 == j => last.2 += k,
            _ => merged.push((i, j, k)),
        }
    }
    merged.push((a.len(), b.len(), 0));
    merged
}

/// The steps turning `a` into `b`.
pub(super) fn opcodes<T: PartialEq>(a: &[T], b: &[T]) -> Vec<Step> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    for (ai, bj, size) in matching_blocks(a, b) {
        let op = match (i < ai, j < bj) {
            (true, true) => Some(Op::Replace),
            (true, false) => Some(Op::Delete),
            (false, true) => Some(Op::Insert),
            (false, false) => None,
        };
        if let Some(op) = op {
            out.push(Step {
                op,
                a0: i,
                a1: ai,
                b0: j,
                b1: bj,
            });
        }
        (i, j) = (ai + size, bj + size);
        if size > 0 {
            out.push(Step {
                op: Op::Equal,
                a0: ai,
                a1: i,
                b0: bj,
                b1: j,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(a: &str, b: &str) -> String {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        opcodes(&a, &b)
            .iter()
            .map(|s| {
                let tag = match s.op {
                    Op::Equal => 'e',
                    Op::Replace => 'r',
                    Op::Delete => 'd',
                    Op::Insert => 'i',
                };
                format!("{tag}{}{}{}{}", s.a0, s.a1, s.b0, s.b1)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Expected scripts are what Python 3's
    /// `difflib.SequenceMatcher(None, a, b).get_opcodes()` returns.
    #[test]
    fn same_scripts_as_difflib() {
        assert_eq!(script("qabxcd", "abycdf"), "d0100 e1302 r3423 e4635 i6656");
        assert_eq!(script("", "ab"), "i0002");
        assert_eq!(script("ab", ""), "d0200");
        assert_eq!(script("abc", "abc"), "e0303");
        assert_eq!(script("ab", "ba"), "i0001 e0112 d1222");
        assert_eq!(script("", ""), "");
    }
}
