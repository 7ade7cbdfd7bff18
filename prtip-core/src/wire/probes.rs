//! The scan engines' probes (nmap's shapes for `-sS`, `-PS`, `-PA`, `-PE`,
//! `-PP`), as presets of the generic builders.
//!
//! Builders overwrite every byte of the packet they report, so one buffer can
//! be reused for every probe of a scan without clearing it in between.

use std::net::Ipv4Addr;

use super::icmp::{
    build_ipv4_icmp, IcmpMessage, ICMP_ADDRESS_MASK_REQUEST, ICMP_ECHO_REQUEST,
    ICMP_TIMESTAMP_REQUEST,
};
use super::icmpv6::{build_ipv6_icmpv6, ICMPV6_ECHO_REQUEST};
use super::ipv4::{Ipv4Fields, IPV4_HEADER_LEN};
use super::ipv6::{Ipv6Header, IPV6_HEADER_LEN};
use super::tcp::{
    build_ipv4_tcp, build_ipv6_tcp, TcpFlags, TcpHeader, TCP_HEADER_LEN, TCP_OPT_MSS,
};

/// Window size of nmap's SYN probes; matching it keeps our probes from
/// standing out to IDSes tuned on nmap's defaults any more than nmap does.
pub const NMAP_WINDOW: u16 = 1024;
/// The only TCP option nmap's SYN scan sends.
pub const NMAP_MSS: u16 = 1460;
/// TTL used when the caller has no reason to pick another.
pub const DEFAULT_TTL: u8 = 64;
/// Bytes written by [`build_syn`] / [`build_tcp_syn`]: IPv4 (20) + TCP with MSS (24).
pub const SYN_LEN: usize = IPV4_HEADER_LEN + TCP_HEADER_LEN + MSS_OPTION_LEN;
/// Bytes of nmap's SYN probe over IPv6: IPv6 (40) + TCP with MSS (24).
pub const SYN6_LEN: usize = IPV6_HEADER_LEN + TCP_HEADER_LEN + MSS_OPTION_LEN;
/// Bytes written by [`build_tcp_ack`] / [`build_rst`]: IPv4 (20) + bare TCP (20).
pub const TCP_NO_OPTIONS_LEN: usize = IPV4_HEADER_LEN + TCP_HEADER_LEN;
/// Bytes written by [`build_icmp_echo`]: IPv4 (20) + echo header (8), no payload like nmap -PE.
pub const ICMP_ECHO_LEN: usize = IPV4_HEADER_LEN + 8;
/// Bytes written by [`build_icmp_timestamp`]: IPv4 (20) + timestamp message (20).
pub const ICMP_TIMESTAMP_LEN: usize = IPV4_HEADER_LEN + 20;
/// Length of an ICMP address mask request (IPv4 + 8-byte header + 4-byte mask).
pub const ICMP_MASK_LEN: usize = IPV4_HEADER_LEN + 12;

const MSS_OPTION_LEN: usize = 4;

/// The TCP header fields a probe chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpFields {
    /// Our port.
    pub sport: u16,
    /// The target's port.
    pub dport: u16,
    /// Sequence number (the SYN cookie, for SYN probes).
    pub seq: u32,
    /// Acknowledgment number (the cookie, for ACK probes: the RST echoes it as its seq).
    pub ack: u32,
    /// Control bits.
    pub flags: TcpFlags,
    /// Advertised window.
    pub window: u16,
    /// Adds an MSS option (4 bytes, data offset 6) when set.
    pub mss: Option<u16>,
}

