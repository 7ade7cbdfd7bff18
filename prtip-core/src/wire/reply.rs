//! Reply classification for the scan engines: an IPv4 packet in, a small
//! owned [`Reply`] out, read through the views of the other modules (which
//! check every length field against the bytes present, so arbitrary bytes
//! yield `None`, not a panic).
//!
//! Checksums are deliberately not verified: on veth and loopback captures
//! they are often left for offload and never filled in, and the SYN cookie
//! already rejects anything that is not an answer to one of our probes.

use std::net::Ipv4Addr;

use super::icmp::{
    IcmpView, QuotedTransport, ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_TIMESTAMP_REPLY,
};
use super::ipv4::Ipv4View;
use super::tcp::{TcpFlags, TcpView};
use super::udp::UDP_HEADER_LEN;
use super::{IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP};

/// RFC 792 guarantees only this much of the original transport header.
const QUOTED_TRANSPORT_LEN: usize = 8;

/// A parsed reply that may answer one of our probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reply {
    /// A TCP segment (SYN-ACK, RST, ...).
    Tcp(TcpReply),
    /// ICMP destination unreachable (type 3) quoting one of our packets.
    IcmpUnreachable(IcmpUnreachable),
    /// ICMP echo reply (type 0).
    IcmpEchoReply(IcmpEchoReply),
    /// ICMP timestamp reply (type 14).
    IcmpTimestampReply(IcmpTimestampReply),
    /// A UDP datagram: an answer to a UDP probe, or anyone's traffic.
    Udp(UdpReply),
}

/// The fields of a TCP reply a scanner needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpReply {
    /// The replying host (the probe's destination).
    pub src: Ipv4Addr,
    /// The reply's destination (our address).
    pub dst: Ipv4Addr,
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
    /// IPv4 time to live as received.
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

/// An ICMP destination-unreachable message and the packet it quotes.
///
/// The quoted transport bytes are the first 8 of the original header: for
/// TCP that is ports and sequence number, which is what lets the cookie tell
/// our probes from anyone else's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpUnreachable {
    /// Who sent the error (a router, or the target itself).
    pub from: Ipv4Addr,
    /// ICMP code (0 net, 1 host, 3 port, 9/10/13 administratively prohibited, ...).
    pub code: u8,
    /// IPv4 time to live of the ICMP message as received.
    pub ttl: u8,
    /// Source of the quoted packet (our address, if it was our probe).
    pub orig_src: Ipv4Addr,
    /// Destination of the quoted packet (the target).
    pub orig_dst: Ipv4Addr,
    /// IP protocol of the quoted packet.
    pub orig_proto: u8,
    /// Bytes 0..2 of the quoted transport header (TCP/UDP source port).
    pub orig_sport: u16,
    /// Bytes 2..4 of the quoted transport header (TCP/UDP destination port).
    pub orig_dport: u16,
    /// Bytes 4..8 of the quoted transport header (TCP sequence number; for
    /// other protocols whatever sits there).
    pub orig_seq: u32,
    /// Identification field of the quoted IP header: the UDP engine keys
    /// it, because a quoted UDP header has no field of its own to key.
    pub orig_ip_id: u16,
}

/// An ICMP echo reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpEchoReply {
    /// The replying host.
    pub src: Ipv4Addr,
    /// Our address.
    pub dst: Ipv4Addr,
    /// Identifier, echoed from the request.
    pub id: u16,
    /// Sequence number, echoed from the request.
    pub seq: u16,
    /// IPv4 time to live as received.
    pub ttl: u8,
}

/// An ICMP timestamp reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpTimestampReply {
    /// The replying host.
    pub src: Ipv4Addr,
    /// Our address.
    pub dst: Ipv4Addr,
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

