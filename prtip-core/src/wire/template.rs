//! The SYN engine's per-probe builder: a precomputed packet plus partial
//! checksums, so the hot loop never sums a header.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::checksum::{fold, ipv4_pseudo_sum, ipv6_pseudo_sum, sum};
use super::ipv4::{Ipv4Fields, IPV4_HEADER_LEN};
use super::ipv6::{Ipv6Header, IPV6_HEADER_LEN};
use super::probes::{build_syn_probe, build_tcp_syn, ProbeIp, SYN6_LEN, SYN_LEN};
use super::IPPROTO_TCP;

/// A precomputed [`build_syn`](super::build_syn) packet for one source address and TTL.
///
/// The SYN engine sends millions of probes that differ only in destination,
/// ports, sequence number and IP id. The template keeps everything else as
/// bytes plus the partial one's-complement sums of both checksums, so a
/// probe costs a 44-byte copy, five stores and two folds (a few ns) instead
/// of a full build (tens of ns). The bytes are identical to [`build_syn`](super::build_syn)'s.
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
        let ip_partial = sum(&bytes[..IPV4_HEADER_LEN]);
        // The destination's share of the pseudo-header is added per probe.
        let seg_len = (SYN_LEN - IPV4_HEADER_LEN) as u16;
        let tcp_partial = sum(&bytes[IPV4_HEADER_LEN..])
            + ipv4_pseudo_sum(src, Ipv4Addr::UNSPECIFIED, IPPROTO_TCP, seg_len);
        SynTemplate {
            bytes,
            ip_partial,
            tcp_partial,
        }
    }

    /// Writes the probe to `dst:dport` from `sport` into `buf`; same bytes as
    /// [`build_syn`](super::build_syn) with this template's source and TTL.
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

/// [`SynTemplate`] for IPv6: nmap's SYN probe behind a 40-byte IPv6 header
/// (flow label 0, no extension headers), the bytes of
/// [`build_syn_probe`](super::build_syn_probe). IPv6 has no header checksum,
/// so a probe costs the copy, the destination, and one fold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynTemplate6 {
    bytes: [u8; SYN6_LEN],
    tcp_partial: u32,
}

impl SynTemplate6 {
    /// Template for SYN probes from `src` with hop limit `hop_limit`.
    pub fn new(src: Ipv6Addr, hop_limit: u8) -> Self {
        let mut bytes = [0u8; SYN6_LEN];
        let ip = ProbeIp::V6(Ipv6Header {
            src,
            dst: Ipv6Addr::UNSPECIFIED,
            hop_limit,
            traffic_class: 0,
            flow_label: 0,
        });
        // Cannot fail: the buffer is exactly SYN6_LEN.
        let _ = build_syn_probe(&mut bytes, &ip, 0, 0, 0);
        bytes[IPV6_HEADER_LEN + 16..IPV6_HEADER_LEN + 18].fill(0);
        let seg_len = (SYN6_LEN - IPV6_HEADER_LEN) as u32;
        let tcp_partial = sum(&bytes[IPV6_HEADER_LEN..])
            + ipv6_pseudo_sum(&src, &Ipv6Addr::UNSPECIFIED, seg_len, IPPROTO_TCP);
        SynTemplate6 { bytes, tcp_partial }
    }

    /// Writes the probe to `dst:dport` from `sport` into `buf`.
    ///
    /// Returns [`SYN6_LEN`], or 0 if `buf` is shorter than that.
    #[must_use]
    #[inline]
    pub fn write(&self, buf: &mut [u8], dst: Ipv6Addr, sport: u16, dport: u16, seq: u32) -> usize {
        let Some(out) = buf.get_mut(..SYN6_LEN) else {
            return 0;
        };
        let Ok(out) = <&mut [u8; SYN6_LEN]>::try_from(out) else {
            return 0;
        };
        *out = self.bytes;
        out[24..40].copy_from_slice(&dst.octets());
        let dst_sum: u32 = dst.segments().iter().map(|&w| u32::from(w)).sum();
        let t = IPV6_HEADER_LEN;
        out[t..t + 2].copy_from_slice(&sport.to_be_bytes());
        out[t + 2..t + 4].copy_from_slice(&dport.to_be_bytes());
        out[t + 4..t + 8].copy_from_slice(&seq.to_be_bytes());
        let tcp_sum = fold(
            self.tcp_partial
                + dst_sum
                + u32::from(sport)
                + u32::from(dport)
                + (seq >> 16)
                + (seq & 0xffff),
        );
        out[t + 16..t + 18].copy_from_slice(&tcp_sum.to_be_bytes());
        SYN6_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The template writes exactly the bytes of the generic builder, for
    /// any destination, ports and sequence number (the checksum included).
    #[test]
    fn ipv6_template_equals_the_builder() {
        let src = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
        let tpl = SynTemplate6::new(src, 57);
        let mut x = 0x9e37_79b9_u32;
        for i in 0..2000u32 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let dst = Ipv6Addr::from(u128::from(x) << 96 | u128::from(i) << 7 | 0xffff);
            let (sport, dport, seq) = ((x >> 16) as u16, x as u16, x.rotate_left(7));
            let mut a = [0u8; 80];
            let mut b = [0u8; 80];
            assert_eq!(tpl.write(&mut a, dst, sport, dport, seq), SYN6_LEN);
            let ip = ProbeIp::V6(Ipv6Header {
                src,
                dst,
                hop_limit: 57,
                traffic_class: 0,
                flow_label: 0,
            });
            assert_eq!(
                build_syn_probe(&mut b, &ip, sport, dport, seq),
                Some(SYN6_LEN)
            );
            assert_eq!(a, b, "probe {i}");
        }
        assert_eq!(tpl.write(&mut [0u8; SYN6_LEN - 1], src, 1, 2, 3), 0);
    }
}