/// Builds nmap's SYN-scan probe: IPv4 (DF clear) + TCP SYN, window 1024,
/// one MSS 1460 option, both checksums filled in.
///
/// Returns the packet length ([`SYN_LEN`], 44), or 0 if `buf` is shorter than
/// that — a sizing bug in the caller, reported without panicking. This is the
/// positional form the SYN engine calls per probe; [`build_tcp_syn`] is the
/// same packet from [`Ipv4Fields`].
#[allow(clippy::too_many_arguments)] // mirrors the header fields one to one; a struct would only be unpacked again
#[must_use]
pub fn build_syn(
    buf: &mut [u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    seq: u32,
    ip_id: u16,
    ttl: u8,
) -> usize {
    let ip = Ipv4Fields {
        src,
        dst,
        ip_id,
        ttl,
    };
    build_tcp_syn(buf, &ip, sport, dport, seq).unwrap_or(0)
}

/// Builds a TCP SYN probe like [`build_syn`] (window 1024, MSS 1460); used
/// for the SYN scan and for `-PS` host discovery (default port 443).
///
/// Returns the packet length, or `None` if `buf` is shorter than [`SYN_LEN`].
pub fn build_tcp_syn(
    buf: &mut [u8],
    ip: &Ipv4Fields,
    sport: u16,
    dport: u16,
    seq: u32,
) -> Option<usize> {
    let tcp = TcpFields {
        mss: Some(NMAP_MSS),
        ..bare(sport, dport, seq, TcpFlags::SYN)
    };
    build_tcp(buf, ip, &tcp)
}

/// Builds a bare TCP ACK probe (window 1024, no options) for `-PA` host
/// discovery (default port 80).
///
/// A live host answers with a RST whose sequence number is our `ack`
/// (RFC 9293 §3.10.7.1), so pass the cookie as `ack` and validate the RST's
/// `seq` with [`crate::cookie::SynCookie::validate_tcp`]. Pass it as `seq`
/// too: an ICMP error quotes our seq, and
/// [`crate::cookie::SynCookie::validate_icmp`] checks that.
///
/// Returns the packet length, or `None` if `buf` is shorter than [`TCP_NO_OPTIONS_LEN`].
pub fn build_tcp_ack(
    buf: &mut [u8],
    ip: &Ipv4Fields,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
) -> Option<usize> {
    let tcp = TcpFields {
        ack,
        ..bare(sport, dport, seq, TcpFlags::ACK)
    };
    build_tcp(buf, ip, &tcp)
}

/// Builds a bare RST (window 0, no options).
///
/// A SYN scan does not normally need it: the kernel has no socket for our
/// source port and resets the connection itself. It is here for engines that
/// firewall the port range and must tear down half-open connections.
///
/// Returns the packet length, or `None` if `buf` is shorter than [`TCP_NO_OPTIONS_LEN`].
pub fn build_rst(
    buf: &mut [u8],
    ip: &Ipv4Fields,
    sport: u16,
    dport: u16,
    seq: u32,
) -> Option<usize> {
    let tcp = TcpFields {
        window: 0,
        ..bare(sport, dport, seq, TcpFlags::RST)
    };
    build_tcp(buf, ip, &tcp)
}

/// The presets' common ground: nmap's window, no ack, no options.
fn bare(sport: u16, dport: u16, seq: u32, flags: TcpFlags) -> TcpFields {
    TcpFields {
        sport,
        dport,
        seq,
        ack: 0,
        flags,
        window: NMAP_WINDOW,
        mss: None,
    }
}

/// Builds IPv4 + TCP with arbitrary flags and an optional MSS option; the
/// other `build_tcp_*` functions are presets of this one.
///
/// Returns the packet length (40, or 44 with MSS), or `None` if `buf` is too short.
pub fn build_tcp(buf: &mut [u8], ip: &Ipv4Fields, tcp: &TcpFields) -> Option<usize> {
    let mut mss_option = [0u8; MSS_OPTION_LEN];
    build_ipv4_tcp(buf, &ip.header(), &tcp_header(tcp, &mut mss_option))
}

/// The header `tcp` describes; its MSS option, if any, lives in `mss_option`.
fn tcp_header<'a>(tcp: &TcpFields, mss_option: &'a mut [u8; MSS_OPTION_LEN]) -> TcpHeader<'a> {
    let options: &[u8] = match tcp.mss {
        Some(mss) => {
            let [hi, lo] = mss.to_be_bytes();
            *mss_option = [TCP_OPT_MSS, MSS_OPTION_LEN as u8, hi, lo];
            mss_option
        }
        None => &[],
    };
    TcpHeader {
        sport: tcp.sport,
        dport: tcp.dport,
        seq: tcp.seq,
        ack: tcp.ack,
        flags: tcp.flags,
        reserved: 0,
        window: tcp.window,
        urgent: 0,
        options,
    }
}

/// The IP layer of a discovery or scan probe, of either family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeIp {
    /// IPv4 with its identification and TTL.
    V4(Ipv4Fields),
    /// IPv6 with its hop limit and flow label.
    V6(Ipv6Header),
}

/// [`build_tcp`] for either family: IPv4 or IPv6 + TCP.
///
/// Returns the packet length, or `None` if `buf` is too short.
pub fn build_tcp_probe(buf: &mut [u8], ip: &ProbeIp, tcp: &TcpFields) -> Option<usize> {
    let mut mss_option = [0u8; MSS_OPTION_LEN];
    let header = tcp_header(tcp, &mut mss_option);
    match ip {
        ProbeIp::V4(f) => build_ipv4_tcp(buf, &f.header(), &header),
        ProbeIp::V6(h) => build_ipv6_tcp(buf, h, &header),
    }
}

/// nmap's SYN probe ([`build_tcp_syn`]'s TCP layer) over either family.
pub fn build_syn_probe(
    buf: &mut [u8],
    ip: &ProbeIp,
    sport: u16,
    dport: u16,
    seq: u32,
) -> Option<usize> {
    let tcp = TcpFields {
        mss: Some(NMAP_MSS),
        ..bare(sport, dport, seq, TcpFlags::SYN)
    };
    build_tcp_probe(buf, ip, &tcp)
}

