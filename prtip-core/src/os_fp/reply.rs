//! Parser for replies to the OS probes: an IPv4 datagram in, a small owned
//! [`OsReply`] out, holding every field a test looks at and nothing that
//! needs the bytes again (RST payloads are reduced to their CRC, quoted UDP
//! data to "intact or not").
//!
//! Every offset is checked against the bytes present and the IP total
//! length; anything malformed is `None`, never a panic.

use std::net::Ipv4Addr;

use super::checksum;
use super::lines::crc32;
use crate::wire::{IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP};

const ICMP_ECHO_REPLY: u8 = 0;
const ICMP_UNREACHABLE: u8 = 3;
/// The most TCP option bytes a header can carry.
const MAX_OPTIONS: usize = 40;

/// IPv4 header fields of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpInfo {
    /// Sender (the target).
    pub src: Ipv4Addr,
    /// Receiver (us).
    pub dst: Ipv4Addr,
    /// TTL as received.
    pub ttl: u8,
    /// Don't-fragment bit.
    pub df: bool,
    /// Identification.
    pub id: u16,
    /// Total length field.
    pub total_len: u16,
}

/// TCP header fields of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpInfo {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    /// Control bits (CWR and ECE included).
    pub flags: u8,
    /// The four reserved bits after the data offset.
    pub reserved: u8,
    pub window: u16,
    pub urgent: u16,
    options: [u8; MAX_OPTIONS],
    options_len: u8,
    /// CRC-32 of the segment's data, 0 without data (the `RD` test).
    pub data_crc: u32,
}

impl TcpInfo {
    /// The option bytes as received.
    pub fn options(&self) -> &[u8] {
        self.options
            .get(..usize::from(self.options_len))
            .unwrap_or_default()
    }

    /// TSval of the first timestamp option, if any.
    pub fn timestamp(&self) -> Option<u32> {
        let mut opts = self.options();
        while let [kind, rest @ ..] = opts {
            match kind {
                0 | 1 => opts = rest,
                _ => {
                    let len = usize::from(*rest.first()?);
                    if len < 2 || len > opts.len() {
                        return None;
                    }
                    if *kind == 8 && len == 10 {
                        return Some(u32::from_be_bytes(opts.get(2..6)?.try_into().ok()?));
                    }
                    opts = &opts[len..];
                }
            }
        }
        None
    }
}

/// An ICMP echo reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoInfo {
    pub code: u8,
    pub id: u16,
    pub seq: u16,
}

/// An ICMP destination unreachable and what it quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnreachInfo {
    pub code: u8,
    /// The 32 bits after the checksum, unused in a port unreachable (`UN`).
    pub unused: u32,
    pub quoted_proto: u8,
    pub quoted_src: Ipv4Addr,
    pub quoted_dst: Ipv4Addr,
    /// Total length of the quoted header (`RIPL`).
    pub quoted_total_len: u16,
    /// IP id of the quoted header (`RID`).
    pub quoted_id: u16,
    /// TTL of the quoted header: what was left of ours on arrival.
    pub quoted_ttl: u8,
    /// Checksum field of the quoted header (`RIPCK`).
    pub quoted_ip_checksum: u16,
    /// The quoted header's checksum is right for the quoted header.
    pub quoted_ip_checksum_ok: bool,
    pub quoted_sport: u16,
    pub quoted_dport: u16,
    /// Checksum of the quoted UDP header (`RUCK`), when quoted.
    pub quoted_udp_checksum: Option<u16>,
    /// Every quoted payload byte (up to the end of the reply) is `'C'` (`RUD`).
    pub quoted_data_intact: bool,
}

/// The transport part of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyBody {
    Tcp(TcpInfo),
    Echo(EchoInfo),
    Unreach(UnreachInfo),
}

/// A parsed reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsReply {
    pub ip: IpInfo,
    pub body: ReplyBody,
}

impl OsReply {
    /// The TCP part, if this is a TCP reply.
    pub fn tcp(&self) -> Option<&TcpInfo> {
        match &self.body {
            ReplyBody::Tcp(t) => Some(t),
            _ => None,
        }
    }

    /// The echo part, if this is an echo reply.
    pub fn echo(&self) -> Option<&EchoInfo> {
        match &self.body {
            ReplyBody::Echo(e) => Some(e),
            _ => None,
        }
    }

