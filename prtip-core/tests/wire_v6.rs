//! IPv6, ICMPv6 and neighbour discovery in `prtip_core::wire`, on byte
//! arrays: known-good packets whose checksums are worked out by hand in the
//! comments, build → parse round trips, every truncation, and hostile
//! extension-header chains and ICMPv6 errors.

use std::net::Ipv6Addr;

use prtip_core::wire::{
    build_ipv6_icmpv6, build_ipv6_tcp, build_ipv6_udp, checksum, neighbor_solicit_body,
    solicited_node, write_ipv6, IcmpMessage, IcmpView, Ipv6Header, Ipv6View, QuotedTransport,
    TcpFlags, TcpHeader, TcpView, UdpHeader, UdpView, ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST,
    ICMPV6_NEIGHBOR_SOLICIT, ICMPV6_PACKET_TOO_BIG, ICMPV6_PARAMETER_PROBLEM, IPPROTO_ICMPV6,
    IPPROTO_TCP, IPPROTO_UDP, IPV6_HEADER_LEN, IPV6_NH_AUTH, IPV6_NH_DEST_OPTS, IPV6_NH_ESP,
    IPV6_NH_FRAGMENT, IPV6_NH_HOP_BY_HOP, IPV6_NH_ROUTING, NEIGHBOR_SOLICIT_BODY_LEN,
};

const LL1: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const LL2: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
const DOC1: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const DOC2: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

fn hdr(src: Ipv6Addr, dst: Ipv6Addr) -> Ipv6Header {
    Ipv6Header {
        src,
        dst,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    }
}

/// Echo request fe80::1 -> fe80::2, hop limit 64, id 0x1234, seq 1, no data.
///
/// ICMPv6 checksum by hand (RFC 8200 §8.1 pseudo-header, then the message):
///
/// ```text
/// src fe80::1        0xfe80 + 0x0001           = 0xfe81
/// dst fe80::2        0xfe80 + 0x0002           = 0xfe82
/// length 8           0x0000 + 0x0008           = 0x0008
/// zeros + NH 58                                = 0x003a
/// type 128, code 0                             = 0x8000
/// id, seq            0x1234 + 0x0001           = 0x1235
/// total 0x28f7a, fold 0x8f7a + 0x2 = 0x8f7c, complement 0x7083
/// ```
const ECHO_V6: [u8; 48] = [
    0x60, 0x00, 0x00, 0x00, 0x00, 0x08, 0x3a, 0x40, // version, length 8, NH 58, hop 64
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // src
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // dst
    0x80, 0x00, 0x70, 0x83, 0x12, 0x34, 0x00, 0x01, // echo request
];

#[test]
fn echo_request_matches_hand_computed_bytes() {
    let mut buf = [0u8; 64];
    let msg = IcmpMessage::echo(ICMPV6_ECHO_REQUEST, 0, 0x1234, 1, &[]);
    let n = build_ipv6_icmpv6(&mut buf, &hdr(LL1, LL2), &msg).expect("fits");
    assert_eq!(&buf[..n], &ECHO_V6[..]);
    // The receiver's check: pseudo-header + message sums to 0xffff.
    assert_eq!(
        checksum::ipv6_transport(&LL1, &LL2, IPPROTO_ICMPV6, &ECHO_V6[40..]),
        Some(0)
    );
    assert!(build_ipv6_icmpv6(&mut buf[..47], &hdr(LL1, LL2), &msg).is_none());
}

#[test]
fn echo_request_parses_back() {
    let ip = Ipv6View::parse(&ECHO_V6).expect("whole packet");
    assert_eq!((ip.src(), ip.dst(), ip.hop_limit()), (LL1, LL2, 64));
    assert_eq!((ip.payload_len(), ip.next_header()), (8, IPPROTO_ICMPV6));
    let upper = ip.upper_layer().expect("no extension headers");
    assert_eq!((upper.proto, upper.data.len()), (IPPROTO_ICMPV6, 8));
    let icmp = IcmpView::parse(upper.data).expect("8 bytes");
    assert_eq!((icmp.icmp_type(), icmp.id(), icmp.seq()), (128, 0x1234, 1));
    assert!(icmp.icmpv6_checksum_ok(&LL1, &LL2));
    // The pseudo-header matters: the same bytes from another source fail.
    assert!(!icmp.icmpv6_checksum_ok(&DOC1, &LL2));
    assert!(!icmp.is_icmpv6_error());
    assert_eq!(icmp.quoted_ipv6(), None);
}

