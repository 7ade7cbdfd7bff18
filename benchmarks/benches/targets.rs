//! Target expansion (prtip_core::target): walking a TargetList lazily, per
//! address, with and without excludes.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::net::IpAddr;

use prtip_core::target::{ExcludeSet, NoResolver, TargetList};

mod common;

#[global_allocator]
static GLOBAL: common::CountingAlloc = common::CountingAlloc;

/// Every address of the list, folded so that nothing is optimised away.
fn walk(list: &TargetList, excludes: &ExcludeSet) -> (u64, u32) {
    let mut n = 0u64;
    let mut acc = 0u32;
    for t in list.iter(excludes, &NoResolver).flatten() {
        acc ^= match t.addr {
            IpAddr::V4(a) => u32::from(a),
            IpAddr::V6(a) => u128::from(a) as u32,
        };
        n += 1;
    }
    (n, acc)
}

fn targets(c: &mut Criterion) {
    // 64 single addresses spread over the /16: more ranges to bisect.
    let scattered: Vec<String> = (0..64)
        .map(|i| format!("198.18.{}.{}", i * 4, (i * 37) % 256))
        .collect();
    // (name, targets, excludes)
    let cases = [
        ("slash16", "198.18.0.0/16", String::new()),
        (
            "slash16_excluding_3_ranges",
            "198.18.0.0/16",
            "198.18.0.0/24,198.18.100.0-255,198.18.200.7".to_owned(),
        ),
        (
            "slash16_excluding_64_scattered",
            "198.18.0.0/16",
            scattered.join(","),
        ),
        (
            "octets_198.18.0-255.1-254",
            "198.18.0-255.1-254",
            String::new(),
        ),
    ];

    let mut g = c.benchmark_group("targets");
    g.sample_size(30);
    for (name, spec, exclude) in cases {
        let mut list = TargetList::new();
        list.push_arg(spec);
        let mut excludes = ExcludeSet::new();
        if !exclude.is_empty() {
            excludes
                .add_list(&exclude, &NoResolver)
                .expect("valid excludes");
        }
        let (n, _) = walk(&list, &excludes);
        common::report_allocs(&format!("targets/{name}"), n, || {
            black_box(walk(&list, &excludes));
        });
        g.throughput(Throughput::Elements(n));
        g.bench_function(name, |b| b.iter(|| walk(black_box(&list), &excludes)));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = targets
}
criterion_main!(benches);