    /// The unreachable part, if this is a destination unreachable.
    pub fn unreach(&self) -> Option<&UnreachInfo> {
        match &self.body {
            ReplyBody::Unreach(u) => Some(u),
            _ => None,
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn addr(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    let o: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(o))
}

/// Parses an IPv4 datagram (no link header). Returns `None` for anything
/// that cannot answer an OS probe: not IPv4, a fragment other than the
/// first, truncated headers, or another protocol / ICMP type. Bytes past
/// the IP total length (link padding) are ignored.
pub fn parse_os_reply(packet: &[u8]) -> Option<OsReply> {
    let version_ihl = *packet.first()?;
    let ihl = usize::from(version_ihl & 0x0f) * 4;
    let total = usize::from(be16(packet, 2)?);
    if version_ihl >> 4 != 4 || ihl < 20 || total < ihl {
        return None;
    }
    let frag = be16(packet, 6)?;
    if frag & 0x1fff != 0 {
        return None;
    }
    let datagram = packet.get(..total)?;
    let ip = IpInfo {
        src: addr(datagram, 12)?,
        dst: addr(datagram, 16)?,
        ttl: *datagram.get(8)?,
        df: frag & 0x4000 != 0,
        id: be16(datagram, 4)?,
        total_len: total as u16,
    };
    let payload = datagram.get(ihl..)?;
    let body = match *datagram.get(9)? {
        IPPROTO_TCP => ReplyBody::Tcp(parse_tcp(payload)?),
        IPPROTO_ICMP => parse_icmp(payload)?,
        _ => return None,
    };
    Some(OsReply { ip, body })
}

fn parse_tcp(seg: &[u8]) -> Option<TcpInfo> {
    let doff = usize::from(*seg.get(12)? >> 4) * 4;
    if doff < 20 {
        return None;
    }
    let opts = seg.get(20..doff)?;
    let data = seg.get(doff..)?;
    let mut options = [0u8; MAX_OPTIONS];
    options.get_mut(..opts.len())?.copy_from_slice(opts);
    Some(TcpInfo {
        sport: be16(seg, 0)?,
        dport: be16(seg, 2)?,
        seq: be32(seg, 4)?,
        ack: be32(seg, 8)?,
        flags: *seg.get(13)?,
        reserved: *seg.get(12)? & 0x0f,
        window: be16(seg, 14)?,
        urgent: be16(seg, 18)?,
        options,
        options_len: opts.len() as u8,
        data_crc: if data.is_empty() { 0 } else { crc32(data) },
    })
}

fn parse_icmp(msg: &[u8]) -> Option<ReplyBody> {
    let (kind, code) = (*msg.first()?, *msg.get(1)?);
    match kind {
        ICMP_ECHO_REPLY => Some(ReplyBody::Echo(EchoInfo {
            code,
            id: be16(msg, 4)?,
            seq: be16(msg, 6)?,
        })),
        ICMP_UNREACHABLE => parse_unreach(code, be32(msg, 4)?, msg.get(8..)?),
        _ => None,
    }
}

fn parse_unreach(code: u8, unused: u32, quoted: &[u8]) -> Option<ReplyBody> {
    let ihl = usize::from(*quoted.first()? & 0x0f) * 4;
    if *quoted.first()? >> 4 != 4 || ihl < 20 {
        return None;
    }
    let header = quoted.get(..ihl)?;
    let proto = *header.get(9)?;
    let transport = quoted.get(ihl..)?;
    let (quoted_udp_checksum, quoted_data_intact) = if proto == IPPROTO_UDP {
        let data = transport.get(8..).unwrap_or_default();
        (be16(transport, 6), data.iter().all(|&b| b == b'C'))
    } else {
        (None, false)
    };
    Some(ReplyBody::Unreach(UnreachInfo {
        code,
        unused,
        quoted_proto: proto,
        quoted_src: addr(header, 12)?,
        quoted_dst: addr(header, 16)?,
        quoted_total_len: be16(header, 2)?,
        quoted_id: be16(header, 4)?,
        quoted_ttl: *header.get(8)?,
        quoted_ip_checksum: be16(header, 10)?,
        quoted_ip_checksum_ok: checksum::verifies(header),
        quoted_sport: be16(transport, 0)?,
        quoted_dport: be16(transport, 2)?,
        quoted_udp_checksum,
        quoted_data_intact,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic noise (xorshift) for the robustness test.
    fn noise(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn hostile_bytes_never_panic() {
        let mut s = 0x1234_5678_9abc_def0u64;
        let mut buf = [0u8; 400];
        for round in 0..200_000 {
            let len = (noise(&mut s) % 400) as usize;
            for b in &mut buf[..len] {
                *b = noise(&mut s) as u8;
            }
            // Bias towards plausible headers so the deeper parsers run too.
            if len > 0 && round % 2 == 0 {
                buf[0] = 0x45 + (noise(&mut s) % 3) as u8;
                if len > 9 {
                    buf[9] = [1, 6, 17][(noise(&mut s) % 3) as usize];
                    buf[6] = 0;
                    buf[7] = 0;
                    let total = (noise(&mut s) % (len as u64 + 10)) as u16;
                    buf[2..4].copy_from_slice(&total.to_be_bytes());
                }
                if len > 21 && buf[9] == 1 {
                    buf[20] = [0, 3][(noise(&mut s) % 2) as usize];
                    if len > 28 {
                        buf[28] = 0x45;
                    }
                }
            }
            if let Some(r) = parse_os_reply(&buf[..len]) {
                if let Some(t) = r.tcp() {
                    let _ = t.timestamp();
                    let _ = super::super::tcp_options_string(t.options());
                }
            }
        }
    }

    #[test]
    fn short_and_odd_packets_are_refused() {
        assert!(parse_os_reply(&[]).is_none());
        assert!(parse_os_reply(&[0x45]).is_none());
        // IHL 4 (16 bytes): invalid.
        let mut p = [0u8; 40];
        p[0] = 0x44;
        p[3] = 40;
        p[9] = 6;
        assert!(parse_os_reply(&p).is_none());
        // Data offset 15 but only 20 bytes of TCP.
        p[0] = 0x45;
        p[32] = 0xf0;
        assert!(parse_os_reply(&p).is_none());
        p[32] = 0x50;
        assert!(parse_os_reply(&p).is_some());
        // Non-first fragment.
        p[7] = 1;
        assert!(parse_os_reply(&p).is_none());
    }
}
