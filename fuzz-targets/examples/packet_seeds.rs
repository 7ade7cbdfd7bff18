//! Writes the packet seeds of the fuzz corpus (`fuzz/corpus/<target>/seed-*`)
//! with prtip's own wire builders, so the seeds are well-formed packets of
//! every kind the parsers meet and can be regenerated when a format changes:
//!
//! ```sh
//! cargo run -p prtip-fuzz-targets --example packet_seeds
//! ```
//!
//! The addresses are documentation ranges; nothing is sent anywhere.

use std::fs;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use prtip_core::os_fp::{Probe, ProbePlan, U1_IP_ID};
use prtip_core::wire::{
    build_ipv4_icmp, build_ipv4_tcp, build_ipv4_udp, build_ipv6_icmpv6, build_ipv6_tcp,
    build_ipv6_udp, neighbor_solicit_body, write_arp, write_ethernet_type, write_icmp, write_tcp,
    write_udp, Arp, EthernetHeader, IcmpMessage, Ipv4Header, Ipv6Header, TcpFlags, TcpHeader,
    UdpHeader, ARP_REPLY, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ICMPV6_DEST_UNREACHABLE,
    ICMPV6_ECHO_REPLY, ICMPV6_NEIGHBOR_ADVERT, ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY,
    ICMP_TIMESTAMP_REPLY, IPPROTO_UDP, IPV6_NH_FRAGMENT, IPV6_NH_HOP_BY_HOP,
};

const US: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const THEM: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const US6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const THEM6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
const MAC_US: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const MAC_THEM: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

/// MSS 1460, SACK permitted, timestamps, NOP, window scale 7: a Linux SYN-ACK's options.
const LINUX_OPTIONS: [u8; 20] = [
    2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78, 1, 3, 3, 7,
];

fn ip4(src: Ipv4Addr, dst: Ipv4Addr, id: u16, ttl: u8) -> Ipv4Header {
    Ipv4Header {
        src,
        dst,
        id,
        ttl,
        tos: 0,
        df: true,
    }
}

fn ip6(src: Ipv6Addr, dst: Ipv6Addr) -> Ipv6Header {
    Ipv6Header {
        src,
        dst,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0x12345,
    }
}

#[allow(clippy::too_many_arguments)]
fn tcp<'a>(
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    window: u16,
    options: &'a [u8],
) -> TcpHeader<'a> {
    TcpHeader {
        sport,
        dport,
        seq,
        ack,
        flags,
        reserved: 0,
        window,
        urgent: 0,
        options,
    }
}

fn build(f: impl FnOnce(&mut [u8]) -> Option<usize>) -> Vec<u8> {
    let mut buf = vec![0u8; 2048];
    let n = f(&mut buf).expect("the seed fits");
    buf.truncate(n);
    buf
}

fn syn_ack() -> Vec<u8> {
    let t = tcp(
        80,
        61000,
        0x1111_2222,
        0x3333_4444,
        TcpFlags::SYN_ACK,
        65160,
        &LINUX_OPTIONS,
    );
    build(|b| build_ipv4_tcp(b, &ip4(THEM, US, 0, 64), &t))
}

fn rst_ack() -> Vec<u8> {
    let t = tcp(81, 61001, 0, 0x3333_4445, TcpFlags::RST_ACK, 0, &[]);
    build(|b| build_ipv4_tcp(b, &ip4(THEM, US, 0, 64), &t))
}

fn udp_reply(payload: &[u8]) -> Vec<u8> {
    let u = UdpHeader {
        sport: 53,
        dport: 61002,
    };
    build(|b| build_ipv4_udp(b, &ip4(THEM, US, 7, 63), &u, payload))
}

fn echo_reply() -> Vec<u8> {
    let m = IcmpMessage::echo(ICMP_ECHO_REPLY, 0, 0xbeef, 1, b"abcdefgh");
    build(|b| build_ipv4_icmp(b, &ip4(THEM, US, 9, 64), &m))
}