#[test]
fn traffic_class_and_flow_label_round_trip() {
    let mut buf = [0u8; 40];
    let h = Ipv6Header {
        traffic_class: 0xb8,
        flow_label: 0xf_ffff | 0xfff0_0000, // the high bits must not leak
        ..hdr(DOC1, DOC2)
    };
    assert_eq!(write_ipv6(&mut buf, &h, IPPROTO_TCP, 0), Some(40));
    assert_eq!(&buf[..4], &[0x6b, 0x8f, 0xff, 0xff]);
    let v = Ipv6View::parse(&buf).expect("parses");
    assert_eq!((v.traffic_class(), v.flow_label()), (0xb8, 0xf_ffff));
    assert!(write_ipv6(&mut buf, &h, IPPROTO_TCP, 65536).is_none());
}

#[test]
fn udp_zero_checksum_is_sent_as_all_ones() {
    // 2001:db8::1:1234 -> 2001:db8::2:53, two bytes of data. Without the
    // data the sum is 2*(0x2001+0x0db8) + 1 + 2 (addresses) + 10 (length)
    // + 17 (NH) + 0x04d2 + 0x0035 + 0x000a (header) = 0x60a1; data 0x9f5e
    // (its complement) makes the total 0xffff, a computed checksum of 0,
    // which UDP must send as 0xffff (RFC 768; IPv6 forbids 0).
    let mut buf = [0u8; 64];
    let udp = UdpHeader {
        sport: 1234,
        dport: 53,
    };
    let n = build_ipv6_udp(&mut buf, &hdr(DOC1, DOC2), &udp, &[0x9f, 0x5e]).expect("fits");
    assert_eq!(n, 50);
    assert_eq!(
        &buf[40..50],
        &[0x04, 0xd2, 0, 0x35, 0, 10, 0xff, 0xff, 0x9f, 0x5e]
    );
    // 0xffff still verifies: it is the other zero of one's complement.
    assert_eq!(
        checksum::ipv6_transport(&DOC1, &DOC2, IPPROTO_UDP, &buf[40..50]),
        Some(0)
    );
    // Any other data gets an ordinary checksum.
    let n = build_ipv6_udp(&mut buf, &hdr(DOC1, DOC2), &udp, &[0x9f, 0x5f]).expect("fits");
    assert_eq!(&buf[46..48], &[0xff, 0xfe]);
    let ip = Ipv6View::parse(&buf[..n]).expect("parses");
    let u = UdpView::parse(ip.upper_layer().expect("udp").data).expect("udp");
    assert_eq!(
        (u.sport(), u.dport(), u.len(), u.payload()),
        (1234, 53, 10, &[0x9f, 0x5f][..])
    );
}

#[test]
fn tcp_over_ipv6_round_trips_with_options() {
    let opts = [2, 4, 0x05, 0xa0, 1, 3, 3, 7];
    let tcp = TcpHeader {
        sport: 40000,
        dport: 443,
        seq: 0xdead_beef,
        ack: 0,
        flags: TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR,
        reserved: 0,
        window: 65535,
        urgent: 0,
        options: &opts,
    };
    let mut buf = [0u8; 128];
    let n = build_ipv6_tcp(&mut buf, &hdr(DOC1, DOC2), &tcp).expect("fits");
    assert_eq!(n, 40 + 28);
    let ip = Ipv6View::parse(&buf[..n]).expect("parses");
    let upper = ip.upper_layer().expect("tcp");
    assert_eq!(upper.proto, IPPROTO_TCP);
    assert_eq!(
        checksum::ipv6_transport(&DOC1, &DOC2, IPPROTO_TCP, upper.data),
        Some(0)
    );
    let t = TcpView::parse(upper.data).expect("tcp");
    assert_eq!((t.sport(), t.dport(), t.seq()), (40000, 443, 0xdead_beef));
    assert_eq!(t.flags(), TcpFlags(0xc2));
    assert_eq!(t.options(), &opts[..]);
    // Options must be whole words.
    let odd = TcpHeader {
        options: &opts[..7],
        ..tcp
    };
    assert!(build_ipv6_tcp(&mut buf, &hdr(DOC1, DOC2), &odd).is_none());
    for len in 0..n {
        assert!(build_ipv6_tcp(&mut buf[..len], &hdr(DOC1, DOC2), &tcp).is_none());
    }
}

