//! The IPv6 half of [`parse_reply`](super::parse_reply): the outer packet's
//! extension headers are walked to the transport, and so are those of the
//! packet an ICMPv6 error quotes, since our probe is found behind them.
//!
//! The outer packet is read like a capture: a payload length larger than
//! the bytes present is read as far as they go (the receive slot cuts long
//! packets), a smaller one cuts the padding off.

use std::net::IpAddr;

use super::icmp::IcmpView;
use super::icmpv6::{
    ICMPV6_DEST_UNREACHABLE, ICMPV6_ECHO_REPLY, ICMPV6_PACKET_TOO_BIG, ICMPV6_PARAMETER_PROBLEM,
    ICMPV6_TIME_EXCEEDED,
};
use super::ipv6::Ipv6View;
use super::reply::{echo_reply, tcp_reply, udp_reply, IcmpErrorKind, Outer, Quoted, Reply};
use super::{IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP};

/// An IPv6 packet (version nibble already seen to be 6).
pub(super) fn parse_v6(packet: &[u8]) -> Option<Reply> {
    let ip = Ipv6View::parse_quoted(packet)?;
    // Non-first fragments, broken or endless chains: `upper_layer` says None.
    let upper = ip.upper_layer()?;
    let outer = Outer {
        src: IpAddr::V6(ip.src()),
        dst: IpAddr::V6(ip.dst()),
        ttl: ip.hop_limit(),
    };
    match upper.proto {
        IPPROTO_TCP => tcp_reply(outer, upper.data).map(Reply::Tcp),
        IPPROTO_UDP => udp_reply(outer, upper.data).map(Reply::Udp),
        IPPROTO_ICMPV6 => parse_icmpv6(outer, upper.data),
        _ => None,
    }
}

fn parse_icmpv6(o: Outer, msg: &[u8]) -> Option<Reply> {
    let icmp = IcmpView::parse(msg)?;
    let kind = match icmp.icmp_type() {
        ICMPV6_ECHO_REPLY => return Some(Reply::IcmpEchoReply(echo_reply(o, &icmp))),
        ICMPV6_DEST_UNREACHABLE => IcmpErrorKind::Unreachable,
        ICMPV6_PACKET_TOO_BIG => IcmpErrorKind::PacketTooBig,
        ICMPV6_TIME_EXCEEDED => IcmpErrorKind::TimeExceeded,
        ICMPV6_PARAMETER_PROBLEM => IcmpErrorKind::ParameterProblem,
        _ => return None,
    };
    let inner = icmp.quoted_ipv6()?;
    // The quote may stop inside the chain (RFC 4443 keeps as much as fits
    // in 1280 bytes, but a hostile or buggy router keeps less): no
    // transport header, no error we could match.
    let upper = inner.upper_layer()?;
    let quoted = Quoted {
        src: IpAddr::V6(inner.src()),
        dst: IpAddr::V6(inner.dst()),
        proto: upper.proto,
        tag: inner.flow_label(),
        transport: upper.data,
    };
    quoted.error(o, kind, icmp.code()).map(Reply::IcmpError)
}
