//! The Feistel permutation that orders a stateless scan's probes: cost per
//! index, best case (`n` a power of two: one encryption per index) and worst
//! case (`n` just above one: about two encryptions per index, since half of
//! the domain is walked again).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prtip_core::permutation::{Permutation, ProbeSpace};

mod common;

#[global_allocator]
static GLOBAL: common::CountingAlloc = common::CountingAlloc;

/// Indexes walked per iteration of the batch benches.
const CHUNK: u64 = 4096;

fn permutation(c: &mut Criterion) {
    // 65,536 hosts x 1,000 ports (a /16, top-1000 ports), a power of two
    // (2^24) and one past it (the worst case for cycle walking).
    let sizes = [
        ("n=65536x1000", 65_536 * 1000),
        ("n=2^24", 1u64 << 24),
        ("n=2^24+1", (1u64 << 24) + 1),
    ];

    for (name, n) in sizes {
        let perm = Permutation::new(n, 0x5eed);
        common::report_allocs(&format!("permutation/iter {name}"), CHUNK, || {
            black_box(perm.iter().take(CHUNK as usize).fold(0u64, |a, x| a ^ x));
        });
    }

    let mut g = c.benchmark_group("permutation_get");
    g.throughput(Throughput::Elements(1));
    for (name, n) in sizes {
        let perm = Permutation::new(n, 0x5eed);
        let mut pos = 0u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                pos = (pos + 1) % n;
                perm.get(black_box(pos))
            })
        });
    }
    g.finish();

    // The sender's loop: walk the order, split each probe index into (host,
    // port) indexes.
    let mut g = c.benchmark_group("permutation_iter");
    g.throughput(Throughput::Elements(CHUNK));
    for (name, n) in sizes {
        let perm = Permutation::new(n, 0x5eed);
        g.bench_function(name, |b| {
            b.iter(|| {
                perm.iter()
                    .take(CHUNK as usize)
                    .fold(0u64, |acc, x| acc ^ x)
            })
        });
    }
    let space = ProbeSpace::new(65_536, 1000).expect("fits");
    let perm = Permutation::new(space.len(), 0x5eed);
    g.bench_function("n=65536x1000+split", |b| {
        b.iter(|| {
            perm.iter()
                .take(CHUNK as usize)
                .filter_map(|x| space.split(x))
                .fold(0u64, |acc, (h, p)| acc ^ h ^ p << 20)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = permutation
}
criterion_main!(benches);
