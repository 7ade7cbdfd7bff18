//! Replies to the OS probes: an IPv4 datagram in, a small owned
//! [`OsReply`] out, holding every field a test looks at and nothing that
//! needs the bytes again (RST payloads are reduced to their CRC, quoted UDP
//! data to "intact or not").
//!
//! The bytes are read through the views of [`crate::wire`], which check
//! every length against the bytes present; anything malformed is `None`,
//! never a panic. What is decided here is only what the tests keep.

use std::net::Ipv4Addr;

use super::lines::crc32;
use crate::wire::{
    IcmpView, Ipv4View, QuotedTransport, TcpOptions, TcpView, ICMP_DEST_UNREACHABLE,
    ICMP_ECHO_REPLY, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, TCP_MAX_OPTIONS_LEN,
};

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
    options: [u8; TCP_MAX_OPTIONS_LEN],
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
        TcpOptions::new(self.options())
            .timestamp()
            .map(|(tsval, _)| tsval)
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

/// Parses an IPv4 datagram (no link header). Returns `None` for anything
/// that cannot answer an OS probe: not IPv4, a fragment other than the
/// first, truncated headers, or another protocol / ICMP type. Bytes past
/// the IP total length (link padding) are ignored.
pub fn parse_os_reply(packet: &[u8]) -> Option<OsReply> {
    let v = Ipv4View::parse(packet)?;
    if !v.is_first_fragment() {
        return None;
    }
    let ip = IpInfo {
        src: v.src(),
        dst: v.dst(),
        ttl: v.ttl(),
        df: v.df(),
        id: v.id(),
        total_len: v.total_len(),
    };
    let body = match v.proto() {
        IPPROTO_TCP => ReplyBody::Tcp(tcp_info(&TcpView::parse(v.payload())?)?),
        IPPROTO_ICMP => icmp_body(&IcmpView::parse(v.payload())?)?,
        _ => return None,
    };
    Some(OsReply { ip, body })
}

fn tcp_info(tcp: &TcpView<'_>) -> Option<TcpInfo> {
    let opts = tcp.options();
    let data = tcp.payload();
    let mut options = [0u8; TCP_MAX_OPTIONS_LEN];
    options.get_mut(..opts.len())?.copy_from_slice(opts);
    Some(TcpInfo {
        sport: tcp.sport(),
        dport: tcp.dport(),
        seq: tcp.seq(),
        ack: tcp.ack(),
        flags: tcp.flags().0,
        reserved: tcp.reserved(),
        window: tcp.window(),
        urgent: tcp.urgent(),
        options,
        options_len: opts.len() as u8,
        data_crc: if data.is_empty() { 0 } else { crc32(data) },
    })
}

fn icmp_body(icmp: &IcmpView<'_>) -> Option<ReplyBody> {
    match icmp.icmp_type() {
        ICMP_ECHO_REPLY => Some(ReplyBody::Echo(EchoInfo {
            code: icmp.code(),
            id: icmp.id(),
            seq: icmp.seq(),
        })),
        ICMP_DEST_UNREACHABLE => unreach(icmp),
        _ => None,
    }
}

fn unreach(icmp: &IcmpView<'_>) -> Option<ReplyBody> {
    let quoted = icmp.quoted_ipv4()?;
    let transport = QuotedTransport(quoted.payload());
    let (quoted_udp_checksum, quoted_data_intact) = if quoted.proto() == IPPROTO_UDP {
        let data = transport.udp_payload();
        (transport.udp_checksum(), data.iter().all(|&b| b == b'C'))
    } else {
        (None, false)
    };
    Some(ReplyBody::Unreach(UnreachInfo {
        code: icmp.code(),
        unused: icmp.rest(),
        quoted_proto: quoted.proto(),
        quoted_src: quoted.src(),
        quoted_dst: quoted.dst(),
        quoted_total_len: quoted.total_len(),
        quoted_id: quoted.id(),
        quoted_ttl: quoted.ttl(),
        quoted_ip_checksum: quoted.checksum(),
        quoted_ip_checksum_ok: quoted.checksum_ok(),
        quoted_sport: transport.sport()?,
        quoted_dport: transport.dport()?,
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
