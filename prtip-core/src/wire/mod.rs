//! Wire formats for the stateless scans: probe builders and reply parsers.
//!
//! Everything here works on caller-provided byte slices and returns values by
//! copy, so the hot path of a scan neither allocates nor panics, whatever the
//! network hands it. The `pnet_packet` crate does the field layout; it is
//! an implementation detail of this module and never appears in its API, so
//! the rest of prtip is insulated from pnet's version churn.
//!
//! Layout of a frame as the engines see it:
//!
//! ```text
//! [ Ethernet (14, only on AF_PACKET) ][ IPv4 (20) ][ TCP (24) | ICMP (8 / 20) ]
//! ```
//!
//! Builders write the IPv4 packet at the start of the slice they are given;
//! for AF_PACKET, write the Ethernet header with [`write_ethernet`] and pass
//! `&mut buf[ETHERNET_HEADER_LEN..]` to the builder. Parsers take an IPv4
//! packet; [`strip_ethernet`] turns an AF_PACKET frame into one.
//!
//! For the SYN engine's hot loop, [`SynTemplate`] writes the same bytes as
//! [`build_syn`] from a precomputed packet and partial checksums.

mod build;
mod parse;

pub use build::{
    build_icmp_echo, build_icmp_timestamp, build_rst, build_syn, build_tcp, build_tcp_ack,
    build_tcp_syn, write_ethernet, Ipv4Fields, SynTemplate, TcpFields, DEFAULT_TTL, ICMP_ECHO_LEN,
    ICMP_TIMESTAMP_LEN, NMAP_MSS, NMAP_WINDOW, SYN_LEN, TCP_NO_OPTIONS_LEN,
};
pub use parse::{
    parse_reply, strip_ethernet, IcmpEchoReply, IcmpTimestampReply, IcmpUnreachable, Reply,
    TcpReply,
};

/// Length of an Ethernet II header (no VLAN tag).
pub const ETHERNET_HEADER_LEN: usize = 14;
/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// Length of the IPv4 header the builders write (no options).
pub const IPV4_HEADER_LEN: usize = 20;
/// IP protocol number of ICMP.
pub const IPPROTO_ICMP: u8 = 1;
/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;

/// A 48-bit hardware address.
pub type MacAddr = [u8; 6];

/// The two addresses of an Ethernet II header; the EtherType is always IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthernetHeader {
    /// Next hop's address (the gateway's, for anything off-link).
    pub dst: MacAddr,
    /// The sending interface's address.
    pub src: MacAddr,
}

/// The control bits of a TCP header (the low byte of the flags field).
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
