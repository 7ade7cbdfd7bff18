//! Raw host discovery on the SYN engine's windows: the probes of
//! [`PingProbes`] (nmap's `-PS`, `-PA`, `-PU`, `-PE`, `-PP`, `-PM`, `-PO`,
//! or its default set) to every host of a window not yet known up, in
//! rounds, and the answers only discovery can draw (UDP, and ICMP errors
//! quoting a UDP or an IP protocol ping).
//!
//! Every probe is keyed like the port probes, so nothing per probe is
//! kept: TCP pings carry the SYN cookie ([`SynCookie::seq`]); ICMP
//! requests the keyed identifier and sequence; a UDP ping the keyed source
//! port and, in its IPv4 identification (IPv6 flow label), the keyed tag
//! the UDP scan uses, which an ICMP error quotes back; an IP protocol ping
//! (`-PO`) carries that tag, keyed by its protocol, in its identification.
//!
//! What an answer means for the host is nmap's: an echo, timestamp or
//! mask reply, a SYN-ACK or a reset, a UDP answer, or an ICMP port or
//! protocol unreachable from the target itself (the UDP probe reached a
//! closed port, the protocol is not spoken there) show it up, with that
//! reason. Other ICMP errors (a router's host
//! unreachable, a firewall's prohibition) do not.
//!
//! [`SynCookie::seq`]: prtip_core::cookie::SynCookie::seq

use super::window::{HostReason, Window};
use super::{Batch, SynScanner};
use crate::engines::ping::{PingProbe, PingProbes};
use crate::error::ScanError;
use prtip_core::wire::{
    build_ack_probe, build_echo_probe, build_icmp_mask, build_icmp_timestamp, build_ipv4_udp,
    build_ipv6_udp, build_proto_probe, build_syn_probe, IcmpError, IcmpErrorKind, ProbeIp, Reply,
    UdpHeader, UdpReply, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP,
};
use std::net::IpAddr;
use std::sync::atomic::Ordering;

/// Discovery probe rounds (nmap retries host discovery once by default).
const DISCOVERY_ROUNDS: u32 = 2;
/// ICMP (v4) and ICMPv6 codes of "port unreachable".
const PORT_UNREACH_V4: u8 = 3;
const PORT_UNREACH_V6: u8 = 4;
/// ICMP code of "protocol unreachable".
const PROTO_UNREACH_V4: u8 = 2;

impl SynScanner {
    /// Discovery of the hosts of `win` not in `skip`, in up to
    /// [`DISCOVERY_ROUNDS`] rounds; a round ends early once every host is up.
    pub(super) fn discover(&self, win: &Window, skip: &[bool]) -> Result<(), ScanError> {
        let mut out = self.sender(&self.cfg.timing);
        let mut batch = Batch::new();
        let v6 = self.cfg.source.is_ipv6();
        for _round in 0..DISCOVERY_ROUNDS {
            for (h, dst) in win.hosts.iter().enumerate() {
                if skip[h] || win.is_alive(h as u32) {
                    continue;
                }
                if self.stop.is_stopped() {
                    return Ok(());
                }
                let src = win.source(h as u32);
                for probe in self.cfg.ping.probes(v6) {
                    self.write_ping(&mut batch, src, dst, h as u16, probe);
                    if batch.full() {
                        out.flush(&mut batch)?;
                    }
                }
            }
            out.flush(&mut batch)?;
            let all_up = || {
                (0..win.host_count() as u32)
                    .filter(|&h| !skip[h as usize])
                    .all(|h| win.is_alive(h))
            };
            self.wait_for(self.round_wait(), all_up);
            if all_up() {
                break;
            }
        }
        Ok(())
    }

    /// One discovery probe from `src` to `dst` into `batch`; `n` is the
    /// host's position (an IPv4 identification for the non-UDP probes).
    fn write_ping(&self, batch: &mut Batch, src: IpAddr, dst: IpAddr, n: u16, probe: PingProbe) {
        let Some(ip) = self.probe_ip(src, dst, n.wrapping_mul(31)) else {
            return;
        };
        let (id, seq) = self.cookie.icmp_id_seq(src, dst);
        let buf = batch.slot();
        let len = match (probe, &ip) {
            (PingProbe::Echo, _) => build_echo_probe(buf, &ip, id, seq),
            (PingProbe::Timestamp, ProbeIp::V4(f)) => build_icmp_timestamp(buf, f, id, seq),
            (PingProbe::Netmask, ProbeIp::V4(f)) => build_icmp_mask(buf, f, id, seq),
            (PingProbe::Syn(port), _) => {
                let sport = self.sport(dst, port);
                let c = self.cookie.seq(src, dst, sport, port);
                build_syn_probe(buf, &ip, sport, port, c)
            }
            (PingProbe::Ack(port), _) => {
                let sport = self.sport(dst, port);
                let c = self.cookie.seq(src, dst, sport, port);
                build_ack_probe(buf, &ip, sport, port, c, c)
            }
            (PingProbe::Udp(port), _) => self.udp_ping(buf, ip, port),
            (PingProbe::Proto(proto), ProbeIp::V4(mut f)) => {
                f.ip_id = self.cookie.udp_tag(src, dst, 0, u16::from(proto)) as u16;
                build_proto_probe(buf, &f, proto)
            }
            // ICMPv6 has no timestamp or mask request.
            _ => None,
        };
        batch.commit(len.unwrap_or(0), dst);
    }

