//! The IPv4-side views and builders that the scan engines do not use yet
//! (UDP, ARP, Ethernet for other EtherTypes, IPv4 options, TCP options):
//! hand-checked byte vectors, round trips, every truncation, lying lengths.

use std::net::Ipv4Addr;

use prtip_core::wire::{
    build_ipv4_udp, checksum, parse_arp, write_arp, write_ethernet_type, Arp, EthernetHeader,
    EthernetView, Ipv4Header, Ipv4View, TcpOption, TcpOptions, TcpView, UdpHeader, UdpView,
    ARP_LEN, ARP_REPLY, ARP_REQUEST, ETHERNET_HEADER_LEN, ETHERTYPE_ARP, IPPROTO_UDP,
    MAC_BROADCAST,
};

const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// 192.0.2.1:1234 -> 192.0.2.2:53, data "ab", id 1, TTL 64, DF clear.
///
/// Checksums by hand (pseudo-header, header, data):
///
/// ```text
/// UDP:  0xc000 + 0x0201 (src) + 0xc000 + 0x0202 (dst) = 0x18403
///       + 0x0011 (protocol) + 0x000a (UDP length)      = 0x1841e
///       + 0x04d2 + 0x0035 + 0x000a (ports, length)     = 0x1892f
///       + 0x6162 ("ab")                                = 0x1ea91
///       fold 0xea91 + 1 = 0xea92, complement 0x156d
/// IPv4: 0x4500 + 0x001e + 0x0001 + 0x4011              = 0x8530
///       + 0x18403 (addresses) = 0x20933, fold 0x0935, complement 0xf6ca
/// ```
const UDP_V4: [u8; 30] = [
    0x45, 0x00, 0x00, 0x1e, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0xf6, 0xca, 192, 0, 2, 1, 192, 0,
    2, 2, 0x04, 0xd2, 0x00, 0x35, 0x00, 0x0a, 0x15, 0x6d, b'a', b'b',
];

fn ip(id: u16) -> Ipv4Header {
    Ipv4Header {
        src: A,
        dst: B,
        id,
        ttl: 64,
        tos: 0,
        df: false,
    }
}

#[test]
fn udp_over_ipv4_matches_hand_computed_bytes() {
    let mut buf = [0u8; 64];
    let udp = UdpHeader {
        sport: 1234,
        dport: 53,
    };
    let n = build_ipv4_udp(&mut buf, &ip(1), &udp, b"ab").expect("fits");
    assert_eq!(&buf[..n], &UDP_V4[..]);
    assert!(checksum::verifies(&UDP_V4[..20]));
    assert_eq!(
        checksum::ipv4_transport(A, B, IPPROTO_UDP, &UDP_V4[20..]),
        Some(0)
    );
    for len in 0..n {
        assert!(build_ipv4_udp(&mut buf[..len], &ip(1), &udp, b"ab").is_none());
    }
}

#[test]
fn udp_view_reads_and_refuses_lying_lengths() {
    let v = Ipv4View::parse(&UDP_V4).expect("ipv4");
    let u = UdpView::parse(v.payload()).expect("udp");
    assert_eq!(
        (u.sport(), u.dport(), u.len(), u.checksum()),
        (1234, 53, 10, 0x156d)
    );
    assert_eq!(u.payload(), b"ab");
    let seg = &UDP_V4[20..];
    for len in 0..seg.len() {
        assert_eq!(UdpView::parse(&seg[..len]), None, "len {len}");
    }
    let mut p = seg.to_vec();
    p[5] = 11; // one more than present
    assert_eq!(UdpView::parse(&p), None);
    p[5] = 7; // shorter than the header itself
    assert_eq!(UdpView::parse(&p), None);
    p[5] = 8; // no data; the rest is padding
    assert_eq!(UdpView::parse(&p).map(|u| u.payload().len()), Some(0));
}

