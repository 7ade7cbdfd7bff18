//! Packet views and the scan engines' reply classifier: the code that reads
//! bytes straight off the network.

use std::hint::black_box;
use std::net::{IpAddr, Ipv6Addr};

use prtip_core::cookie::SynCookie;
use prtip_core::os_fp::tcp_options_string;
use prtip_core::wire::{
    self, parse_arp, strip_ethernet, write_arp, write_ethernet_type, EthernetView, IcmpErrorKind,
    IcmpView, Ipv4View, Ipv6View, QuotedTransport, Reply, TcpOptions, TcpView, UdpView, ARP_LEN,
    ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ICMP_HEADER_LEN, IPPROTO_ICMP,
    IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, IPV4_HEADER_LEN, IPV6_HEADER_LEN, TCP_HEADER_LEN,
    TCP_MAX_OPTIONS_LEN, UDP_HEADER_LEN, UDP_REPLY_HEAD,
};

use crate::within;

/// The IPv4 and IPv6 views, whole packets and ICMP quotes.
pub fn wire_ip(data: &[u8]) {
    if let Some(v) = Ipv4View::parse(data) {
        let header = v.header().len();
        assert!(header >= IPV4_HEADER_LEN && header % 4 == 0);
        // A whole packet ends at its total length: no padding, no shortfall.
        assert_eq!(header + v.payload().len(), usize::from(v.total_len()));
        assert!(usize::from(v.total_len()) <= data.len());
        assert_eq!(v.options().len(), header - IPV4_HEADER_LEN);
        touch_ipv4(&v, data);
    }
    if let Some(v) = Ipv4View::parse_quoted(data) {
        // A quote keeps every byte after the header, whatever it claims.
        assert_eq!(v.header().len() + v.payload().len(), data.len());
        touch_ipv4(&v, data);
    }
    if let Some(v) = Ipv6View::parse(data) {
        assert_eq!(v.payload().len(), usize::from(v.payload_len()));
        assert!(IPV6_HEADER_LEN + v.payload().len() <= data.len());
        touch_ipv6(&v, data);
    }
    if let Some(v) = Ipv6View::parse_quoted(data) {
        assert!(v.payload().len() <= usize::from(v.payload_len()));
        assert!(IPV6_HEADER_LEN + v.payload().len() <= data.len());
        touch_ipv6(&v, data);
    }
}

fn touch_ipv4(v: &Ipv4View<'_>, data: &[u8]) {
    assert!(within(v.header(), data) && within(v.payload(), data));
    assert!(within(v.options(), v.header()));
    assert!(v.fragment_offset() <= 0x1fff);
    assert_eq!(v.is_first_fragment(), v.fragment_offset() == 0);
    black_box((
        v.tos(),
        v.id(),
        v.df(),
        v.mf(),
        v.ttl(),
        v.proto(),
        v.checksum(),
        v.checksum_ok(),
        v.src(),
        v.dst(),
    ));
}

fn touch_ipv6(v: &Ipv6View<'_>, data: &[u8]) {
    assert!(within(v.payload(), data));
    assert!(v.flow_label() <= 0x000f_ffff);
    black_box((
        v.traffic_class(),
        v.next_header(),
        v.hop_limit(),
        v.src(),
        v.dst(),
    ));
    if let Some(upper) = v.upper_layer() {
        // Extension headers are skipped, never read past.
        assert!(within(upper.data, v.payload()));
        black_box((upper.proto, upper.more_fragments));
    }
}