fn timestamp_reply() -> Vec<u8> {
    let mut body = [0u8; 12];
    body[4..8].copy_from_slice(&3_600_000u32.to_be_bytes());
    body[8..12].copy_from_slice(&3_600_001u32.to_be_bytes());
    let m = IcmpMessage::echo(ICMP_TIMESTAMP_REPLY, 0, 0xbeef, 2, &body);
    build(|b| build_ipv4_icmp(b, &ip4(THEM, US, 10, 64), &m))
}

/// The probe as the target received it, quoted back after an ICMP header.
fn unreachable(code: u8, quoted: &[u8]) -> Vec<u8> {
    let m = IcmpMessage {
        icmp_type: ICMP_DEST_UNREACHABLE,
        code,
        rest: 0,
        body: quoted,
    };
    build(|b| build_ipv4_icmp(b, &ip4(THEM, US, 11, 64), &m))
}

fn udp_probe(payload: &[u8], id: u16) -> Vec<u8> {
    let u = UdpHeader {
        sport: 61003,
        dport: 161,
    };
    build(|b| build_ipv4_udp(b, &ip4(US, THEM, id, 40), &u, payload))
}

fn syn_probe() -> Vec<u8> {
    let t = tcp(
        61004,
        443,
        0xdead_beef,
        0,
        TcpFlags::SYN,
        1024,
        &[2, 4, 5, 0xb4],
    );
    build(|b| build_ipv4_tcp(b, &ip4(US, THEM, 0x4242, 40), &t))
}

/// IPv4 with a 4-byte option (IHL 6), which only the views accept as is.
fn with_ip_options() -> Vec<u8> {
    let mut p = syn_ack();
    p.splice(20..20, [1, 1, 1, 0]);
    p[0] = 0x46;
    let total = u16::try_from(p.len()).expect("short").to_be_bytes();
    p[2..4].copy_from_slice(&total);
    p
}

/// A later fragment: its payload is not a transport header.
fn later_fragment() -> Vec<u8> {
    let mut p = udp_reply(b"0123456789abcdef");
    p[6] = 0x00;
    p[7] = 0x10;
    p
}

fn ipv6_syn_ack() -> Vec<u8> {
    let t = tcp(22, 61005, 1, 2, TcpFlags::SYN_ACK, 64800, &LINUX_OPTIONS);
    build(|b| build_ipv6_tcp(b, &ip6(THEM6, US6), &t))
}

/// IPv6 with hop-by-hop options and a fragment header before UDP.
fn ipv6_extensions() -> Vec<u8> {
    let mut udp = vec![0u8; 12];
    let u = UdpHeader {
        sport: 53,
        dport: 61006,
    };
    write_udp(&mut udp, &u, b"abcd", 0).expect("fits");
    let mut payload = vec![IPV6_NH_FRAGMENT, 0, 1, 4, 0, 0, 0, 0];
    payload.extend_from_slice(&[IPPROTO_UDP, 0, 0, 1, 0, 0, 0x12, 0x34]);
    payload.extend_from_slice(&udp);
    let mut p = build(|b| build_ipv6_udp(b, &ip6(THEM6, US6), &u, b"abcd"));
    p.truncate(40);
    p[6] = IPV6_NH_HOP_BY_HOP;
    let plen = u16::try_from(payload.len()).expect("short").to_be_bytes();
    p[4..6].copy_from_slice(&plen);
    p.extend_from_slice(&payload);
    p
}

fn icmpv6_echo_reply() -> Vec<u8> {
    let m = IcmpMessage::echo(ICMPV6_ECHO_REPLY, 0, 7, 8, b"ping");
    build(|b| build_ipv6_icmpv6(b, &ip6(THEM6, US6), &m))
}

fn icmpv6_unreachable() -> Vec<u8> {
    let quoted = build(|b| {
        build_ipv6_udp(
            b,
            &ip6(US6, THEM6),
            &UdpHeader {
                sport: 61007,
                dport: 33434,
            },
            b"CCCC",
        )
    });
    let m = IcmpMessage {
        icmp_type: ICMPV6_DEST_UNREACHABLE,
        code: 4,
        rest: 0,
        body: &quoted,
    };
    build(|b| build_ipv6_icmpv6(b, &ip6(THEM6, US6), &m))
}

