//! SYN cookies: the only "state" of a stateless scan.
//!
//! Each probe carries a keyed hash of its own 4-tuple in the TCP sequence
//! number (and, for ICMP probes, in the identifier and sequence fields). A
//! reply is ours exactly when it echoes that hash back, so the receiver needs
//! no table of outstanding probes, and replies to another scanner, to an
//! earlier run (another key) or forged by someone who cannot see our probes
//! are dropped with a 2^-32 chance of a false accept.
//!
//! The hash is SipHash-1-3 with a 128-bit key (the `siphasher` crate): a
//! keyed PRF fast enough for millions of probes per second, and unlike
//! masscan's and zmap's early non-keyed mixes, not invertible by someone who
//! sees our probes. Every input starts with a one-byte domain tag so the
//! sequence number, source port and ICMP identifiers of one probe are
//! independent values.
//!
//! # Source ports
//!
//! [`SynCookie::source_port`] picks the source port from the same keyed hash
//! of (target, target port), in `base .. base + range`. Deriving it rather
//! than drawing it at random keeps a retransmission on the same 4-tuple (so
//! a late answer to the first try still validates) and spreads probes over
//! ports, as masscan and zmap do. The default window,
//! [`DEFAULT_SOURCE_PORT_BASE`]`..+`[`DEFAULT_SOURCE_PORT_RANGE`]
//! (61000–65095), sits just above Linux's default `ip_local_port_range`
//! (32768–60999), so our probes never share a 4-tuple with one of the
//! kernel's own connections. (The kernel still answers SYN-ACKs on these
//! ports with a RST, which is what a SYN scan wants.)

use std::fmt;
use std::net::Ipv4Addr;

use siphasher::sip::SipHasher13;

use crate::wire::{
    IcmpEchoReply, IcmpTimestampReply, IcmpUnreachable, Reply, TcpFlags, TcpReply, IPPROTO_ICMP,
    IPPROTO_TCP,
};

/// First source port of the default window; just above Linux's default
/// ephemeral range, which ends at 60999.
pub const DEFAULT_SOURCE_PORT_BASE: u16 = 61000;
/// Width of the default source-port window (61000..=65095).
pub const DEFAULT_SOURCE_PORT_RANGE: u16 = 4096;

const TAG_TCP_SEQ: u8 = 0;
const TAG_SOURCE_PORT: u8 = 1;
const TAG_ICMP: u8 = 2;
const TAG_UDP_ID: u8 = 3;
const TAG_UDP_ECHO: u8 = 4;

/// A keyed generator and checker of probe cookies. One per scan: a new key
/// makes every reply to an earlier scan invalid.
#[derive(Clone)]
pub struct SynCookie {
    sip: SipHasher13,
}

impl fmt::Debug for SynCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is the scan's secret; keep it out of logs.
        f.debug_struct("SynCookie").finish_non_exhaustive()
    }
}

impl SynCookie {
    /// A cookie generator for `key`, which should come from the OS's random
    /// source (or from `--seed` when a reproducible run is wanted).
    pub fn new(key: [u8; 16]) -> Self {
        SynCookie {
            sip: SipHasher13::new_with_key(&key),
        }
    }

    #[inline]
    fn hash(&self, tag: u8, src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16) -> u64 {
        let mut msg = [0u8; 13];
        msg[0] = tag;
        msg[1..5].copy_from_slice(&src.octets());
        msg[5..9].copy_from_slice(&dst.octets());
        msg[9..11].copy_from_slice(&sport.to_be_bytes());
        msg[11..13].copy_from_slice(&dport.to_be_bytes());
        self.sip.hash(&msg)
    }

    /// The sequence number of our probe from `src:sport` to `dst:dport`.
    #[inline]
    pub fn seq(&self, src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16) -> u32 {
        // Truncation is the point: any 32 bits of a PRF output are a PRF.
        self.hash(TAG_TCP_SEQ, src, dst, sport, dport) as u32
    }

