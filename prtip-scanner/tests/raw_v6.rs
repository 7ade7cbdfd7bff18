//! The raw sockets over IPv6 on the loopback interface (root): a packet
//! sent through `socket(AF_INET6, SOCK_RAW, IPPROTO_RAW)` leaves with the
//! header we wrote (flow label and hop limit included: the kernel treats
//! IPPROTO_RAW as header-included for IPv6 too), the kernel answers it,
//! and the AF_PACKET receivers' BPF filters keep TCP / ICMPv6 and UDP /
//! ICMPv6 apart.
//!
//! Network safety: every packet goes to ::1, to ports of listeners this
//! test opened or to ports it just closed.

use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::time::{Duration, Instant};

use prtip_core::wire::{
    build_ipv6_udp, build_syn_probe, parse_reply, IcmpErrorKind, Ipv6Header, Ipv6View, ProbeIp,
    Reply, TcpFlags, UdpHeader, IPPROTO_TCP, IPPROTO_UDP, IPV6_NH_DEST_OPTS,
};
use prtip_scanner::net::raw::{Family, RawIo, Transport};
use prtip_scanner::net::PacketIo;
use prtip_testkit::prereq::require_root;

const LO6: Ipv6Addr = Ipv6Addr::LOCALHOST;
const FLOW: u32 = 0xabcde;
const HOP: u8 = 33;

fn header() -> Ipv6Header {
    Ipv6Header {
        src: LO6,
        dst: LO6,
        hop_limit: HOP,
        traffic_class: 0,
        flow_label: FLOW,
    }
}

fn open(transport: Transport) -> RawIo {
    RawIo::open_for(Some("lo"), Family::V6, transport, 1 << 20).expect("raw IPv6 sockets")
}

/// Every packet `io` receives within `limit` (bounded: at most 10,000).
fn drain(io: &RawIo, limit: Duration) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while Instant::now() < deadline && got.len() < 10_000 {
        if let Some(n) = io.recv(&mut buf, Duration::from_millis(20)).expect("recv") {
            got.push(buf[..n].to_vec());
        }
    }
    got
}

/// The first next header of a received IPv6 packet.
fn next_header(p: &[u8]) -> u8 {
    Ipv6View::parse_quoted(p).expect("IPv6").next_header()
}

#[test]
fn syn_over_raw_ipv6_keeps_our_header_and_draws_a_syn_ack() {
    if !require_root() {
        return;
    }
    let listener = TcpListener::bind("[::1]:0").expect("listen on ::1");
    let port = listener.local_addr().expect("addr").port();
    let tcp = open(Transport::Tcp);
    let udp = open(Transport::Udp);
    let mut pkt = [0u8; 80];
    let seq = 0x1234_5678;
    let n = build_syn_probe(&mut pkt, &ProbeIp::V6(header()), 61555, port, seq).expect("fits");
    assert_eq!(
        tcp.send_batch(&[&pkt[..n]], &[IpAddr::V6(LO6)])
            .expect("send"),
        1
    );
    let got = drain(&tcp, Duration::from_millis(300));
    // Loopback shows our SYN coming in: the header is the one we wrote.
    let ours = got
        .iter()
        .find(|p| matches!(parse_reply(p), Some(Reply::Tcp(t)) if t.flags == TcpFlags::SYN))
        .expect("our SYN seen on lo");
    let v = Ipv6View::parse(ours).expect("IPv6");
    assert_eq!((v.flow_label(), v.hop_limit()), (FLOW, HOP));
    let answer = got.iter().find_map(|p| match parse_reply(p) {
        Some(Reply::Tcp(t)) if t.is_syn_ack() => Some(t),
        _ => None,
    });
    let t = answer.expect("the kernel's SYN-ACK");
    assert_eq!((t.sport, t.dport, t.ack), (port, 61555, seq + 1));
    assert_eq!(t.src, IpAddr::V6(LO6));
    // The TCP receiver lets no UDP through; the UDP one no TCP.
    assert!(got.iter().all(|p| next_header(p) != IPPROTO_UDP));
    let other = drain(&udp, Duration::from_millis(50));
    assert!(other.iter().all(|p| next_header(p) != IPPROTO_TCP));
    drop(listener);
}

