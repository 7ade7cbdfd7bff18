//! ICMP messages. ICMPv4 and ICMPv6 share the layout this module works on
//! (type, code, checksum, four header bytes, body), so one builder and one
//! view serve both; they differ only in the pseudo-header ICMPv6 adds to
//! its checksum and in what the type numbers mean (see `icmpv6`).

use pnet_packet::icmp::{IcmpCode, IcmpType, MutableIcmpPacket};

use super::bytes::{be16, be32};
use super::checksum;
use super::ipv4::{build_ipv4, Ipv4Header, Ipv4View};
use super::IPPROTO_ICMP;

/// Type, code, checksum and the four "rest of header" bytes.
pub const ICMP_HEADER_LEN: usize = 8;
/// ICMPv4 echo reply.
pub const ICMP_ECHO_REPLY: u8 = 0;
/// ICMPv4 destination unreachable.
pub const ICMP_DEST_UNREACHABLE: u8 = 3;
/// ICMPv4 echo request.
pub const ICMP_ECHO_REQUEST: u8 = 8;
/// ICMPv4 time exceeded.
pub const ICMP_TIME_EXCEEDED: u8 = 11;
/// ICMPv4 parameter problem.
pub const ICMP_PARAMETER_PROBLEM: u8 = 12;
/// ICMPv4 timestamp request.
pub const ICMP_TIMESTAMP_REQUEST: u8 = 13;
/// ICMPv4 timestamp reply.
pub const ICMP_TIMESTAMP_REPLY: u8 = 14;
/// ICMPv4 address mask request (RFC 950).
pub const ICMP_ADDRESS_MASK_REQUEST: u8 = 17;
/// ICMPv4 address mask reply (RFC 950).
pub const ICMP_ADDRESS_MASK_REPLY: u8 = 18;

/// An ICMP or ICMPv6 message to send; the checksum is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpMessage<'a> {
    /// Message type.
    pub icmp_type: u8,
    /// Message code.
    pub code: u8,
    /// Bytes 4..8: identifier and sequence number for echoes, the MTU for
    /// Packet Too Big, the pointer for Parameter Problem, else unused.
    pub rest: u32,
    /// Everything after the first eight bytes.
    pub body: &'a [u8],
}

impl<'a> IcmpMessage<'a> {
    /// An echo request or reply (ICMPv4 8 / 0, ICMPv6 128 / 129).
    pub const fn echo(icmp_type: u8, code: u8, id: u16, seq: u16, body: &'a [u8]) -> Self {
        IcmpMessage {
            icmp_type,
            code,
            rest: ((id as u32) << 16) | seq as u32,
            body,
        }
    }

    /// Message length.
    pub const fn len(&self) -> usize {
        ICMP_HEADER_LEN + self.body.len()
    }

    /// Never true: a message is at least eight bytes.
    pub const fn is_empty(&self) -> bool {
        false
    }
}

/// Writes `m` into `msg` with its checksum started from `pseudo` (0 for
/// ICMPv4, the IPv6 pseudo-header sum for ICMPv6). Returns its length, or
/// `None` if `msg` is too short.
#[inline]
pub fn write_icmp(msg: &mut [u8], m: &IcmpMessage<'_>, pseudo: u32) -> Option<usize> {
    let msg = msg.get_mut(..m.len())?;
    {
        let mut p = MutableIcmpPacket::new(msg)?;
        p.set_icmp_type(IcmpType(m.icmp_type));
        p.set_icmp_code(IcmpCode(m.code));
        p.set_checksum(0);
    }
    msg.get_mut(4..8)?.copy_from_slice(&m.rest.to_be_bytes());
    msg.get_mut(ICMP_HEADER_LEN..)?.copy_from_slice(m.body);
    let sum = checksum::fold(pseudo + checksum::sum(msg));
    msg.get_mut(2..4)?.copy_from_slice(&sum.to_be_bytes());
    Some(msg.len())
}

/// Builds IPv4 + ICMP. Returns the packet length, or `None` if `buf` is
/// too short.
#[inline]
pub fn build_ipv4_icmp(buf: &mut [u8], ip: &Ipv4Header, m: &IcmpMessage<'_>) -> Option<usize> {
    // ICMPv4 has no pseudo-header: the IPv4 one is ignored.
    build_ipv4(buf, ip, IPPROTO_ICMP, m.len(), |msg, _| {
        write_icmp(msg, m, 0)
    })
}

