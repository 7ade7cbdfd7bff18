//! IPv4 headers: the builder every IPv4 probe goes through and the view
//! every IPv4 reply (or datagram quoted in an ICMP error) is read with.

use std::net::Ipv4Addr;

use pnet_packet::ip::IpNextHeaderProtocol;
use pnet_packet::ipv4::MutableIpv4Packet;

use super::checksum;

/// Length of the IPv4 header the builders write (no options).
pub const IPV4_HEADER_LEN: usize = 20;

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const FRAGMENT_OFFSET: u16 = 0x1fff;

/// The IPv4 header fields a scan probe chooses; everything else is fixed
/// (no options, DSCP/ECN 0, DF clear like nmap, fragment offset 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Fields {
    /// Our address.
    pub src: Ipv4Addr,
    /// The target's address.
    pub dst: Ipv4Addr,
    /// Identification field; scanners randomise it per probe.
    pub ip_id: u16,
    /// Time to live.
    pub ttl: u8,
}

impl Ipv4Fields {
    /// The full header these fields stand for: TOS 0, DF clear.
    #[inline]
    pub const fn header(&self) -> Ipv4Header {
        Ipv4Header {
            src: self.src,
            dst: self.dst,
            id: self.ip_id,
            ttl: self.ttl,
            tos: 0,
            df: false,
        }
    }
}

/// Every IPv4 header field a probe can choose. OS detection needs the TOS
/// byte and DF, which scan probes leave at zero ([`Ipv4Fields`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Header {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Identification.
    pub id: u16,
    /// Time to live.
    pub ttl: u8,
    /// Type of service (DSCP and ECN) byte.
    pub tos: u8,
    /// Don't-fragment bit.
    pub df: bool,
}

/// Writes a 20-byte IPv4 header (checksum included) for a packet carrying
/// `payload_len` bytes of protocol `proto`.
///
/// Returns [`IPV4_HEADER_LEN`], or `None` if `buf` is shorter or the total
/// length does not fit the 16-bit field.
#[inline]
pub fn write_ipv4(buf: &mut [u8], h: &Ipv4Header, proto: u8, payload_len: usize) -> Option<usize> {
    let total = u16::try_from(payload_len.checked_add(IPV4_HEADER_LEN)?).ok()?;
    let hdr = buf.get_mut(..IPV4_HEADER_LEN)?;
    {
        let mut p = MutableIpv4Packet::new(hdr)?;
        p.set_version(4);
        p.set_header_length((IPV4_HEADER_LEN / 4) as u8);
        // DSCP is the high six bits of the TOS byte, ECN the low two.
        p.set_dscp(h.tos >> 2);
        p.set_ecn(h.tos & 3);
        p.set_total_length(total);
        p.set_identification(h.id);
        // pnet's flags field is the top three bits of the word.
        p.set_flags(if h.df { (FLAG_DF >> 13) as u8 } else { 0 });
        p.set_fragment_offset(0);
        p.set_ttl(h.ttl);
        p.set_next_level_protocol(IpNextHeaderProtocol(proto));
        p.set_checksum(0);
        p.set_source(h.src);
        p.set_destination(h.dst);
    }
    let sum = checksum::checksum(hdr);
    hdr.get_mut(10..12)?.copy_from_slice(&sum.to_be_bytes());
    Some(IPV4_HEADER_LEN)
}

/// Writes an IPv4 header and lets `upper` write the `upper_len` bytes after
/// it, handing it the pseudo-header sum its checksum starts from. Returns
/// the packet length.
#[inline]
pub(crate) fn build_ipv4(
    buf: &mut [u8],
    h: &Ipv4Header,
    proto: u8,
    upper_len: usize,
    upper: impl FnOnce(&mut [u8], u32) -> Option<usize>,
) -> Option<usize> {
    let len = u16::try_from(upper_len).ok()?;
    let pseudo = checksum::ipv4_pseudo_sum(h.src, h.dst, proto, len);
    let header = |hdr: &mut [u8]| write_ipv4(hdr, h, proto, upper_len);
    build_layered(buf, IPV4_HEADER_LEN, header, upper_len, |rest| {
        upper(rest, pseudo)
    })
}

/// An IP header of `hdr_len` bytes, then `upper_len` bytes of upper layer,
/// each written by its closure into exactly its share of `buf`; the one
/// place that splits a packet buffer, for IPv4 and IPv6 alike.
#[inline]
pub(crate) fn build_layered(
    buf: &mut [u8],
    hdr_len: usize,
    header: impl FnOnce(&mut [u8]) -> Option<usize>,
    upper_len: usize,
    upper: impl FnOnce(&mut [u8]) -> Option<usize>,
) -> Option<usize> {
    let total = hdr_len.checked_add(upper_len)?;
    let (hdr, rest) = buf.get_mut(..total)?.split_at_mut(hdr_len);
    header(hdr)?;
    (upper(rest)? == upper_len).then_some(total)
}

/// A received IPv4 header and the bytes it delimits.
///
/// The view never rejects a header for its flags: fragments, DF and
/// options are reported, and what to do with them is the caller's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4View<'a> {
    fixed: &'a [u8; IPV4_HEADER_LEN],
    header: &'a [u8],
    payload: &'a [u8],
}

