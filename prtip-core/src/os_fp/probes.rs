//! The sixteen probes of nmap's second-generation OS detection (their field
//! values; the wire builders lay them out), and the rule that attributes a
//! reply to its probe.
//!
//! Every TCP probe gets its own source port (`tcp_sport_base + index`), so a
//! TCP reply is attributed by its destination port alone; the sequence
//! numbers follow nmap's scheme (SEQ probe `i` uses `seq_base + i`, the
//! others `seq_base`) so that the `S` and `A` tests read the same as nmap's.

use std::net::Ipv4Addr;

use super::reply::{OsReply, ReplyBody};
use crate::wire::{
    build_ipv4_icmp, build_ipv4_tcp, build_ipv4_udp, IcmpMessage, Ipv4Header, TcpFlags, TcpHeader,
    UdpHeader, ICMP_ECHO_REQUEST, IPPROTO_UDP, IPV4_HEADER_LEN, UDP_HEADER_LEN,
};

/// Number of probes.
pub const PROBE_COUNT: usize = 16;
/// Length of the largest probe (U1: IPv4 + UDP + 300 bytes).
pub const MAX_PROBE_LEN: usize = IPV4_HEADER_LEN + UDP_HEADER_LEN + U1_PAYLOAD_LEN;
/// IP id of the U1 probe; the `RID` test looks for it in the quoted header.
pub const U1_IP_ID: u16 = 0x1042;
/// Bytes of `'C'` carried by U1.
pub const U1_PAYLOAD_LEN: usize = 300;
/// Sequence numbers of the two echo requests.
pub(crate) const IE_SEQ: [u16; 2] = [295, 296];
/// ICMP codes of the two echo requests (9 is deliberately invalid).
pub(crate) const IE_CODE: [u8; 2] = [9, 0];

const IE_PAYLOAD: [usize; 2] = [120, 150];
/// The echo requests carry zeros, as nmap's do.
const IE_ZEROS: [u8; 150] = [0; 150];
/// U1 carries `'C'`s so that `RUD` can tell whether the quote came back intact.
const U1_PAYLOAD: [u8; U1_PAYLOAD_LEN] = [b'C'; U1_PAYLOAD_LEN];
const IE_TOS: [u8; 2] = [0, 4];
const TCP_PROBES: usize = 13;

const FIN: u8 = TcpFlags::FIN.0;
const SYN: u8 = TcpFlags::SYN.0;
const PSH: u8 = TcpFlags::PSH.0;
const ACK: u8 = TcpFlags::ACK.0;
const URG: u8 = TcpFlags::URG.0;

/// One probe. `Seq1`..`Seq6` also feed `OPS`, `WIN` and (`Seq1`) `T1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Probe {
    Seq1,
    Seq2,
    Seq3,
    Seq4,
    Seq5,
    Seq6,
    Ecn,
    T2,
    T3,
    T4,
    T5,
    T6,
    T7,
    Ie1,
    Ie2,
    U1,
}

impl Probe {
    /// Every probe, in the order of [`Probe::index`].
    pub const ALL: [Probe; PROBE_COUNT] = [
        Probe::Seq1,
        Probe::Seq2,
        Probe::Seq3,
        Probe::Seq4,
        Probe::Seq5,
        Probe::Seq6,
        Probe::Ecn,
        Probe::T2,
        Probe::T3,
        Probe::T4,
        Probe::T5,
        Probe::T6,
        Probe::T7,
        Probe::Ie1,
        Probe::Ie2,
        Probe::U1,
    ];

    /// Position in [`Probe::ALL`] (0..16).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The probe at `index`, if any.
    pub fn from_index(index: usize) -> Option<Probe> {
        Probe::ALL.get(index).copied()
    }

    /// 0..6 for the SEQ probes.
    pub fn seq_index(self) -> Option<usize> {
        (self.index() < 6).then_some(self.index())
    }

    /// Short name as nmap's debug output uses it.
    pub fn name(self) -> &'static str {
        [
            "SEQ1", "SEQ2", "SEQ3", "SEQ4", "SEQ5", "SEQ6", "ECN", "T2", "T3", "T4", "T5", "T6",
            "T7", "IE1", "IE2", "U1",
        ][self.index()]
    }

    /// True for probes sent to the closed TCP port.
    fn to_closed(self) -> bool {
        matches!(self, Probe::T5 | Probe::T6 | Probe::T7)
    }
}

/// Shape of one TCP probe: flags, window, DF, options.
struct TcpShape {
    flags: u8,
    window: u16,
    df: bool,
    urgent: u16,
    /// Low nibble of the data-offset byte (reserved bits).
    reserved: u8,
    options: &'static [u8],
}