#[test]
fn tos_and_df_are_written_and_read() {
    let mut buf = [0u8; 64];
    let h = Ipv4Header {
        tos: 0xb9,
        df: true,
        ..ip(7)
    };
    let udp = UdpHeader { sport: 1, dport: 2 };
    let n = build_ipv4_udp(&mut buf, &h, &udp, &[]).expect("fits");
    assert_eq!((buf[1], buf[6], buf[7]), (0xb9, 0x40, 0));
    let v = Ipv4View::parse(&buf[..n]).expect("parses");
    assert_eq!(
        (v.tos(), v.df(), v.mf(), v.fragment_offset()),
        (0xb9, true, false, 0)
    );
    assert!(v.checksum_ok() && v.is_first_fragment());
}

#[test]
fn ipv4_hostile_headers() {
    // IHL below 5 is refused, as a packet and as a quote.
    for ihl in 0..5u8 {
        let mut p = UDP_V4;
        p[0] = 0x40 | ihl;
        assert_eq!(Ipv4View::parse(&p), None, "ihl {ihl}");
        assert_eq!(Ipv4View::parse_quoted(&p), None, "ihl {ihl}");
    }
    // Total length past the bytes present: not a packet, but a fine quote.
    let mut p = UDP_V4;
    p[3] = 31;
    assert_eq!(Ipv4View::parse(&p), None);
    assert_eq!(
        Ipv4View::parse_quoted(&p).map(|v| v.payload().len()),
        Some(10)
    );
    // Total length shorter than the header.
    p[3] = 19;
    assert_eq!(Ipv4View::parse(&p), None);
    // IHL past the bytes present.
    let mut p = UDP_V4;
    p[0] = 0x4f;
    assert_eq!(Ipv4View::parse(&p), None);
    assert_eq!(Ipv4View::parse_quoted(&p[..59.min(p.len())]), None);
    // Every truncation of a valid packet.
    for len in 0..UDP_V4.len() {
        assert_eq!(Ipv4View::parse(&UDP_V4[..len]), None, "len {len}");
        assert_eq!(Ipv4View::parse_quoted(&UDP_V4[..len]).is_some(), len >= 20);
    }
    // A later fragment is reported, not refused: the policy is the caller's.
    let mut p = UDP_V4;
    p[6] = 0x20;
    p[7] = 0x03;
    let v = Ipv4View::parse(&p).expect("parses");
    assert_eq!(
        (v.mf(), v.fragment_offset(), v.is_first_fragment()),
        (true, 3, false)
    );
}

