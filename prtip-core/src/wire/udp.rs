//! UDP: the datagram builder (U1 of OS detection today, UDP scans later)
//! and the view of a received datagram.

use pnet_packet::udp::MutableUdpPacket;

use super::checksum;
use super::ipv4::{build_ipv4, Ipv4Header};
use super::ipv6::{build_ipv6, Ipv6Header};
use super::IPPROTO_UDP;

/// Length of a UDP header.
pub const UDP_HEADER_LEN: usize = 8;

/// The two ports of a UDP header; length and checksum are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpHeader {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
}

/// Writes a UDP datagram carrying `payload` into `seg`, its checksum
/// started from the pseudo-header sum `pseudo`.
///
/// A computed checksum of zero is sent as `0xffff`: zero means "no
/// checksum" (RFC 768), which IPv6 does not even allow (RFC 8200 §8.1).
/// Returns the datagram length, or `None` if `seg` is too short or the
/// length does not fit the 16-bit field.
#[inline]
pub fn write_udp(seg: &mut [u8], h: &UdpHeader, payload: &[u8], pseudo: u32) -> Option<usize> {
    let len = UDP_HEADER_LEN.checked_add(payload.len())?;
    let field = u16::try_from(len).ok()?;
    let seg = seg.get_mut(..len)?;
    {
        let mut u = MutableUdpPacket::new(seg)?;
        u.set_source(h.sport);
        u.set_destination(h.dport);
        u.set_length(field);
        u.set_checksum(0);
    }
    seg.get_mut(UDP_HEADER_LEN..)?.copy_from_slice(payload);
    let sum = match checksum::fold(pseudo + checksum::sum(seg)) {
        0 => 0xffff,
        s => s,
    };
    seg.get_mut(6..8)?.copy_from_slice(&sum.to_be_bytes());
    Some(len)
}

/// Builds IPv4 + UDP carrying `payload`. Returns the packet length, or
/// `None` if `buf` is too short.
#[inline]
pub fn build_ipv4_udp(
    buf: &mut [u8],
    ip: &Ipv4Header,
    udp: &UdpHeader,
    payload: &[u8],
) -> Option<usize> {
    let len = UDP_HEADER_LEN.checked_add(payload.len())?;
    build_ipv4(buf, ip, IPPROTO_UDP, len, |seg, pseudo| {
        write_udp(seg, udp, payload, pseudo)
    })
}

/// Builds IPv6 + UDP carrying `payload` (no extension headers).
pub fn build_ipv6_udp(
    buf: &mut [u8],
    ip: &Ipv6Header,
    udp: &UdpHeader,
    payload: &[u8],
) -> Option<usize> {
    let len = UDP_HEADER_LEN.checked_add(payload.len())?;
    build_ipv6(buf, ip, IPPROTO_UDP, len, |seg, pseudo| {
        write_udp(seg, udp, payload, pseudo)
    })
}

/// A received UDP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpView<'a> {
    fixed: &'a [u8; UDP_HEADER_LEN],
    payload: &'a [u8],
}

impl<'a> UdpView<'a> {
    /// The length field must cover the header and fit in `seg`; the payload
    /// ends where it says (bytes after it are padding).
    pub fn parse(seg: &'a [u8]) -> Option<Self> {
        let fixed = seg.first_chunk::<UDP_HEADER_LEN>()?;
        let len = usize::from(u16::from_be_bytes([fixed[4], fixed[5]]));
        if len < UDP_HEADER_LEN {
            return None;
        }
        Some(UdpView {
            fixed,
            payload: seg.get(UDP_HEADER_LEN..len)?,
        })
    }

    /// Source port.
    pub fn sport(&self) -> u16 {
        u16::from_be_bytes([self.fixed[0], self.fixed[1]])
    }
    /// Destination port.
    pub fn dport(&self) -> u16 {
        u16::from_be_bytes([self.fixed[2], self.fixed[3]])
    }
    /// Length field (header included).
    pub fn len(&self) -> u16 {
        u16::from_be_bytes([self.fixed[4], self.fixed[5]])
    }
    /// Never true: a parsed datagram's length covers its header.
    pub fn is_empty(&self) -> bool {
        false
    }
    /// Checksum field (0: none sent, IPv4 only).
    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.fixed[6], self.fixed[7]])
    }
    /// The data.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}
