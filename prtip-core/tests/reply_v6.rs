//! `parse_reply` on IPv6: byte arrays of every reply kind the engines use,
//! extension-header chains in the outer and the quoted packet, and hostile
//! or truncated packets (which must give `None`, never a panic).
//!
//! Packets are assembled from literal header bytes by `ip6` below (not by
//! the crate's builders), so a builder bug cannot hide a parser bug.

use std::net::{IpAddr, Ipv6Addr};

use prtip_core::wire::{
    parse_reply, IcmpEchoReply, IcmpError, IcmpErrorKind, Reply, TcpFlags, TcpReply,
    IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, IPV6_NH_DEST_OPTS, IPV6_NH_FRAGMENT,
    IPV6_NH_HOP_BY_HOP, IPV6_NH_ROUTING,
};

// Counts this thread's allocations (see `parse_reply_allocates_nothing`).
#[global_allocator]
static GLOBAL: heapcount::Counting = heapcount::Counting;

const US: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const THEM: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
const ROUTER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xfe);

/// A 40-byte IPv6 header (payload length from `payload`) and `payload`.
fn ip6(next: u8, hop: u8, flow: u32, src: Ipv6Addr, dst: Ipv6Addr, payload: &[u8]) -> Vec<u8> {
    // Version 6, traffic class 0, then the 20-bit flow label.
    let mut p = vec![
        0x60,
        ((flow >> 16) & 0x0f) as u8,
        (flow >> 8) as u8,
        flow as u8,
    ];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[next, hop]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

/// TCP SYN-ACK 443 -> 61000, seq 0x01020304, ack 0x0a0b0c0d, window 0xfaf0.
const SYN_ACK: [u8; 20] = [
    0x01, 0xbb, 0xee, 0x48, 0x01, 0x02, 0x03, 0x04, 0x0a, 0x0b, 0x0c, 0x0d, 0x50, 0x12, 0xfa, 0xf0,
    0x00, 0x00, 0x00, 0x00,
];
/// Our SYN 61000 -> 22, seq 0xc0ffee00, as a quote keeps it.
const SYN: [u8; 20] = [
    0xee, 0x48, 0x00, 0x16, 0xc0, 0xff, 0xee, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x02, 0x04, 0x00,
    0x00, 0x00, 0x00, 0x00,
];
/// Our UDP probe 61001 -> 53, 8 bytes of header and 4 of payload.
const UDP_PROBE: [u8; 12] = [
    0xee, 0x49, 0x00, 0x35, 0x00, 0x0c, 0, 0, 0xde, 0xad, 0xbe, 0xef,
];

/// An extension header of 8 bytes: next header, length 0, six pad bytes.
fn ext8(next: u8) -> [u8; 8] {
    [next, 0, 1, 4, 0, 0, 0, 0]
}

/// A fragment header: offset in 8-byte units, more-fragments bit.
fn frag(next: u8, offset: u16, more: bool) -> [u8; 8] {
    let off = (offset << 3) | u16::from(more);
    let o = off.to_be_bytes();
    [next, 0, o[0], o[1], 0, 0, 0x12, 0x34]
}

/// ICMPv6 message: type, code, 4 bytes of `rest`, body.
fn icmp6(t: u8, code: u8, rest: [u8; 4], body: &[u8]) -> Vec<u8> {
    let mut m = vec![t, code, 0, 0];
    m.extend_from_slice(&rest);
    m.extend_from_slice(body);
    m
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn tcp_reply() -> TcpReply {
    TcpReply {
        src: IpAddr::V6(THEM),
        dst: IpAddr::V6(US),
        sport: 443,
        dport: 61000,
        seq: 0x0102_0304,
        ack: 0x0a0b_0c0d,
        flags: TcpFlags::SYN_ACK,
        window: 0xfaf0,
        ttl: 57,
    }
}

/// Our SYN as quoted by an error: IPv6 header (flow label 0) + 20 bytes.
fn quoted_syn() -> Vec<u8> {
    ip6(IPPROTO_TCP, 64, 0, US, THEM, &SYN)
}

fn error_from(from: Ipv6Addr, t: u8, code: u8, quote: &[u8]) -> Vec<u8> {
    ip6(
        IPPROTO_ICMPV6,
        61,
        0,
        from,
        US,
        &icmp6(t, code, [0; 4], quote),
    )
}

fn syn_error(kind: IcmpErrorKind, code: u8) -> IcmpError {
    IcmpError {
        from: IpAddr::V6(ROUTER),
        kind,
        code,
        ttl: 61,
        orig_src: IpAddr::V6(US),
        orig_dst: IpAddr::V6(THEM),
        orig_proto: IPPROTO_TCP,
        orig_sport: 61000,
        orig_dport: 22,
        orig_seq: 0xc0ff_ee00,
        orig_tag: 0,
    }
}

#[test]
fn tcp_syn_ack_hop_limit_is_the_ttl() {
    let p = ip6(IPPROTO_TCP, 57, 0, THEM, US, &SYN_ACK);
    assert_eq!(parse_reply(&p), Some(Reply::Tcp(tcp_reply())));
    // Link padding after the payload length is ignored.
    let padded = cat(&[&p, &[0u8; 6]]);
    assert_eq!(parse_reply(&padded), Some(Reply::Tcp(tcp_reply())));
}

#[test]
fn tcp_behind_every_extension_header() {
    let chain = cat(&[
        &ext8(IPV6_NH_DEST_OPTS),
        &ext8(IPV6_NH_ROUTING),
        &ext8(IPV6_NH_FRAGMENT),
        &frag(IPPROTO_TCP, 0, true),
        &SYN_ACK,
    ]);
    let p = ip6(IPV6_NH_HOP_BY_HOP, 57, 0, THEM, US, &chain);
    assert_eq!(parse_reply(&p), Some(Reply::Tcp(tcp_reply())));
    // A longer extension header (length 1: 16 bytes) is skipped whole.
    let mut long = ext8(IPPROTO_TCP).to_vec();
    long[1] = 1;
    long.extend_from_slice(&[0; 8]);
    let p = ip6(IPV6_NH_DEST_OPTS, 57, 0, THEM, US, &cat(&[&long, &SYN_ACK]));
    assert_eq!(parse_reply(&p), Some(Reply::Tcp(tcp_reply())));
}

#[test]
fn non_first_fragments_are_not_replies() {
    for offset in [1u16, 185, 0x1fff] {
        let body = cat(&[&frag(IPPROTO_TCP, offset, false), &SYN_ACK]);
        let p = ip6(IPV6_NH_FRAGMENT, 57, 0, THEM, US, &body);
        assert_eq!(parse_reply(&p), None, "offset {offset}");
    }
}

#[test]
fn udp_answer() {
    let answer = [
        0x00, 0x35, 0xee, 0x49, 0x00, 0x0e, 0, 0, 0xab, 0xcd, 1, 2, 3, 4,
    ];
    let p = ip6(IPPROTO_UDP, 64, 0, THEM, US, &answer);
    let Some(Reply::Udp(u)) = parse_reply(&p) else {
        panic!("not UDP: {:?}", parse_reply(&p));
    };
    assert_eq!((u.src, u.dst), (IpAddr::V6(THEM), IpAddr::V6(US)));
    assert_eq!((u.sport, u.dport, u.ttl), (53, 61001, 64));
    assert_eq!(u.head(), &[0xab, 0xcd, 1, 2, 3, 4]);
}

#[test]
fn echo_reply_and_not_requests() {
    let p = ip6(
        IPPROTO_ICMPV6,
        63,
        0,
        THEM,
        US,
        &icmp6(129, 0, [0x12, 0x34, 0, 7], &[]),
    );
    assert_eq!(
        parse_reply(&p),
        Some(Reply::IcmpEchoReply(IcmpEchoReply {
            src: IpAddr::V6(THEM),
            dst: IpAddr::V6(US),
            id: 0x1234,
            seq: 7,
            ttl: 63,
        }))
    );
    for t in [128u8, 133, 134, 135, 136, 0, 255] {
        let p = ip6(
            IPPROTO_ICMPV6,
            63,
            0,
            THEM,
            US,
            &icmp6(t, 0, [0; 4], &quoted_syn()),
        );
        assert_eq!(parse_reply(&p), None, "type {t}");
    }
}

#[test]
fn every_error_kind_quoting_our_syn() {
    use IcmpErrorKind::*;
    for (t, kind, code) in [
        (1u8, Unreachable, 4u8),
        (1, Unreachable, 1),
        (2, PacketTooBig, 0),
        (3, TimeExceeded, 0),
        (4, ParameterProblem, 1),
    ] {
        let p = error_from(ROUTER, t, code, &quoted_syn());
        assert_eq!(
            parse_reply(&p),
            Some(Reply::IcmpError(syn_error(kind, code))),
            "type {t}"
        );
    }
}

/// The UDP engine's batch tag rides in the flow label; the quote gives it
/// back whole (20 bits), with the port unreachable's code.
#[test]
fn port_unreachable_quoting_udp_gives_the_flow_label() {
    let probe = ip6(IPPROTO_UDP, 64, 0xabcde, US, THEM, &UDP_PROBE);
    let p = error_from(THEM, 1, 4, &probe);
    let Some(Reply::IcmpError(e)) = parse_reply(&p) else {
        panic!("{:?}", parse_reply(&p));
    };
    assert_eq!(e.from, IpAddr::V6(THEM));
    assert!(e.is_v6());
    assert_eq!((e.kind, e.code), (IcmpErrorKind::Unreachable, 4));
    assert_eq!(
        (e.orig_proto, e.orig_sport, e.orig_dport),
        (IPPROTO_UDP, 61001, 53)
    );
    assert_eq!(e.orig_tag, 0xabcde);
}

#[test]
fn quoted_extension_headers_are_walked() {
    let chain = cat(&[&ext8(IPV6_NH_FRAGMENT), &frag(IPPROTO_TCP, 0, false), &SYN]);
    let quote = ip6(IPV6_NH_DEST_OPTS, 64, 0, US, THEM, &chain);
    let p = error_from(ROUTER, 1, 0, &quote);
    assert_eq!(
        parse_reply(&p),
        Some(Reply::IcmpError(syn_error(IcmpErrorKind::Unreachable, 0)))
    );
    // A quoted non-first fragment has no transport header to match.
    let chain = cat(&[&frag(IPPROTO_TCP, 3, false), &SYN]);
    let quote = ip6(IPV6_NH_FRAGMENT, 64, 0, US, THEM, &chain);
    assert_eq!(parse_reply(&error_from(ROUTER, 1, 0, &quote)), None);
}

#[test]
fn outer_extension_headers_before_an_error() {
    let msg = icmp6(1, 4, [0; 4], &quoted_syn());
    let body = cat(&[&ext8(IPV6_NH_DEST_OPTS), &ext8(IPPROTO_ICMPV6), &msg]);
    let p = ip6(IPV6_NH_HOP_BY_HOP, 61, 0, ROUTER, US, &body);
    assert_eq!(
        parse_reply(&p),
        Some(Reply::IcmpError(syn_error(IcmpErrorKind::Unreachable, 4)))
    );
}

#[test]
fn quotes_cut_short() {
    let full = quoted_syn();
    // 40 header bytes + 8 transport bytes is the least that matches.
    assert!(parse_reply(&error_from(ROUTER, 1, 4, &full[..48])).is_some());
    for keep in 0..48 {
        let p = error_from(ROUTER, 1, 4, &full[..keep]);
        assert_eq!(parse_reply(&p), None, "quote of {keep} bytes");
    }
    // A quoted chain that stops inside an extension header.
    let chain = cat(&[&ext8(IPPROTO_TCP), &SYN]);
    let quote = ip6(IPV6_NH_DEST_OPTS, 64, 0, US, THEM, &chain);
    assert_eq!(parse_reply(&error_from(ROUTER, 1, 4, &quote[..44])), None);
    // An IPv4 packet quoted by an ICMPv6 error is not ours.
    let v4 = [0x45u8; 28];
    assert_eq!(parse_reply(&error_from(ROUTER, 1, 4, &v4)), None);
}

#[test]
fn hostile_extension_chains() {
    // A length byte that points past the packet.
    let mut bogus = ext8(IPPROTO_TCP);
    bogus[1] = 200;
    let p = ip6(
        IPV6_NH_DEST_OPTS,
        64,
        0,
        THEM,
        US,
        &cat(&[&bogus, &SYN_ACK]),
    );
    assert_eq!(parse_reply(&p), None);
    // Hop-by-hop anywhere but first.
    let body = cat(&[&ext8(IPV6_NH_HOP_BY_HOP), &ext8(IPPROTO_TCP), &SYN_ACK]);
    assert_eq!(
        parse_reply(&ip6(IPV6_NH_DEST_OPTS, 64, 0, THEM, US, &body)),
        None
    );
    // A "loop": a long chain of destination options, far beyond any real one.
    let mut chain: Vec<u8> = (0..64).flat_map(|_| ext8(IPV6_NH_DEST_OPTS)).collect();
    chain.extend_from_slice(&ext8(IPPROTO_TCP));
    chain.extend_from_slice(&SYN_ACK);
    assert_eq!(
        parse_reply(&ip6(IPV6_NH_DEST_OPTS, 64, 0, THEM, US, &chain)),
        None
    );
    // The same loop inside a quote.
    let quote = ip6(IPV6_NH_DEST_OPTS, 64, 0, US, THEM, &chain);
    assert_eq!(parse_reply(&error_from(ROUTER, 1, 4, &quote)), None);
    // No next header, ESP: nothing we can read.
    for nh in [59u8, 50] {
        assert_eq!(
            parse_reply(&ip6(nh, 64, 0, THEM, US, &SYN_ACK)),
            None,
            "{nh}"
        );
    }
}

#[test]
fn payload_length_lies() {
    let good = ip6(IPPROTO_TCP, 57, 0, THEM, US, &SYN_ACK);
    // Claims more than present: read as a capture cut short (the TCP
    // header is whole, so it parses).
    let mut more = good.clone();
    more[4..6].copy_from_slice(&1000u16.to_be_bytes());
    assert_eq!(parse_reply(&more), Some(Reply::Tcp(tcp_reply())));
    // Claims less than a TCP header: the rest is padding, no reply.
    let mut less = good.clone();
    less[4..6].copy_from_slice(&19u16.to_be_bytes());
    assert_eq!(parse_reply(&less), None);
    // A jumbogram's zero: nothing to read.
    let mut zero = good;
    zero[4..6].copy_from_slice(&[0, 0]);
    assert_eq!(parse_reply(&zero), None);
}

#[test]
fn other_versions_and_truncations() {
    let good = ip6(IPPROTO_TCP, 57, 0, THEM, US, &SYN_ACK);
    for v in [0u8, 5, 7, 15] {
        let mut p = good.clone();
        p[0] = (v << 4) | (p[0] & 0x0f);
        assert_eq!(parse_reply(&p), None, "version {v}");
    }
    assert_eq!(parse_reply(&[]), None);
    // Every prefix of every packet here: a reply exactly once the headers
    // it reads are whole (a capture cut after them still parses), never a
    // panic. Least lengths: IPv6 + TCP 60; IPv6 + ICMPv6 8 + quoted IPv6 40
    // + 8 transport bytes 96; echo reply 48.
    let probe = ip6(IPPROTO_UDP, 64, 0xabcde, US, THEM, &UDP_PROBE);
    let packets = [
        (good, 60),
        (error_from(THEM, 1, 4, &probe), 96),
        (error_from(ROUTER, 4, 1, &quoted_syn()), 96),
        (
            ip6(IPPROTO_ICMPV6, 63, 0, THEM, US, &icmp6(129, 0, [0; 4], &[])),
            48,
        ),
    ];
    for (p, least) in &packets {
        for keep in 0..=p.len() {
            let cut = parse_reply(&p[..keep]);
            assert_eq!(cut.is_some(), keep >= *least, "{keep} of {}", p.len());
        }
    }
}

/// parse_reply allocates nothing, whatever the packet: every kind above,
/// hostile chains and cut quotes included (the packets are built first).
#[test]
fn parse_reply_allocates_nothing() {
    let mut chain: Vec<u8> = (0..64).flat_map(|_| ext8(IPV6_NH_DEST_OPTS)).collect();
    chain.extend_from_slice(&SYN_ACK);
    let probe = ip6(IPPROTO_UDP, 64, 0xabcde, US, THEM, &UDP_PROBE);
    let packets = [
        ip6(IPPROTO_TCP, 57, 0, THEM, US, &SYN_ACK),
        ip6(IPV6_NH_DEST_OPTS, 64, 0, THEM, US, &chain),
        error_from(THEM, 1, 4, &probe),
        error_from(ROUTER, 1, 4, &quoted_syn()[..44]),
        error_from(ROUTER, 3, 0, &quoted_syn()),
        ip6(
            IPPROTO_UDP,
            64,
            0,
            THEM,
            US,
            &[0, 53, 0xee, 0x49, 0, 12, 0, 0, 1, 2, 3, 4],
        ),
        ip6(IPPROTO_ICMPV6, 63, 0, THEM, US, &icmp6(129, 0, [0; 4], &[])),
    ];
    let (parsed, usage) = heapcount::thread_usage(|| {
        let mut parsed = 0;
        for _ in 0..100 {
            for p in &packets {
                parsed += usize::from(parse_reply(p).is_some());
            }
        }
        parsed
    });
    assert_eq!(parsed, 100 * 5, "five of the seven parse");
    assert_eq!(usage.allocs, 0);
}
