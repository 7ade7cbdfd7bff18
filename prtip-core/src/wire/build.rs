//! Probe builders: IPv4 + TCP / ICMP written into a caller's buffer.
//!
//! Builders overwrite every byte of the packet they report, so one buffer can
//! be reused for every probe of a scan without clearing it in between.

use std::net::Ipv4Addr;

use pnet_packet::icmp::{self, IcmpPacket, IcmpType, MutableIcmpPacket};
use pnet_packet::ip::IpNextHeaderProtocol;
use pnet_packet::ipv4::{self, Ipv4Packet, MutableIpv4Packet};
use pnet_packet::tcp::{self, MutableTcpPacket, TcpPacket};

use super::{
    EthernetHeader, TcpFlags, ETHERNET_HEADER_LEN, ETHERTYPE_IPV4, IPPROTO_ICMP, IPPROTO_TCP,
    IPV4_HEADER_LEN,
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
/// Bytes written by [`build_tcp_ack`] / [`build_rst`]: IPv4 (20) + bare TCP (20).
pub const TCP_NO_OPTIONS_LEN: usize = IPV4_HEADER_LEN + TCP_HEADER_LEN;
/// Bytes written by [`build_icmp_echo`]: IPv4 (20) + echo header (8), no payload like nmap -PE.
pub const ICMP_ECHO_LEN: usize = IPV4_HEADER_LEN + 8;
/// Bytes written by [`build_icmp_timestamp`]: IPv4 (20) + timestamp message (20).
pub const ICMP_TIMESTAMP_LEN: usize = IPV4_HEADER_LEN + 20;

const TCP_HEADER_LEN: usize = 20;
const MSS_OPTION_LEN: usize = 4;
const TCP_OPT_MSS: u8 = 2;
const ICMP_ECHO_REQUEST: u8 = 8;
const ICMP_TIMESTAMP_REQUEST: u8 = 13;

/// The IPv4 header fields a probe chooses; everything else is fixed
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

/// Writes an Ethernet II header for an IPv4 payload at the start of `buf`.
///
/// Returns the header length ([`ETHERNET_HEADER_LEN`]), or `None` when `buf`
/// is shorter than that. Build the IPv4 packet into `&mut buf[14..]`.
pub fn write_ethernet(buf: &mut [u8], eth: &EthernetHeader) -> Option<usize> {
    // Plain byte copies: pnet's setters want its own MacAddr type, which it
    // does not re-export.
    let hdr = buf.get_mut(..ETHERNET_HEADER_LEN)?;
    hdr[0..6].copy_from_slice(&eth.dst);
    hdr[6..12].copy_from_slice(&eth.src);
    hdr[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    Some(ETHERNET_HEADER_LEN)
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

/// A precomputed [`build_syn`] packet for one source address and TTL.
///
/// The SYN engine sends millions of probes that differ only in destination,
/// ports, sequence number and IP id. The template keeps everything else as
/// bytes plus the partial one's-complement sums of both checksums, so a
/// probe costs a 44-byte copy, five stores and two folds (a few ns) instead
/// of a full build (tens of ns). The bytes are identical to [`build_syn`]'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynTemplate {
    bytes: [u8; SYN_LEN],
    ip_partial: u32,
    tcp_partial: u32,
}

impl SynTemplate {
    /// Template for SYN probes from `src` with time to live `ttl`.
    pub fn new(src: Ipv4Addr, ttl: u8) -> Self {
        let mut bytes = [0u8; SYN_LEN];
        let ip = Ipv4Fields {
            src,
            dst: Ipv4Addr::UNSPECIFIED,
            ip_id: 0,
            ttl,
        };
        // Cannot fail: the buffer is exactly SYN_LEN.
        let _ = build_tcp_syn(&mut bytes, &ip, 0, 0, 0);
        // Variable fields are zero here, so the sums cover only the
        // constant words; checksum fields are zeroed before summing.
        bytes[10..12].fill(0);
        bytes[36..38].fill(0);
        let ip_partial = sum_words(&bytes[..IPV4_HEADER_LEN]);
        let seg_len = (SYN_LEN - IPV4_HEADER_LEN) as u32;
        let tcp_partial = sum_words(&bytes[IPV4_HEADER_LEN..])
            + sum_words(&src.octets())
            + u32::from(IPPROTO_TCP)
            + seg_len;
        SynTemplate {
            bytes,
            ip_partial,
            tcp_partial,
        }
    }

    /// Writes the probe to `dst:dport` from `sport` into `buf`; same bytes as
    /// [`build_syn`] with this template's source and TTL.
    ///
    /// Returns [`SYN_LEN`], or 0 if `buf` is shorter than that.
    #[must_use]
    #[inline]
    pub fn write(
        &self,
        buf: &mut [u8],
        dst: Ipv4Addr,
        sport: u16,
        dport: u16,
        seq: u32,
        ip_id: u16,
    ) -> usize {
        let Some(out) = buf.get_mut(..SYN_LEN) else {
            return 0;
        };
        let Ok(out) = <&mut [u8; SYN_LEN]>::try_from(out) else {
            return 0;
        };
        *out = self.bytes;
        let d = dst.octets();
        let dst_sum = u32::from(u16::from_be_bytes([d[0], d[1]]))
            + u32::from(u16::from_be_bytes([d[2], d[3]]));
        out[4..6].copy_from_slice(&ip_id.to_be_bytes());
        out[16..20].copy_from_slice(&d);
        let ip_sum = fold(self.ip_partial + u32::from(ip_id) + dst_sum);
        out[10..12].copy_from_slice(&ip_sum.to_be_bytes());

        out[20..22].copy_from_slice(&sport.to_be_bytes());
        out[22..24].copy_from_slice(&dport.to_be_bytes());
        out[24..28].copy_from_slice(&seq.to_be_bytes());
        let tcp_sum = fold(
            self.tcp_partial
                + dst_sum
                + u32::from(sport)
                + u32::from(dport)
                + (seq >> 16)
                + (seq & 0xffff),
        );
        out[36..38].copy_from_slice(&tcp_sum.to_be_bytes());
        SYN_LEN
    }
}

/// Sum of big-endian 16-bit words (even-length input); at most a few dozen
/// words, so the u32 cannot overflow.
fn sum_words(b: &[u8]) -> u32 {
    b.chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w.get(1).copied().unwrap_or(0)])))
        .sum()
}