#[test]
fn every_truncation_of_a_packet_is_refused_or_consistent() {
    for len in 0..ECHO_V6.len() {
        assert_eq!(Ipv6View::parse(&ECHO_V6[..len]), None, "len {len}");
        // A quote keeps whatever is there once the fixed header is whole.
        let q = Ipv6View::parse_quoted(&ECHO_V6[..len]);
        assert_eq!(q.is_some(), len >= IPV6_HEADER_LEN, "len {len}");
        if let Some(q) = q {
            assert_eq!(q.payload(), &ECHO_V6[40..len]);
        }
    }
    // Padding after the payload length is dropped.
    let mut padded = ECHO_V6.to_vec();
    padded.extend_from_slice(&[0xee; 12]);
    let v = Ipv6View::parse(&padded).expect("parses");
    assert_eq!(v.payload().len(), 8);
}

#[test]
fn lying_lengths_and_versions_are_refused() {
    let mut p = ECHO_V6;
    p[5] = 9; // payload length one more than present
    assert_eq!(Ipv6View::parse(&p), None);
    // ...but a quote of it is read as far as it goes.
    assert_eq!(
        Ipv6View::parse_quoted(&p).map(|v| v.payload().len()),
        Some(8)
    );
    let mut p = ECHO_V6;
    p[0] = 0x45;
    assert_eq!(Ipv6View::parse(&p), None);
    assert_eq!(Ipv6View::parse_quoted(&p), None);
}

/// An IPv6 packet (fe80::1 -> fe80::2) whose payload is `ext` followed by
/// an 8-byte UDP header; the fixed header's next header is `first`.
fn with_extensions(first: u8, ext: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; IPV6_HEADER_LEN];
    let udp = [0x30, 0x39, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00];
    let plen = (ext.len() + udp.len()) as u16;
    write_ipv6(&mut p, &hdr(LL1, LL2), first, usize::from(plen)).expect("fits");
    p.extend_from_slice(ext);
    p.extend_from_slice(&udp);
    p
}

fn upper_of(p: &[u8]) -> Option<(u8, usize, bool)> {
    let u = Ipv6View::parse(p)?.upper_layer()?;
    Some((u.proto, u.data.len(), u.more_fragments))
}

#[test]
fn extension_chain_is_walked_to_the_upper_layer() {
    // HBH (8) -> routing (16: length 1) -> fragment (8, offset 0, M=1)
    // -> destination options (8) -> AH (12: payload length 1) -> UDP.
    let ext = [
        IPV6_NH_ROUTING,
        0,
        1,
        4,
        0,
        0,
        0,
        0, // hop-by-hop: PadN
        IPV6_NH_FRAGMENT,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0, // routing, 16 bytes
        IPV6_NH_DEST_OPTS,
        0,
        0x00,
        0x01,
        0,
        0,
        0,
        7, // fragment: offset 0, M
        IPV6_NH_AUTH,
        0,
        1,
        4,
        0,
        0,
        0,
        0, // destination options
        IPPROTO_UDP,
        1,
        0,
        0,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        2, // AH: (1 + 2) * 4 = 12
    ];
    let p = with_extensions(IPV6_NH_HOP_BY_HOP, &ext);
    assert_eq!(upper_of(&p), Some((IPPROTO_UDP, 8, true)));
    let u = Ipv6View::parse(&p)
        .and_then(|v| v.upper_layer())
        .expect("walks");
    let udp = UdpView::parse(u.data).expect("udp");
    assert_eq!((udp.sport(), udp.dport()), (12345, 53));
}

