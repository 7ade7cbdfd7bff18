//! Reply classification for the scan engines: an IPv4 or IPv6 packet in, a
//! small owned [`Reply`] out, read through the views of the other modules
//! (which check every length field against the bytes present, so arbitrary
//! bytes yield `None`, not a panic).
//!
//! Addresses are [`IpAddr`]: one scan is one family, but the engines share
//! one receive path, and a `Reply` that said which family it came from in
//! its type would double every match in them for no gain. The IPv6 half is
//! in `reply6`.
//!
//! Checksums are deliberately not verified: on veth and loopback captures
//! they are often left for offload and never filled in, and the SYN cookie
//! already rejects anything that is not an answer to one of our probes.

use std::net::IpAddr;

use super::icmp::{
    IcmpView, QuotedTransport, ICMP_ADDRESS_MASK_REPLY, ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY,
    ICMP_TIMESTAMP_REPLY,
};
use super::ipv4::Ipv4View;
use super::tcp::{TcpFlags, TcpView};
use super::udp::UDP_HEADER_LEN;
use super::{IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP};

/// RFC 792 guarantees only this much of the original transport header.
pub(super) const QUOTED_TRANSPORT_LEN: usize = 8;

/// A parsed reply that may answer one of our probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reply {
    /// A TCP segment (SYN-ACK, RST, ...).
    Tcp(TcpReply),
    /// An ICMP or ICMPv6 error quoting one of our packets: destination
    /// unreachable (both families); packet too big, time exceeded and
    /// parameter problem (IPv6).
    IcmpError(IcmpError),
    /// ICMP echo reply (type 0) or ICMPv6 echo reply (type 129).
    IcmpEchoReply(IcmpEchoReply),
    /// ICMP timestamp reply (type 14; IPv4 only).
    IcmpTimestampReply(IcmpTimestampReply),
    /// ICMP address mask reply (type 18; IPv4 only): its identifier and
    /// sequence, as an echo reply's (the mask itself is not needed).
    IcmpMaskReply(IcmpEchoReply),
    /// A UDP datagram: an answer to a UDP probe, or anyone's traffic.
    Udp(UdpReply),
}

/// The fields of a TCP reply a scanner needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpReply {
    /// The replying host (the probe's destination).
    pub src: IpAddr,
    /// The reply's destination (our address).
    pub dst: IpAddr,
    /// The replying port (the probe's destination port).
    pub sport: u16,
    /// Our port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (meaningful only when ACK is set).
    pub ack: u32,
    /// Control bits.
    pub flags: TcpFlags,
    /// Advertised window.
    pub window: u16,
    /// IPv4 time to live or IPv6 hop limit as received.
    pub ttl: u8,
}

impl TcpReply {
    /// SYN and ACK set, RST clear: the port is open.
    #[inline]
    pub fn is_syn_ack(&self) -> bool {
        self.flags.contains(TcpFlags::SYN_ACK) && !self.flags.contains(TcpFlags::RST)
    }

    /// RST set: the port is closed (SYN probe) or the host is up (ACK probe).
    #[inline]
    pub fn is_rst(&self) -> bool {
        self.flags.contains(TcpFlags::RST)
    }
}

/// Which ICMP error an [`IcmpError`] is. The codes of each are the
/// family's own (ICMPv4 port unreachable is code 3, ICMPv6's is code 4),
/// so read `code` together with the family of `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IcmpErrorKind {
    /// Destination unreachable (ICMPv4 type 3, ICMPv6 type 1).
    Unreachable,
    /// Packet too big (ICMPv6 type 2).
    PacketTooBig,
    /// Time exceeded (ICMPv6 type 3).
    TimeExceeded,
    /// Parameter problem (ICMPv6 type 4).
    ParameterProblem,
}

