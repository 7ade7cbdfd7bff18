//! nmap's octet expressions (`10.0.1,3.5-7`, `*`) as one bitmap per octet.

use std::fmt;

/// 256 bits per octet, as nmap represents `10.0.1,3.5-7`: 128 bytes, however
/// many addresses the expression covers.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct OctetSet([[u64; 4]; 4]);

impl fmt::Debug for OctetSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::with_capacity(4);
        for i in 0..4 {
            let mut runs = Vec::new();
            let mut v = self.next_in(i, 0);
            while let Some(lo) = v {
                let hi = self.run_end(i, lo);
                runs.push(if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                });
                v = self.next_in(i, u16::from(hi) + 1);
            }
            parts.push(runs.join(","));
        }
        write!(f, "OctetSet({})", parts.join("."))
    }
}

impl OctetSet {
    pub(super) fn empty() -> Self {
        OctetSet([[0; 4]; 4])
    }

    pub(super) fn set(&mut self, i: usize, v: u8) {
        self.0[i][usize::from(v / 64)] |= 1 << (v % 64);
    }

    fn has(&self, i: usize, v: u8) -> bool {
        self.0[i][usize::from(v / 64)] & (1 << (v % 64)) != 0
    }

    fn popcount(&self, i: usize) -> u32 {
        self.0[i].iter().map(|w| w.count_ones()).sum()
    }

    fn is_full(&self, i: usize) -> bool {
        self.0[i].iter().all(|&w| w == u64::MAX)
    }

    /// Smallest value >= `from` in octet `i`.
    fn next_in(&self, i: usize, from: u16) -> Option<u8> {
        let mut word = usize::from(from / 64);
        let mut bits = self.0[i].get(word)? & (u64::MAX << (from % 64));
        loop {
            if bits != 0 {
                return u8::try_from(word * 64 + bits.trailing_zeros() as usize).ok();
            }
            word += 1;
            bits = *self.0[i].get(word)?;
        }
    }

    /// Last value of the run of set values that starts at `v` in octet `i`.
    fn run_end(&self, i: usize, v: u8) -> u8 {
        let mut end = v;
        while end < u8::MAX && self.has(i, end + 1) {
            end += 1;
        }
        end
    }

    fn runs(&self, i: usize) -> u64 {
        let mut n = 0;
        let mut v = self.next_in(i, 0);
        while let Some(lo) = v {
            n += 1;
            v = self.next_in(i, u16::from(self.run_end(i, lo)) + 1);
        }
        n
    }

    pub(super) fn count(&self) -> u64 {
        (0..4).map(|i| u64::from(self.popcount(i))).product()
    }

    pub(super) fn contains(&self, addr: u32) -> bool {
        addr.to_be_bytes()
            .iter()
            .enumerate()
            .all(|(i, &v)| self.has(i, v))
    }

    /// Smallest address >= `x` in the set: keep the longest prefix of `x`
    /// that is in the set, bump the next octet to its next allowed value,
    /// and fill the rest with the smallest allowed values.
    pub(super) fn first_at_or_after(&self, x: u32) -> Option<u32> {
        let o = x.to_be_bytes();
        let prefix = (0..4).take_while(|&i| self.has(i, o[i])).count();
        if prefix == 4 {
            return Some(x);
        }
        for k in (0..=prefix).rev() {
            if let Some(v) = self.next_in(k, u16::from(o[k]) + 1) {
                let mut out = o;
                out[k] = v;
                for (j, slot) in out.iter_mut().enumerate().skip(k + 1) {
                    *slot = self.next_in(j, 0)?;
                }
                return Some(u32::from_be_bytes(out));
            }
        }
        None
    }

    /// nmap's netmask on octet ranges: every value whose masked bits match
    /// some value already present is added (so `10.0.0.5/24` is 10.0.0.0-255).
    pub(super) fn apply_prefix(&mut self, bits: u8) {
        for i in 0..4u8 {
            let m = bits.saturating_sub(i * 8).min(8);
            if m == 8 {
                continue;
            }
            let mask: u8 = if m == 0 { 0 } else { u8::MAX << (8 - m) };
            let idx = usize::from(i);
            let mut masked = [false; 256];
            for v in 0..=u8::MAX {
                if self.has(idx, v) {
                    masked[usize::from(v & mask)] = true;
                }
            }
            for v in 0..=u8::MAX {
                if masked[usize::from(v & mask)] {
                    self.set(idx, v);
                }
            }
        }
    }

    /// Number of maximal address ranges the set splits into (an upper bound:
    /// neighbouring pieces may still touch and merge).
    pub(super) fn piece_count(&self) -> u64 {
        match (0..4).rev().find(|&i| !self.is_full(i)) {
            None => 1,
            Some(k) => (0..k).map(|i| u64::from(self.popcount(i))).product::<u64>() * self.runs(k),
        }
    }

    /// The set as address ranges, ascending.
    pub(super) fn pieces(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let last_partial = (0..4).rev().find(|&i| !self.is_full(i));
        let mut cursor: u64 = 0;
        std::iter::from_fn(move || {
            let start = self.first_at_or_after(u32::try_from(cursor).ok()?)?;
            let end = match last_partial {
                None => u32::MAX,
                Some(k) => {
                    let mut e = start.to_be_bytes();
                    e[k] = self.run_end(k, e[k]);
                    for slot in e.iter_mut().skip(k + 1) {
                        *slot = u8::MAX;
                    }
                    u32::from_be_bytes(e)
                }
            };
            cursor = u64::from(end) + 1;
            Some((start, end))
        })
    }
}
