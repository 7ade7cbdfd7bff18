//! IPv6 headers: the builder (no extension headers: probes never need
//! them), and a view that walks the extension-header chain of a received
//! or quoted packet to its upper layer without trusting any length in it.

use std::net::Ipv6Addr;

use pnet_packet::ip::IpNextHeaderProtocol;
use pnet_packet::ipv6::MutableIpv6Packet;

use super::bytes::ipv6;
use super::checksum;
use super::ipv4::build_layered;

/// Length of the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;
/// Next header: hop-by-hop options (only valid first, RFC 8200 §4.3).
pub const IPV6_NH_HOP_BY_HOP: u8 = 0;
/// Next header: routing.
pub const IPV6_NH_ROUTING: u8 = 43;
/// Next header: fragment.
pub const IPV6_NH_FRAGMENT: u8 = 44;
/// Next header: encapsulating security payload (opaque to us).
pub const IPV6_NH_ESP: u8 = 50;
/// Next header: authentication header.
pub const IPV6_NH_AUTH: u8 = 51;
/// Next header: no next header.
pub const IPV6_NH_NONE: u8 = 59;
/// Next header: destination options.
pub const IPV6_NH_DEST_OPTS: u8 = 60;

const FRAGMENT_HEADER_LEN: usize = 8;
/// A chain longer than this is treated as an attack, not a packet: every
/// header costs at least 8 bytes, so the limit only bounds work on
/// hostile jumbo input.
const MAX_EXTENSION_HEADERS: usize = 16;

/// The IPv6 header fields a probe chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Header {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class (DSCP and ECN).
    pub traffic_class: u8,
    /// Flow label (low 20 bits used).
    pub flow_label: u32,
}

/// Writes a 40-byte IPv6 header for `payload_len` bytes of `next_header`.
/// Returns [`IPV6_HEADER_LEN`], or `None` if `buf` is shorter or the
/// payload needs a jumbogram.
#[inline]
pub fn write_ipv6(
    buf: &mut [u8],
    h: &Ipv6Header,
    next_header: u8,
    payload_len: usize,
) -> Option<usize> {
    let plen = u16::try_from(payload_len).ok()?;
    let mut p = MutableIpv6Packet::new(buf.get_mut(..IPV6_HEADER_LEN)?)?;
    p.set_version(6);
    p.set_traffic_class(h.traffic_class);
    p.set_flow_label(h.flow_label & 0x000f_ffff);
    p.set_payload_length(plen);
    p.set_next_header(IpNextHeaderProtocol(next_header));
    p.set_hop_limit(h.hop_limit);
    p.set_source(h.src);
    p.set_destination(h.dst);
    Some(IPV6_HEADER_LEN)
}

/// IPv6 twin of the IPv4 packet builder: header, then `upper` writes the
/// upper layer with the pseudo-header sum its checksum starts from.
#[inline]
pub(crate) fn build_ipv6(
    buf: &mut [u8],
    h: &Ipv6Header,
    next: u8,
    upper_len: usize,
    upper: impl FnOnce(&mut [u8], u32) -> Option<usize>,
) -> Option<usize> {
    let len = u32::try_from(upper_len).ok()?;
    let pseudo = checksum::ipv6_pseudo_sum(&h.src, &h.dst, len, next);
    let header = |hdr: &mut [u8]| write_ipv6(hdr, h, next, upper_len);
    build_layered(buf, IPV6_HEADER_LEN, header, upper_len, |rest| {
        upper(rest, pseudo)
    })
}

/// A received (or quoted) IPv6 header and the bytes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6View<'a> {
    fixed: &'a [u8; IPV6_HEADER_LEN],
    payload: &'a [u8],
}

/// Where the extension-header chain ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Upper<'a> {
    /// Protocol of `data` (TCP, UDP, ICMPv6, ESP, no-next-header, ...).
    pub proto: u8,
    /// The upper-layer header and data.
    pub data: &'a [u8],
    /// A fragment header said more fragments follow: `data` is the start of
    /// the upper layer only.
    pub more_fragments: bool,
}

