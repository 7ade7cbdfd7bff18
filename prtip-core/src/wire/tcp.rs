//! TCP headers: flags, the segment builder (any flags, reserved bits,
//! urgent pointer and options, as OS detection needs), and the view of a
//! received segment with its options.

use pnet_packet::tcp::MutableTcpPacket;

use super::bytes::be32;
use super::checksum;
use super::ipv4::{build_ipv4, Ipv4Header};
use super::ipv6::{build_ipv6, Ipv6Header};
use super::IPPROTO_TCP;

/// Length of a TCP header without options.
pub const TCP_HEADER_LEN: usize = 20;
/// The most option bytes a TCP header can carry (data offset 15).
pub const TCP_MAX_OPTIONS_LEN: usize = 40;

/// TCP option kinds the views know by name.
pub const TCP_OPT_EOL: u8 = 0;
/// No-operation (padding).
pub const TCP_OPT_NOP: u8 = 1;
/// Maximum segment size.
pub const TCP_OPT_MSS: u8 = 2;
/// Window scale.
pub const TCP_OPT_WSCALE: u8 = 3;
/// SACK permitted.
pub const TCP_OPT_SACK_PERMITTED: u8 = 4;
/// Timestamps.
pub const TCP_OPT_TIMESTAMP: u8 = 8;

/// The control bits of a TCP header (the flags byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No more data from sender.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// Push function.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// The acknowledgment field is significant.
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// The urgent pointer is significant.
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// ECN-Echo (RFC 3168).
    pub const ECE: TcpFlags = TcpFlags(0x40);
    /// Congestion window reduced (RFC 3168).
    pub const CWR: TcpFlags = TcpFlags(0x80);
    /// SYN and ACK: the "open" answer to a SYN probe.
    pub const SYN_ACK: TcpFlags = TcpFlags(0x12);
    /// RST and ACK: the "closed" answer to a SYN probe.
    pub const RST_ACK: TcpFlags = TcpFlags(0x14);

    /// True when every bit of `other` is set in `self`.
    #[inline]
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of both sets.
    #[inline]
    pub const fn union(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | other.0)
    }
}

impl std::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    #[inline]
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        self.union(rhs)
    }
}

/// Every field of a TCP header a probe can set. The checksum is computed
/// and the data offset follows from `options`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpHeader<'a> {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Control bits (CWR and ECE included).
    pub flags: TcpFlags,
    /// The four reserved bits after the data offset (low nibble).
    pub reserved: u8,
    /// Advertised window.
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Option bytes, already padded to a multiple of 4, at most 40.
    pub options: &'a [u8],
}

impl TcpHeader<'_> {
    /// Header length with options.
    pub const fn len(&self) -> usize {
        TCP_HEADER_LEN + self.options.len()
    }

    /// Never true: a TCP header is at least 20 bytes.
    pub const fn is_empty(&self) -> bool {
        false
    }
}

/// Writes the segment `h` (header only, no data) into `seg` with its
/// checksum started from `pseudo`, the pseudo-header sum
/// ([`checksum::ipv4_pseudo_sum`] / [`checksum::ipv6_pseudo_sum`]).
///
/// Returns its length, or `None` if `seg` is too short or the options are
/// not whole 32-bit words within the 40-byte limit.
#[inline]
pub fn write_tcp(seg: &mut [u8], h: &TcpHeader<'_>, pseudo: u32) -> Option<usize> {
    if h.options.len() % 4 != 0 || h.options.len() > TCP_MAX_OPTIONS_LEN {
        return None;
    }
    let len = h.len();
    let seg = seg.get_mut(..len)?;
    {
        let mut t = MutableTcpPacket::new(seg)?;
        t.set_source(h.sport);
        t.set_destination(h.dport);
        t.set_sequence(h.seq);
        t.set_acknowledgement(h.ack);
        // Whole words, checked above: 5..=15.
        t.set_data_offset((len / 4) as u8);
        t.set_reserved(h.reserved & 0x0f);
        t.set_flags(h.flags.0);
        t.set_window(h.window);
        t.set_checksum(0);
        t.set_urgent_ptr(h.urgent);
    }
    seg.get_mut(TCP_HEADER_LEN..)?.copy_from_slice(h.options);
    let sum = checksum::fold(pseudo + checksum::sum(seg));
    seg.get_mut(16..18)?.copy_from_slice(&sum.to_be_bytes());
    Some(len)
}