/// TCP, UDP and ICMP (v4 and v6) on the bytes after an IP header.
pub fn wire_transport(data: &[u8]) {
    if let Some(t) = TcpView::parse(data) {
        let options = t.options();
        assert_eq!(
            TCP_HEADER_LEN + options.len() + t.payload().len(),
            data.len()
        );
        assert!(options.len() <= TCP_MAX_OPTIONS_LEN);
        assert!(within(options, data) && within(t.payload(), data));
        assert!(t.reserved() <= 0x0f);
        // Every option takes at least its kind byte, so there cannot be
        // more options than bytes.
        let mut count = 0;
        for o in TcpOptions::new(options) {
            assert!(within(o.data, options));
            count += 1;
            assert!(count <= options.len());
        }
        black_box(TcpOptions::new(options).timestamp());
        black_box(tcp_options_string(options));
        black_box((
            t.sport(),
            t.dport(),
            t.seq(),
            t.ack(),
            t.flags(),
            t.window(),
            t.checksum(),
            t.urgent(),
        ));
    }
    // The OS-detection notation of options, on any length of bytes.
    black_box(tcp_options_string(data));
    if let Some(u) = UdpView::parse(data) {
        assert_eq!(UDP_HEADER_LEN + u.payload().len(), usize::from(u.len()));
        assert!(usize::from(u.len()) <= data.len());
        assert!(within(u.payload(), data));
        black_box((u.sport(), u.dport(), u.checksum()));
    }
    if let Some(i) = IcmpView::parse(data) {
        assert_eq!(ICMP_HEADER_LEN + i.body().len(), data.len());
        assert_eq!(i.bytes(), data);
        assert_eq!(i.rest(), u32::from(i.id()) << 16 | u32::from(i.seq()));
        if let Some(q) = i.quoted_ipv4() {
            assert!(within(q.header(), i.body()) && within(q.payload(), i.body()));
        }
        if let Some(q) = i.quoted_ipv6() {
            assert!(i.is_icmpv6_error());
            touch_ipv6(&q, i.body());
        }
        let transport = QuotedTransport(i.body());
        assert!(within(transport.udp_payload(), i.body()));
        black_box((
            transport.sport(),
            transport.dport(),
            transport.word1(),
            transport.udp_checksum(),
        ));
        let (a, b) = (Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED);
        black_box((
            i.icmp_type(),
            i.code(),
            i.checksum(),
            i.timestamps(),
            i.mtu(),
            i.pointer(),
            i.nd_target(),
            i.icmpv6_checksum_ok(&a, &b),
        ));
    }
}

/// Ethernet framing and ARP, which the raw engines read off AF_PACKET.
pub fn wire_link(data: &[u8]) {
    if let Some(e) = EthernetView::parse(data) {
        assert_eq!(e.payload.len() + ETHERNET_HEADER_LEN, data.len());
        // Writing the parsed header gives back the bytes it came from.
        let mut header = [0u8; ETHERNET_HEADER_LEN];
        assert_eq!(
            write_ethernet_type(&mut header, &e.addrs, e.ethertype),
            Some(ETHERNET_HEADER_LEN)
        );
        assert_eq!(&header[..], &data[..ETHERNET_HEADER_LEN]);
        match strip_ethernet(data) {
            Some(ip) => {
                assert_eq!(e.ethertype, ETHERTYPE_IPV4);
                assert_eq!(ip, e.payload);
            }
            None => assert_ne!(e.ethertype, ETHERTYPE_IPV4),
        }
        if e.ethertype == ETHERTYPE_ARP {
            arp(e.payload);
        }
    } else {
        assert!(strip_ethernet(data).is_none());
    }
    arp(data);
}

fn arp(bytes: &[u8]) {
    if let Some(a) = parse_arp(bytes) {
        // ARP over Ethernet has one shape, so the parsed fields write back
        // to exactly the bytes they were read from.
        let mut out = [0u8; ARP_LEN];
        assert_eq!(write_arp(&mut out, &a), Some(ARP_LEN));
        assert_eq!(&out[..], &bytes[..ARP_LEN]);
    }
}

/// The scan engines' classifier, on an IP packet (IPv4 or IPv6) and on an
/// Ethernet frame, with the cookie check the engines apply next.
pub fn parse_reply(data: &[u8]) {
    let cookie = SynCookie::new([0x5a; 16]);
    reply(data, &cookie);
    if let Some(ip) = strip_ethernet(data) {
        reply(ip, &cookie);
    }
    // An IPv6 frame's packet, whatever strip_ethernet makes of it.
    if let Some(ip) = data.get(ETHERNET_HEADER_LEN..) {
        reply(ip, &cookie);
    }
}

/// What a reply's outer header says, read again through the views.
struct Outer<'a> {
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    proto: u8,
    seg: &'a [u8],
}