    /// An empty UDP datagram to `port`, from the keyed source port, with
    /// the keyed tag in its IPv4 identification or IPv6 flow label.
    fn udp_ping(&self, buf: &mut [u8], ip: ProbeIp, port: u16) -> Option<usize> {
        match ip {
            ProbeIp::V4(mut f) => {
                let sport = self.sport(f.dst.into(), port);
                f.ip_id = self.cookie.udp_tag(f.src, f.dst, sport, port) as u16;
                let udp = UdpHeader { sport, dport: port };
                build_ipv4_udp(buf, &f.header(), &udp, &[])
            }
            ProbeIp::V6(mut h) => {
                let sport = self.sport(h.dst.into(), port);
                h.flow_label = self.cookie.udp_tag(h.src, h.dst, sport, port);
                let udp = UdpHeader { sport, dport: port };
                build_ipv6_udp(buf, &h, &udp, &[])
            }
        }
    }

    /// Records the replies only discovery draws: a UDP answer to a UDP
    /// ping, and an ICMP error quoting one. True when `reply` was one of
    /// ours (whatever it meant).
    pub(super) fn handle_udp_ping(&self, win: &Window, reply: &Reply) -> bool {
        match reply {
            Reply::Udp(u) if self.cfg.ping.needs_udp() => self.udp_answer(win, u),
            Reply::IcmpError(e) if e.orig_proto == IPPROTO_UDP && self.cfg.ping.needs_udp() => {
                self.udp_error(win, e)
            }
            Reply::IcmpError(e) if self.is_proto_ping(e.orig_proto) => self.proto_error(win, e),
            _ => false,
        }
    }

    /// True when `proto` is one of the scan's IP protocol pings that is
    /// neither ICMP (an echo) nor TCP.
    pub(super) fn is_proto_ping(&self, proto: u8) -> bool {
        proto != IPPROTO_ICMP && proto != IPPROTO_TCP && self.cfg.ping.proto.contains(&proto)
    }

    /// An ICMP error quoting an IP protocol ping: the target's protocol
    /// unreachable shows it up (nmap's `proto-unreach`).
    fn proto_error(&self, win: &Window, e: &IcmpError) -> bool {
        let proto = u16::from(e.orig_proto);
        let ours = e.orig_tag == self.cookie.udp_tag(e.orig_src, e.orig_dst, 0, proto);
        let Some(h) = win.host_index(e.orig_dst).filter(|_| ours) else {
            return false;
        };
        self.matched.fetch_add(1, Ordering::Relaxed);
        if !e.is_v6() && e.code == PROTO_UNREACH_V4 && e.from == e.orig_dst {
            win.mark_alive(h, e.ttl, HostReason::ProtoUnreach);
        }
        true
    }

    fn udp_answer(&self, win: &Window, u: &UdpReply) -> bool {
        let ours = self.cfg.ping.udp.contains(&u.sport)
            && self.our_port(u.dport)
            && u.dport == self.sport(u.src, u.sport);
        let Some(h) = win.host_index(u.src).filter(|_| ours) else {
            return false;
        };
        self.matched.fetch_add(1, Ordering::Relaxed);
        win.mark_alive(h, u.ttl, HostReason::UdpResponse);
        true
    }

    fn udp_error(&self, win: &Window, e: &IcmpError) -> bool {
        let (src, dst, sport, dport) = (e.orig_src, e.orig_dst, e.orig_sport, e.orig_dport);
        let ours = self.cfg.ping.udp.contains(&dport)
            && sport == self.sport(dst, dport)
            && e.orig_tag == self.cookie.udp_tag(src, dst, sport, dport);
        let Some(h) = win.host_index(dst).filter(|_| ours) else {
            return false;
        };
        self.matched.fetch_add(1, Ordering::Relaxed);
        let unreach = if e.is_v6() {
            PORT_UNREACH_V6
        } else {
            PORT_UNREACH_V4
        };
        // The target itself says the port is closed: it is up. Any other
        // error (a router's, a firewall's) is no sign of the host.
        if e.kind == IcmpErrorKind::Unreachable && e.code == unreach && e.from == dst {
            win.mark_alive(h, e.ttl, HostReason::Unreachable);
        }
        true
    }
}

/// The ping set of a scan, for the receive socket's filter: UDP is let in
/// only when some probe is UDP.
pub(super) fn transport(ping: &PingProbes) -> crate::net::raw::Transport {
    if ping.needs_udp() {
        crate::net::raw::Transport::TcpUdp
    } else {
        crate::net::raw::Transport::Tcp
    }
}
