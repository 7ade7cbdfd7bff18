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
//! # Families
//!
//! Addresses are taken as anything that converts into an [`IpAddr`], so the
//! IPv4 callers pass `Ipv4Addr` and, the conversion being inlined, hash
//! exactly the 13 bytes they always did (same values, same speed). IPv6
//! addresses hash a 37-byte message of the same layout. Both addresses of
//! one call are normally of one family (one scan is one family); a mixed
//! pair is hashed as two IPv6 addresses, the IPv4 one mapped, so it is
//! still a well-defined value and never equals an IPv4 pair's.
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
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use siphasher::sip::SipHasher13;

use crate::wire::{
    IcmpEchoReply, IcmpError, IcmpTimestampReply, Reply, TcpFlags, TcpReply, IPPROTO_ICMP,
    IPPROTO_ICMPV6, IPPROTO_TCP,
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
const TAG_TCP_SCAN: u8 = 5;

/// Bits of the UDP probe tag in the IPv4 identification field.
pub const UDP_TAG_BITS_V4: u32 = 16;
/// Bits of the UDP probe tag in the IPv6 flow label.
pub const UDP_TAG_BITS_V6: u32 = 20;

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
    fn hash(&self, tag: u8, src: IpAddr, dst: IpAddr, sport: u16, dport: u16) -> u64 {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => self.hash4(tag, s, d, sport, dport),
            (s, d) => self.hash6(tag, v6(s), v6(d), sport, dport),
        }
    }

    #[inline]
    fn hash4(&self, tag: u8, src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16) -> u64 {
        let mut msg = [0u8; 13];
        msg[0] = tag;
        msg[1..5].copy_from_slice(&src.octets());
        msg[5..9].copy_from_slice(&dst.octets());
        msg[9..11].copy_from_slice(&sport.to_be_bytes());
        msg[11..13].copy_from_slice(&dport.to_be_bytes());
        self.sip.hash(&msg)
    }

    #[inline]
    fn hash6(&self, tag: u8, src: Ipv6Addr, dst: Ipv6Addr, sport: u16, dport: u16) -> u64 {
        let mut msg = [0u8; 37];
        msg[0] = tag;
        msg[1..17].copy_from_slice(&src.octets());
        msg[17..33].copy_from_slice(&dst.octets());
        msg[33..35].copy_from_slice(&sport.to_be_bytes());
        msg[35..37].copy_from_slice(&dport.to_be_bytes());
        self.sip.hash(&msg)
    }

    /// The sequence number of our probe from `src:sport` to `dst:dport`.
    #[inline]
    pub fn seq(
        &self,
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
        sport: u16,
        dport: u16,
    ) -> u32 {
        // Truncation is the point: any 32 bits of a PRF output are a PRF.
        self.hash(TAG_TCP_SEQ, src.into(), dst.into(), sport, dport) as u32
    }

    /// The source port to use towards `dst:dport`: `base + hash % range`.
    ///
    /// The window is clipped at 65535 (`range` larger than `65536 - base` is
    /// treated as reaching the top), and a `range` of 0 returns `base`. Pass
    /// [`DEFAULT_SOURCE_PORT_BASE`] and [`DEFAULT_SOURCE_PORT_RANGE`] unless
    /// the user fixed a port (`-g`, which is `range` 1).
    #[inline]
    pub fn source_port(&self, dst: impl Into<IpAddr>, dport: u16, base: u16, range: u16) -> u16 {
        let room = 65536 - u32::from(base);
        let range = u32::from(range).min(room);
        if range == 0 {
            return base;
        }
        let dst = dst.into();
        // The unspecified source of the target's own family: an IPv4
        // target keeps the port it always had.
        let any = match dst {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        let h = self.hash(TAG_SOURCE_PORT, any, dst, 0, dport);
        let off = (h % u64::from(range)) as u16;
        base + off
    }

    /// The (identifier, sequence) pair of our ICMP echo / timestamp probe
    /// (or ICMPv6 echo request) from `src` to `dst`.
    #[inline]
    pub fn icmp_id_seq(&self, src: impl Into<IpAddr>, dst: impl Into<IpAddr>) -> (u16, u16) {
        let h = self.hash(TAG_ICMP, src.into(), dst.into(), 0, 0);
        ((h >> 16) as u16, h as u16)
    }

    /// The keyed part of the IP identification of our IPv4 UDP probe from
    /// `src:sport` to `dst:dport`; ICMP errors quote it back. The low 16
    /// bits of [`SynCookie::udp_tag`].
    #[inline]
    pub fn udp_ip_id(&self, src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16) -> u16 {
        self.hash4(TAG_UDP_ID, src, dst, sport, dport) as u16
    }

    /// The keyed part of the tag field of our UDP probe, as wide as the
    /// family's field: the IPv4 identification ([`UDP_TAG_BITS_V4`] bits,
    /// equal to [`SynCookie::udp_ip_id`]) or the IPv6 flow label
    /// ([`UDP_TAG_BITS_V6`] bits). ICMP errors quote it back
    /// ([`IcmpError::orig_tag`]).
    #[inline]
    pub fn udp_tag(
        &self,
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
        sport: u16,
        dport: u16,
    ) -> u32 {
        let dst = dst.into();
        let bits = match dst {
            IpAddr::V4(_) => UDP_TAG_BITS_V4,
            IpAddr::V6(_) => UDP_TAG_BITS_V6,
        };
        let h = self.hash(TAG_UDP_ID, src.into(), dst, sport, dport) as u32;
        h & ((1 << bits) - 1)
    }

    /// Keyed bytes for a payload field the service echoes (a DNS ID, an
    /// NTP transmit timestamp) in our UDP probe to `dst:dport`.
    #[inline]
    pub fn udp_echo(
        &self,
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
        sport: u16,
        dport: u16,
    ) -> [u8; 8] {
        self.hash(TAG_UDP_ECHO, src.into(), dst.into(), sport, dport)
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

    /// The sequence (and, when ACK is set, acknowledgment) number of a
    /// port probe of the other TCP scan types (`-sA`, `-sW`, `-sM`, `-sN`,
    /// `-sF`, `-sX`, `--scanflags`) from `src:sport` to `dst:dport`. It is
    /// keyed apart from [`SynCookie::seq`], which the discovery probes
    /// carry, so an answer to a port probe is never taken for an answer to
    /// a discovery probe on the same 4-tuple, and back.
    #[inline]
    pub fn scan_seq(
        &self,
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
        sport: u16,
        dport: u16,
    ) -> u32 {
        self.hash(TAG_TCP_SCAN, src.into(), dst.into(), sport, dport) as u32
    }

    /// True when `r` answers our port probe with control bits `probe`,
    /// whose sequence number (and acknowledgment number, with ACK) was
    /// [`SynCookie::scan_seq`] `k`.
    ///
    /// A probe with ACK set is answered by a RST without ACK whose sequence
    /// number is the probe's acknowledgment number, `k` (RFC 9293
    /// §3.10.7.1). A probe without ACK is answered by a segment with ACK
    /// set acknowledging the probe: `k` plus one for SYN and one for FIN
    /// (each takes a sequence number; the probe carries no data).
    #[inline]
    pub fn answers_scan_probe(&self, r: &TcpReply, probe: TcpFlags) -> bool {
        let k = self.scan_seq(r.dst, r.src, r.dport, r.sport);
        if probe.contains(TcpFlags::ACK) {
            r.flags.contains(TcpFlags::RST) && !r.flags.contains(TcpFlags::ACK) && r.seq == k
        } else {
            let taken =
                u32::from(probe.contains(TcpFlags::SYN)) + u32::from(probe.contains(TcpFlags::FIN));
            r.flags.contains(TcpFlags::ACK) && r.ack == k.wrapping_add(taken)
        }
    }

    /// True when an ICMP or ICMPv6 error quotes one of our port probes
    /// keyed by [`SynCookie::scan_seq`].
    #[inline]
    pub fn quotes_scan_probe(&self, r: &IcmpError) -> bool {
        r.orig_proto == IPPROTO_TCP
            && r.orig_seq == self.scan_seq(r.orig_src, r.orig_dst, r.orig_sport, r.orig_dport)
    }

    /// True when an ICMP or ICMPv6 error quotes one of our probes: for TCP,
    /// the quoted sequence number must be the cookie of the quoted 4-tuple;
    /// for ICMP (ICMPv6), the quoted identifier and sequence must be ours.
    /// Other quoted protocols are not ours. Which error it is does not
    /// matter here: that is the engine's to judge.
    #[inline]
    pub fn validate_icmp(&self, r: &IcmpError) -> bool {
        match r.orig_proto {
            IPPROTO_TCP => {
                r.orig_seq == self.seq(r.orig_src, r.orig_dst, r.orig_sport, r.orig_dport)
            }
            IPPROTO_ICMP | IPPROTO_ICMPV6 if r.orig_proto == icmp_of(r.orig_dst) => {
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
            Reply::IcmpError(r) => self.validate_icmp(r),
            // The mask request carries the echo's identifier and sequence.
            Reply::IcmpEchoReply(r) | Reply::IcmpMaskReply(r) => self.validate_echo(r),
            Reply::IcmpTimestampReply(r) => self.validate_timestamp(r),
            // UDP replies carry no cookie; the UDP engine checks their
            // ports (and echoed payload fields) itself.
            Reply::Udp(_) => false,
        }
    }
}

/// `a` as IPv6 (IPv4 mapped), for hashing a mixed pair.
#[inline]
fn v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

/// The ICMP protocol of `a`'s family: an echo request quoted in an IPv6
/// packet is ICMPv6, never ICMP.
#[inline]
fn icmp_of(a: IpAddr) -> u8 {
    if a.is_ipv6() {
        IPPROTO_ICMPV6
    } else {
        IPPROTO_ICMP
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::IcmpErrorKind;

    const US: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
    const THEM: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2));
    const US6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    const THEM6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2));

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

    /// A reply of flags `flags` from THEM:80 to US:61234 with the given
    /// sequence and acknowledgment numbers.
    fn scan_reply(flags: TcpFlags, seq: u32, ack: u32) -> TcpReply {
        TcpReply {
            src: THEM,
            dst: US,
            sport: 80,
            dport: 61234,
            seq,
            ack,
            flags,
            window: 0,
            ttl: 64,
        }
    }

    #[test]
    fn scan_probes_with_ack_take_the_rst_by_its_sequence_number() {
        let c = cookie();
        let k = c.scan_seq(US, THEM, 61234, 80);
        for probe in [TcpFlags::ACK, TcpFlags(0x11)] {
            assert!(c.answers_scan_probe(&scan_reply(TcpFlags::RST, k, 0), probe));
            // Off by one, the SYN cookie instead, or an ACK bit: not ours.
            assert!(!c.answers_scan_probe(&scan_reply(TcpFlags::RST, k ^ 1, 0), probe));
            let syn_cookie = c.seq(US, THEM, 61234, 80);
            assert!(!c.answers_scan_probe(&scan_reply(TcpFlags::RST, syn_cookie, 0), probe));
            assert!(!c.answers_scan_probe(&scan_reply(TcpFlags::RST_ACK, k, k), probe));
        }
    }

    #[test]
    fn scan_probes_without_ack_take_the_rst_by_what_it_acknowledges() {
        let c = cookie();
        let k = c.scan_seq(US, THEM, 61234, 80);
        // NULL: nothing takes a sequence number; FIN and Xmas: the FIN does.
        let cases = [
            (TcpFlags(0), k),
            (TcpFlags::FIN, k + 1),
            (TcpFlags(0x29), k + 1),
        ];
        for (probe, ack) in cases {
            assert!(c.answers_scan_probe(&scan_reply(TcpFlags::RST_ACK, 0, ack), probe));
            assert!(!c.answers_scan_probe(&scan_reply(TcpFlags::RST_ACK, 0, ack + 1), probe));
            assert!(!c.answers_scan_probe(&scan_reply(TcpFlags::RST, ack, 0), probe));
        }
        // SYN and FIN together take two.
        let both = TcpFlags(0x03);
        assert!(c.answers_scan_probe(&scan_reply(TcpFlags::RST_ACK, 0, k + 2), both));
        // The discovery SYN's answer (the SYN cookie + 1) is not a FIN probe's.
        let syn = c.seq(US, THEM, 61234, 80).wrapping_add(1);
        assert!(!c.answers_scan_probe(&scan_reply(TcpFlags::RST_ACK, 0, syn), TcpFlags::FIN));
        // Another key's probe is not ours.
        let other = SynCookie::new(*b"fedcba9876543210");
        assert!(!other.answers_scan_probe(&scan_reply(TcpFlags::RST_ACK, 0, k + 1), TcpFlags::FIN));
    }

    #[test]
    fn icmp_errors_quoting_a_scan_probe_are_told_apart() {
        let c = cookie();
        let mut e = IcmpError {
            from: THEM,
            kind: IcmpErrorKind::Unreachable,
            code: 13,
            ttl: 60,
            orig_src: US6,
            orig_dst: THEM6,
            orig_proto: IPPROTO_TCP,
            orig_sport: 61234,
            orig_dport: 80,
            orig_seq: c.scan_seq(US6, THEM6, 61234, 80),
            orig_tag: 0,
        };
        assert!(c.quotes_scan_probe(&e));
        assert!(!c.validate_icmp(&e), "not a discovery probe's");
        e.orig_seq = c.seq(US6, THEM6, 61234, 80);
        assert!(!c.quotes_scan_probe(&e));
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
        let router = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 254));
        let good = IcmpError {
            from: router,
            kind: IcmpErrorKind::Unreachable,
            code: 13,
            ttl: 250,
            orig_src: US,
            orig_dst: THEM,
            orig_proto: IPPROTO_TCP,
            orig_sport: 61777,
            orig_dport: 22,
            orig_seq: c.seq(US, THEM, 61777, 22),
            orig_tag: 0,
        };
        assert!(c.validate_icmp(&good));
        assert!(c.validate(&Reply::IcmpError(good)));

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
        let r = IcmpError {
            from: THEM,
            kind: IcmpErrorKind::Unreachable,
            code: 1,
            ttl: 60,
            orig_src: US,
            orig_dst: THEM,
            orig_proto: IPPROTO_ICMP,
            orig_sport: 0x0800,
            orig_dport: 0xffff,
            orig_seq: u32::from(id) << 16 | u32::from(seq),
            orig_tag: 0,
        };
        assert!(c.validate_icmp(&r));
        let mut bad = r;
        bad.orig_dst = Ipv4Addr::new(198, 18, 0, 3).into();
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

    /// The IPv4 values are those of the 13-byte message the cookie always
    /// hashed: a scan's probes do not change with the IpAddr interface.
    #[test]
    fn ipv4_values_are_the_plain_13_byte_hash() {
        let c = cookie();
        let (us, them) = (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2));
        let sip = SipHasher13::new_with_key(b"0123456789abcdef");
        let msg = [0, 198, 18, 0, 1, 198, 18, 0, 2, 0xf0, 0x00, 0, 80];
        assert_eq!(c.seq(us, them, 0xf000, 80), sip.hash(&msg) as u32);
        assert_eq!(c.seq(US, THEM, 0xf000, 80), c.seq(us, them, 0xf000, 80));
        assert_eq!(
            u32::from(c.udp_ip_id(us, them, 1, 2)),
            c.udp_tag(us, them, 1, 2)
        );
    }

    #[test]
    fn ipv6_cookies_are_distinct_and_validate() {
        let c = cookie();
        let mapped = IpAddr::V6(Ipv4Addr::new(198, 18, 0, 1).to_ipv6_mapped());
        let them_mapped = IpAddr::V6(Ipv4Addr::new(198, 18, 0, 2).to_ipv6_mapped());
        // A v4 pair and its mapped v6 twin are different messages.
        assert_ne!(c.seq(US, THEM, 1, 2), c.seq(mapped, them_mapped, 1, 2));
        // A mixed pair is hashed as mapped IPv6 and never panics.
        assert_eq!(c.seq(US, THEM6, 1, 2), c.seq(mapped, THEM6, 1, 2));
        let sport = c.source_port(THEM6, 443, 61000, 4096);
        assert!((61000..65096).contains(&sport));
        let r = TcpReply {
            src: THEM6,
            dst: US6,
            sport: 443,
            dport: sport,
            seq: 7,
            ack: c.seq(US6, THEM6, sport, 443).wrapping_add(1),
            flags: TcpFlags::SYN_ACK,
            window: 1,
            ttl: 64,
        };
        assert!(c.validate(&Reply::Tcp(r)));
        assert!(!c.validate(&Reply::Tcp(TcpReply { src: US6, ..r })));
        let (id, seq) = c.icmp_id_seq(US6, THEM6);
        let echo = IcmpEchoReply {
            src: THEM6,
            dst: US6,
            id,
            seq,
            ttl: 64,
        };
        assert!(c.validate_echo(&echo));
        assert_ne!((id, seq), c.icmp_id_seq(THEM6, US6));
        // Flow label tags are 20 bits; IPv4 tags 16.
        let tags: Vec<u32> = (0..256).map(|p| c.udp_tag(US6, THEM6, 61000, p)).collect();
        assert!(tags.iter().all(|&t| t < 1 << 20));
        assert!(tags.iter().any(|&t| t >= 1 << 16));
        assert!((0..256).all(|p| c.udp_tag(US, THEM, 61000, p) < 1 << 16));
        assert_ne!(c.udp_echo(US6, THEM6, 1, 2), c.udp_echo(US, THEM, 1, 2));
    }

    #[test]
    fn icmpv6_errors_quoting_our_probes() {
        let c = cookie();
        let (id, seq) = c.icmp_id_seq(US6, THEM6);
        let echo = IcmpError {
            from: THEM6,
            kind: IcmpErrorKind::Unreachable,
            code: 3,
            ttl: 64,
            orig_src: US6,
            orig_dst: THEM6,
            orig_proto: IPPROTO_ICMPV6,
            orig_sport: 0x8000,
            orig_dport: 0,
            orig_seq: u32::from(id) << 16 | u32::from(seq),
            orig_tag: 0,
        };
        assert!(c.validate_icmp(&echo));
        // An IPv6 packet quoting "ICMP" (v4's number) is not our echo request.
        assert!(!c.validate_icmp(&IcmpError {
            orig_proto: IPPROTO_ICMP,
            ..echo
        }));
        let syn = IcmpError {
            kind: IcmpErrorKind::ParameterProblem,
            orig_proto: IPPROTO_TCP,
            orig_sport: 61001,
            orig_dport: 22,
            orig_seq: c.seq(US6, THEM6, 61001, 22),
            ..echo
        };
        assert!(c.validate(&Reply::IcmpError(syn)));
        assert!(!c.validate_icmp(&IcmpError {
            orig_dport: 23,
            ..syn
        }));
    }

    #[test]
    fn debug_hides_key() {
        let s = format!("{:?}", cookie());
        assert!(!s.contains("0123"), "{s}");
        assert!(s.starts_with("SynCookie"));
    }
}