    /// The source port to use towards `dst:dport`: `base + hash % range`.
    ///
    /// The window is clipped at 65535 (`range` larger than `65536 - base` is
    /// treated as reaching the top), and a `range` of 0 returns `base`. Pass
    /// [`DEFAULT_SOURCE_PORT_BASE`] and [`DEFAULT_SOURCE_PORT_RANGE`] unless
    /// the user fixed a port (`-g`, which is `range` 1).
    #[inline]
    pub fn source_port(&self, dst: Ipv4Addr, dport: u16, base: u16, range: u16) -> u16 {
        let room = 65536 - u32::from(base);
        let range = u32::from(range).min(room);
        if range == 0 {
            return base;
        }
        let h = self.hash(TAG_SOURCE_PORT, Ipv4Addr::UNSPECIFIED, dst, 0, dport);
        let off = (h % u64::from(range)) as u16;
        base + off
    }

    /// The (identifier, sequence) pair of our ICMP echo / timestamp probe
    /// from `src` to `dst`.
    #[inline]
    pub fn icmp_id_seq(&self, src: Ipv4Addr, dst: Ipv4Addr) -> (u16, u16) {
        let h = self.hash(TAG_ICMP, src, dst, 0, 0);
        ((h >> 16) as u16, h as u16)
    }

    /// The keyed part of the IP identification of our UDP probe from
    /// `src:sport` to `dst:dport`; ICMP errors quote it back.
    #[inline]
    pub fn udp_ip_id(&self, src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16) -> u16 {
        self.hash(TAG_UDP_ID, src, dst, sport, dport) as u16
    }

    /// Keyed bytes for a payload field the service echoes (a DNS ID, an
    /// NTP transmit timestamp) in our UDP probe to `dst:dport`.
    #[inline]
    pub fn udp_echo(&self, src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16) -> [u8; 8] {
        self.hash(TAG_UDP_ECHO, src, dst, sport, dport)
            .to_be_bytes()
    }

    /// True when a TCP reply answers one of our probes.
    ///
    /// Our 4-tuple is the reply's reversed: (`dst`, `src`, `dport`, `sport`).
    /// Accepted: any segment with ACK set whose `ack` is our cookie + 1 (the
    /// SYN-ACK or RST-ACK answering a SYN probe), and a RST without ACK
    /// whose `seq` is the cookie (the answer to an ACK probe, which takes its
    /// sequence number from our acknowledgment number; see
    /// [`crate::wire::build_tcp_ack`]).
    #[inline]
    pub fn validate_tcp(&self, r: &TcpReply) -> bool {
        let c = self.seq(r.dst, r.src, r.dport, r.sport);
        if r.flags.contains(TcpFlags::ACK) {
            r.ack == c.wrapping_add(1)
        } else if r.flags.contains(TcpFlags::RST) {
            r.seq == c
        } else {
            false
        }
    }

    /// True when an ICMP destination-unreachable quotes one of our probes:
    /// for TCP, the quoted sequence number must be the cookie of the quoted
    /// 4-tuple; for ICMP, the quoted identifier and sequence must be ours.
    /// Other quoted protocols are not ours.
    #[inline]
    pub fn validate_icmp(&self, r: &IcmpUnreachable) -> bool {
        match r.orig_proto {
            IPPROTO_TCP => {
                r.orig_seq == self.seq(r.orig_src, r.orig_dst, r.orig_sport, r.orig_dport)
            }
            IPPROTO_ICMP => {
                // The quoted 8 bytes are type, code, checksum, id, seq: the
                // "seq" slot holds id and sequence.
                let (id, seq) = self.icmp_id_seq(r.orig_src, r.orig_dst);
                r.orig_seq == (u32::from(id) << 16 | u32::from(seq))
            }
            _ => false,
        }
    }

    /// True when an echo reply answers our echo request to its source.
    #[inline]
    pub fn validate_echo(&self, r: &IcmpEchoReply) -> bool {
        self.icmp_id_seq(r.dst, r.src) == (r.id, r.seq)
    }