impl<'a> Ipv6View<'a> {
    /// A whole packet: version 6 and a payload length present in `packet`.
    /// Bytes past the payload length (link padding) are dropped. Jumbograms
    /// (payload length 0 plus a hop-by-hop option) read as empty.
    pub fn parse(packet: &'a [u8]) -> Option<Self> {
        let v = Self::parse_quoted(packet)?;
        let end = IPV6_HEADER_LEN + usize::from(v.payload_len());
        Some(Ipv6View {
            payload: packet.get(IPV6_HEADER_LEN..end)?,
            ..v
        })
    }

    /// A packet quoted in an ICMPv6 error: the fixed header must be there,
    /// the payload is what the quote kept, cut at the payload length.
    pub fn parse_quoted(quote: &'a [u8]) -> Option<Self> {
        let (fixed, rest) = quote.split_first_chunk::<IPV6_HEADER_LEN>()?;
        if fixed[0] >> 4 != 6 {
            return None;
        }
        let plen = usize::from(u16::from_be_bytes([fixed[4], fixed[5]]));
        let payload = rest.get(..plen).unwrap_or(rest);
        Some(Ipv6View { fixed, payload })
    }

    /// Traffic class.
    pub fn traffic_class(&self) -> u8 {
        (self.fixed[0] << 4) | (self.fixed[1] >> 4)
    }
    /// Flow label (20 bits).
    pub fn flow_label(&self) -> u32 {
        u32::from_be_bytes([0, self.fixed[1] & 0x0f, self.fixed[2], self.fixed[3]])
    }
    /// Payload length field.
    pub fn payload_len(&self) -> u16 {
        u16::from_be_bytes([self.fixed[4], self.fixed[5]])
    }
    /// Next header of the fixed header (the first extension header, if any).
    pub fn next_header(&self) -> u8 {
        self.fixed[6]
    }
    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.fixed[7]
    }
    /// Source address.
    pub fn src(&self) -> Ipv6Addr {
        ipv6(self.fixed, 8).unwrap_or(Ipv6Addr::UNSPECIFIED)
    }
    /// Destination address.
    pub fn dst(&self) -> Ipv6Addr {
        // Both reads lie inside the 40 fixed bytes; the fallback is unreachable.
        ipv6(self.fixed, 24).unwrap_or(Ipv6Addr::UNSPECIFIED)
    }
    /// Everything after the fixed header, extension headers included.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Skips hop-by-hop, routing, fragment, destination-options and
    /// authentication headers to the upper layer.
    ///
    /// `None` when a header runs past the bytes present, a hop-by-hop
    /// header is not first (RFC 8200 §4.1), the chain is absurdly long, or
    /// a fragment header has a nonzero offset (no upper-layer header in
    /// this fragment).
    pub fn upper_layer(&self) -> Option<Ipv6Upper<'a>> {
        let mut proto = self.next_header();
        let mut rest = self.payload;
        let mut more_fragments = false;
        for i in 0..=MAX_EXTENSION_HEADERS {
            let len = match proto {
                IPV6_NH_HOP_BY_HOP if i > 0 => return None,
                IPV6_NH_HOP_BY_HOP | IPV6_NH_ROUTING | IPV6_NH_DEST_OPTS => {
                    (usize::from(*rest.get(1)?) + 1) * 8
                }
                IPV6_NH_AUTH => (usize::from(*rest.get(1)?) + 2) * 4,
                IPV6_NH_FRAGMENT => {
                    let frag = u16::from_be_bytes([*rest.get(2)?, *rest.get(3)?]);
                    if frag >> 3 != 0 {
                        return None;
                    }
                    more_fragments = frag & 1 != 0;
                    FRAGMENT_HEADER_LEN
                }
                _ => {
                    return Some(Ipv6Upper {
                        proto,
                        data: rest,
                        more_fragments,
                    })
                }
            };
            let next = *rest.first()?;
            rest = rest.get(len..)?;
            proto = next;
        }
        None
    }
}