/// Folds carries back in and complements: the Internet checksum of a sum.
#[inline]
fn fold(mut s: u32) -> u16 {
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    !(s as u16)
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
        sport,
        dport,
        seq,
        ack: 0,
        flags: TcpFlags::SYN,
        window: NMAP_WINDOW,
        mss: Some(NMAP_MSS),
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
        sport,
        dport,
        seq,
        ack,
        flags: TcpFlags::ACK,
        window: NMAP_WINDOW,
        mss: None,
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
        sport,
        dport,
        seq,
        ack: 0,
        flags: TcpFlags::RST,
        window: 0,
        mss: None,
    };
    build_tcp(buf, ip, &tcp)
}

/// Builds IPv4 + TCP with arbitrary flags and an optional MSS option; the
/// other `build_tcp_*` functions are presets of this one.
///
/// Returns the packet length (40, or 44 with MSS), or `None` if `buf` is too short.
pub fn build_tcp(buf: &mut [u8], ip: &Ipv4Fields, tcp: &TcpFields) -> Option<usize> {
    let opt_len = if tcp.mss.is_some() { MSS_OPTION_LEN } else { 0 };
    let tcp_len = TCP_HEADER_LEN + opt_len;
    let total = IPV4_HEADER_LEN + tcp_len;
    let pkt = buf.get_mut(..total)?;
    let (ip_bytes, seg) = pkt.split_at_mut(IPV4_HEADER_LEN);
    write_ipv4(ip_bytes, ip, total, IPPROTO_TCP)?;

    {
        let mut t = MutableTcpPacket::new(seg)?;
        t.set_source(tcp.sport);
        t.set_destination(tcp.dport);
        t.set_sequence(tcp.seq);
        t.set_acknowledgement(tcp.ack);
        // Data offset counts 32-bit words; tcp_len is 20 or 24, so this is 5 or 6.
        t.set_data_offset((tcp_len / 4) as u8);
        t.set_reserved(0);
        t.set_flags(tcp.flags.0);
        t.set_window(tcp.window);
        t.set_checksum(0);
        t.set_urgent_ptr(0);
    }
    if let Some(mss) = tcp.mss {
        let [hi, lo] = mss.to_be_bytes();
        seg.get_mut(TCP_HEADER_LEN..tcp_len)?.copy_from_slice(&[
            TCP_OPT_MSS,
            MSS_OPTION_LEN as u8,
            hi,
            lo,
        ]);
    }
    let sum = tcp::ipv4_checksum(&TcpPacket::new(seg)?, &ip.src, &ip.dst);
    seg.get_mut(16..18)?.copy_from_slice(&sum.to_be_bytes());
    Some(total)
}

