//! Building UDP probes: the port's payloads, a keyed tag that carries the
//! batch number (in the IPv4 identification, or the IPv6 flow label, which
//! an ICMPv6 error quotes back just the same), and keyed bytes where the
//! reply echoes them.

use super::UdpScanner;
use crate::engines::send::{self, Sender};
use crate::error::ScanError;
use prtip_core::payloads::{echo_field, Echo};
use prtip_core::wire::{
    build_ipv4_udp, build_ipv6_udp, Ipv4Fields, Ipv6Header, ProbeIp, UdpHeader, IPV4_HEADER_LEN,
    IPV6_HEADER_LEN, UDP_HEADER_LEN,
};
use std::net::IpAddr;

/// Largest probe: an Ethernet MTU. Longer payloads are not sent.
pub const MAX_PROBE: usize = 1500;
/// Datagrams per `sendmmsg`; the batch (48 KiB) lives on the sender's stack.
const BATCH: usize = 32;
const MAX_PAYLOAD: usize = MAX_PROBE - IPV4_HEADER_LEN - UDP_HEADER_LEN;

pub type Batch = send::Batch<MAX_PROBE, BATCH>;

/// Batch numbers use 15 bits of the tag; 0 means "none sent".
const BATCH_MASK: u16 = 0x7fff;
const SENTINEL_BIT: u16 = 0x8000;
/// How many batches back a quoted tag may be and still count as this scan's.
const RECENT_BATCHES: u16 = 64;

/// The number of the batch after `b`.
pub fn next_batch(b: u16) -> u16 {
    if b >= BATCH_MASK {
        1
    } else {
        b + 1
    }
}

/// The tag a probe of batch `batch` carries in its IP identification.
pub fn tag(batch: u16, sentinel: bool) -> u16 {
    (batch & BATCH_MASK) | if sentinel { SENTINEL_BIT } else { 0 }
}

/// (batch, sentinel) from a quoted tag, when the batch is `current` or one
/// of the few before it: anything else is forged or from another scan.
pub fn untag(tag: u16, current: u16) -> Option<(u16, bool)> {
    let batch = tag & BATCH_MASK;
    if batch == 0 || current == 0 {
        return None;
    }
    let back = current.wrapping_sub(batch) & BATCH_MASK;
    (back <= RECENT_BATCHES).then_some((batch, tag & SENTINEL_BIT != 0))
}

/// The echoed field shared by every payload of `port`, if all have one:
/// only then can a reply without it be called forged.
pub fn port_echo(scanner: &UdpScanner, port: u16) -> Option<Echo> {
    let mut common: Option<Echo> = None;
    for payload in scanner.payloads.for_port(port) {
        let e = echo_field(port, payload)?;
        match &common {
            Some(c) if c.reply != e.reply => return None,
            _ => common = Some(e),
        }
    }
    common
}

impl UdpScanner {
    /// Queue the probes of `rank` on `host` (one datagram per payload; only
    /// the first for a sentinel), flushing when the batch fills.
    pub(super) fn write_probes(
        &self,
        win: &super::UdpWindow,
        host: u32,
        rank: u32,
        tag: u16,
        batch: &mut Batch,
        out: &mut Sender<'_>,
    ) -> Result<(), ScanError> {
        let Some(dport) = self.order.port(rank) else {
            return Ok(());
        };
        let dst = win.host(host);
        let src = win.source(host);
        let sport = self.sport(dst, dport);
        let keyed = self.cookie.udp_tag(src, dst, sport, dport) ^ u32::from(tag);
        let Some(ip) = probe_ip(src, dst, keyed, self.cfg.ttl) else {
            return Ok(());
        };
        let max_payload = match ip {
            ProbeIp::V4(_) => MAX_PAYLOAD,
            ProbeIp::V6(_) => MAX_PROBE - IPV6_HEADER_LEN - UDP_HEADER_LEN,
        };
        let udp = UdpHeader { sport, dport };
        let echo = self.cookie.udp_echo(src, dst, sport, dport);
        let sentinel = tag & SENTINEL_BIT != 0;
        let mut any = false;
        for payload in self.payloads.for_port(dport) {
            if payload.len() > max_payload {
                continue;
            }
            any = true;
            write_one(batch, &ip, &udp, payload, &echo);
            if batch.full() {
                out.flush(batch)?;
            }
            if sentinel {
                return Ok(());
            }
        }
        if !any {
            write_one(batch, &ip, &udp, &[], &echo);
            if batch.full() {
                out.flush(batch)?;
            }
        }
        Ok(())
    }
}

/// The IP layer of a probe from `src` to `dst` with `tag` in its tag
/// field (the IPv4 identification keeps its low 16 bits, which is all an
/// IPv4 tag has); `None` for a pair of two families.
fn probe_ip(src: IpAddr, dst: IpAddr, tag: u32, ttl: u8) -> Option<ProbeIp> {
    Some(match (src, dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => ProbeIp::V4(Ipv4Fields {
            src,
            dst,
            ip_id: tag as u16,
            ttl,
        }),
        (IpAddr::V6(src), IpAddr::V6(dst)) => ProbeIp::V6(Ipv6Header {
            src,
            dst,
            hop_limit: ttl,
            traffic_class: 0,
            flow_label: tag,
        }),
        _ => return None,
    })
}

/// One datagram: `payload` with the keyed `echo` bytes in its echoed field.
fn write_one(batch: &mut Batch, ip: &ProbeIp, udp: &UdpHeader, payload: &[u8], echo: &[u8; 8]) {
    let mut body = [0u8; MAX_PAYLOAD];
    let body = &mut body[..payload.len()];
    body.copy_from_slice(payload);
    if let Some(e) = echo_field(udp.dport, payload) {
        let n = e.request.len().min(echo.len());
        if let Some(field) = body.get_mut(e.request.start..e.request.start + n) {
            field.copy_from_slice(&echo[..n]);
        }
    }
    let (len, dst) = match ip {
        ProbeIp::V4(f) => (
            build_ipv4_udp(batch.slot(), &f.header(), udp, body),
            f.dst.into(),
        ),
        ProbeIp::V6(h) => (build_ipv6_udp(batch.slot(), h, udp, body), h.dst.into()),
    };
    batch.commit(len.unwrap_or(0), dst);
}

/// Keyed bytes that must appear at `echo.reply` in a reply to our probe.
pub fn echo_matches(echo: &Echo, expected: &[u8; 8], head: &[u8]) -> bool {
    let n = echo.reply.len().min(expected.len());
    head.get(echo.reply.start..echo.reply.start + n) == Some(&expected[..n])
}