/// Options of the six SEQ probes, as the book lists them (kind, length, value).
const SEQ_OPTIONS: [&[u8]; 6] = [
    // WS 10, NOP, MSS 1460, TS(0xFFFFFFFF, 0), SACK permitted
    &[
        3, 3, 10, 1, 2, 4, 0x05, 0xb4, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 4, 2,
    ],
    // MSS 1400, WS 0, SACK permitted, TS, EOL
    &[
        2, 4, 0x05, 0x78, 3, 3, 0, 4, 2, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0,
    ],
    // TS, NOP, NOP, WS 5, NOP, MSS 640
    &[
        8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 1, 3, 3, 5, 1, 2, 4, 0x02, 0x80,
    ],
    // SACK permitted, TS, WS 10, EOL
    &[4, 2, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 3, 3, 10, 0],
    // MSS 536, SACK permitted, TS, WS 10, EOL
    &[
        2, 4, 0x02, 0x18, 4, 2, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 3, 3, 10, 0,
    ],
    // MSS 265, SACK permitted, TS
    &[
        2, 4, 0x01, 0x09, 4, 2, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
    ],
];
const SEQ_WINDOWS: [u16; 6] = [1, 63, 4, 4, 16, 512];

/// WS 10, NOP, MSS 1460, SACK permitted, NOP, NOP.
const ECN_OPTIONS: &[u8] = &[3, 3, 10, 1, 2, 4, 0x05, 0xb4, 4, 2, 1, 1];
/// WS 10, NOP, MSS 265, TS(0xFFFFFFFF, 0), SACK permitted: T2..T6.
const T_OPTIONS: &[u8] = &[
    3, 3, 10, 1, 2, 4, 0x01, 0x09, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 4, 2,
];
/// As [`T_OPTIONS`] with window scale 15: T7.
const T7_OPTIONS: &[u8] = &[
    3, 3, 15, 1, 2, 4, 0x01, 0x09, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 4, 2,
];

fn tcp_shape(probe: Probe) -> Option<TcpShape> {
    let t = |flags, window, df, options| TcpShape {
        flags,
        window,
        df,
        urgent: 0,
        reserved: 0,
        options,
    };
    Some(match probe {
        Probe::Ecn => TcpShape {
            flags: TcpFlags::CWR.0 | TcpFlags::ECE.0 | SYN,
            window: 3,
            df: false,
            // Nonzero without URG: tests how the target treats a stray pointer.
            urgent: 0xf7f5,
            // A reserved bit too, as nmap's probe has it: some stacks echo it (`Q=R`).
            reserved: 0x08,
            options: ECN_OPTIONS,
        },
        Probe::T2 => t(0, 128, true, T_OPTIONS),
        Probe::T3 => t(SYN | FIN | URG | PSH, 256, false, T_OPTIONS),
        Probe::T4 => t(ACK, 1024, true, T_OPTIONS),
        Probe::T5 => t(SYN, 31337, false, T_OPTIONS),
        Probe::T6 => t(ACK, 32768, true, T_OPTIONS),
        Probe::T7 => t(FIN | PSH | URG, 65535, false, T7_OPTIONS),
        Probe::Ie1 | Probe::Ie2 | Probe::U1 => return None,
        seq => {
            let i = seq.seq_index()?;
            t(SYN, SEQ_WINDOWS[i], false, SEQ_OPTIONS[i])
        }
    })
}

/// Everything that makes one host's probes unique: addresses, ports,
/// sequence numbers, ids and TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProbePlan {
    /// Our address.
    pub src: Ipv4Addr,
    /// The target.
    pub dst: Ipv4Addr,
    /// An open TCP port of the target (SEQ, ECN, T2-T4).
    pub open_port: u16,
    /// A closed TCP port (T5-T7).
    pub closed_port: u16,
    /// A closed UDP port (U1).
    pub closed_udp_port: u16,
    /// TCP probe `i` (0..13, the order of [`Probe::ALL`]) leaves from
    /// `tcp_sport_base + i`. At most `65535 - 12`.
    pub tcp_sport_base: u16,
    /// U1's source port.
    pub udp_sport: u16,
    /// Sequence number of SEQ1; SEQ probe `i` uses `seq_base + i`.
    pub seq_base: u32,
    /// Acknowledgment number of the SEQ probes and T2-T7.
    pub ack: u32,
    /// Echo identifier of IE1; IE2 uses the next one.
    pub icmp_id: u16,
    /// TTL of every probe; U1's tells the hop distance.
    pub ttl: u8,
}