impl<'a> Ipv4View<'a> {
    /// A whole IPv4 packet: version 4, IHL at least 5, a total length that
    /// covers the header and is present in `packet`. The payload ends at
    /// the total length, so link-layer padding is dropped.
    pub fn parse(packet: &'a [u8]) -> Option<Self> {
        let v = Self::parse_quoted(packet)?;
        let total = usize::from(v.total_len());
        if total < v.header.len() {
            return None;
        }
        let payload = packet.get(v.header.len()..total)?;
        Some(Ipv4View { payload, ..v })
    }

    /// A packet as a capture holds it, perhaps cut short of its total
    /// length (receive slots are smaller than a large datagram, and the
    /// engines need only its first bytes): as [`Ipv4View::parse`], but the
    /// payload is whatever of it was captured.
    pub fn parse_capture(packet: &'a [u8]) -> Option<Self> {
        let v = Self::parse_quoted(packet)?;
        let total = usize::from(v.total_len());
        if total < v.header.len() {
            return None;
        }
        let payload = packet.get(v.header.len()..total.min(packet.len()))?;
        Some(Ipv4View { payload, ..v })
    }

    /// A datagram quoted in an ICMP error: only the header must be complete.
    /// The total length is not checked (routers quote a prefix by design,
    /// and some quote more than the header claims); the payload is whatever
    /// follows the header in `quote`.
    pub fn parse_quoted(quote: &'a [u8]) -> Option<Self> {
        let fixed = quote.first_chunk::<IPV4_HEADER_LEN>()?;
        let ihl = usize::from(fixed[0] & 0x0f) * 4;
        if fixed[0] >> 4 != 4 || ihl < IPV4_HEADER_LEN {
            return None;
        }
        Some(Ipv4View {
            fixed,
            header: quote.get(..ihl)?,
            payload: quote.get(ihl..)?,
        })
    }

    /// The whole header, options included (IHL × 4 bytes).
    pub fn header(&self) -> &'a [u8] {
        self.header
    }
    /// Options bytes (empty for IHL 5).
    pub fn options(&self) -> &'a [u8] {
        self.header.get(IPV4_HEADER_LEN..).unwrap_or_default()
    }
    /// The bytes after the header (see [`Ipv4View::parse`] for where they end).
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
    /// Type of service byte.
    pub fn tos(&self) -> u8 {
        self.fixed[1]
    }
    /// Total length field.
    pub fn total_len(&self) -> u16 {
        u16::from_be_bytes([self.fixed[2], self.fixed[3]])
    }
    /// Identification.
    pub fn id(&self) -> u16 {
        u16::from_be_bytes([self.fixed[4], self.fixed[5]])
    }
    fn frag_word(&self) -> u16 {
        u16::from_be_bytes([self.fixed[6], self.fixed[7]])
    }
    /// Don't-fragment bit.
    pub fn df(&self) -> bool {
        self.frag_word() & FLAG_DF != 0
    }
    /// More-fragments bit.
    pub fn mf(&self) -> bool {
        self.frag_word() & FLAG_MF != 0
    }
    /// Fragment offset in 8-byte units.
    pub fn fragment_offset(&self) -> u16 {
        self.frag_word() & FRAGMENT_OFFSET
    }
    /// True unless this is a later fragment, whose payload does not start
    /// with a transport header.
    pub fn is_first_fragment(&self) -> bool {
        self.fragment_offset() == 0
    }
    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.fixed[8]
    }
    /// Protocol of the payload.
    pub fn proto(&self) -> u8 {
        self.fixed[9]
    }
    /// Header checksum field.
    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.fixed[10], self.fixed[11]])
    }
    /// The header checksum is right for the header (options included).
    pub fn checksum_ok(&self) -> bool {
        checksum::verifies(self.header)
    }
    /// Source address.
    pub fn src(&self) -> Ipv4Addr {
        Ipv4Addr::new(
            self.fixed[12],
            self.fixed[13],
            self.fixed[14],
            self.fixed[15],
        )
    }
    /// Destination address.
    pub fn dst(&self) -> Ipv4Addr {
        Ipv4Addr::new(
            self.fixed[16],
            self.fixed[17],
            self.fixed[18],
            self.fixed[19],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h() -> Ipv4Header {
        Ipv4Fields {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            ip_id: 0x0102,
            ttl: 3,
        }
        .header()
    }

    #[test]
    fn total_length_must_fit_sixteen_bits() {
        let mut buf = [0u8; 20];
        assert_eq!(write_ipv4(&mut buf, &h(), 6, 65515), Some(20));
        assert_eq!(write_ipv4(&mut buf, &h(), 6, 65516), None);
        assert_eq!(write_ipv4(&mut buf[..19], &h(), 6, 0), None);
    }

    #[test]
    fn layered_build_refuses_an_upper_layer_that_lies_about_its_length() {
        let mut buf = [0u8; 40];
        let short = build_ipv4(&mut buf, &h(), 17, 8, |_, _| Some(7));
        assert_eq!(short, None);
        let ok = build_ipv4(&mut buf, &h(), 17, 8, |_, _| Some(8));
        assert_eq!(ok, Some(28));
        let v = Ipv4View::parse(&buf[..28]).expect("parses");
        assert_eq!(
            (v.id(), v.ttl(), v.proto(), v.total_len()),
            (0x0102, 3, 17, 28)
        );
        assert!(v.checksum_ok());
    }
}
