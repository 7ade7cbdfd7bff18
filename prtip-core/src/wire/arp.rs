//! ARP for IPv4 over Ethernet (RFC 826), the only kind a scanner asks
//! about: host discovery on the local link.

use std::net::Ipv4Addr;

use super::bytes::{array, be16, ipv4};
use super::ethernet::{MacAddr, ETHERTYPE_IPV4};

/// Length of an Ethernet/IPv4 ARP packet (before link padding).
pub const ARP_LEN: usize = 28;
/// Operation: request.
pub const ARP_REQUEST: u16 = 1;
/// Operation: reply.
pub const ARP_REPLY: u16 = 2;

const HTYPE_ETHERNET: u16 = 1;
const HLEN_ETHERNET: u8 = 6;
const PLEN_IPV4: u8 = 4;

/// An ARP packet for IPv4 over Ethernet: what is sent, and what a parsed
/// reply reads as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arp {
    /// [`ARP_REQUEST`] or [`ARP_REPLY`].
    pub op: u16,
    /// Sender's hardware address.
    pub sender_mac: MacAddr,
    /// Sender's IPv4 address.
    pub sender_ip: Ipv4Addr,
    /// Target's hardware address (zero in a request).
    pub target_mac: MacAddr,
    /// Target's IPv4 address.
    pub target_ip: Ipv4Addr,
}

/// Writes `arp` into `buf` (after the Ethernet header). Returns
/// [`ARP_LEN`], or `None` if `buf` is shorter.
pub fn write_arp(buf: &mut [u8], arp: &Arp) -> Option<usize> {
    let b = buf.first_chunk_mut::<ARP_LEN>()?;
    b[0..2].copy_from_slice(&HTYPE_ETHERNET.to_be_bytes());
    b[2..4].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    b[4] = HLEN_ETHERNET;
    b[5] = PLEN_IPV4;
    b[6..8].copy_from_slice(&arp.op.to_be_bytes());
    b[8..14].copy_from_slice(&arp.sender_mac);
    b[14..18].copy_from_slice(&arp.sender_ip.octets());
    b[18..24].copy_from_slice(&arp.target_mac);
    b[24..28].copy_from_slice(&arp.target_ip.octets());
    Some(ARP_LEN)
}

/// Parses an ARP packet; `None` unless it is Ethernet/IPv4 ARP with the
/// matching address lengths. Trailing bytes (link padding) are ignored.
pub fn parse_arp(bytes: &[u8]) -> Option<Arp> {
    let b = bytes.first_chunk::<ARP_LEN>()?;
    let shape = (be16(b, 0)?, be16(b, 2)?, b[4], b[5]);
    if shape != (HTYPE_ETHERNET, ETHERTYPE_IPV4, HLEN_ETHERNET, PLEN_IPV4) {
        return None;
    }
    Some(Arp {
        op: be16(b, 6)?,
        sender_mac: array(b, 8)?,
        sender_ip: ipv4(b, 14)?,
        target_mac: array(b, 18)?,
        target_ip: ipv4(b, 24)?,
    })
}