fn neighbor_advert() -> Vec<u8> {
    let body = neighbor_solicit_body(&THEM6, &MAC_THEM);
    let m = IcmpMessage {
        icmp_type: ICMPV6_NEIGHBOR_ADVERT,
        code: 0,
        rest: 0x6000_0000,
        body: &body,
    };
    build(|b| build_ipv6_icmpv6(b, &ip6(THEM6, US6), &m))
}

fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 14];
    let eth = EthernetHeader {
        dst: MAC_US,
        src: MAC_THEM,
    };
    write_ethernet_type(&mut f, &eth, ethertype).expect("fits");
    f.extend_from_slice(payload);
    f
}

fn arp_reply() -> Vec<u8> {
    let a = Arp {
        op: ARP_REPLY,
        sender_mac: MAC_THEM,
        sender_ip: THEM,
        target_mac: MAC_US,
        target_ip: US,
    };
    build(|b| write_arp(b, &a))
}

/// The transport part of an IP packet (what `wire_transport` parses).
fn transport_of(packet: &[u8], v6: bool) -> Vec<u8> {
    let header = if v6 {
        40
    } else {
        usize::from(packet[0] & 0x0f) * 4
    };
    packet[header..].to_vec()
}

/// A probing session in `os_reply`'s structured form: the numbers of a
/// plan, SEQ send times 100 ms apart, and one reply per probe as a
/// Linux-like target would send it.
fn os_session(seed: u32, answers: &[Probe]) -> Vec<u8> {
    let plan = ProbePlan::new(US, THEM, 80, 81, 82, u64::from(seed));
    let n = plan.numbers();
    let mut out = Vec::new();
    out.extend_from_slice(&n.seq_base.to_be_bytes());
    out.extend_from_slice(&n.ack.to_be_bytes());
    out.push(n.u1_ttl);
    out.extend_from_slice(&n.u1_udp_checksum.to_be_bytes());
    for i in 0..6u16 {
        out.extend_from_slice(&(i * 100).to_be_bytes());
    }
    let back = |id: u16| ip4(THEM, US, id, 64);
    for (k, &probe) in answers.iter().enumerate() {
        let id = 0x100 + k as u16;
        let reply = match probe {
            Probe::Ie1 | Probe::Ie2 => {
                let second = u16::from(probe == Probe::Ie2);
                let m = IcmpMessage::echo(
                    ICMP_ECHO_REPLY,
                    0,
                    plan.icmp_id.wrapping_add(second),
                    295 + second,
                    &[0; 120],
                );
                build(|b| build_ipv4_icmp(b, &back(id), &m))
            }
            Probe::U1 => {
                let mut quoted = build(|b| {
                    build_ipv4_udp(
                        b,
                        &Ipv4Header {
                            df: false,
                            ..ip4(US, THEM, U1_IP_ID, 63)
                        },
                        &UdpHeader {
                            sport: plan.udp_sport,
                            dport: plan.closed_udp_port,
                        },
                        &[b'C'; 300],
                    )
                });
                quoted.truncate(20 + 8 + 300);
                let m = IcmpMessage {
                    icmp_type: ICMP_DEST_UNREACHABLE,
                    code: 3,
                    rest: 0,
                    body: &quoted,
                };
                build(|b| {
                    build_ipv4_icmp(
                        b,
                        &Ipv4Header {
                            df: false,
                            ..back(id)
                        },
                        &m,
                    )
                })
            }
            tcp_probe => {
                let sport = plan.tcp_sport(tcp_probe).expect("a TCP probe");
                let closed = matches!(tcp_probe, Probe::T5 | Probe::T6 | Probe::T7);
                let dport_on_target = if closed { 81 } else { 80 };
                let open_answer = tcp_probe.seq_index().is_some() || tcp_probe == Probe::Ecn;
                let (flags, options, seq, window): (TcpFlags, &[u8], u32, u16) = if open_answer {
                    (
                        TcpFlags::SYN_ACK,
                        &LINUX_OPTIONS,
                        0x5000_0000 + id as u32 * 64_000,
                        65160,
                    )
                } else {
                    (TcpFlags::RST_ACK, &[], 0, 0)
                };
                let t = tcp(
                    dport_on_target,
                    sport,
                    seq,
                    plan.seq_of(tcp_probe).wrapping_add(1),
                    flags,
                    window,
                    options,
                );
                build(|b| build_ipv4_tcp(b, &back(id), &t))
            }
        };
        out.push(probe as u8);
        out.extend_from_slice(&u16::try_from(reply.len()).expect("short").to_be_bytes());
        out.extend_from_slice(&reply);
    }
    out
}

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    fs::create_dir_all(&d).expect("corpus directory");
    fs::write(d.join(format!("seed-{name}")), bytes).expect("seed written");
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let quote_udp = udp_probe(&[b'C'; 32], 0x1234);
    let quote_tcp = syn_probe();
    let v4: Vec<(&str, Vec<u8>)> = vec![
        ("syn-ack", syn_ack()),
        ("rst-ack", rst_ack()),
        (
            "udp-dns",
            udp_reply(b"\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"),
        ),
        ("udp-long", udp_reply(&[0x42; 48])),
        ("udp-empty", udp_reply(b"")),
        ("echo-reply", echo_reply()),
        ("timestamp-reply", timestamp_reply()),
        ("port-unreachable", unreachable(3, &quote_udp)),
        ("admin-prohibited", unreachable(13, &quote_tcp[..28])),
        ("ip-options", with_ip_options()),
        ("later-fragment", later_fragment()),
    ];
    let v6: Vec<(&str, Vec<u8>)> = vec![
        ("v6-syn-ack", ipv6_syn_ack()),
        ("v6-extensions", ipv6_extensions()),
        ("v6-echo-reply", icmpv6_echo_reply()),
        ("v6-unreachable", icmpv6_unreachable()),
        ("v6-neighbor-advert", neighbor_advert()),
    ];
    for (name, p) in &v4 {
        write(&dir, "wire_ip", name, p);
        write(&dir, "parse_reply", name, p);
        write(&dir, "os_reply", name, p);
        write(&dir, "wire_transport", name, &transport_of(p, false));
    }
    for (name, p) in &v6 {
        write(&dir, "wire_ip", name, p);
        write(&dir, "parse_reply", name, p);
        write(&dir, "wire_transport", name, &transport_of(p, true));
    }
    write(
        &dir,
        "parse_reply",
        "ethernet-v6-syn-ack",
        &ethernet(ETHERTYPE_IPV6, &ipv6_syn_ack()),
    );
    write(
        &dir,
        "parse_reply",
        "ethernet-syn-ack",
        &ethernet(ETHERTYPE_IPV4, &syn_ack()),
    );
    write(
        &dir,
        "wire_link",
        "ethernet-ipv4",
        &ethernet(ETHERTYPE_IPV4, &echo_reply()),
    );
    write(
        &dir,
        "wire_link",
        "ethernet-ipv6",
        &ethernet(ETHERTYPE_IPV6, &icmpv6_echo_reply()),
    );
    write(
        &dir,
        "wire_link",
        "ethernet-arp",
        &ethernet(ETHERTYPE_ARP, &arp_reply()),
    );
    write(&dir, "wire_link", "arp", &arp_reply());
    // A bare TCP header with options, as the transport view sees it.
    let mut seg = vec![0u8; 40];
    write_tcp(
        &mut seg,
        &tcp(1, 2, 3, 4, TcpFlags::SYN, 5, &LINUX_OPTIONS),
        0,
    )
    .expect("fits");
    write(&dir, "wire_transport", "tcp-options", &seg);
    let mut icmp = vec![0u8; 16];
    let m = IcmpMessage::echo(ICMP_ECHO_REPLY, 0, 1, 2, b"12345678");
    write_icmp(&mut icmp, &m, 0).expect("fits");
    write(&dir, "wire_transport", "icmp-echo", &icmp);
    write(
        &dir,
        "os_reply",
        "session-linux",
        &os_session(0x0102_0304, &Probe::ALL),
    );
    write(
        &dir,
        "os_reply",
        "session-sparse",
        &os_session(7, &[Probe::Seq1, Probe::Seq4, Probe::T5, Probe::U1]),
    );
    println!("packet seeds written under {}", dir.display());
}