/// The outer header by the version nibble; a reply implies it parses, and
/// for IPv6 that its extension chain ends at the transport.
fn outer(packet: &[u8]) -> Outer<'_> {
    if packet[0] >> 4 == 6 {
        let ip = Ipv6View::parse_quoted(packet).expect("an IPv6 reply has a header");
        let up = ip.upper_layer().expect("an IPv6 reply's chain ends");
        Outer {
            src: ip.src().into(),
            dst: ip.dst().into(),
            ttl: ip.hop_limit(),
            proto: up.proto,
            seg: up.data,
        }
    } else {
        // Captures may be cut short of their total length (see parse_reply).
        let ip = Ipv4View::parse_capture(packet).expect("a reply is an IPv4 packet");
        assert!(ip.is_first_fragment());
        Outer {
            src: ip.src().into(),
            dst: ip.dst().into(),
            ttl: ip.ttl(),
            proto: ip.proto(),
            seg: ip.payload(),
        }
    }
}

fn reply(packet: &[u8], cookie: &SynCookie) {
    let Some(r) = wire::parse_reply(packet) else {
        return;
    };
    let ip = outer(packet);
    let v6 = ip.src.is_ipv6();
    let icmp = if v6 { IPPROTO_ICMPV6 } else { IPPROTO_ICMP };
    let seg = ip.seg;
    match &r {
        Reply::Tcp(t) => {
            assert_eq!(ip.proto, IPPROTO_TCP);
            assert_eq!((t.src, t.dst, t.ttl), (ip.src, ip.dst, ip.ttl));
            let tcp = TcpView::parse(seg).expect("a TCP reply has a TCP header");
            assert_eq!(
                (t.sport, t.dport, t.seq, t.ack, t.flags, t.window),
                (
                    tcp.sport(),
                    tcp.dport(),
                    tcp.seq(),
                    tcp.ack(),
                    tcp.flags(),
                    tcp.window()
                )
            );
            black_box((t.is_syn_ack(), t.is_rst()));
        }
        Reply::Udp(u) => {
            assert_eq!(ip.proto, IPPROTO_UDP);
            assert_eq!((u.src, u.dst, u.ttl), (ip.src, ip.dst, ip.ttl));
            let n = usize::from(u.head_len);
            assert!(n <= UDP_REPLY_HEAD);
            // The kept head is the payload's first bytes, zero after them.
            assert!(UDP_HEADER_LEN + n <= seg.len());
            assert_eq!(u.head(), &seg[UDP_HEADER_LEN..UDP_HEADER_LEN + n]);
            assert!(u.head[n..].iter().all(|&b| b == 0));
            assert_eq!(
                (u.sport, u.dport),
                (
                    u16::from_be_bytes([seg[0], seg[1]]),
                    u16::from_be_bytes([seg[2], seg[3]])
                )
            );
        }
        Reply::IcmpError(e) => {
            assert_eq!(ip.proto, icmp);
            assert_eq!((e.from, e.ttl, e.is_v6()), (ip.src, ip.ttl, v6));
            // The quote is of the same family, and its tag fits its field.
            assert_eq!((e.orig_src.is_ipv6(), e.orig_dst.is_ipv6()), (v6, v6));
            assert!(e.orig_tag < if v6 { 1 << 20 } else { 1 << 16 });
            assert!(v6 || e.kind == IcmpErrorKind::Unreachable);
            assert_eq!(e.code, seg[1]);
        }
        Reply::IcmpEchoReply(e) => {
            assert_eq!(ip.proto, icmp);
            assert_eq!((e.src, e.dst, e.ttl), (ip.src, ip.dst, ip.ttl));
        }
        Reply::IcmpMaskReply(m) => {
            assert!(!v6, "ICMPv6 has no address mask reply");
            assert_eq!(ip.proto, IPPROTO_ICMP);
            assert_eq!((m.src, m.dst, m.ttl), (ip.src, ip.dst, ip.ttl));
        }
        Reply::IcmpTimestampReply(t) => {
            assert!(!v6, "ICMPv6 has no timestamp reply");
            assert_eq!(ip.proto, IPPROTO_ICMP);
            assert_eq!((t.src, t.dst, t.ttl), (ip.src, ip.dst, ip.ttl));
        }
    }
    black_box(cookie.validate(&r));
}