/// Parses an IPv4 packet (no link-layer header) into a [`Reply`].
///
/// Returns `None` for anything that cannot answer a probe of ours: not
/// IPv4, a bad IHL, a total length shorter than the header, a non-first
/// fragment, a truncated transport header, or a protocol / ICMP type we do
/// not handle. Bytes beyond the IPv4 total length (Ethernet padding) are
/// ignored; a packet cut short of its total length (a capture) is read as
/// far as it goes.
pub fn parse_reply(packet: &[u8]) -> Option<Reply> {
    // Captures are cut at the receive slot: a large UDP answer, or an ICMP
    // error quoting a large probe, is longer than the bytes kept of it.
    let ip = Ipv4View::parse_capture(packet)?;
    if !ip.is_first_fragment() {
        return None;
    }
    match ip.proto() {
        IPPROTO_TCP => parse_tcp(&ip).map(Reply::Tcp),
        IPPROTO_ICMP => parse_icmp(&ip),
        IPPROTO_UDP => parse_udp(&ip).map(Reply::Udp),
        _ => None,
    }
}

fn parse_tcp(ip: &Ipv4View<'_>) -> Option<TcpReply> {
    let tcp = TcpView::parse(ip.payload())?;
    Some(TcpReply {
        src: ip.src(),
        dst: ip.dst(),
        sport: tcp.sport(),
        dport: tcp.dport(),
        seq: tcp.seq(),
        ack: tcp.ack(),
        flags: tcp.flags(),
        window: tcp.window(),
        ttl: ip.ttl(),
    })
}

fn parse_icmp(ip: &Ipv4View<'_>) -> Option<Reply> {
    let icmp = IcmpView::parse(ip.payload())?;
    match icmp.icmp_type() {
        ICMP_ECHO_REPLY => Some(Reply::IcmpEchoReply(IcmpEchoReply {
            src: ip.src(),
            dst: ip.dst(),
            id: icmp.id(),
            seq: icmp.seq(),
            ttl: ip.ttl(),
        })),
        ICMP_TIMESTAMP_REPLY => {
            let [originate, receive, transmit] = icmp.timestamps()?;
            Some(Reply::IcmpTimestampReply(IcmpTimestampReply {
                src: ip.src(),
                dst: ip.dst(),
                id: icmp.id(),
                seq: icmp.seq(),
                ttl: ip.ttl(),
                originate,
                receive,
                transmit,
            }))
        }
        ICMP_DEST_UNREACHABLE => parse_quoted(ip, &icmp).map(Reply::IcmpUnreachable),
        _ => None,
    }
}

/// Parses the datagram quoted by an ICMP error. Its total length is not
/// checked against the quote: routers quote only a prefix by design.
fn parse_quoted(ip: &Ipv4View<'_>, icmp: &IcmpView<'_>) -> Option<IcmpUnreachable> {
    let inner = icmp.quoted_ipv4()?;
    // A non-first fragment's quoted bytes are not a transport header.
    if !inner.is_first_fragment() {
        return None;
    }
    let transport = QuotedTransport(inner.payload().get(..QUOTED_TRANSPORT_LEN)?);
    Some(IcmpUnreachable {
        from: ip.src(),
        code: icmp.code(),
        ttl: ip.ttl(),
        orig_src: inner.src(),
        orig_dst: inner.dst(),
        orig_proto: inner.proto(),
        orig_sport: transport.sport()?,
        orig_dport: transport.dport()?,
        orig_seq: transport.word1()?,
        orig_ip_id: inner.id(),
    })
}

/// Bytes of a UDP reply's payload kept in a [`UdpReply`]: enough for the
/// echoed fields the UDP engine checks (a DNS ID at 0, an NTP originate
/// timestamp at 24..32), without a lifetime on [`Reply`].
pub const UDP_REPLY_HEAD: usize = 32;

/// A UDP datagram as the UDP engine needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpReply {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
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

/// Reads a UDP header leniently: a capture may be cut short of the length
/// field, and only the header and the payload's first bytes matter here.
fn parse_udp(ip: &Ipv4View<'_>) -> Option<UdpReply> {
    let seg = ip.payload();
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
        src: ip.src(),
        dst: ip.dst(),
        sport: u16::from_be_bytes([header[0], header[1]]),
        dport: u16::from_be_bytes([header[2], header[3]]),
        ttl: ip.ttl(),
        head,
        head_len: n as u8,
    })
}