#[test]
fn ipv4_options_are_exposed_and_checksummed() {
    // IHL 6: one word of options (NOP, NOP, NOP, EOL) before the UDP header.
    let mut p = UDP_V4[..20].to_vec();
    p.extend_from_slice(&[1, 1, 1, 0]);
    p.extend_from_slice(&UDP_V4[20..]);
    p[0] = 0x46;
    p[3] = 34;
    p[10..12].fill(0);
    let sum = checksum::checksum(&p[..24]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    let v = Ipv4View::parse(&p).expect("parses");
    assert_eq!((v.header().len(), v.options()), (24, &[1, 1, 1, 0][..]));
    assert!(v.checksum_ok());
    assert_eq!(UdpView::parse(v.payload()).map(|u| u.sport()), Some(1234));
    p[21] = 7; // an option byte changed: the header checksum no longer holds
    assert!(!Ipv4View::parse(&p).is_some_and(|v| v.checksum_ok()));
}

#[test]
fn tcp_view_and_options() {
    // Data offset 10: MSS 1460, NOP, WS 7, EOL, then a timestamp after the
    // EOL (the walk goes on), and 2 data bytes.
    let mut seg = vec![0u8; 20];
    seg[12] = 0xa0;
    seg.extend_from_slice(&[2, 4, 5, 0xb4, 1, 3, 3, 7, 0, 0, 8, 10]);
    seg.extend_from_slice(&[0, 0, 0, 5, 0, 0, 0, 6]);
    assert_eq!(seg.len(), 40);
    seg.extend_from_slice(b"hi");
    let t = TcpView::parse(&seg).expect("parses");
    assert_eq!((t.options().len(), t.payload()), (20, &b"hi"[..]));
    let kinds: Vec<u8> = TcpOptions::new(t.options()).map(|o| o.kind).collect();
    assert_eq!(kinds, [2, 1, 3, 0, 0, 8]);
    assert_eq!(TcpOptions::new(t.options()).timestamp(), Some((5, 6)));
    // Data offset below 5, or past the bytes present.
    for doff in [0u8, 4, 11] {
        let mut s = seg.clone();
        s[12] = doff << 4;
        assert_eq!(TcpView::parse(&s), None, "doff {doff}");
    }
    for len in 0..40 {
        assert_eq!(TcpView::parse(&seg[..len]), None, "len {len}");
    }
    // A length byte of 0, 1 or past the end stops the walk there.
    for bad in [0u8, 1, 9] {
        let opts = [1, 2, bad, 0, 0, 0, 0, 0];
        let got: Vec<TcpOption<'_>> = TcpOptions::new(&opts).collect();
        assert_eq!(got, [TcpOption { kind: 1, data: &[] }], "len {bad}");
    }
    // A timestamp with the wrong length is skipped, not misread.
    let opts = [8, 6, 0, 0, 0, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 3];
    assert_eq!(TcpOptions::new(&opts).timestamp(), Some((2, 3)));
}

/// who-has 192.0.2.2 tell 192.0.2.1 (02:00:00:00:00:01), RFC 826 layout:
/// hardware 1, protocol 0x0800, lengths 6 and 4, op 1, sender, target.
const ARP_REQ: [u8; ARP_LEN] = [
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0, 0, 0, 0, 0x01, 192, 0, 2, 1, 0, 0, 0,
    0, 0, 0, 192, 0, 2, 2,
];

fn request() -> Arp {
    Arp {
        op: ARP_REQUEST,
        sender_mac: [2, 0, 0, 0, 0, 1],
        sender_ip: A,
        target_mac: [0; 6],
        target_ip: B,
    }
}

#[test]
fn arp_request_in_a_broadcast_frame() {
    let mut frame = [0u8; 60];
    let eth = EthernetHeader {
        dst: MAC_BROADCAST,
        src: [2, 0, 0, 0, 0, 1],
    };
    let off = write_ethernet_type(&mut frame, &eth, ETHERTYPE_ARP).expect("fits");
    let n = write_arp(&mut frame[off..], &request()).expect("fits");
    assert_eq!(&frame[off..off + n], &ARP_REQ[..]);
    assert_eq!(&frame[12..14], &[0x08, 0x06]);
    // Minimum-size frame: the 18 padding bytes are ignored.
    let v = EthernetView::parse(&frame).expect("frame");
    assert_eq!(
        (v.addrs, v.ethertype, v.payload.len()),
        (eth, ETHERTYPE_ARP, 46)
    );
    assert_eq!(parse_arp(v.payload), Some(request()));
    for len in 0..ETHERNET_HEADER_LEN {
        assert_eq!(EthernetView::parse(&frame[..len]), None);
    }
    assert!(write_arp(&mut frame[..ARP_LEN - 1], &request()).is_none());
}

#[test]
fn arp_reply_parses_and_odd_arp_is_refused() {
    let mut reply = ARP_REQ;
    reply[7] = ARP_REPLY as u8;
    let r = parse_arp(&reply).expect("parses");
    assert_eq!((r.op, r.sender_ip, r.target_ip), (ARP_REPLY, A, B));
    for len in 0..ARP_LEN {
        assert_eq!(parse_arp(&ARP_REQ[..len]), None, "len {len}");
    }
    // Another hardware type, protocol, or address lengths.
    for (at, v) in [(1, 6u8), (2, 0x86), (4, 8), (5, 16)] {
        let mut p = ARP_REQ;
        p[at] = v;
        assert_eq!(parse_arp(&p), None, "byte {at}");
    }
}
