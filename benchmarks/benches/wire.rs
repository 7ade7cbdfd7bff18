//! Probe building and reply parsing (prtip_core::wire), then the two per-packet
//! loops of the SYN engine put together from public pieces: the sender's
//! (permutation -> source port -> cookie -> template) and the receiver's
//! (parse -> validate cookie).

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prtip_core::cookie::{SynCookie, DEFAULT_SOURCE_PORT_BASE, DEFAULT_SOURCE_PORT_RANGE};
use prtip_core::permutation::{Permutation, ProbeSpace};
use prtip_core::wire::{
    build_icmp_echo, build_icmp_timestamp, build_rst, build_syn, build_tcp, build_tcp_ack,
    parse_reply, strip_ethernet, write_ethernet, EthernetHeader, Ipv4Fields, Reply, SynTemplate,
    TcpFields, TcpFlags, DEFAULT_TTL, ETHERNET_HEADER_LEN, SYN_LEN,
};

mod common;

#[global_allocator]
static GLOBAL: common::CountingAlloc = common::CountingAlloc;

const US: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const THEM: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

// Reply fixtures from prtip-core/tests/wire_packets.rs (made with scapy).
// A Linux SYN-ACK: MSS, SAckOK, Timestamp, NOP, WScale.
const LINUX_SYN_ACK: [u8; 60] = [
    0x45, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0xae, 0x94, 0xc6, 0x12, 0x00, 0x02,
    0xc6, 0x12, 0x00, 0x01, 0x00, 0x50, 0xee, 0x48, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x79,
    0xa0, 0x12, 0xfa, 0xf0, 0x0d, 0xa2, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
    0x00, 0x01, 0xe2, 0x40, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
];
// A Linux closed port's RST-ACK.
const LINUX_RST_ACK: [u8; 40] = [
    0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0xae, 0xa8, 0xc6, 0x12, 0x00, 0x02,
    0xc6, 0x12, 0x00, 0x01, 0x00, 0x51, 0xee, 0x48, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x79,
    0x50, 0x14, 0x00, 0x00, 0xcc, 0x61, 0x00, 0x00,
];
// ICMP echo reply.
const ECHO_REPLY: [u8; 28] = [
    0x45, 0x00, 0x00, 0x1c, 0x22, 0x22, 0x00, 0x00, 0x3f, 0x01, 0xcd, 0x97, 0xc6, 0x12, 0x00, 0x02,
    0xc6, 0x12, 0x00, 0x01, 0x00, 0x00, 0x97, 0x53, 0x12, 0x34, 0x56, 0x78,
];
// ICMP host unreachable from a router, quoting the RFC 792 minimum (IP + 8 bytes).
const UNREACH_SHORT: [u8; 56] = [
    0x45, 0x00, 0x00, 0x38, 0x55, 0x55, 0x00, 0x00, 0xfa, 0x01, 0xde, 0x4b, 0xc6, 0x12, 0x00, 0xfe,
    0xc6, 0x12, 0x00, 0x01, 0x03, 0x01, 0xa5, 0xb9, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x2c,
    0xab, 0xcd, 0x00, 0x00, 0x40, 0x06, 0x42, 0xd7, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
    0xee, 0x48, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78,
];
// A UDP datagram: parsed (the UDP engine's answers), dropped by the SYN engine.
const UDP_NOISE: [u8; 28] = [
    0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x02,
    0xc6, 0x12, 0x00, 0x01, 0x00, 0x35, 0xee, 0x48, 0x00, 0x08, 0x00, 0x00,
];

/// A 40-byte IPv6 header (2001:db8::2 -> 2001:db8::1) before `payload`.
fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[next, 64]);
    p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    p.extend_from_slice(payload);
    p
}

/// The IPv4 SYN-ACK's TCP segment behind an IPv6 header.
fn ipv6_syn_ack() -> Vec<u8> {
    ipv6(6, &LINUX_SYN_ACK[20..])
}

/// ICMPv6 port unreachable quoting a SYN behind a destination-options
/// header: the longest path through parse_reply.
fn ipv6_unreachable() -> Vec<u8> {
    let mut quote = ipv6_syn_ack();
    quote[6] = 60;
    quote.splice(40..40, [6u8, 0, 1, 4, 0, 0, 0, 0]);
    quote[5] += 8;
    let mut msg = vec![1u8, 4, 0, 0, 0, 0, 0, 0];
    msg.extend_from_slice(&quote);
    ipv6(58, &msg)
}

