//! A seeded random permutation of `[0, n)` in O(1) memory.
//!
//! A stateless scan visits every (host, port) pair exactly once, in an order
//! that spreads its load over targets and networks, without a list of what
//! is done. Like masscan's BlackRock this encrypts the position with a small
//! Feistel network, here over `[0, 2^b)` with `2^b` the smallest power of two
//! `>= n`, and walks the cycle (re-encrypts) until the result falls below
//! `n` (Black & Rogaway, "Ciphers with Arbitrary Finite Domains"). The domain
//! is less than twice `n`, so a position costs under two encryptions on
//! average, and `get` is random access, which makes sharding and resuming
//! trivial.
//!
//! zmap's alternative, iterating a multiplicative group modulo a prime just
//! above `n`, needs a table of primes and factorisations and 128-bit modular
//! multiplications for domains above 2^32; the Feistel network works for any
//! `n` up to 2^64 - 1 with the same code.
//!
//! The network is unbalanced when `b` is odd: the left half has `b / 2`
//! bits, the right half the rest, and rounds alternate between
//! `L ^= F(R)` and `R ^= F(L)`, each of which is its own inverse — so the
//! whole is a bijection whatever the split. `F` is a 64-bit finaliser
//! (multiply-xorshift) of the half XORed with a round key; the keys come
//! from the seed through SplitMix64, so one seed is one order.
//!
//! Cost (release, one core): about 11 ns per index when `n` is a power of
//! two, rising to about 40 ns just above one, where half the encryptions
//! land outside `[0, n)` and are walked again.
//!
//! This is a shuffle, not a cipher: the order is unpredictable enough to
//! spread probes, not to hide them from an adversary.

use std::iter::FusedIterator;

/// Feistel rounds (half-updates, so each half is rewritten twice): four
/// rounds of a full-avalanche function is the Luby–Rackoff bound for a
/// pseudo-random permutation. Measured against six (2-point chi-square over
/// 50k seeds, n from 100 to 3M) it is no less uniform and a third cheaper;
/// a one-multiply round function was cheaper still but visibly skewed for
/// small n.
const ROUNDS: usize = 4;

/// A random permutation of `[0, n)`, determined by `(n, seed)`.
///
/// Cheap to copy (a few words); iterators carry their own copy so they can
/// move to another thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permutation {
    n: u64,
    right_bits: u32,
    left_mask: u64,
    right_mask: u64,
    keys: [u64; ROUNDS],
}

impl Permutation {
    /// The permutation of `[0, n)` selected by `seed`. `n` may be 0 (nothing
    /// to iterate) up to `u64::MAX`.
    pub fn new(n: u64, seed: u64) -> Self {
        let bits = if n <= 1 {
            0
        } else {
            64 - (n - 1).leading_zeros()
        };
        let left_bits = bits / 2;
        let right_bits = bits - left_bits;
        let mut state = seed;
        let keys = std::array::from_fn(|_| splitmix64(&mut state));
        Permutation {
            n,
            right_bits,
            left_mask: low_mask(left_bits),
            right_mask: low_mask(right_bits),
            keys,
        }
    }

    /// The size of the permuted range.
    #[inline]
    pub fn len(&self) -> u64 {
        self.n
    }

    /// True when the range is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The element at position `pos` of the permuted order, or `None` when
    /// `pos >= len()`. Distinct positions give distinct elements.
    #[inline]
    pub fn get(&self, pos: u64) -> Option<u64> {
        if pos >= self.n {
            return None;
        }
        let mut x = self.encrypt(pos);
        // Terminates: pos < n lies on x's cycle of the permutation of the
        // power-of-two domain, so walking the cycle reaches a value < n.
        while x >= self.n {
            x = self.encrypt(x);
        }
        Some(x)
    }

    /// Every element of `[0, n)` once, in permuted order.
    pub fn iter(&self) -> Iter {
        Iter {
            perm: *self,
            pos: 0,
            step: 1,
        }
    }

    /// Shard `index` of `count`: positions `index, index + count, index +
    /// 2 * count, ...` of the permuted order. The `count` shards are
    /// disjoint and together cover `[0, n)`, each a random sample of about
    /// `n / count` elements, so parallel senders or machines each take one.
    ///
    /// `None` when `count` is 0 or `index >= count`.
    pub fn shard(&self, index: u64, count: u64) -> Option<Iter> {
        if index >= count {
            return None;
        }
        Some(Iter {
            perm: *self,
            pos: index,
            step: count,
        })
    }