    /// True when a timestamp reply answers our timestamp request to its source.
    #[inline]
    pub fn validate_timestamp(&self, r: &IcmpTimestampReply) -> bool {
        self.icmp_id_seq(r.dst, r.src) == (r.id, r.seq)
    }

    /// Dispatches to the `validate_*` method for the reply's kind.
    #[inline]
    pub fn validate(&self, reply: &Reply) -> bool {
        match reply {
            Reply::Tcp(r) => self.validate_tcp(r),
            Reply::IcmpUnreachable(r) => self.validate_icmp(r),
            Reply::IcmpEchoReply(r) => self.validate_echo(r),
            Reply::IcmpTimestampReply(r) => self.validate_timestamp(r),
            // UDP replies carry no cookie; the UDP engine checks their
            // ports (and echoed payload fields) itself.
            Reply::Udp(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const THEM: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

    fn cookie() -> SynCookie {
        SynCookie::new(*b"0123456789abcdef")
    }

    fn reply_to(c: &SynCookie, sport: u16, dport: u16, flags: TcpFlags) -> TcpReply {
        TcpReply {
            src: THEM,
            dst: US,
            sport: dport,
            dport: sport,
            seq: 0xdead_beef,
            ack: c.seq(US, THEM, sport, dport).wrapping_add(1),
            flags,
            window: 65535,
            ttl: 64,
        }
    }

    #[test]
    fn genuine_syn_ack_and_rst_ack_accepted() {
        let c = cookie();
        assert!(c.validate_tcp(&reply_to(&c, 61234, 80, TcpFlags::SYN_ACK)));
        assert!(c.validate_tcp(&reply_to(&c, 61234, 81, TcpFlags::RST_ACK)));
        let r = Reply::Tcp(reply_to(&c, 61234, 80, TcpFlags::SYN_ACK));
        assert!(c.validate(&r));
    }

    #[test]
    fn forged_replies_rejected() {
        let c = cookie();
        let good = reply_to(&c, 61234, 80, TcpFlags::SYN_ACK);

        let mut r = good;
        r.ack = good.ack.wrapping_sub(1); // ack == cookie, not cookie + 1
        assert!(!c.validate_tcp(&r));
        r.ack = good.ack.wrapping_add(1);
        assert!(!c.validate_tcp(&r));
        r.ack = 0x1234_5678;
        assert!(!c.validate_tcp(&r));

        let mut r = good;
        std::mem::swap(&mut r.sport, &mut r.dport);
        assert!(!c.validate_tcp(&r));

        let mut r = good;
        std::mem::swap(&mut r.src, &mut r.dst);
        assert!(!c.validate_tcp(&r));

        let mut r = good;
        r.sport = 81;
        assert!(!c.validate_tcp(&r));

        // A SYN without ACK carries no acknowledgment to check.
        let mut r = good;
        r.flags = TcpFlags::SYN;
        assert!(!c.validate_tcp(&r));

        // Stale scan: same reply, different key.
        let other = SynCookie::new(*b"fedcba9876543210");
        assert!(!other.validate_tcp(&good));
    }

    #[test]
    fn rst_to_ack_probe_validated_on_seq() {
        let c = cookie();
        let cookie_val = c.seq(US, THEM, 61500, 80);
        let mut r = reply_to(&c, 61500, 80, TcpFlags::RST);
        r.ack = 0;
        r.seq = cookie_val;
        assert!(c.validate_tcp(&r));
        r.seq = cookie_val.wrapping_add(1);
        assert!(!c.validate_tcp(&r));
    }

    #[test]
    fn icmp_unreachable_quoting_our_syn() {
        let c = cookie();
        let router = Ipv4Addr::new(198, 18, 0, 254);
        let good = IcmpUnreachable {
            from: router,
            code: 13,
            ttl: 250,
            orig_src: US,
            orig_dst: THEM,
            orig_proto: IPPROTO_TCP,
            orig_sport: 61777,
            orig_dport: 22,
            orig_seq: c.seq(US, THEM, 61777, 22),
            orig_ip_id: 0,
        };
        assert!(c.validate_icmp(&good));
        assert!(c.validate(&Reply::IcmpUnreachable(good)));

        let mut r = good;
        r.orig_seq ^= 1;
        assert!(!c.validate_icmp(&r));
        let mut r = good;
        r.orig_dport = 23;
        assert!(!c.validate_icmp(&r));
        let mut r = good;
        r.orig_proto = 17;
        assert!(!c.validate_icmp(&r));
        assert!(!SynCookie::new([7; 16]).validate_icmp(&good));
    }

    #[test]
    fn icmp_unreachable_quoting_our_echo() {
        let c = cookie();
        let (id, seq) = c.icmp_id_seq(US, THEM);
        let r = IcmpUnreachable {
            from: THEM,
            code: 1,
            ttl: 60,
            orig_src: US,
            orig_dst: THEM,
            orig_proto: IPPROTO_ICMP,
            orig_sport: 0x0800,
            orig_dport: 0xffff,
            orig_seq: u32::from(id) << 16 | u32::from(seq),
            orig_ip_id: 0,
        };
        assert!(c.validate_icmp(&r));
        let mut bad = r;
        bad.orig_dst = Ipv4Addr::new(198, 18, 0, 3);
        assert!(!c.validate_icmp(&bad));
    }

    #[test]
    fn echo_and_timestamp_replies() {
        let c = cookie();
        let (id, seq) = c.icmp_id_seq(US, THEM);
        let echo = IcmpEchoReply {
            src: THEM,
            dst: US,
            id,
            seq,
            ttl: 64,
        };
        assert!(c.validate_echo(&echo));
        assert!(!c.validate_echo(&IcmpEchoReply {
            seq: seq.wrapping_add(1),
            ..echo
        }));
        assert!(!c.validate_echo(&IcmpEchoReply {
            src: US,
            dst: THEM,
            ..echo
        }));
        let ts = IcmpTimestampReply {
            src: THEM,
            dst: US,
            id,
            seq,
            ttl: 64,
            originate: 0,
            receive: 1,
            transmit: 2,
        };
        assert!(c.validate(&Reply::IcmpTimestampReply(ts)));
        assert!(!c.validate_timestamp(&IcmpTimestampReply { id: !id, ..ts }));
    }

    #[test]
    fn source_port_stays_in_window() {
        let c = cookie();
        let mut seen = [false; DEFAULT_SOURCE_PORT_RANGE as usize];
        for i in 0..20_000u32 {
            let dst = Ipv4Addr::from(0xc612_0000 | (i & 0xffff));
            let p = c.source_port(
                dst,
                (i % 1000) as u16,
                DEFAULT_SOURCE_PORT_BASE,
                DEFAULT_SOURCE_PORT_RANGE,
            );
            assert!((DEFAULT_SOURCE_PORT_BASE
                ..DEFAULT_SOURCE_PORT_BASE + DEFAULT_SOURCE_PORT_RANGE)
                .contains(&p));
            seen[usize::from(p - DEFAULT_SOURCE_PORT_BASE)] = true;
        }
        // 20k draws over 4096 slots: all but a handful are hit if the hash spreads.
        assert!(seen.iter().filter(|&&s| s).count() > 4000);
        // Deterministic per (dst, dport), so retransmissions reuse the 4-tuple.
        assert_eq!(
            c.source_port(THEM, 80, 61000, 4096),
            c.source_port(THEM, 80, 61000, 4096)
        );
    }

    #[test]
    fn source_port_edge_windows() {
        let c = cookie();
        assert_eq!(c.source_port(THEM, 80, 40000, 0), 40000);
        assert_eq!(c.source_port(THEM, 80, 40000, 1), 40000);
        assert_eq!(c.source_port(THEM, 80, 65535, 4096), 65535);
        for dport in 0..2000 {
            assert!(c.source_port(THEM, dport, 65000, u16::MAX) >= 65000);
        }
    }

    #[test]
    fn debug_hides_key() {
        let s = format!("{:?}", cookie());
        assert!(!s.contains("0123"), "{s}");
        assert!(s.starts_with("SynCookie"));
    }
}