/// Builds IPv4 + TCP. Returns the packet length, or `None` if `buf` is too
/// short or the options are malformed (see [`write_tcp`]).
#[inline]
pub fn build_ipv4_tcp(buf: &mut [u8], ip: &Ipv4Header, tcp: &TcpHeader<'_>) -> Option<usize> {
    build_ipv4(buf, ip, IPPROTO_TCP, tcp.len(), |seg, pseudo| {
        write_tcp(seg, tcp, pseudo)
    })
}

/// Builds IPv6 + TCP (no extension headers), like [`build_ipv4_tcp`].
pub fn build_ipv6_tcp(buf: &mut [u8], ip: &Ipv6Header, tcp: &TcpHeader<'_>) -> Option<usize> {
    build_ipv6(buf, ip, IPPROTO_TCP, tcp.len(), |seg, pseudo| {
        write_tcp(seg, tcp, pseudo)
    })
}

/// A received TCP segment: the fixed header, its options and its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpView<'a> {
    fixed: &'a [u8; TCP_HEADER_LEN],
    options: &'a [u8],
    payload: &'a [u8],
}

impl<'a> TcpView<'a> {
    /// `seg` must hold the whole header its data offset claims (20..=60).
    pub fn parse(seg: &'a [u8]) -> Option<Self> {
        let fixed = seg.first_chunk::<TCP_HEADER_LEN>()?;
        let doff = usize::from(fixed[12] >> 4) * 4;
        if doff < TCP_HEADER_LEN {
            return None;
        }
        Some(TcpView {
            fixed,
            options: seg.get(TCP_HEADER_LEN..doff)?,
            payload: seg.get(doff..)?,
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
    /// Sequence number.
    pub fn seq(&self) -> u32 {
        u32::from_be_bytes([self.fixed[4], self.fixed[5], self.fixed[6], self.fixed[7]])
    }
    /// Acknowledgment number.
    pub fn ack(&self) -> u32 {
        u32::from_be_bytes([self.fixed[8], self.fixed[9], self.fixed[10], self.fixed[11]])
    }
    /// The four reserved bits after the data offset.
    pub fn reserved(&self) -> u8 {
        self.fixed[12] & 0x0f
    }
    /// Control bits.
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.fixed[13])
    }
    /// Advertised window.
    pub fn window(&self) -> u16 {
        u16::from_be_bytes([self.fixed[14], self.fixed[15]])
    }
    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.fixed[16], self.fixed[17]])
    }
    /// Urgent pointer.
    pub fn urgent(&self) -> u16 {
        u16::from_be_bytes([self.fixed[18], self.fixed[19]])
    }
    /// Option bytes as received (at most 40).
    pub fn options(&self) -> &'a [u8] {
        self.options
    }
    /// The segment's data.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// One TCP option: its kind and the bytes after the kind and length bytes
/// (empty for EOL and NOP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpOption<'a> {
    /// Option kind.
    pub kind: u8,
    /// Option data.
    pub data: &'a [u8],
}

/// Walks option bytes. EOL and NOP are yielded as one-byte options and the
/// walk goes on past an EOL (stacks pad after it, and what follows is
/// still worth reporting); it stops at an option whose length byte is
/// missing, below 2 or past the end.
#[derive(Debug, Clone)]
pub struct TcpOptions<'a>(&'a [u8]);

impl<'a> TcpOptions<'a> {
    /// The options in `bytes` (e.g. [`TcpView::options`]).
    pub fn new(bytes: &'a [u8]) -> Self {
        TcpOptions(bytes)
    }

    /// TSval and TSecr of the first well-formed timestamp option.
    pub fn timestamp(mut self) -> Option<(u32, u32)> {
        let o = self.find(|o| o.kind == TCP_OPT_TIMESTAMP && o.data.len() == 8)?;
        Some((be32(o.data, 0)?, be32(o.data, 4)?))
    }
}

impl<'a> Iterator for TcpOptions<'a> {
    type Item = TcpOption<'a>;

    fn next(&mut self) -> Option<TcpOption<'a>> {
        let (&kind, rest) = self.0.split_first()?;
        if kind == TCP_OPT_EOL || kind == TCP_OPT_NOP {
            self.0 = rest;
            return Some(TcpOption { kind, data: &[] });
        }
        let len = usize::from(*rest.first()?);
        // A length below 2 makes an empty or inverted range: refused too.
        let Some(data) = self.0.get(2..len) else {
            self.0 = &[];
            return None;
        };
        self.0 = self.0.get(len..).unwrap_or_default();
        Some(TcpOption { kind, data })
    }
}