    /// One pass of the Feistel network over `[0, 2^b)`.
    #[inline]
    fn encrypt(&self, x: u64) -> u64 {
        let mut l = x >> self.right_bits & self.left_mask;
        let mut r = x & self.right_mask;
        for (i, &k) in self.keys.iter().enumerate() {
            if i % 2 == 0 {
                l ^= round(r, k) & self.left_mask;
            } else {
                r ^= round(l, k) & self.right_mask;
            }
        }
        // right_bits is at most 32, so the shift cannot overflow.
        l << self.right_bits | r
    }
}

impl IntoIterator for &Permutation {
    type Item = u64;
    type IntoIter = Iter;
    fn into_iter(self) -> Iter {
        self.iter()
    }
}

/// Iterator over a [`Permutation`] or one of its shards.
#[derive(Debug, Clone)]
pub struct Iter {
    perm: Permutation,
    pos: u64,
    step: u64,
}

impl Iter {
    /// The position in the permuted order of the next element (for progress
    /// reporting and resuming: a resumed shard starts at this position).
    pub fn position(&self) -> u64 {
        self.pos
    }

    fn remaining(&self) -> u64 {
        match self.perm.n.checked_sub(self.pos) {
            Some(left) if left > 0 => (left - 1) / self.step + 1,
            _ => 0,
        }
    }
}

impl Iterator for Iter {
    type Item = u64;

    #[inline]
    fn next(&mut self) -> Option<u64> {
        let x = self.perm.get(self.pos)?;
        // Saturate rather than wrap so a shard near u64::MAX ends instead of
        // starting over.
        self.pos = self.pos.saturating_add(self.step);
        Some(x)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let r = self.remaining();
        match usize::try_from(r) {
            Ok(r) => (r, Some(r)),
            Err(_) => (usize::MAX, None),
        }
    }
}

impl FusedIterator for Iter {}

/// The probe index space `hosts × ports`, laid out as
/// `index = port_idx * hosts + host_idx`.
///
/// With this layout consecutive indices are different hosts on the same
/// port, so even the unpermuted order (and any structure a weak permutation
/// leaves) spreads probes across hosts rather than hammering one host's
/// ports in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProbeSpace {
    hosts: u64,
    ports: u64,
}

impl ProbeSpace {
    /// `None` when `hosts * ports` does not fit in a `u64`.
    pub fn new(hosts: u64, ports: u64) -> Option<Self> {
        hosts.checked_mul(ports)?;
        Some(ProbeSpace { hosts, ports })
    }

    /// Number of hosts.
    pub fn hosts(&self) -> u64 {
        self.hosts
    }

    /// Number of ports.
    pub fn ports(&self) -> u64 {
        self.ports
    }

    /// Number of probes, `hosts * ports`; the `n` of the [`Permutation`].
    pub fn len(&self) -> u64 {
        // Checked in `new`.
        self.hosts * self.ports
    }

    /// True when there is nothing to probe.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `(host_idx, port_idx)` of a probe index, or `None` when out of range.
    #[inline]
    pub fn split(&self, index: u64) -> Option<(u64, u64)> {
        if index >= self.len() {
            return None;
        }
        Some((index % self.hosts, index / self.hosts))
    }

    /// The probe index of `(host_idx, port_idx)`, or `None` when out of range.
    #[inline]
    pub fn join(&self, host_idx: u64, port_idx: u64) -> Option<u64> {
        if host_idx >= self.hosts || port_idx >= self.ports {
            return None;
        }
        Some(port_idx * self.hosts + host_idx)
    }
}

fn low_mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// The round function: a keyed full-avalanche mix of one half.
#[inline]
fn round(x: u64, k: u64) -> u64 {
    mix(x ^ k)
}

/// SplitMix64 step: turns one seed into independent-looking round keys.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    mix(*state)
}