/// An ICMP error and the packet it quotes.
///
/// The quoted transport bytes are the first 8 of the original header: for
/// TCP that is ports and sequence number, which is what lets the cookie tell
/// our probes from anyone else's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpError {
    /// Who sent the error (a router, or the target itself).
    pub from: IpAddr,
    /// Which error.
    pub kind: IcmpErrorKind,
    /// ICMP code, in the numbering of `from`'s family.
    pub code: u8,
    /// Time to live (IPv4) or hop limit (IPv6) of the error as received.
    pub ttl: u8,
    /// Source of the quoted packet (our address, if it was our probe).
    pub orig_src: IpAddr,
    /// Destination of the quoted packet (the target).
    pub orig_dst: IpAddr,
    /// Transport protocol of the quoted packet (after any IPv6 extension
    /// headers).
    pub orig_proto: u8,
    /// Bytes 0..2 of the quoted transport header (TCP/UDP source port).
    pub orig_sport: u16,
    /// Bytes 2..4 of the quoted transport header (TCP/UDP destination port).
    pub orig_dport: u16,
    /// Bytes 4..8 of the quoted transport header (TCP sequence number; for
    /// other protocols whatever sits there).
    pub orig_seq: u32,
    /// The quoted IP header's tag field: the IPv4 identification (16 bits)
    /// or the IPv6 flow label (20 bits). The UDP engine keys it, because a
    /// quoted UDP header has no field of its own to key.
    pub orig_tag: u32,
}

impl IcmpError {
    /// True when the error came from an IPv6 host (ICMPv6 numbering).
    #[inline]
    pub fn is_v6(&self) -> bool {
        self.from.is_ipv6()
    }
}

/// An ICMP or ICMPv6 echo reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpEchoReply {
    /// The replying host.
    pub src: IpAddr,
    /// Our address.
    pub dst: IpAddr,
    /// Identifier, echoed from the request.
    pub id: u16,
    /// Sequence number, echoed from the request.
    pub seq: u16,
    /// Time to live or hop limit as received.
    pub ttl: u8,
}

/// An ICMP timestamp reply (IPv4 only; ICMPv6 has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpTimestampReply {
    /// The replying host.
    pub src: IpAddr,
    /// Our address.
    pub dst: IpAddr,
    /// Identifier, echoed from the request.
    pub id: u16,
    /// Sequence number, echoed from the request.
    pub seq: u16,
    /// IPv4 time to live as received.
    pub ttl: u8,
    /// Originate timestamp (echoed from the request).
    pub originate: u32,
    /// Receive timestamp (ms since midnight UT, per RFC 792, if the host is honest).
    pub receive: u32,
    /// Transmit timestamp.
    pub transmit: u32,
}

/// Bytes of a UDP reply's payload kept in a [`UdpReply`]: enough for the
/// echoed fields the UDP engine checks (a DNS ID at 0, an NTP originate
/// timestamp at 24..32), without a lifetime on [`Reply`].
pub const UDP_REPLY_HEAD: usize = 32;

/// A UDP datagram as the UDP engine needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpReply {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    /// Time to live or hop limit as received.
    pub ttl: u8,
    /// The first bytes of the payload (the rest of `head` is zero).
    pub head: [u8; UDP_REPLY_HEAD],
    /// How many bytes of `head` are payload.
    pub head_len: u8,
}

impl UdpReply {
    /// The payload bytes kept (at most [`UDP_REPLY_HEAD`]).
    pub fn head(&self) -> &[u8] {
        &self.head[..usize::from(self.head_len)]
    }
}

/// The outer header's fields every reply kind copies.
#[derive(Debug, Clone, Copy)]
pub(super) struct Outer {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
}

/// Parses an IP packet (no link-layer header) into a [`Reply`], IPv4 or
/// IPv6 by its version nibble.
///
/// Returns `None` for anything that cannot answer a probe of ours: another
/// version, a bad header length, a non-first fragment, a truncated
/// transport header, an IPv6 extension-header chain that runs off the
/// bytes, or a protocol / ICMP type we do not handle. Bytes beyond the
/// packet's stated length (Ethernet padding) are ignored; a packet cut
/// short of its stated length (a capture) is read as far as it goes.
pub fn parse_reply(packet: &[u8]) -> Option<Reply> {
    match packet.first()? >> 4 {
        4 => parse_v4(packet),
        6 => super::reply6::parse_v6(packet),
        _ => None,
    }
}

fn parse_v4(packet: &[u8]) -> Option<Reply> {
    // Captures are cut at the receive slot: a large UDP answer, or an ICMP
    // error quoting a large probe, is longer than the bytes kept of it.
    let ip = Ipv4View::parse_capture(packet)?;
    if !ip.is_first_fragment() {
        return None;
    }
    let outer = Outer {
        src: IpAddr::V4(ip.src()),
        dst: IpAddr::V4(ip.dst()),
        ttl: ip.ttl(),
    };
    match ip.proto() {
        IPPROTO_TCP => tcp_reply(outer, ip.payload()).map(Reply::Tcp),
        IPPROTO_ICMP => parse_icmp(outer, ip.payload()),
        IPPROTO_UDP => udp_reply(outer, ip.payload()).map(Reply::Udp),
        _ => None,
    }
}

