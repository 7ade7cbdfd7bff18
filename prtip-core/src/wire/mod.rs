//! The one wire layer: every packet prtip sends is built here and every
//! packet it receives is read here.
//!
//! Scan engines, host discovery and OS detection all go through the same
//! builders and views so that a field is laid out (and a checksum summed,
//! [`checksum`]) in exactly one place; two writers of the same header drift
//! apart, and the drift shows up only as a target that stops answering.
//!
//! Two kinds of API, both on caller-provided byte slices:
//!
//! * builders (`write_*`, `build_*`) fill a buffer and return the length
//!   written, or `None` when it is too small; they never allocate, so the
//!   send loops reuse one buffer per worker;
//! * views (`*View::parse`, [`parse_arp`]) check every length field against
//!   the bytes actually present before reading behind it and hand back
//!   small `Copy` values, so arbitrary bytes from the network yield `None`,
//!   never a panic or an allocation.
//!
//! Views do not judge: fragments, DF, options and extension headers are
//! reported, and what to do with them is up to the caller ([`parse_reply`]
//! for the scan engines, `os_fp` for OS detection). Parsers for datagrams
//! quoted inside ICMP errors (`parse_quoted`) are lenient about total
//! lengths because routers quote a prefix by design.
//!
//! `pnet_packet` does the field layout of the builders; it is an
//! implementation detail and never appears in this module's API, so the
//! rest of prtip is insulated from pnet's version churn.
//!
//! Layout of a frame as the engines see it:
//!
//! ```text
//! [ Ethernet (14, only on AF_PACKET) ][ IPv4 (20) | IPv6 (40) ][ TCP | UDP | ICMP | ICMPv6 ]
//! [ Ethernet (14) ][ ARP (28) ]
//! ```
//!
//! Builders write the IP packet at the start of the slice they are given;
//! for AF_PACKET, write the Ethernet header with [`write_ethernet`] and pass
//! `&mut buf[ETHERNET_HEADER_LEN..]` to the builder. [`strip_ethernet`]
//! turns an AF_PACKET frame into an IPv4 packet.
//! [`parse_reply`] reads IPv4 and IPv6 alike (by the version nibble).
//!
//! For the SYN engine's hot loop, [`SynTemplate`] writes the same bytes as
//! [`build_syn`] from a precomputed packet and partial checksums.

mod arp;
mod bytes;
pub mod checksum;
mod ethernet;
mod icmp;
mod icmpv6;
mod ipv4;
mod ipv6;
mod probes;
mod reply;
mod reply6;
mod tcp;
mod template;
mod udp;

pub use arp::{parse_arp, write_arp, Arp, ARP_LEN, ARP_REPLY, ARP_REQUEST};
pub use ethernet::{
    strip_ethernet, write_ethernet, write_ethernet_type, EthernetHeader, EthernetView, MacAddr,
    ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, MAC_BROADCAST,
};
pub use icmp::{
    build_ipv4_icmp, write_icmp, IcmpMessage, IcmpView, QuotedTransport, ICMP_ADDRESS_MASK_REPLY,
    ICMP_ADDRESS_MASK_REQUEST, ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST,
    ICMP_HEADER_LEN, ICMP_PARAMETER_PROBLEM, ICMP_TIMESTAMP_REPLY, ICMP_TIMESTAMP_REQUEST,
    ICMP_TIME_EXCEEDED,
};
pub use icmpv6::{
    build_ipv6_icmpv6, neighbor_solicit_body, solicited_node, ICMPV6_DEST_UNREACHABLE,
    ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST, ICMPV6_NEIGHBOR_ADVERT, ICMPV6_NEIGHBOR_SOLICIT,
    ICMPV6_PACKET_TOO_BIG, ICMPV6_PARAMETER_PROBLEM, ICMPV6_TIME_EXCEEDED,
    NEIGHBOR_SOLICIT_BODY_LEN,
};
pub use ipv4::{write_ipv4, Ipv4Fields, Ipv4Header, Ipv4View, IPV4_HEADER_LEN};
pub use ipv6::{
    write_ipv6, Ipv6Header, Ipv6Upper, Ipv6View, IPV6_HEADER_LEN, IPV6_NH_AUTH, IPV6_NH_DEST_OPTS,
    IPV6_NH_ESP, IPV6_NH_FRAGMENT, IPV6_NH_HOP_BY_HOP, IPV6_NH_NONE, IPV6_NH_ROUTING,
};
pub use probes::{
    build_ack_probe, build_echo_probe, build_icmp_echo, build_icmp_mask, build_icmp_timestamp,
    build_proto_probe, build_rst, build_syn, build_syn_probe, build_tcp, build_tcp_ack,
    build_tcp_probe, build_tcp_syn, ProbeIp, TcpFields, DEFAULT_TTL, ICMP_ECHO_LEN, ICMP_MASK_LEN,
    ICMP_TIMESTAMP_LEN, NMAP_MSS, NMAP_WINDOW, SYN6_LEN, SYN_LEN, TCP_NO_OPTIONS_LEN,
};
pub use reply::{
    parse_reply, IcmpEchoReply, IcmpError, IcmpErrorKind, IcmpTimestampReply, Reply, TcpReply,
    UdpReply, UDP_REPLY_HEAD,
};
pub use tcp::{
    build_ipv4_tcp, build_ipv6_tcp, write_tcp, TcpFlags, TcpHeader, TcpOption, TcpOptions, TcpView,
    TCP_HEADER_LEN, TCP_MAX_OPTIONS_LEN, TCP_OPT_EOL, TCP_OPT_MSS, TCP_OPT_NOP,
    TCP_OPT_SACK_PERMITTED, TCP_OPT_TIMESTAMP, TCP_OPT_WSCALE,
};
pub use template::{SynTemplate, SynTemplate6};
pub use udp::{build_ipv4_udp, build_ipv6_udp, write_udp, UdpHeader, UdpView, UDP_HEADER_LEN};

/// IP protocol number of ICMP.
pub const IPPROTO_ICMP: u8 = 1;
/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// IPv6 next-header number of ICMPv6.
pub const IPPROTO_ICMPV6: u8 = 58;
