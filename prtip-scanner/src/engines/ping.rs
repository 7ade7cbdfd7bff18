//! Which probes raw host discovery sends (nmap's `-PS`, `-PA`, `-PU`,
//! `-PE`, `-PP`, `-PM`, `-PO`), and nmap's default set when none is given.
//!
//! The set is data: the SYN engine's discovery (`engines/syn/discovery.rs`)
//! walks it per host. It holds a few port lists and flags, whatever the
//! number of targets.

/// The discovery probes of one scan. Any `-P` type given replaces nmap's
/// default set as a whole, as in nmap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingProbes {
    /// `-PE`: ICMP echo (ICMPv6 echo over IPv6).
    pub echo: bool,
    /// `-PP`: ICMP timestamp (IPv4 only).
    pub timestamp: bool,
    /// `-PM`: ICMP address mask (IPv4 only).
    pub netmask: bool,
    /// `-PS`: ports that get a SYN.
    pub syn: Vec<u16>,
    /// `-PA`: ports that get an ACK.
    pub ack: Vec<u16>,
    /// `-PU`: ports that get an empty UDP datagram.
    pub udp: Vec<u16>,
    /// `-PO`: IP protocols that get a packet of their own (IPv4 only;
    /// protocol 1 is an ICMP echo).
    pub proto: Vec<u8>,
}

/// One discovery probe of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingProbe {
    Echo,
    Timestamp,
    Netmask,
    Syn(u16),
    Ack(u16),
    Udp(u16),
    /// An IP protocol ping (`-PO`) other than ICMP's.
    Proto(u8),
}

/// nmap's port for `-PS` and `-PA` without a list.
pub const DEFAULT_TCP_PING_PORT: u16 = 80;
/// nmap's port for `-PU` without a list (unlikely to be open).
pub const DEFAULT_UDP_PING_PORT: u16 = 40125;
/// nmap's protocols for `-PO` without a list: ICMP, IGMP, IP in IP.
pub const DEFAULT_PROTO_PINGS: [u8; 3] = [1, 2, 4];

impl PingProbes {
    /// No probe at all (the start of a set built from `-P` options).
    pub fn none() -> PingProbes {
        PingProbes {
            echo: false,
            timestamp: false,
            netmask: false,
            syn: Vec::new(),
            ack: Vec::new(),
            udp: Vec::new(),
            proto: Vec::new(),
        }
    }

    /// nmap's default raw discovery: ICMP echo, SYN to 443, ACK to 80 and
    /// ICMP timestamp (the timestamp is dropped over IPv6).
    pub fn nmap_default() -> PingProbes {
        PingProbes {
            echo: true,
            timestamp: true,
            syn: vec![443],
            ack: vec![80],
            ..PingProbes::none()
        }
    }

    /// True when some probe is UDP, so the receiver must let UDP in.
    pub fn needs_udp(&self) -> bool {
        !self.udp.is_empty()
    }

    /// True when no probe would be sent to a host of family `v6`.
    pub fn is_empty_for(&self, v6: bool) -> bool {
        self.probes(v6).next().is_none()
    }

    /// Every probe of one host, in the order sent: ICMP first (as nmap's
    /// default order: echo, then TCP, then timestamp and mask), then TCP,
    /// then UDP. ICMPv6 has neither timestamps nor masks: they are skipped
    /// over IPv6 (the binary refuses `-PP`/`-PM` with `-6`, as nmap does).
    pub fn probes(&self, v6: bool) -> impl Iterator<Item = PingProbe> + '_ {
        let echo = self.echo.then_some(PingProbe::Echo);
        let timestamp = (self.timestamp && !v6).then_some(PingProbe::Timestamp);
        let netmask = (self.netmask && !v6).then_some(PingProbe::Netmask);
        echo.into_iter()
            .chain(self.syn.iter().map(|&p| PingProbe::Syn(p)))
            .chain(self.ack.iter().map(|&p| PingProbe::Ack(p)))
            .chain(timestamp)
            .chain(netmask)
            .chain(self.udp.iter().map(|&p| PingProbe::Udp(p)))
            .chain(self.proto.iter().filter(move |_| !v6).map(|&p| match p {
                // nmap's protocol 1 probe is an echo request.
                1 => PingProbe::Echo,
                p => PingProbe::Proto(p),
            }))
    }
}

impl Default for PingProbes {
    fn default() -> Self {
        PingProbes::nmap_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_nmaps_four_probes() {
        let d = PingProbes::default();
        let v4: Vec<_> = d.probes(false).collect();
        assert_eq!(
            v4,
            [
                PingProbe::Echo,
                PingProbe::Syn(443),
                PingProbe::Ack(80),
                PingProbe::Timestamp
            ]
        );
        assert_eq!(d.probes(true).count(), 3);
        assert!(!d.needs_udp());
    }

    #[test]
    fn ipv4_only_types_are_skipped_over_ipv6() {
        let p = PingProbes {
            timestamp: true,
            netmask: true,
            ..PingProbes::none()
        };
        assert_eq!(p.probes(false).count(), 2);
        assert!(p.is_empty_for(true));
        let u = PingProbes {
            udp: vec![53, 40125],
            ..PingProbes::none()
        };
        assert!(u.needs_udp() && !u.is_empty_for(true));
    }
}