/// A full-avalanche 64-bit finaliser (the SplitMix64 / Stafford "mix13"
/// constants): every output bit depends on every input bit.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts the iterator yields each of `[0, n)` exactly once.
    fn assert_complete(n: u64, it: impl Iterator<Item = u64>) {
        let mut seen = vec![0u64; (n as usize).div_ceil(64)];
        let mut count = 0u64;
        for x in it {
            assert!(x < n, "{x} out of range for n={n}");
            let (w, b) = ((x / 64) as usize, x % 64);
            assert_eq!(seen[w] >> b & 1, 0, "{x} repeated for n={n}");
            seen[w] |= 1 << b;
            count += 1;
        }
        assert_eq!(count, n, "n={n}");
    }

    const SIZES: [u64; 12] = [0, 1, 2, 3, 7, 97, 1000, 4096, 4097, 65535, 65536, 100_003];

    #[test]
    fn every_index_exactly_once() {
        for &n in &SIZES {
            for seed in [0, 1, 0xdead_beef, u64::MAX] {
                let p = Permutation::new(n, seed);
                assert_eq!(p.iter().size_hint(), (n as usize, Some(n as usize)));
                assert_complete(n, p.iter());
            }
        }
    }

    #[test]
    fn shards_are_disjoint_and_complete() {
        for &n in &SIZES {
            let p = Permutation::new(n, 42);
            for k in [1u64, 2, 3, 7, 16] {
                let mut union = Vec::new();
                let mut total = 0;
                for i in 0..k {
                    let shard = p.shard(i, k).expect("valid shard");
                    let hint = shard.size_hint().0;
                    let before = union.len();
                    union.extend(shard);
                    assert_eq!(union.len() - before, hint, "n={n} shard {i}/{k}");
                    total += union.len() - before;
                }
                assert_eq!(total as u64, n);
                assert_complete(n, union.into_iter());
            }
        }
    }

    #[test]
    fn shard_follows_the_permuted_order() {
        let p = Permutation::new(1000, 9);
        let all: Vec<u64> = p.iter().collect();
        let s: Vec<u64> = p.shard(2, 5).expect("valid shard").collect();
        let expect: Vec<u64> = all.iter().skip(2).step_by(5).copied().collect();
        assert_eq!(s, expect);
    }

    #[test]
    fn invalid_shards() {
        let p = Permutation::new(10, 0);
        assert!(p.shard(0, 0).is_none());
        assert!(p.shard(3, 3).is_none());
        // More shards than elements: the extra shards are just empty.
        assert_eq!(p.shard(15, 20).map(Iterator::count), Some(0));
    }

    #[test]
    fn same_seed_same_order_different_seed_different_order() {
        let a: Vec<u64> = Permutation::new(100_003, 1).iter().take(64).collect();
        let b: Vec<u64> = Permutation::new(100_003, 1).iter().take(64).collect();
        let c: Vec<u64> = Permutation::new(100_003, 2).iter().take(64).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        for n in [97u64, 1000, 4096] {
            let x: Vec<u64> = Permutation::new(n, 7).iter().collect();
            let y: Vec<u64> = Permutation::new(n, 8).iter().collect();
            assert_ne!(x, y, "n={n}");
        }
    }

    #[test]
    fn order_looks_shuffled() {
        let n = 65_536u64;
        let p = Permutation::new(n, 3);
        let fixed = p.iter().enumerate().filter(|&(i, x)| i as u64 == x).count();
        // A random permutation has about one fixed point.
        assert!(fixed < 10, "{fixed} fixed points");
        let ascending = p
            .iter()
            .zip(p.iter().skip(1))
            .filter(|&(a, b)| b > a)
            .count() as f64;
        // About half the steps go up in a random order.
        let frac = ascending / (n - 1) as f64;
        assert!((0.45..0.55).contains(&frac), "{frac}");
    }

    #[test]
    fn huge_domains_random_access() {
        for n in [1u64 << 40, (1u64 << 48) - 3, u64::MAX] {
            let p = Permutation::new(n, 5);
            let mut prev = Vec::new();
            for pos in [0, 1, 2, n / 2, n - 1] {
                let x = p.get(pos).expect("in range");
                assert!(x < n);
                assert!(!prev.contains(&x));
                prev.push(x);
            }
            assert_eq!(p.get(n), None);
            let last = p.shard(n - 1, n).expect("valid shard");
            assert_eq!(last.count(), 1);
        }
    }

    #[test]
    fn ten_million_indices() {
        // Cost check by construction rather than by clock: this must finish
        // in well under a second in release, a few seconds in debug.
        let p = Permutation::new(10_000_000, 11);
        let sum: u64 = p.iter().sum();
        assert_eq!(sum, 10_000_000 * 9_999_999 / 2);
    }

    #[test]
    fn probe_space_layout() {
        let s = ProbeSpace::new(256, 3).expect("fits");
        assert_eq!(s.len(), 768);
        assert_eq!(s.split(0), Some((0, 0)));
        assert_eq!(s.split(1), Some((1, 0)));
        assert_eq!(s.split(256), Some((0, 1)));
        assert_eq!(s.split(767), Some((255, 2)));
        assert_eq!(s.split(768), None);
        for i in 0..s.len() {
            let (h, p) = s.split(i).expect("in range");
            assert_eq!(s.join(h, p), Some(i));
        }
        assert_eq!(s.join(256, 0), None);
        assert_eq!(s.join(0, 3), None);
        assert!(ProbeSpace::new(1 << 32, 1 << 32).is_none());
        let empty = ProbeSpace::new(0, 100).expect("fits");
        assert!(empty.is_empty());
        assert_eq!(empty.split(0), None);
        // A /8 by all ports fits comfortably.
        assert_eq!(
            ProbeSpace::new(1 << 24, 65535).map(|s| s.len()),
            Some((1u64 << 24) * 65535)
        );
    }
}