#[test]
fn udp_to_a_closed_port_draws_an_icmpv6_error_quoting_the_flow_label() {
    if !require_root() {
        return;
    }
    // A port that was just ours and is now closed.
    let port = {
        let s = UdpSocket::bind("[::1]:0").expect("bind");
        s.local_addr().expect("addr").port()
    };
    let udp = open(Transport::Udp);
    let tcp = open(Transport::Tcp);
    let mut pkt = [0u8; 80];
    let h = UdpHeader {
        sport: 61556,
        dport: port,
    };
    let n = build_ipv6_udp(&mut pkt, &header(), &h, b"prtip").expect("fits");
    assert_eq!(
        udp.send_batch(&[&pkt[..n]], &[IpAddr::V6(LO6)])
            .expect("send"),
        1
    );
    let got = drain(&udp, Duration::from_millis(300));
    let err = got.iter().find_map(|p| match parse_reply(p) {
        Some(Reply::IcmpError(e)) if e.orig_dport == port => Some(e),
        _ => None,
    });
    let e = err.expect("an ICMPv6 port unreachable");
    assert_eq!((e.kind, e.code), (IcmpErrorKind::Unreachable, 4));
    assert_eq!(
        (e.orig_proto, e.orig_sport, e.orig_tag),
        (IPPROTO_UDP, 61556, FLOW)
    );
    assert_eq!(e.from, IpAddr::V6(LO6));
    // The UDP receiver lets no TCP through (other tests of this binary send
    // TCP on lo meanwhile; extension headers pass both filters).
    assert!(got.iter().all(|p| next_header(p) != IPPROTO_TCP));
    let other = drain(&tcp, Duration::from_millis(50));
    assert!(other.iter().all(|p| next_header(p) != IPPROTO_UDP));
}

#[test]
fn an_ipv4_destination_is_refused_by_an_ipv6_socket() {
    if !require_root() {
        return;
    }
    let io = open(Transport::Tcp);
    let v4: SocketAddr = "127.0.0.1:9".parse().expect("addr");
    let err = io.send_batch(&[&[0x60; 40]], &[v4.ip()]);
    assert!(err.is_err(), "{err:?}");
}

/// A datagram behind a destination-options header: the TCP receiver's
/// filter lets it through (its first next header is an extension header,
/// which the filter cannot walk), parse_reply walks to the UDP behind it,
/// and the kernel's port unreachable quotes it whole, chain included.
#[test]
fn extension_headers_pass_the_filter_and_are_walked() {
    if !require_root() {
        return;
    }
    let port = {
        let s = UdpSocket::bind("[::1]:0").expect("bind");
        s.local_addr().expect("addr").port()
    };
    let tcp = open(Transport::Tcp);
    let mut plain = [0u8; 80];
    let h = UdpHeader {
        sport: 61557,
        dport: port,
    };
    let n = build_ipv6_udp(&mut plain, &header(), &h, b"prtip").expect("fits");
    // Insert an 8-byte destination-options header (PadN) after the fixed
    // header; the UDP checksum does not cover extension headers.
    let mut pkt = plain[..40].to_vec();
    pkt[6] = IPV6_NH_DEST_OPTS;
    pkt[4..6].copy_from_slice(&((n - 40 + 8) as u16).to_be_bytes());
    pkt.extend_from_slice(&[IPPROTO_UDP, 0, 1, 4, 0, 0, 0, 0]);
    pkt.extend_from_slice(&plain[40..n]);
    assert_eq!(
        tcp.send_batch(&[&pkt], &[IpAddr::V6(LO6)]).expect("send"),
        1
    );
    let got = drain(&tcp, Duration::from_millis(300));
    let ours = got.iter().find_map(|p| match parse_reply(p) {
        Some(Reply::Udp(u)) if u.dport == port => Some((next_header(p), u)),
        _ => None,
    });
    let (first, u) = ours.expect("our datagram, through the TCP filter");
    assert_eq!(
        (first, u.sport, u.head()),
        (IPV6_NH_DEST_OPTS, 61557, &b"prtip"[..])
    );
    let err = got.iter().find_map(|p| match parse_reply(p) {
        Some(Reply::IcmpError(e)) if e.orig_dport == port => Some(e),
        _ => None,
    });
    let e = err.expect("the port unreachable quoting it");
    assert_eq!(
        (e.orig_proto, e.orig_sport, e.orig_tag),
        (IPPROTO_UDP, 61557, FLOW)
    );
}
