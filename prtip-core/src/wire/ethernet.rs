//! Ethernet II framing, for AF_PACKET sockets: today the SYN engine's
//! frames, later ARP ping and IPv6 neighbour discovery.

use super::bytes::array;

/// Length of an Ethernet II header (no VLAN tag).
pub const ETHERNET_HEADER_LEN: usize = 14;
/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

/// A 48-bit hardware address.
pub type MacAddr = [u8; 6];

/// The broadcast hardware address (ARP requests).
pub const MAC_BROADCAST: MacAddr = [0xff; 6];

/// The two addresses of an Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthernetHeader {
    /// Next hop's address (the gateway's, for anything off-link).
    pub dst: MacAddr,
    /// The sending interface's address.
    pub src: MacAddr,
}

/// A received Ethernet II frame: the header fields and what it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetView<'a> {
    /// The header's addresses.
    pub addrs: EthernetHeader,
    /// EtherType (or an 802.3 length, which no caller asks for).
    pub ethertype: u16,
    /// Everything after the header, link padding included.
    pub payload: &'a [u8],
}

impl<'a> EthernetView<'a> {
    /// Splits `frame` into header and payload; `None` if it is shorter than
    /// [`ETHERNET_HEADER_LEN`].
    pub fn parse(frame: &'a [u8]) -> Option<Self> {
        let (hdr, payload) = frame.split_first_chunk::<ETHERNET_HEADER_LEN>()?;
        Some(EthernetView {
            addrs: EthernetHeader {
                dst: array(hdr, 0)?,
                src: array(hdr, 6)?,
            },
            ethertype: u16::from_be_bytes([hdr[12], hdr[13]]),
            payload,
        })
    }
}

/// Writes an Ethernet II header for an IPv4 payload at the start of `buf`.
///
/// Returns the header length ([`ETHERNET_HEADER_LEN`]), or `None` when `buf`
/// is shorter than that. Build the IPv4 packet into `&mut buf[14..]`.
pub fn write_ethernet(buf: &mut [u8], eth: &EthernetHeader) -> Option<usize> {
    write_ethernet_type(buf, eth, ETHERTYPE_IPV4)
}

/// [`write_ethernet`] for any EtherType ([`ETHERTYPE_ARP`], [`ETHERTYPE_IPV6`]).
pub fn write_ethernet_type(buf: &mut [u8], eth: &EthernetHeader, ethertype: u16) -> Option<usize> {
    // Plain byte copies: pnet's setters want its own MacAddr type, which it
    // does not re-export.
    let hdr = buf.first_chunk_mut::<ETHERNET_HEADER_LEN>()?;
    hdr[0..6].copy_from_slice(&eth.dst);
    hdr[6..12].copy_from_slice(&eth.src);
    hdr[12..14].copy_from_slice(&ethertype.to_be_bytes());
    Some(ETHERNET_HEADER_LEN)
}

/// Returns the IPv4 packet inside an Ethernet II frame, or `None` when the
/// frame is shorter than an Ethernet header or its EtherType is not IPv4
/// (0x0800). VLAN-tagged frames (0x8100) are refused too: on Linux the
/// kernel strips the tag into packet metadata before AF_PACKET sees the
/// frame, so a tag still in the bytes means a trunk we were not asked to scan.
pub fn strip_ethernet(frame: &[u8]) -> Option<&[u8]> {
    let eth = EthernetView::parse(frame)?;
    (eth.ethertype == ETHERTYPE_IPV4).then_some(eth.payload)
}
