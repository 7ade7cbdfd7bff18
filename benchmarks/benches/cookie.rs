//! SYN cookie (SipHash-1-3 of the probe's 4-tuple): the per-probe cost on the
//! send side (sequence number and source port) and on the receive side
//! (validating a reply).

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prtip_core::cookie::{SynCookie, DEFAULT_SOURCE_PORT_BASE, DEFAULT_SOURCE_PORT_RANGE};
use prtip_core::wire::{Reply, TcpFlags, TcpReply};

mod common;

#[global_allocator]
static GLOBAL: common::CountingAlloc = common::CountingAlloc;

const US: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const THEM: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const US6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const THEM6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

fn cookie(c: &mut Criterion) {
    let ck = SynCookie::new(*b"0123456789abcdef");
    let sport = ck.source_port(
        THEM,
        80,
        DEFAULT_SOURCE_PORT_BASE,
        DEFAULT_SOURCE_PORT_RANGE,
    );
    let syn_ack = Reply::Tcp(TcpReply {
        src: THEM.into(),
        dst: US.into(),
        sport: 80,
        dport: sport,
        seq: 0xdead_beef,
        ack: ck.seq(US, THEM, sport, 80).wrapping_add(1),
        flags: TcpFlags::SYN_ACK,
        window: 64240,
        ttl: 64,
    });
    let forged = match syn_ack {
        Reply::Tcp(t) => Reply::Tcp(TcpReply {
            ack: t.ack ^ 1,
            ..t
        }),
        other => other,
    };
    assert!(ck.validate(&syn_ack) && !ck.validate(&forged));

    common::report_allocs("cookie/seq+source_port+validate", 3 * 1000, || {
        for p in 0..1000u16 {
            black_box(ck.seq(US, THEM, sport, p));
            black_box(ck.source_port(THEM, p, 61000, 4096));
            black_box(ck.validate(&syn_ack));
        }
    });

    let mut g = c.benchmark_group("cookie");
    g.throughput(Throughput::Elements(1));
    g.bench_function("seq", |b| {
        b.iter(|| {
            ck.seq(
                black_box(US),
                black_box(THEM),
                black_box(sport),
                black_box(80),
            )
        })
    });
    g.bench_function("source_port", |b| {
        b.iter(|| {
            ck.source_port(
                black_box(THEM),
                black_box(80),
                DEFAULT_SOURCE_PORT_BASE,
                DEFAULT_SOURCE_PORT_RANGE,
            )
        })
    });
    g.bench_function("icmp_id_seq", |b| {
        b.iter(|| ck.icmp_id_seq(black_box(US), black_box(THEM)))
    });
    g.bench_function("validate_syn_ack", |b| {
        b.iter(|| ck.validate(black_box(&syn_ack)))
    });
    g.bench_function("validate_forged", |b| {
        b.iter(|| ck.validate(black_box(&forged)))
    });
    g.bench_function("seq_ipv6", |b| {
        b.iter(|| {
            ck.seq(
                black_box(US6),
                black_box(THEM6),
                black_box(sport),
                black_box(80),
            )
        })
    });
    g.finish();

    // Amortised over many distinct 4-tuples, as a sender sees them.
    let mut g = c.benchmark_group("cookie_batch");
    g.throughput(Throughput::Elements(1024));
    g.bench_function("seq_1024_ports", |b| {
        b.iter(|| {
            let mut acc = 0u32;
            for dport in 1..=1024u16 {
                acc ^= ck.seq(US, black_box(THEM), sport, dport);
            }
            acc
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = cookie
}
criterion_main!(benches);
