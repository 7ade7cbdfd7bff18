//! Reply parsers: an IPv4 packet in, a small owned [`Reply`] out.
//!
//! Every length field is checked against the bytes actually present before
//! anything behind it is read, and only pnet's fixed-offset getters are used
//! (never its payload/options accessors, which trust the length fields), so
//! arbitrary bytes yield `None`, not a panic.
//!
//! Checksums are deliberately not verified: on veth and loopback captures
//! they are often left for offload and never filled in, and the SYN cookie
//! already rejects anything that is not an answer to one of our probes.

use std::net::Ipv4Addr;

use pnet_packet::ethernet::EthernetPacket;
use pnet_packet::icmp::IcmpPacket;
use pnet_packet::ipv4::Ipv4Packet;
use pnet_packet::tcp::TcpPacket;

use super::{TcpFlags, ETHERNET_HEADER_LEN, ETHERTYPE_IPV4, IPPROTO_ICMP, IPPROTO_TCP};

const ICMP_ECHO_REPLY: u8 = 0;
const ICMP_DEST_UNREACHABLE: u8 = 3;
const ICMP_TIMESTAMP_REPLY: u8 = 14;
/// Type, code, checksum and the 4 "rest of header" bytes that precede the
/// quoted datagram in a destination-unreachable message.
const ICMP_ERROR_HEADER_LEN: usize = 8;
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

/// Returns the IPv4 packet inside an Ethernet II frame, or `None` when the
/// frame is shorter than an Ethernet header or its EtherType is not IPv4
/// (0x0800). VLAN-tagged frames (0x8100) are refused too: on Linux the
/// kernel strips the tag into packet metadata before AF_PACKET sees the
/// frame, so a tag still in the bytes means a trunk we were not asked to scan.
pub fn strip_ethernet(frame: &[u8]) -> Option<&[u8]> {
    let eth = EthernetPacket::new(frame)?;
    if eth.get_ethertype().0 != ETHERTYPE_IPV4 {
        return None;
    }
    frame.get(ETHERNET_HEADER_LEN..)
}

/// Parses an IPv4 packet (no link-layer header) into a [`Reply`].
///
/// Returns `None` for anything that cannot answer a probe of ours: not
/// IPv4, a bad IHL, a total length larger than the bytes present, a
/// non-first fragment, a truncated transport header, or a protocol / ICMP
/// type we do not handle. Bytes beyond the IPv4 total length (Ethernet
/// padding) are ignored.
pub fn parse_reply(packet: &[u8]) -> Option<Reply> {
    let ip = Ipv4View::new(packet)?;
    match ip.proto {
        IPPROTO_TCP => parse_tcp(&ip).map(Reply::Tcp),
        IPPROTO_ICMP => parse_icmp(&ip),
        _ => None,
    }
}

/// A validated IPv4 header and the transport bytes it delimits.
struct Ipv4View<'a> {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    proto: u8,
    payload: &'a [u8],
}

impl<'a> Ipv4View<'a> {
    fn new(packet: &'a [u8]) -> Option<Self> {
        let ip = Ipv4Packet::new(packet)?;
        if ip.get_version() != 4 || ip.get_fragment_offset() != 0 {
            return None;
        }
        let ihl = usize::from(ip.get_header_length()) * 4;
        let total = usize::from(ip.get_total_length());
        if ihl < 20 || total < ihl {
            return None;
        }
        Some(Ipv4View {
            src: ip.get_source(),
            dst: ip.get_destination(),
            ttl: ip.get_ttl(),
            proto: ip.get_next_level_protocol().0,
            payload: packet.get(ihl..total)?,
        })
    }
}

fn parse_tcp(ip: &Ipv4View<'_>) -> Option<TcpReply> {
    let tcp = TcpPacket::new(ip.payload)?;
    let doff = usize::from(tcp.get_data_offset()) * 4;
    if doff < 20 || doff > ip.payload.len() {
        return None;
    }
    Some(TcpReply {
        src: ip.src,
        dst: ip.dst,
        sport: tcp.get_source(),
        dport: tcp.get_destination(),
        seq: tcp.get_sequence(),
        ack: tcp.get_acknowledgement(),
        flags: TcpFlags(tcp.get_flags()),
        window: tcp.get_window(),
        ttl: ip.ttl,
    })
}

fn parse_icmp(ip: &Ipv4View<'_>) -> Option<Reply> {
    let msg = ip.payload;
    let icmp = IcmpPacket::new(msg)?;
    match icmp.get_icmp_type().0 {
        ICMP_ECHO_REPLY => Some(Reply::IcmpEchoReply(IcmpEchoReply {
            src: ip.src,
            dst: ip.dst,
            id: be16(msg, 4)?,
            seq: be16(msg, 6)?,
            ttl: ip.ttl,
        })),
        ICMP_TIMESTAMP_REPLY => Some(Reply::IcmpTimestampReply(IcmpTimestampReply {
            src: ip.src,
            dst: ip.dst,
            id: be16(msg, 4)?,
            seq: be16(msg, 6)?,
            ttl: ip.ttl,
            originate: be32(msg, 8)?,
            receive: be32(msg, 12)?,
            transmit: be32(msg, 16)?,
        })),
        ICMP_DEST_UNREACHABLE => parse_quoted(
            ip,
            icmp.get_icmp_code().0,
            msg.get(ICMP_ERROR_HEADER_LEN..)?,
        )
        .map(Reply::IcmpUnreachable),
        _ => None,
    }
}

/// Parses the datagram quoted by an ICMP error. Its total length is not
/// checked against the quote: routers quote only a prefix by design.
fn parse_quoted(ip: &Ipv4View<'_>, code: u8, quoted: &[u8]) -> Option<IcmpUnreachable> {
    let inner = Ipv4Packet::new(quoted)?;
    // A non-first fragment's quoted bytes are not a transport header.
    if inner.get_version() != 4 || inner.get_fragment_offset() != 0 {
        return None;
    }
    let ihl = usize::from(inner.get_header_length()) * 4;
    if ihl < 20 {
        return None;
    }
    let transport = quoted.get(ihl..ihl.checked_add(QUOTED_TRANSPORT_LEN)?)?;
    Some(IcmpUnreachable {
        from: ip.src,
        code,
        ttl: ip.ttl,
        orig_src: inner.get_source(),
        orig_dst: inner.get_destination(),
        orig_proto: inner.get_next_level_protocol().0,
        orig_sport: be16(transport, 0)?,
        orig_dport: be16(transport, 2)?,
        orig_seq: be32(transport, 4)?,
    })
}

#[inline]
fn be16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes(s.try_into().ok()?))
}

#[inline]
fn be32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes(s.try_into().ok()?))
}