/// A TCP header at the start of `seg`.
pub(super) fn tcp_reply(o: Outer, seg: &[u8]) -> Option<TcpReply> {
    let tcp = TcpView::parse(seg)?;
    Some(TcpReply {
        src: o.src,
        dst: o.dst,
        sport: tcp.sport(),
        dport: tcp.dport(),
        seq: tcp.seq(),
        ack: tcp.ack(),
        flags: tcp.flags(),
        window: tcp.window(),
        ttl: o.ttl,
    })
}

fn parse_icmp(o: Outer, msg: &[u8]) -> Option<Reply> {
    let icmp = IcmpView::parse(msg)?;
    match icmp.icmp_type() {
        ICMP_ECHO_REPLY => Some(Reply::IcmpEchoReply(echo_reply(o, &icmp))),
        ICMP_TIMESTAMP_REPLY => {
            let [originate, receive, transmit] = icmp.timestamps()?;
            Some(Reply::IcmpTimestampReply(IcmpTimestampReply {
                src: o.src,
                dst: o.dst,
                id: icmp.id(),
                seq: icmp.seq(),
                ttl: o.ttl,
                originate,
                receive,
                transmit,
            }))
        }
        ICMP_ADDRESS_MASK_REPLY => Some(Reply::IcmpMaskReply(echo_reply(o, &icmp))),
        ICMP_DEST_UNREACHABLE => parse_quoted(o, &icmp).map(Reply::IcmpError),
        _ => None,
    }
}

pub(super) fn echo_reply(o: Outer, icmp: &IcmpView<'_>) -> IcmpEchoReply {
    IcmpEchoReply {
        src: o.src,
        dst: o.dst,
        id: icmp.id(),
        seq: icmp.seq(),
        ttl: o.ttl,
    }
}

/// Parses the datagram quoted by an ICMPv4 error. Its total length is not
/// checked against the quote: routers quote only a prefix by design.
fn parse_quoted(o: Outer, icmp: &IcmpView<'_>) -> Option<IcmpError> {
    let inner = icmp.quoted_ipv4()?;
    // A non-first fragment's quoted bytes are not a transport header.
    if !inner.is_first_fragment() {
        return None;
    }
    let quoted = Quoted {
        src: IpAddr::V4(inner.src()),
        dst: IpAddr::V4(inner.dst()),
        proto: inner.proto(),
        tag: u32::from(inner.id()),
        transport: inner.payload(),
    };
    quoted.error(o, IcmpErrorKind::Unreachable, icmp.code())
}

/// What both families' quoted packets give an [`IcmpError`].
pub(super) struct Quoted<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub tag: u32,
    pub transport: &'a [u8],
}

impl Quoted<'_> {
    /// `None` when the quote kept fewer than the 8 transport bytes every
    /// engine needs.
    pub(super) fn error(&self, o: Outer, kind: IcmpErrorKind, code: u8) -> Option<IcmpError> {
        let transport = QuotedTransport(self.transport.get(..QUOTED_TRANSPORT_LEN)?);
        Some(IcmpError {
            from: o.src,
            kind,
            code,
            ttl: o.ttl,
            orig_src: self.src,
            orig_dst: self.dst,
            orig_proto: self.proto,
            orig_sport: transport.sport()?,
            orig_dport: transport.dport()?,
            orig_seq: transport.word1()?,
            orig_tag: self.tag,
        })
    }
}

/// Reads a UDP header leniently: a capture may be cut short of the length
/// field, and only the header and the payload's first bytes matter here.
pub(super) fn udp_reply(o: Outer, seg: &[u8]) -> Option<UdpReply> {
    let header = seg.get(..UDP_HEADER_LEN)?;
    let declared = usize::from(u16::from_be_bytes([header[4], header[5]]));
    if declared < UDP_HEADER_LEN {
        return None;
    }
    let end = declared.min(seg.len());
    let payload = seg.get(UDP_HEADER_LEN..end)?;
    let n = payload.len().min(UDP_REPLY_HEAD);
    let mut head = [0u8; UDP_REPLY_HEAD];
    head[..n].copy_from_slice(&payload[..n]);
    Some(UdpReply {
        src: o.src,
        dst: o.dst,
        sport: u16::from_be_bytes([header[0], header[1]]),
        dport: u16::from_be_bytes([header[2], header[3]]),
        ttl: o.ttl,
        head,
        head_len: n as u8,
    })
}