/// A received ICMP or ICMPv6 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpView<'a> {
    fixed: &'a [u8; ICMP_HEADER_LEN],
    msg: &'a [u8],
}

impl<'a> IcmpView<'a> {
    /// Every message we parse has at least the eight header bytes.
    pub fn parse(msg: &'a [u8]) -> Option<Self> {
        let fixed = msg.first_chunk::<ICMP_HEADER_LEN>()?;
        Some(IcmpView { fixed, msg })
    }

    /// Message type.
    pub fn icmp_type(&self) -> u8 {
        self.fixed[0]
    }
    /// Message code.
    pub fn code(&self) -> u8 {
        self.fixed[1]
    }
    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.fixed[2], self.fixed[3]])
    }
    /// Bytes 4..8 as one number (unused / MTU / pointer).
    pub fn rest(&self) -> u32 {
        u32::from_be_bytes([self.fixed[4], self.fixed[5], self.fixed[6], self.fixed[7]])
    }
    /// Echo identifier (bytes 4..6).
    pub fn id(&self) -> u16 {
        u16::from_be_bytes([self.fixed[4], self.fixed[5]])
    }
    /// Echo sequence number (bytes 6..8).
    pub fn seq(&self) -> u16 {
        u16::from_be_bytes([self.fixed[6], self.fixed[7]])
    }
    /// Everything after the first eight bytes: echo data, timestamps, or
    /// the quoted datagram of an error.
    pub fn body(&self) -> &'a [u8] {
        self.msg.get(ICMP_HEADER_LEN..).unwrap_or_default()
    }
    /// The whole message, for checksum verification.
    pub fn bytes(&self) -> &'a [u8] {
        self.msg
    }
    /// Originate, receive and transmit timestamps of an ICMPv4 timestamp
    /// message.
    pub fn timestamps(&self) -> Option<[u32; 3]> {
        let b = self.body();
        Some([be32(b, 0)?, be32(b, 4)?, be32(b, 8)?])
    }
    /// The IPv4 datagram an ICMPv4 error quotes (its header must be whole).
    pub fn quoted_ipv4(&self) -> Option<Ipv4View<'a>> {
        Ipv4View::parse_quoted(self.body())
    }
}

/// The transport header bytes an ICMP error quotes. RFC 792 guarantees
/// only the first eight; RFC 1812 routers and RFC 4443 quote more, up to
/// a limit. Fields the quote cut off read as `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotedTransport<'a>(pub &'a [u8]);

impl<'a> QuotedTransport<'a> {
    /// TCP / UDP source port (bytes 0..2).
    pub fn sport(&self) -> Option<u16> {
        be16(self.0, 0)
    }
    /// TCP / UDP destination port (bytes 2..4).
    pub fn dport(&self) -> Option<u16> {
        be16(self.0, 2)
    }
    /// Bytes 4..8: the TCP sequence number; UDP length and checksum.
    pub fn word1(&self) -> Option<u32> {
        be32(self.0, 4)
    }
    /// UDP checksum (bytes 6..8).
    pub fn udp_checksum(&self) -> Option<u16> {
        be16(self.0, 6)
    }
    /// What follows a UDP header, as far as the quote goes.
    pub fn udp_payload(&self) -> &'a [u8] {
        self.0.get(8..).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_packs_id_and_seq_into_rest() {
        let m = IcmpMessage::echo(ICMP_ECHO_REQUEST, 0, 0xabcd, 0x0102, b"xy");
        assert_eq!((m.rest, m.len()), (0xabcd_0102, 10));
        let mut buf = [0u8; 10];
        assert_eq!(write_icmp(&mut buf, &m, 0), Some(10));
        assert!(checksum::verifies(&buf));
        let v = IcmpView::parse(&buf).expect("parses");
        assert_eq!((v.id(), v.seq(), v.body()), (0xabcd, 0x0102, &b"xy"[..]));
        assert_eq!(write_icmp(&mut buf[..9], &m, 0), None);
    }
}