#[test]
fn bogus_extension_headers_are_refused() {
    // Hop-by-hop claiming 16 bytes with 8 (+ the 8 UDP bytes it swallows).
    let p = with_extensions(IPV6_NH_HOP_BY_HOP, &[IPPROTO_UDP, 2, 1, 4, 0, 0, 0, 0]);
    assert_eq!(upper_of(&p), None);
    // Length that exactly swallows the UDP header: chain ends on no bytes,
    // which is an empty upper layer, not a misread.
    let p = with_extensions(IPV6_NH_HOP_BY_HOP, &[IPPROTO_UDP, 1, 1, 4, 0, 0, 0, 0]);
    assert_eq!(upper_of(&p), Some((IPPROTO_UDP, 0, false)));
    // Hop-by-hop anywhere but first (RFC 8200 §4.1).
    let p = with_extensions(
        IPV6_NH_DEST_OPTS,
        &[IPV6_NH_HOP_BY_HOP, 0, 1, 4, 0, 0, 0, 0],
    );
    assert_eq!(Ipv6View::parse(&p).map(|v| v.next_header()), Some(60));
    let mut q = p.clone();
    q.splice(40..40, [IPPROTO_UDP, 0, 1, 4, 0, 0, 0, 0]);
    q[5] += 8;
    q[40] = IPV6_NH_HOP_BY_HOP;
    assert_eq!(upper_of(&q), None);
    // Routing header with a length of 255 (2048 bytes) in a short packet.
    let p = with_extensions(IPV6_NH_ROUTING, &[IPPROTO_UDP, 255, 0, 0, 0, 0, 0, 0]);
    assert_eq!(upper_of(&p), None);
    // A later fragment: no upper-layer header in it.
    let p = with_extensions(IPV6_NH_FRAGMENT, &[IPPROTO_UDP, 0, 0x00, 0x08, 0, 0, 0, 1]);
    assert_eq!(upper_of(&p), None);
    // A first and only fragment is a whole packet.
    let p = with_extensions(IPV6_NH_FRAGMENT, &[IPPROTO_UDP, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(upper_of(&p), Some((IPPROTO_UDP, 8, false)));
    // Seventeen destination-options headers: a chain, not a packet.
    let mut chain = Vec::new();
    for _ in 0..17 {
        chain.extend_from_slice(&[IPV6_NH_DEST_OPTS, 0, 1, 4, 0, 0, 0, 0]);
    }
    let p = with_extensions(IPV6_NH_DEST_OPTS, &chain);
    assert_eq!(upper_of(&p), None);
    // Sixteen is fine.
    let mut ok = chain[..16 * 8].to_vec();
    ok[15 * 8] = IPPROTO_UDP;
    let p = with_extensions(IPV6_NH_DEST_OPTS, &ok);
    assert_eq!(upper_of(&p), Some((IPPROTO_UDP, 8, false)));
    // ESP ends the walk: what follows is encrypted.
    let p = with_extensions(IPV6_NH_ESP, &[]);
    assert_eq!(upper_of(&p), Some((IPV6_NH_ESP, 8, false)));
}

#[test]
fn truncated_extension_chains_never_misread() {
    let ext = [
        IPV6_NH_FRAGMENT,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0, // routing
        IPPROTO_UDP,
        0,
        0,
        0,
        0,
        0,
        0,
        3, // fragment
    ];
    let whole = with_extensions(IPV6_NH_ROUTING, &ext);
    for len in 40..whole.len() {
        // As a quote (an ICMPv6 error keeps only a prefix): either the chain
        // is cut inside a header (None) or it ends at UDP with what is left.
        let v = Ipv6View::parse_quoted(&whole[..len]).expect("fixed header is whole");
        match v.upper_layer() {
            None => assert!(len < 40 + ext.len(), "len {len}"),
            Some(u) => {
                assert_eq!(u.proto, IPPROTO_UDP);
                assert_eq!(u.data, &whole[40 + ext.len()..len]);
            }
        }
    }
}

/// An ICMPv6 error from 2001:db8::2 to fe80::1 quoting `quote`.
fn icmpv6_error(icmp_type: u8, code: u8, rest: u32, quote: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 40 + 8 + quote.len()];
    let m = IcmpMessage {
        icmp_type,
        code,
        rest,
        body: quote,
    };
    let n = build_ipv6_icmpv6(&mut buf, &hdr(DOC2, LL1), &m).expect("fits");
    buf.truncate(n);
    buf
}

fn our_syn() -> Vec<u8> {
    let mss = [2, 4, 0x05, 0xa0];
    let tcp = TcpHeader {
        sport: 61000,
        dport: 80,
        seq: 0x0102_0304,
        ack: 0,
        flags: TcpFlags::SYN,
        reserved: 0,
        window: 1024,
        urgent: 0,
        options: &mss,
    };
    let mut buf = vec![0u8; 64];
    let n = build_ipv6_tcp(&mut buf, &hdr(LL1, DOC2), &tcp).expect("fits");
    buf.truncate(n);
    buf
}

#[test]
fn packet_too_big_quoting_a_truncated_packet() {
    let syn = our_syn();
    // The router kept the IPv6 header and 8 bytes of TCP: ports and seq.
    let err = icmpv6_error(ICMPV6_PACKET_TOO_BIG, 0, 1280, &syn[..48]);
    let ip = Ipv6View::parse(&err).expect("parses");
    let icmp = IcmpView::parse(ip.upper_layer().expect("icmpv6").data).expect("icmpv6");
    assert!(icmp.icmpv6_checksum_ok(&DOC2, &LL1));
    assert!(icmp.is_icmpv6_error());
    assert_eq!((icmp.mtu(), icmp.pointer()), (Some(1280), None));
    let quoted = icmp.quoted_ipv6().expect("quote");
    assert_eq!(
        (quoted.src(), quoted.dst(), quoted.payload_len()),
        (LL1, DOC2, 24)
    );
    let upper = quoted.upper_layer().expect("tcp, cut short");
    assert_eq!((upper.proto, upper.data.len()), (IPPROTO_TCP, 8));
    // A cut TCP header is no TcpView, but its first fields are readable.
    assert_eq!(TcpView::parse(upper.data), None);
    let t = QuotedTransport(upper.data);
    assert_eq!(
        (t.sport(), t.dport(), t.word1()),
        (Some(61000), Some(80), Some(0x0102_0304))
    );
    assert_eq!(t.udp_payload(), &[] as &[u8]);
    // Cut inside the quoted IPv6 header: nothing to read.
    for cut in 0..40 {
        let err = icmpv6_error(ICMPV6_PACKET_TOO_BIG, 0, 1280, &syn[..cut]);
        let msg = Ipv6View::parse(&err)
            .and_then(|v| v.upper_layer())
            .expect("icmpv6");
        let icmp = IcmpView::parse(msg.data).expect("8 bytes");
        assert_eq!(icmp.quoted_ipv6(), None, "cut {cut}");
    }
}

#[test]
fn parameter_problem_points_into_the_quote() {
    // Code 1: unrecognized next header, pointer at byte 6 (the NH field).
    let mut bad = our_syn();
    bad[6] = 0x8f;
    let err = icmpv6_error(ICMPV6_PARAMETER_PROBLEM, 1, 6, &bad);
    let ip = Ipv6View::parse(&err).expect("parses");
    let icmp = IcmpView::parse(ip.upper_layer().expect("icmpv6").data).expect("icmpv6");
    assert_eq!(
        (icmp.icmp_type(), icmp.code()),
        (ICMPV6_PARAMETER_PROBLEM, 1)
    );
    assert_eq!((icmp.pointer(), icmp.mtu()), (Some(6), None));
    let quoted = icmp.quoted_ipv6().expect("whole quote");
    let pointer = icmp.pointer().map(|p| p as usize).unwrap_or(usize::MAX);
    assert_eq!(icmp.body().get(pointer), Some(&0x8f));
    // An unknown next header is taken as the upper layer, as RFC 8200 says.
    assert_eq!(quoted.upper_layer().map(|u| u.proto), Some(0x8f));
}

#[test]
fn icmpv6_view_refuses_short_messages() {
    for len in 0..8 {
        assert_eq!(IcmpView::parse(&ECHO_V6[40..40 + len]), None);
    }
    let reply = IcmpView::parse(&[ICMPV6_ECHO_REPLY, 0, 0, 0, 0, 1, 0, 2]).expect("8 bytes");
    assert_eq!((reply.id(), reply.seq(), reply.mtu()), (1, 2, None));
}

#[test]
fn neighbor_solicitation_round_trip() {
    let target = DOC2;
    let mac = [0x02, 0, 0, 0, 0, 0x01];
    let body = neighbor_solicit_body(&target, &mac);
    assert_eq!(&body[16..], &[1, 1, 0x02, 0, 0, 0, 0, 0x01]);
    let dst = solicited_node(&target);
    assert_eq!(dst, "ff02::1:ff00:2".parse::<Ipv6Addr>().unwrap_or(LL1));
    let ip = Ipv6Header {
        hop_limit: 255,
        ..hdr(LL1, dst)
    };
    let m = IcmpMessage {
        icmp_type: ICMPV6_NEIGHBOR_SOLICIT,
        code: 0,
        rest: 0,
        body: &body,
    };
    let mut buf = [0u8; 72];
    let n = build_ipv6_icmpv6(&mut buf, &ip, &m).expect("fits");
    assert_eq!(n, 40 + 8 + NEIGHBOR_SOLICIT_BODY_LEN);
    let v = Ipv6View::parse(&buf[..n]).expect("parses");
    let icmp = IcmpView::parse(v.upper_layer().expect("icmpv6").data).expect("icmpv6");
    assert_eq!(icmp.nd_target(), Some(target));
    assert!(icmp.icmpv6_checksum_ok(&LL1, &dst));
    // One flipped bit anywhere in the message breaks the checksum.
    for bit in 0..(n - 40) * 8 {
        let mut p = buf;
        p[40 + bit / 8] ^= 1 << (bit % 8);
        let icmp = IcmpView::parse(&p[40..n]).expect("icmpv6");
        assert!(!icmp.icmpv6_checksum_ok(&LL1, &dst), "bit {bit}");
    }
}