/// Builds an ICMP echo request (type 8) with no payload, like nmap's `-PE`.
///
/// Returns the packet length ([`ICMP_ECHO_LEN`]), or `None` if `buf` is too short.
pub fn build_icmp_echo(buf: &mut [u8], ip: &Ipv4Fields, id: u16, seq: u16) -> Option<usize> {
    build_icmp(buf, ip, ICMP_ECHO_REQUEST, id, seq, ICMP_ECHO_LEN)
}

/// Builds an ICMP timestamp request (type 13) with all three timestamps
/// zero, like nmap's `-PP`.
///
/// Returns the packet length ([`ICMP_TIMESTAMP_LEN`]), or `None` if `buf` is too short.
pub fn build_icmp_timestamp(buf: &mut [u8], ip: &Ipv4Fields, id: u16, seq: u16) -> Option<usize> {
    build_icmp(buf, ip, ICMP_TIMESTAMP_REQUEST, id, seq, ICMP_TIMESTAMP_LEN)
}

fn build_icmp(
    buf: &mut [u8],
    ip: &Ipv4Fields,
    icmp_type: u8,
    id: u16,
    seq: u16,
    total: usize,
) -> Option<usize> {
    let pkt = buf.get_mut(..total)?;
    let (ip_bytes, msg) = pkt.split_at_mut(IPV4_HEADER_LEN);
    write_ipv4(ip_bytes, ip, total, IPPROTO_ICMP)?;

    // Zero first: the timestamp fields and the checksum must not carry a
    // previous probe's bytes.
    msg.fill(0);
    MutableIcmpPacket::new(msg)?.set_icmp_type(IcmpType(icmp_type));
    msg.get_mut(4..6)?.copy_from_slice(&id.to_be_bytes());
    msg.get_mut(6..8)?.copy_from_slice(&seq.to_be_bytes());
    let sum = icmp::checksum(&IcmpPacket::new(msg)?);
    msg.get_mut(2..4)?.copy_from_slice(&sum.to_be_bytes());
    Some(total)
}

/// Writes a 20-byte IPv4 header with its checksum into `hdr` (exactly 20 bytes).
fn write_ipv4(hdr: &mut [u8], ip: &Ipv4Fields, total: usize, proto: u8) -> Option<()> {
    let total = u16::try_from(total).ok()?;
    {
        let mut h = MutableIpv4Packet::new(hdr)?;
        h.set_version(4);
        h.set_header_length((IPV4_HEADER_LEN / 4) as u8);
        h.set_dscp(0);
        h.set_ecn(0);
        h.set_total_length(total);
        h.set_identification(ip.ip_id);
        // DF clear, as nmap sends its probes: path-MTU discovery is irrelevant
        // to a 44-byte packet, and a set DF is one more fingerprintable bit.
        h.set_flags(0);
        h.set_fragment_offset(0);
        h.set_ttl(ip.ttl);
        h.set_next_level_protocol(IpNextHeaderProtocol(proto));
        h.set_checksum(0);
        h.set_source(ip.src);
        h.set_destination(ip.dst);
    }
    let sum = ipv4::checksum(&Ipv4Packet::new(hdr)?);
    hdr.get_mut(10..12)?.copy_from_slice(&sum.to_be_bytes());
    Some(())
}
