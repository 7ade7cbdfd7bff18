//! ICMPv6 (RFC 4443) and the neighbour-discovery messages (RFC 4861) that
//! IPv6 scans need in place of ARP. The message layout is ICMPv4's, so the
//! builder and view are those of `icmp`; this module adds the pseudo-header
//! checksum and what the ICMPv6 types put in the shared fields.

use std::net::Ipv6Addr;

use super::bytes::ipv6;
use super::checksum;
use super::ethernet::MacAddr;
use super::icmp::{write_icmp, IcmpMessage, IcmpView};
use super::ipv6::{build_ipv6, Ipv6Header, Ipv6View};
use super::IPPROTO_ICMPV6;

/// Destination unreachable.
pub const ICMPV6_DEST_UNREACHABLE: u8 = 1;
/// Packet too big (the MTU is in bytes 4..8).
pub const ICMPV6_PACKET_TOO_BIG: u8 = 2;
/// Time exceeded.
pub const ICMPV6_TIME_EXCEEDED: u8 = 3;
/// Parameter problem (the pointer is in bytes 4..8).
pub const ICMPV6_PARAMETER_PROBLEM: u8 = 4;
/// Echo request.
pub const ICMPV6_ECHO_REQUEST: u8 = 128;
/// Echo reply.
pub const ICMPV6_ECHO_REPLY: u8 = 129;
/// Neighbor solicitation.
pub const ICMPV6_NEIGHBOR_SOLICIT: u8 = 135;
/// Neighbor advertisement.
pub const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;
/// Length of a neighbour solicitation body with a source link-layer
/// address option: target (16) + option (8).
pub const NEIGHBOR_SOLICIT_BODY_LEN: usize = 24;

/// Option type of a source link-layer address (RFC 4861 §4.6.1).
const OPT_SOURCE_LINK_ADDR: u8 = 1;

/// Builds IPv6 + ICMPv6. Returns the packet length, or `None` if `buf` is
/// too short.
pub fn build_ipv6_icmpv6(buf: &mut [u8], ip: &Ipv6Header, m: &IcmpMessage<'_>) -> Option<usize> {
    build_ipv6(buf, ip, IPPROTO_ICMPV6, m.len(), |msg, pseudo| {
        write_icmp(msg, m, pseudo)
    })
}

/// Body of a neighbour solicitation for `target` from `mac`: the target
/// address and a source link-layer address option. Send it as type 135,
/// code 0, rest 0, with hop limit 255 (RFC 4861 §7.1.1).
pub fn neighbor_solicit_body(target: &Ipv6Addr, mac: &MacAddr) -> [u8; NEIGHBOR_SOLICIT_BODY_LEN] {
    let mut b = [0u8; NEIGHBOR_SOLICIT_BODY_LEN];
    let (addr, opt) = b.split_at_mut(16);
    addr.copy_from_slice(&target.octets());
    // Length is in units of 8 bytes: type, length and six address bytes.
    opt[0] = OPT_SOURCE_LINK_ADDR;
    opt[1] = 1;
    opt[2..].copy_from_slice(mac);
    b
}

/// The solicited-node multicast address a neighbour solicitation for
/// `target` goes to (RFC 4291 §2.7.1): ff02::1:ffXX:XXXX.
pub fn solicited_node(target: &Ipv6Addr) -> Ipv6Addr {
    let o = target.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, o[13], o[14], o[15],
    ])
}

impl<'a> IcmpView<'a> {
    /// True for ICMPv6 error messages (types below 128, RFC 4443 §2.1).
    pub fn is_icmpv6_error(&self) -> bool {
        self.icmp_type() < 128
    }
    /// The MTU of a Packet Too Big.
    pub fn mtu(&self) -> Option<u32> {
        (self.icmp_type() == ICMPV6_PACKET_TOO_BIG).then(|| self.rest())
    }
    /// The byte offset a Parameter Problem points at in the quoted packet.
    pub fn pointer(&self) -> Option<u32> {
        (self.icmp_type() == ICMPV6_PARAMETER_PROBLEM).then(|| self.rest())
    }
    /// The packet an ICMPv6 error quotes (as much as fit, RFC 4443 §2.4 c).
    pub fn quoted_ipv6(&self) -> Option<Ipv6View<'a>> {
        self.is_icmpv6_error()
            .then(|| Ipv6View::parse_quoted(self.body()))
            .flatten()
    }
    /// Target address of a neighbour solicitation or advertisement.
    pub fn nd_target(&self) -> Option<Ipv6Addr> {
        matches!(
            self.icmp_type(),
            ICMPV6_NEIGHBOR_SOLICIT | ICMPV6_NEIGHBOR_ADVERT
        )
        .then(|| ipv6(self.body(), 0))
        .flatten()
    }
    /// The ICMPv6 checksum is right for a message from `src` to `dst`.
    pub fn icmpv6_checksum_ok(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        checksum::ipv6_transport(src, dst, IPPROTO_ICMPV6, self.bytes()) == Some(0)
    }
}