fn ip(dst: Ipv4Addr) -> Ipv4Fields {
    Ipv4Fields {
        src: US,
        dst,
        ip_id: 0x1234,
        ttl: DEFAULT_TTL,
    }
}

fn build(c: &mut Criterion) {
    let tpl = SynTemplate::new(US, DEFAULT_TTL);
    let mut buf = [0u8; 128];
    common::report_allocs("wire/build (template, build_syn, build_tcp_ack)", 3, || {
        black_box(tpl.write(&mut buf, THEM, 61000, 80, 0x1234_5678, 7));
        black_box(build_syn(&mut buf, US, THEM, 61000, 80, 1, 7, 64));
        black_box(build_tcp_ack(&mut buf, &ip(THEM), 61000, 80, 1, 1));
    });

    let mut g = c.benchmark_group("wire_build");
    g.throughput(Throughput::Elements(1));
    g.bench_function("syn_template_write", |b| {
        b.iter(|| {
            tpl.write(
                black_box(&mut buf),
                black_box(THEM),
                black_box(61000),
                black_box(80),
                black_box(0x1234_5678),
                black_box(7),
            )
        })
    });
    g.bench_function("build_syn", |b| {
        b.iter(|| {
            build_syn(
                black_box(&mut buf),
                US,
                black_box(THEM),
                black_box(61000),
                black_box(80),
                black_box(0x1234_5678),
                black_box(7),
                DEFAULT_TTL,
            )
        })
    });
    g.bench_function("syn_template_write+ethernet", |b| {
        let eth = EthernetHeader {
            dst: [2, 0, 0, 0, 0, 2],
            src: [2, 0, 0, 0, 0, 1],
        };
        b.iter(|| {
            let frame = black_box(&mut buf);
            let h = write_ethernet(frame, &eth).unwrap_or(0);
            h + tpl.write(
                &mut frame[ETHERNET_HEADER_LEN..],
                black_box(THEM),
                61000,
                80,
                0x1234_5678,
                7,
            )
        })
    });
    g.bench_function("build_tcp_ack", |b| {
        b.iter(|| build_tcp_ack(black_box(&mut buf), &ip(black_box(THEM)), 61000, 80, 1, 1))
    });
    g.bench_function("build_rst", |b| {
        b.iter(|| build_rst(black_box(&mut buf), &ip(black_box(THEM)), 61000, 80, 1))
    });
    g.bench_function("build_icmp_echo", |b| {
        b.iter(|| build_icmp_echo(black_box(&mut buf), &ip(black_box(THEM)), 0x1234, 0x5678))
    });
    g.bench_function("build_icmp_timestamp", |b| {
        b.iter(|| build_icmp_timestamp(black_box(&mut buf), &ip(black_box(THEM)), 1, 2))
    });
    g.finish();
}

fn parse(c: &mut Criterion) {
    let mut frame = [0u8; ETHERNET_HEADER_LEN + LINUX_SYN_ACK.len()];
    let eth = EthernetHeader {
        dst: [2, 0, 0, 0, 0, 1],
        src: [2, 0, 0, 0, 0, 2],
    };
    let _ = write_ethernet(&mut frame, &eth);
    frame[ETHERNET_HEADER_LEN..].copy_from_slice(&LINUX_SYN_ACK);

    let (v6_syn_ack, v6_unreach) = (ipv6_syn_ack(), ipv6_unreachable());
    let replies: [(&str, &[u8]); 7] = [
        ("linux_syn_ack", &LINUX_SYN_ACK),
        ("linux_rst_ack", &LINUX_RST_ACK),
        ("icmp_echo_reply", &ECHO_REPLY),
        ("icmp_unreachable", &UNREACH_SHORT),
        ("udp_noise", &UDP_NOISE),
        ("ipv6_syn_ack", &v6_syn_ack),
        ("icmpv6_unreachable_ext", &v6_unreach),
    ];
    common::report_allocs("wire/parse_reply (7 kinds)", replies.len() as u64, || {
        for (_, bytes) in replies {
            black_box(parse_reply(bytes));
        }
    });
    assert!(matches!(parse_reply(&LINUX_SYN_ACK), Some(Reply::Tcp(_))));
    assert!(matches!(
        parse_reply(&UNREACH_SHORT),
        Some(Reply::IcmpError(_))
    ));
    assert!(matches!(parse_reply(&UDP_NOISE), Some(Reply::Udp(_))));
    assert!(matches!(parse_reply(&v6_syn_ack), Some(Reply::Tcp(_))));
    assert!(matches!(
        parse_reply(&v6_unreach),
        Some(Reply::IcmpError(e)) if e.orig_sport == 80
    ));

    let mut g = c.benchmark_group("wire_parse");
    g.throughput(Throughput::Elements(1));
    for (name, bytes) in replies {
        g.bench_function(name, |b| b.iter(|| parse_reply(black_box(bytes))));
    }
    g.bench_function("ethernet_frame_syn_ack", |b| {
        b.iter(|| strip_ethernet(black_box(&frame)).and_then(parse_reply))
    });
    g.finish();
}

