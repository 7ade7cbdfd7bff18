//! Firewall-audit options that reshape every raw probe (nmap's `-g` /
//! `--source-port`, `--ttl`, `--badsum`), for the SYN engine (its port
//! probes and discovery) and the UDP engine alike.
//!
//! A fixed source port is the keyed source-port window shrunk to one port,
//! so the cookies and the receivers' checks stay as they are: every other
//! keyed field (sequence numbers, ICMP identifiers, the UDP tag) still
//! tells our answers from anyone's.

use prtip_core::wire::{DEFAULT_TTL, IPPROTO_TCP, IPPROTO_UDP, IPV4_HEADER_LEN, IPV6_HEADER_LEN};

/// How raw probes are shaped; the default is prtip's own shape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeShape {
    /// `-g`: every probe's source port.
    pub source_port: Option<u16>,
    /// `--ttl`: the IPv4 time to live / IPv6 hop limit.
    pub ttl: Option<u8>,
    /// `--badsum`: TCP and UDP checksums are wrong on purpose (a host
    /// drops such segments; a middlebox that answers did not check).
    pub badsum: bool,
}

impl ProbeShape {
    /// The source-port window `(base, range)`: the one port of `-g`, else
    /// `window` (the engine's own).
    pub fn source_ports(&self, window: (u16, u16)) -> (u16, u16) {
        self.source_port.map_or(window, |p| (p, 1))
    }

    /// The TTL or hop limit of every probe.
    pub fn ttl(&self) -> u8 {
        self.ttl.unwrap_or(DEFAULT_TTL)
    }
}

/// Makes the TCP or UDP checksum of a built IPv4 or IPv6 probe wrong (its
/// complement, which is right only for the other 1 in 65,536 sums); other
/// packets (ICMP pings) are left as they are, as nmap leaves them.
pub fn spoil_checksum(packet: &mut [u8]) {
    let (proto, at) = match packet.first().map(|b| b >> 4) {
        Some(4) => {
            let ihl = usize::from(packet[0] & 0x0f) * 4;
            (packet.get(9).copied(), ihl.max(IPV4_HEADER_LEN))
        }
        // The engines send IPv6 probes without extension headers.
        Some(6) => (packet.get(6).copied(), IPV6_HEADER_LEN),
        _ => return,
    };
    let offset = match proto {
        Some(IPPROTO_TCP) => 16,
        Some(IPPROTO_UDP) => 6,
        _ => return,
    };
    if let Some(sum) = packet.get_mut(at + offset..at + offset + 2) {
        sum[0] = !sum[0];
        sum[1] = !sum[1];
        // A UDP checksum of zero means "none" over IPv4: keep it spoiled.
        if proto == Some(IPPROTO_UDP) && sum == [0, 0] {
            sum[1] = 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prtip_core::wire::{build_ipv4_udp, build_syn_probe, Ipv4Fields, ProbeIp, UdpHeader};
    use std::net::Ipv4Addr;

    fn fields() -> Ipv4Fields {
        Ipv4Fields {
            src: Ipv4Addr::new(198, 18, 0, 1),
            dst: Ipv4Addr::new(198, 18, 0, 2),
            ip_id: 7,
            ttl: 64,
        }
    }

    #[test]
    fn a_fixed_port_is_a_window_of_one() {
        let g = ProbeShape {
            source_port: Some(53),
            ..ProbeShape::default()
        };
        assert_eq!(g.source_ports((40000, 4096)), (53, 1));
        assert_eq!(
            ProbeShape::default().source_ports((40000, 4096)),
            (40000, 4096)
        );
        assert_eq!(ProbeShape::default().ttl(), DEFAULT_TTL);
    }

    #[test]
    fn the_transport_checksum_is_spoiled_and_nothing_else() {
        let mut tcp = [0u8; 64];
        let n = build_syn_probe(&mut tcp, &ProbeIp::V4(fields()), 1234, 80, 99).expect("room");
        let good = tcp;
        spoil_checksum(&mut tcp[..n]);
        let diff: Vec<usize> = (0..n).filter(|&i| tcp[i] != good[i]).collect();
        assert_eq!(diff, [36, 37], "only the TCP checksum changes");
        let mut udp = [0u8; 64];
        let udp_hdr = UdpHeader { sport: 1, dport: 2 };
        let n = build_ipv4_udp(&mut udp, &fields().header(), &udp_hdr, b"x").expect("room");
        let good = udp;
        spoil_checksum(&mut udp[..n]);
        let diff: Vec<usize> = (0..n).filter(|&i| udp[i] != good[i]).collect();
        assert_eq!(diff, [26, 27], "only the UDP checksum changes");
        let mut junk = [0x45u8, 0, 0];
        spoil_checksum(&mut junk);
        assert_eq!(junk, [0x45, 0, 0]);
    }
}