/// splitmix64: a well-mixed stream from one seed, enough to make ports and
/// sequence numbers unpredictable without a dependency.
fn mix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl ProbePlan {
    /// A plan with ports, sequence numbers and ids drawn from `seed`; the
    /// source ports lie in 32768..61000 (the usual ephemeral range is
    /// avoided only by chance, as nmap does). TTL 64.
    pub fn new(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        open_port: u16,
        closed_port: u16,
        closed_udp_port: u16,
        seed: u64,
    ) -> ProbePlan {
        let mut s = seed;
        let mut r = || mix(&mut s);
        // Both ranges stay below 65535 - TCP_PROBES, so base + index never overflows.
        let tcp_sport_base = 32768 + (r() % 28000) as u16;
        let udp_sport = 32768 + (r() % 28000) as u16;
        ProbePlan {
            src,
            dst,
            open_port,
            closed_port,
            closed_udp_port,
            tcp_sport_base,
            udp_sport,
            seq_base: r() as u32,
            // Nonzero, so that `A=Z` and `A=S` can never be confused with it.
            ack: (r() as u32) | 1,
            icmp_id: r() as u16,
            ttl: 64,
        }
    }

    /// The numbers the tests compare replies against.
    pub fn numbers(&self) -> super::obs::ProbeNumbers {
        super::obs::ProbeNumbers {
            seq_base: self.seq_base,
            ack: self.ack,
            u1_ttl: self.ttl,
            u1_udp_checksum: self.u1_udp_checksum(),
        }
    }

    /// Our TCP source port for `probe` (None for ICMP/UDP probes or when the
    /// base leaves no room).
    pub fn tcp_sport(&self, probe: Probe) -> Option<u16> {
        if probe.index() >= TCP_PROBES {
            return None;
        }
        self.tcp_sport_base.checked_add(probe.index() as u16)
    }

    /// Target port of a TCP probe.
    fn tcp_dport(&self, probe: Probe) -> u16 {
        if probe.to_closed() {
            self.closed_port
        } else {
            self.open_port
        }
    }

    /// Sequence number sent with `probe` (TCP probes; 0 for the rest).
    pub fn seq_of(&self, probe: Probe) -> u32 {
        match probe.seq_index() {
            Some(i) => self.seq_base.wrapping_add(i as u32),
            None if probe.index() < TCP_PROBES => self.seq_base,
            None => 0,
        }
    }

    /// UDP checksum U1 carries; `RUCK` expects it back unchanged.
    pub fn u1_udp_checksum(&self) -> u16 {
        let mut buf = [0u8; MAX_PROBE_LEN];
        match self.build(Probe::U1, 0, &mut buf) {
            Some(_) => u16::from_be_bytes([buf[26], buf[27]]),
            None => 0,
        }
    }

    /// Writes `probe` into `buf` with IP id `ip_id` (U1 always uses
    /// [`U1_IP_ID`]). Returns its length, or `None` when `buf` is shorter
    /// than the probe or the source port base leaves no room.
    pub fn build(&self, probe: Probe, ip_id: u16, buf: &mut [u8]) -> Option<usize> {
        match probe {
            Probe::Ie1 | Probe::Ie2 => self.build_echo(probe, ip_id, buf),
            Probe::U1 => self.build_u1(buf),
            _ => self.build_tcp(probe, ip_id, buf),
        }
    }

    /// The IPv4 header every probe shares, with its own id, TOS and DF.
    fn ip(&self, id: u16, tos: u8, df: bool) -> Ipv4Header {
        Ipv4Header {
            src: self.src,
            dst: self.dst,
            id,
            ttl: self.ttl,
            tos,
            df,
        }
    }

    fn build_tcp(&self, probe: Probe, ip_id: u16, buf: &mut [u8]) -> Option<usize> {
        let shape = tcp_shape(probe)?;
        let tcp = TcpHeader {
            sport: self.tcp_sport(probe)?,
            dport: self.tcp_dport(probe),
            seq: self.seq_of(probe),
            ack: if probe == Probe::Ecn { 0 } else { self.ack },
            flags: TcpFlags(shape.flags),
            reserved: shape.reserved,
            window: shape.window,
            urgent: shape.urgent,
            options: shape.options,
        };
        build_ipv4_tcp(buf, &self.ip(ip_id, 0, shape.df), &tcp)
    }

    fn build_echo(&self, probe: Probe, ip_id: u16, buf: &mut [u8]) -> Option<usize> {
        let k = usize::from(probe == Probe::Ie2);
        let id = self.icmp_id.wrapping_add(k as u16);
        let payload = IE_ZEROS.get(..IE_PAYLOAD[k])?;
        let msg = IcmpMessage::echo(ICMP_ECHO_REQUEST, IE_CODE[k], id, IE_SEQ[k], payload);
        build_ipv4_icmp(buf, &self.ip(ip_id, IE_TOS[k], k == 0), &msg)
    }

    fn build_u1(&self, buf: &mut [u8]) -> Option<usize> {
        let udp = UdpHeader {
            sport: self.udp_sport,
            dport: self.closed_udp_port,
        };
        build_ipv4_udp(buf, &self.ip(U1_IP_ID, 0, false), &udp, &U1_PAYLOAD)
    }

    /// The probe `reply` answers, if it answers one of this plan's: it must
    /// come from the target to us, and carry our port (TCP), our echo id and
    /// sequence (ICMP echo), or quote U1 (port unreachable).
    pub fn classify(&self, reply: &OsReply) -> Option<Probe> {
        if reply.ip.src != self.dst || reply.ip.dst != self.src {
            return None;
        }
        match &reply.body {
            ReplyBody::Tcp(tcp) => {
                let index = tcp.dport.checked_sub(self.tcp_sport_base)?;
                let probe = Probe::from_index(usize::from(index))?;
                (probe.index() < TCP_PROBES && tcp.sport == self.tcp_dport(probe)).then_some(probe)
            }
            ReplyBody::Echo(echo) => {
                if echo.id == self.icmp_id && echo.seq == IE_SEQ[0] {
                    Some(Probe::Ie1)
                } else if echo.id == self.icmp_id.wrapping_add(1) && echo.seq == IE_SEQ[1] {
                    Some(Probe::Ie2)
                } else {
                    None
                }
            }
            ReplyBody::Unreach(u) => (u.quoted_proto == IPPROTO_UDP
                && u.quoted_src == self.src
                && u.quoted_dst == self.dst
                && u.quoted_sport == self.udp_sport
                && u.quoted_dport == self.closed_udp_port)
                .then_some(Probe::U1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{checksum, IPPROTO_ICMP};

    fn plan() -> ProbePlan {
        ProbePlan::new(
            Ipv4Addr::new(198, 18, 200, 1),
            Ipv4Addr::new(198, 18, 200, 2),
            80,
            81,
            43295,
            7,
        )
    }

    #[test]
    fn every_probe_builds_with_valid_checksums() {
        let p = plan();
        for probe in Probe::ALL {
            let mut buf = [0u8; MAX_PROBE_LEN];
            let n = p.build(probe, 0x1234, &mut buf).expect("fits");
            let pkt = &buf[..n];
            assert!(checksum::verifies(&pkt[..20]), "{probe:?} ip checksum");
            assert_eq!(usize::from(u16::from_be_bytes([pkt[2], pkt[3]])), n);
            let proto = pkt[9];
            let seg = &pkt[20..];
            let ok = match proto {
                IPPROTO_ICMP => checksum::verifies(seg),
                _ => checksum::ipv4_transport(p.src, p.dst, proto, seg) == Some(0),
            };
            assert!(ok, "{probe:?} transport checksum");
            assert!(p.build(probe, 0, &mut buf[..n - 1]).is_none());
        }
    }

    #[test]
    fn shapes_match_the_book() {
        let p = plan();
        let mut buf = [0u8; MAX_PROBE_LEN];
        let n = p.build(Probe::Ecn, 1, &mut buf).unwrap_or(0);
        assert_eq!(n, 52);
        assert_eq!((buf[32], buf[33]), (0x88, 0xc2));
        assert_eq!(&buf[38..40], &[0xf7, 0xf5]);
        assert_eq!(&buf[28..32], &[0, 0, 0, 0]);
        let n = p.build(Probe::Ie1, 1, &mut buf).unwrap_or(0);
        assert_eq!((n, buf[1], buf[6], buf[21]), (148, 0, 0x40, 9));
        let n = p.build(Probe::Ie2, 1, &mut buf).unwrap_or(0);
        assert_eq!((n, buf[1], buf[6], buf[21]), (178, 4, 0, 0));
        let n = p.build(Probe::U1, 1, &mut buf).unwrap_or(0);
        assert_eq!((n, &buf[4..6]), (328, &[0x10, 0x42][..]));
        assert!(buf[28..n].iter().all(|&b| b == b'C'));
        let n = p.build(Probe::T7, 1, &mut buf).unwrap_or(0);
        assert_eq!((n, buf[33], buf[42]), (60, 0x29, 15));
    }

    #[test]
    fn sport_base_without_room_is_refused() {
        let mut p = plan();
        p.tcp_sport_base = 65530;
        let mut buf = [0u8; MAX_PROBE_LEN];
        assert!(p.build(Probe::Seq1, 0, &mut buf).is_some());
        assert!(p.build(Probe::T7, 0, &mut buf).is_none());
        assert!(p.build(Probe::U1, 0, &mut buf).is_some());
    }
}