/// nmap's ACK discovery probe ([`build_tcp_ack`]'s TCP layer) over either family.
pub fn build_ack_probe(
    buf: &mut [u8],
    ip: &ProbeIp,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
) -> Option<usize> {
    let tcp = TcpFields {
        ack,
        ..bare(sport, dport, seq, TcpFlags::ACK)
    };
    build_tcp_probe(buf, ip, &tcp)
}

/// An echo request with no payload: ICMP type 8 over IPv4 ([`build_icmp_echo`]),
/// ICMPv6 type 128 over IPv6 (nmap's `-PE` under `-6`).
pub fn build_echo_probe(buf: &mut [u8], ip: &ProbeIp, id: u16, seq: u16) -> Option<usize> {
    match ip {
        ProbeIp::V4(f) => build_icmp_echo(buf, f, id, seq),
        ProbeIp::V6(h) => {
            let msg = IcmpMessage::echo(ICMPV6_ECHO_REQUEST, 0, id, seq, &[]);
            build_ipv6_icmpv6(buf, h, &msg)
        }
    }
}

/// Builds an ICMP echo request (type 8) with no payload, like nmap's `-PE`.
///
/// Returns the packet length ([`ICMP_ECHO_LEN`]), or `None` if `buf` is too short.
pub fn build_icmp_echo(buf: &mut [u8], ip: &Ipv4Fields, id: u16, seq: u16) -> Option<usize> {
    let msg = IcmpMessage::echo(ICMP_ECHO_REQUEST, 0, id, seq, &[]);
    build_ipv4_icmp(buf, &ip.header(), &msg)
}

/// Builds an ICMP timestamp request (type 13) with all three timestamps
/// zero, like nmap's `-PP`.
///
/// Returns the packet length ([`ICMP_TIMESTAMP_LEN`]), or `None` if `buf` is too short.
pub fn build_icmp_timestamp(buf: &mut [u8], ip: &Ipv4Fields, id: u16, seq: u16) -> Option<usize> {
    let zero_timestamps = [0u8; ICMP_TIMESTAMP_LEN - ICMP_ECHO_LEN];
    let msg = IcmpMessage::echo(ICMP_TIMESTAMP_REQUEST, 0, id, seq, &zero_timestamps);
    build_ipv4_icmp(buf, &ip.header(), &msg)
}

/// Builds an ICMP address mask request (type 17) with a zero mask, like
/// nmap's `-PM`.
///
/// Returns the packet length ([`ICMP_MASK_LEN`]), or `None` if `buf` is too short.
pub fn build_icmp_mask(buf: &mut [u8], ip: &Ipv4Fields, id: u16, seq: u16) -> Option<usize> {
    let zero_mask = [0u8; ICMP_MASK_LEN - ICMP_ECHO_LEN];
    let msg = IcmpMessage::echo(ICMP_ADDRESS_MASK_REQUEST, 0, id, seq, &zero_mask);
    build_ipv4_icmp(buf, &ip.header(), &msg)
}

/// Bytes after the IP header of an IP protocol ping (`-PO`) of `proto`:
/// an IGMP membership query (2), an inner IPv4 header (4, IP in IP), else
/// eight zero bytes (nmap sends none, but an ICMP error must quote eight
/// bytes after the IP header to be read back; RFC 792).
const PROTO_PROBE_BODY: usize = IPV4_HEADER_LEN;

/// Builds an IP protocol ping (nmap's `-PO`) of protocol `proto` over IPv4;
/// the probe's identification is `ip.ip_id` (an ICMP protocol unreachable
/// quotes it back). ICMP, TCP and UDP pings have builders of their own.
///
/// Returns the packet length, or `None` if `buf` is too short.
pub fn build_proto_probe(buf: &mut [u8], ip: &Ipv4Fields, proto: u8) -> Option<usize> {
    let mut body = [0u8; PROTO_PROBE_BODY];
    let len = match proto {
        2 => {
            // IGMP membership query (type 0x11), all groups.
            body[0] = 0x11;
            let sum = super::checksum::checksum(&body[..8]);
            body[2..4].copy_from_slice(&sum.to_be_bytes());
            8
        }
        4 => {
            let inner = Ipv4Fields { ttl: 64, ..*ip };
            super::ipv4::write_ipv4(&mut body, &inner.header(), 0, 0)?
        }
        _ => 8,
    };
    let n = super::ipv4::write_ipv4(buf, &ip.header(), proto, len)?;
    buf.get_mut(n..n + len)?.copy_from_slice(&body[..len]);
    Some(n + len)
}