/// The SYN engine's loops, assembled from the public pieces it uses (the
/// engine's own `write_syn` / `handle` are private to prtip-scanner and
/// also touch its scan window and batch, which are not benchmarked here).
fn pipeline(c: &mut Criterion) {
    const CHUNK: usize = 4096;
    let ck = SynCookie::new(*b"0123456789abcdef");
    let tpl = SynTemplate::new(US, DEFAULT_TTL);
    // A /16 x top-1000 ports.
    let space = ProbeSpace::new(65_536, 1000).expect("fits");
    let perm = Permutation::new(space.len(), 0x5eed);
    let base = u32::from(Ipv4Addr::new(198, 18, 0, 0));
    let mut buf = [0u8; SYN_LEN];

    let send = |buf: &mut [u8; SYN_LEN]| {
        let mut sum = 0usize;
        for probe in perm.iter().take(CHUNK) {
            let Some((h, p)) = space.split(probe) else {
                continue;
            };
            let dst = Ipv4Addr::from(base + h as u32);
            let dport = p as u16 + 1;
            let sport = ck.source_port(
                dst,
                dport,
                DEFAULT_SOURCE_PORT_BASE,
                DEFAULT_SOURCE_PORT_RANGE,
            );
            let seq = ck.seq(US, dst, sport, dport);
            sum += tpl.write(buf, dst, sport, dport, seq, probe as u16);
            black_box(&buf);
        }
        sum
    };

    // A SYN-ACK that answers our probe to THEM:80, so validation succeeds.
    let sport = ck.source_port(
        THEM,
        80,
        DEFAULT_SOURCE_PORT_BASE,
        DEFAULT_SOURCE_PORT_RANGE,
    );
    let mut syn_ack = [0u8; 64];
    let len = build_tcp(
        &mut syn_ack,
        &Ipv4Fields {
            src: THEM,
            dst: US,
            ip_id: 0,
            ttl: 64,
        },
        &TcpFields {
            sport: 80,
            dport: sport,
            seq: 0x9abc_def0,
            ack: ck.seq(US, THEM, sport, 80).wrapping_add(1),
            flags: TcpFlags::SYN_ACK,
            window: 64240,
            mss: Some(1460),
        },
    )
    .expect("fits");
    let syn_ack = &syn_ack[..len];
    let receive = |pkt: &[u8]| parse_reply(pkt).is_some_and(|r| ck.validate(&r));
    assert!(receive(syn_ack));
    // The fixture SYN-ACK parses but answers nobody's probe under this key.
    assert!(!receive(&LINUX_SYN_ACK));

    common::report_allocs("pipeline/send_probe", CHUNK as u64, || {
        black_box(send(&mut buf));
    });
    common::report_allocs("pipeline/receive_reply", 1, || {
        black_box(receive(syn_ack));
    });

    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(CHUNK as u64));
    g.bench_function("send_probe_x4096", |b| b.iter(|| send(&mut buf)));
    g.throughput(Throughput::Elements(1));
    g.bench_function("receive_ours", |b| b.iter(|| receive(black_box(syn_ack))));
    g.bench_function("receive_not_ours", |b| {
        b.iter(|| receive(black_box(&LINUX_SYN_ACK)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = build, parse, pipeline
}
criterion_main!(benches);
