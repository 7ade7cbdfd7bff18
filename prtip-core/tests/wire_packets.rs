//! Byte-array tests for `prtip_core::wire`: builders against packets made by
//! scapy 2.8 (the generating script's calls are in each comment), parsers on
//! reply shapes seen from Linux targets and routers, and an independent
//! checksum reference.

use std::net::Ipv4Addr;

use prtip_core::cookie::SynCookie;
use prtip_core::wire::{
    build_icmp_echo, build_icmp_timestamp, build_rst, build_syn, build_tcp, build_tcp_ack,
    build_tcp_syn, parse_reply, strip_ethernet, write_ethernet, EthernetHeader, IcmpEchoReply,
    IcmpError, IcmpErrorKind, IcmpTimestampReply, Ipv4Fields, Reply, SynTemplate, TcpFields,
    TcpFlags, TcpReply, ETHERNET_HEADER_LEN, ICMP_ECHO_LEN, ICMP_TIMESTAMP_LEN, IPPROTO_TCP,
    SYN_LEN, TCP_NO_OPTIONS_LEN,
};

const US: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const THEM: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const ROUTER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 254);

// Generated with scapy; US = 198.18.0.1, THEM = 198.18.0.2, ROUTER = 198.18.0.254.
// syn = IP(src=US, dst=THEM, id=0xabcd, ttl=64, flags=0)/TCP(sport=61000, dport=80,
//       seq=0x12345678, ack=0, flags="S", window=1024, options=[("MSS",1460)])
const SCAPY_SYN: [u8; 44] = [
    0x45, 0x00, 0x00, 0x2c, 0xab, 0xcd, 0x00, 0x00, 0x40, 0x06, 0x42, 0xd7, 0xc6, 0x12, 0x00, 0x01,
    0xc6, 0x12, 0x00, 0x02, 0xee, 0x48, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00,
    0x60, 0x02, 0x04, 0x00, 0xb0, 0xb9, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
];
// IP(src=US, dst=THEM, id=0x0102, ttl=53, flags=0)/TCP(sport=61001, dport=80, seq=0xcafebabe, ack=0xcafebabe, flags="A", window=1024)
const SCAPY_ACK: [u8; 40] = [
    0x45, 0x00, 0x00, 0x28, 0x01, 0x02, 0x00, 0x00, 0x35, 0x06, 0xf8, 0xa6, 0xc6, 0x12, 0x00, 0x01,
    0xc6, 0x12, 0x00, 0x02, 0xee, 0x49, 0x00, 0x50, 0xca, 0xfe, 0xba, 0xbe, 0xca, 0xfe, 0xba, 0xbe,
    0x50, 0x10, 0x04, 0x00, 0x25, 0x98, 0x00, 0x00,
];
// IP(src=US, dst=THEM, id=7, ttl=64, flags=0)/TCP(sport=61002, dport=443, seq=0x01020304, flags="R", window=0)
const SCAPY_RST: [u8; 40] = [
    0x45, 0x00, 0x00, 0x28, 0x00, 0x07, 0x00, 0x00, 0x40, 0x06, 0xee, 0xa1, 0xc6, 0x12, 0x00, 0x01,
    0xc6, 0x12, 0x00, 0x02, 0xee, 0x4a, 0x01, 0xbb, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00,
    0x50, 0x04, 0x00, 0x00, 0x2f, 0xad, 0x00, 0x00,
];
// IP(src=US, dst=THEM, id=9, ttl=64, flags=0)/ICMP(type=8, code=0, id=0x1234, seq=0x5678)
const SCAPY_ECHO: [u8; 28] = [
    0x45, 0x00, 0x00, 0x1c, 0x00, 0x09, 0x00, 0x00, 0x40, 0x01, 0xee, 0xb0, 0xc6, 0x12, 0x00, 0x01,
    0xc6, 0x12, 0x00, 0x02, 0x08, 0x00, 0x8f, 0x53, 0x12, 0x34, 0x56, 0x78,
];
// IP(src=US, dst=THEM, id=10, ttl=64, flags=0)/ICMP(type=13, id=0x4321, seq=0x8765, ts_ori=0, ts_rx=0, ts_tx=0)
const SCAPY_TIMESTAMP: [u8; 40] = [
    0x45, 0x00, 0x00, 0x28, 0x00, 0x0a, 0x00, 0x00, 0x40, 0x01, 0xee, 0xa3, 0xc6, 0x12, 0x00, 0x01,
    0xc6, 0x12, 0x00, 0x02, 0x0d, 0x00, 0x28, 0x79, 0x43, 0x21, 0x87, 0x65, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];
// IP(src=THEM, dst=US, id=0, ttl=64, flags="DF")/TCP(sport=80, dport=61000, seq=0x9abcdef0, ack=0x12345679, flags="SA", window=64240, options=[MSS 1460, SAckOK, Timestamp (123456, 0), NOP, WScale 7]) -- a Linux SYN-ACK
const SCAPY_SYN_ACK: [u8; 60] = [
    0x45, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0xae, 0x94, 0xc6, 0x12, 0x00, 0x02,
    0xc6, 0x12, 0x00, 0x01, 0x00, 0x50, 0xee, 0x48, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x79,
    0xa0, 0x12, 0xfa, 0xf0, 0x0d, 0xa2, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
    0x00, 0x01, 0xe2, 0x40, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
];
// IP(src=THEM, dst=US, id=0, ttl=64, flags="DF")/TCP(sport=81, dport=61000, seq=0, ack=0x12345679, flags="RA", window=0) -- Linux closed port
const SCAPY_RST_ACK: [u8; 40] = [
    0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0xae, 0xa8, 0xc6, 0x12, 0x00, 0x02,
    0xc6, 0x12, 0x00, 0x01, 0x00, 0x51, 0xee, 0x48, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x79,
    0x50, 0x14, 0x00, 0x00, 0xcc, 0x61, 0x00, 0x00,
];
// IP(src=THEM, dst=US, id=0x2222, ttl=63)/ICMP(type=0, id=0x1234, seq=0x5678)
const SCAPY_ECHO_REPLY: [u8; 28] = [
    0x45, 0x00, 0x00, 0x1c, 0x22, 0x22, 0x00, 0x00, 0x3f, 0x01, 0xcd, 0x97, 0xc6, 0x12, 0x00, 0x02,
    0xc6, 0x12, 0x00, 0x01, 0x00, 0x00, 0x97, 0x53, 0x12, 0x34, 0x56, 0x78,
];
// IP(src=THEM, dst=US, id=0x3333, ttl=62)/ICMP(type=14, id=0x4321, seq=0x8765, ts_ori=0, ts_rx=1000, ts_tx=1001)
const SCAPY_TS_REPLY: [u8; 40] = [
    0x45, 0x00, 0x00, 0x28, 0x33, 0x33, 0x00, 0x00, 0x3e, 0x01, 0xbd, 0x7a, 0xc6, 0x12, 0x00, 0x02,
    0xc6, 0x12, 0x00, 0x01, 0x0e, 0x00, 0x1f, 0xa8, 0x43, 0x21, 0x87, 0x65, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x03, 0xe9,
];
// IP(src=ROUTER, dst=US, id=0x4444, ttl=254, tos=0xc0)/ICMP(type=3, code=13)/raw(syn) -- Linux router quoting the whole probe
const SCAPY_UNREACH_FULL: [u8; 72] = [
    0x45, 0xc0, 0x00, 0x48, 0x44, 0x44, 0x00, 0x00, 0xfe, 0x01, 0xea, 0x8c, 0xc6, 0x12, 0x00, 0xfe,
    0xc6, 0x12, 0x00, 0x01, 0x03, 0x0d, 0x89, 0x39, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x2c,
    0xab, 0xcd, 0x00, 0x00, 0x40, 0x06, 0x42, 0xd7, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
    0xee, 0x48, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00, 0x60, 0x02, 0x04, 0x00,
    0xb0, 0xb9, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
];
// IP(src=ROUTER, dst=US, id=0x5555, ttl=250)/ICMP(type=3, code=1)/raw(syn)[:28] -- RFC 792 minimum quote
const SCAPY_UNREACH_SHORT: [u8; 56] = [
    0x45, 0x00, 0x00, 0x38, 0x55, 0x55, 0x00, 0x00, 0xfa, 0x01, 0xde, 0x4b, 0xc6, 0x12, 0x00, 0xfe,
    0xc6, 0x12, 0x00, 0x01, 0x03, 0x01, 0xa5, 0xb9, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x2c,
    0xab, 0xcd, 0x00, 0x00, 0x40, 0x06, 0x42, 0xd7, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
    0xee, 0x48, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78,
];
// Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")/syn
const SCAPY_ETH_SYN: [u8; 58] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x2c, 0xab, 0xcd, 0x00, 0x00, 0x40, 0x06, 0x42, 0xd7, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12,
    0x00, 0x02, 0xee, 0x48, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00, 0x60, 0x02,
    0x04, 0x00, 0xb0, 0xb9, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
];

// ---------------------------------------------------------------- reference

/// RFC 1071 one's-complement sum, written independently of the crate under test.
fn ones_complement(chunks: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    for chunk in chunks {
        for pair in chunk.chunks(2) {
            let hi = u64::from(pair[0]) << 8;
            let lo = pair.get(1).map_or(0, |&b| u64::from(b));
            sum += hi | lo;
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A packet's checksums verify when summing over them (field included) gives 0.
fn assert_checksums_ok(pkt: &[u8]) {
    let ihl = usize::from(pkt[0] & 0x0f) * 4;
    assert_eq!(ones_complement(&[&pkt[..ihl]]), 0, "IPv4 header checksum");
    let seg = &pkt[ihl..];
    match pkt[9] {
        6 => {
            let len = (seg.len() as u16).to_be_bytes();
            let pseudo = [&pkt[12..20], &[0, 6], &len[..]].concat();
            assert_eq!(ones_complement(&[&pseudo, seg]), 0, "TCP checksum");
        }
        1 => assert_eq!(ones_complement(&[seg]), 0, "ICMP checksum"),
        p => panic!("unexpected protocol {p}"),
    }
}

fn ip(id: u16, ttl: u8) -> Ipv4Fields {
    Ipv4Fields {
        src: US,
        dst: THEM,
        ip_id: id,
        ttl,
    }
}

#[test]
fn reference_checksum_agrees_with_scapy() {
    for pkt in [
        &SCAPY_SYN[..],
        &SCAPY_ACK,
        &SCAPY_RST,
        &SCAPY_ECHO,
        &SCAPY_TIMESTAMP,
        &SCAPY_SYN_ACK,
        &SCAPY_RST_ACK,
        &SCAPY_ECHO_REPLY,
        &SCAPY_TS_REPLY,
        &SCAPY_UNREACH_FULL,
        &SCAPY_UNREACH_SHORT,
    ] {
        assert_checksums_ok(pkt);
    }
}

// ---------------------------------------------------------------- builders

#[test]
fn syn_matches_scapy_byte_for_byte() {
    // Dirty buffer: the builder must overwrite every byte it reports.
    let mut buf = [0xa5u8; 64];
    let n = build_syn(&mut buf, US, THEM, 61000, 80, 0x1234_5678, 0xabcd, 64);
    assert_eq!(n, SYN_LEN);
    assert_eq!(buf[..n], SCAPY_SYN);
    assert!(buf[n..].iter().all(|&b| b == 0xa5), "wrote past the packet");

    let mut buf2 = [0u8; SYN_LEN];
    assert_eq!(
        build_tcp_syn(&mut buf2, &ip(0xabcd, 64), 61000, 80, 0x1234_5678),
        Some(SYN_LEN)
    );
    assert_eq!(buf2, SCAPY_SYN);
}

#[test]
fn syn_is_nmap_shaped() {
    let mut buf = [0u8; SYN_LEN];
    let n = build_syn(&mut buf, US, THEM, 1, 2, 3, 4, 5);
    assert_eq!(n, 44);
    assert_eq!(buf[6] & 0x40, 0, "DF must be clear");
    assert_eq!(buf[9], IPPROTO_TCP);
    assert_eq!(buf[20 + 12] >> 4, 6, "data offset 6 (one 4-byte option)");
    assert_eq!(buf[20 + 13], 0x02, "SYN only");
    assert_eq!(&buf[20 + 14..20 + 16], &1024u16.to_be_bytes());
    assert_eq!(&buf[40..44], &[2, 4, 0x05, 0xb4], "MSS 1460");
    assert_checksums_ok(&buf);
}

#[test]
fn short_buffers_are_refused_without_panic() {
    let mut small = [0u8; SYN_LEN - 1];
    assert_eq!(build_syn(&mut small, US, THEM, 1, 2, 3, 4, 5), 0);
    assert_eq!(build_tcp_syn(&mut small, &ip(1, 1), 1, 2, 3), None);
    let mut small = [0u8; TCP_NO_OPTIONS_LEN - 1];
    assert_eq!(build_tcp_ack(&mut small, &ip(1, 1), 1, 2, 3, 4), None);
    assert_eq!(build_rst(&mut small, &ip(1, 1), 1, 2, 3), None);
    let mut small = [0u8; ICMP_ECHO_LEN - 1];
    assert_eq!(build_icmp_echo(&mut small, &ip(1, 1), 1, 2), None);
    let mut small = [0u8; ICMP_TIMESTAMP_LEN - 1];
    assert_eq!(build_icmp_timestamp(&mut small, &ip(1, 1), 1, 2), None);
    let mut small = [0u8; ETHERNET_HEADER_LEN - 1];
    let eth = EthernetHeader {
        dst: [0; 6],
        src: [0; 6],
    };
    assert_eq!(write_ethernet(&mut small, &eth), None);
    assert_eq!(build_syn(&mut [], US, THEM, 1, 2, 3, 4, 5), 0);
}

#[test]
fn ack_and_rst_match_scapy() {
    let mut buf = [0xffu8; 60];
    let n = build_tcp_ack(
        &mut buf,
        &ip(0x0102, 53),
        61001,
        80,
        0xcafe_babe,
        0xcafe_babe,
    );
    assert_eq!(n, Some(TCP_NO_OPTIONS_LEN));
    assert_eq!(buf[..TCP_NO_OPTIONS_LEN], SCAPY_ACK);

    let mut buf = [0xffu8; 60];
    let n = build_rst(&mut buf, &ip(7, 64), 61002, 443, 0x0102_0304);
    assert_eq!(n, Some(TCP_NO_OPTIONS_LEN));
    assert_eq!(buf[..TCP_NO_OPTIONS_LEN], SCAPY_RST);
}

#[test]
fn icmp_probes_match_scapy() {
    let mut buf = [0x5au8; 64];
    assert_eq!(
        build_icmp_echo(&mut buf, &ip(9, 64), 0x1234, 0x5678),
        Some(ICMP_ECHO_LEN)
    );
    assert_eq!(buf[..ICMP_ECHO_LEN], SCAPY_ECHO);

    let mut buf = [0x5au8; 64];
    assert_eq!(
        build_icmp_timestamp(&mut buf, &ip(10, 64), 0x4321, 0x8765),
        Some(ICMP_TIMESTAMP_LEN)
    );
    assert_eq!(buf[..ICMP_TIMESTAMP_LEN], SCAPY_TIMESTAMP);
}

#[test]
fn ethernet_then_syn_matches_scapy() {
    let mut buf = [0u8; 128];
    let eth = EthernetHeader {
        dst: [2, 0, 0, 0, 0, 2],
        src: [2, 0, 0, 0, 0, 1],
    };
    let off = write_ethernet(&mut buf, &eth).expect("room for ethernet");
    let n = build_syn(
        &mut buf[off..],
        US,
        THEM,
        61000,
        80,
        0x1234_5678,
        0xabcd,
        64,
    );
    assert_eq!(buf[..off + n], SCAPY_ETH_SYN);
    assert_eq!(strip_ethernet(&buf[..off + n]), Some(&SCAPY_SYN[..]));
}

#[test]
fn generic_builder_checksums_hold_for_many_inputs() {
    let mut buf = [0u8; 64];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let ipf = Ipv4Fields {
            src: Ipv4Addr::from(x as u32),
            dst: Ipv4Addr::from((x >> 32) as u32),
            ip_id: (x >> 7) as u16,
            ttl: (x >> 23) as u8,
        };
        let tcp = TcpFields {
            sport: (x >> 11) as u16,
            dport: (x >> 29) as u16,
            seq: (x >> 5) as u32,
            ack: (x >> 19) as u32,
            flags: TcpFlags((x >> 40) as u8),
            window: (x >> 45) as u16,
            mss: if x & 1 == 0 {
                Some((x >> 3) as u16)
            } else {
                None
            },
        };
        let n = build_tcp(&mut buf, &ipf, &tcp).expect("fits");
        assert_checksums_ok(&buf[..n]);
        match parse_reply(&buf[..n]) {
            Some(Reply::Tcp(r)) => {
                assert_eq!(
                    (r.src, r.dst, r.sport, r.dport),
                    (ipf.src.into(), ipf.dst.into(), tcp.sport, tcp.dport)
                );
                assert_eq!(
                    (r.seq, r.ack, r.flags, r.window, r.ttl),
                    (tcp.seq, tcp.ack, tcp.flags, tcp.window, ipf.ttl)
                );
            }
            other => panic!("round trip failed: {other:?}"),
        }
        let n = build_icmp_timestamp(&mut buf, &ipf, tcp.sport, tcp.dport).expect("fits");
        assert_checksums_ok(&buf[..n]);
        let n = build_icmp_echo(&mut buf, &ipf, tcp.sport, tcp.dport).expect("fits");
        assert_checksums_ok(&buf[..n]);
    }
}

#[test]
fn syn_template_matches_build_syn() {
    let t = SynTemplate::new(US, 64);
    let mut buf = [0xeeu8; 48];
    assert_eq!(
        t.write(&mut buf, THEM, 61000, 80, 0x1234_5678, 0xabcd),
        SYN_LEN
    );
    assert_eq!(buf[..SYN_LEN], SCAPY_SYN);
    assert_eq!(buf[SYN_LEN..], [0xee; 4]);
    assert_eq!(t.write(&mut buf[..SYN_LEN - 1], THEM, 1, 2, 3, 4), 0);

    let mut x = 0x0123_4567_89ab_cdefu64;
    let mut a = [0u8; SYN_LEN];
    let mut b = [0u8; SYN_LEN];
    let mut cases: Vec<(u32, u32, u16, u16, u32, u16, u8)> = vec![
        (0, 0, 0, 0, 0, 0, 0),
        (
            u32::MAX,
            u32::MAX,
            u16::MAX,
            u16::MAX,
            u32::MAX,
            u16::MAX,
            u8::MAX,
        ),
    ];
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let y = x.rotate_left(29).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        cases.push((
            x as u32,
            (x >> 32) as u32,
            y as u16,
            (y >> 16) as u16,
            (y >> 32) as u32,
            (x >> 7) as u16,
            (y >> 3) as u8,
        ));
    }
    for (src, dst, sport, dport, seq, id, ttl) in cases {
        let (src, dst) = (Ipv4Addr::from(src), Ipv4Addr::from(dst));
        let t = SynTemplate::new(src, ttl);
        assert_eq!(t.write(&mut a, dst, sport, dport, seq, id), SYN_LEN);
        assert_eq!(
            build_syn(&mut b, src, dst, sport, dport, seq, id, ttl),
            SYN_LEN
        );
        assert_eq!(a, b, "{src} {dst} {sport} {dport} {seq:#x} {id} {ttl}");
    }
    assert_checksums_ok(&a);
}

// ---------------------------------------------------------------- parsers

#[test]
fn parses_linux_syn_ack_with_options() {
    let r = parse_reply(&SCAPY_SYN_ACK).expect("a reply");
    let expect = TcpReply {
        src: THEM.into(),
        dst: US.into(),
        sport: 80,
        dport: 61000,
        seq: 0x9abc_def0,
        ack: 0x1234_5679,
        flags: TcpFlags::SYN_ACK,
        window: 64240,
        ttl: 64,
    };
    assert_eq!(r, Reply::Tcp(expect));
    assert!(expect.is_syn_ack() && !expect.is_rst());
}

#[test]
fn parses_rst_ack() {
    let Some(Reply::Tcp(r)) = parse_reply(&SCAPY_RST_ACK) else {
        panic!("not TCP");
    };
    assert_eq!((r.sport, r.dport, r.ack), (81, 61000, 0x1234_5679));
    assert!(r.is_rst() && !r.is_syn_ack());
    assert_eq!(r.flags, TcpFlags::RST_ACK);
}

#[test]
fn parses_echo_and_timestamp_replies() {
    assert_eq!(
        parse_reply(&SCAPY_ECHO_REPLY),
        Some(Reply::IcmpEchoReply(IcmpEchoReply {
            src: THEM.into(),
            dst: US.into(),
            id: 0x1234,
            seq: 0x5678,
            ttl: 63,
        }))
    );
    assert_eq!(
        parse_reply(&SCAPY_TS_REPLY),
        Some(Reply::IcmpTimestampReply(IcmpTimestampReply {
            src: THEM.into(),
            dst: US.into(),
            id: 0x4321,
            seq: 0x8765,
            ttl: 62,
            originate: 0,
            receive: 1000,
            transmit: 1001,
        }))
    );
}

#[test]
fn parses_unreachable_with_full_and_minimal_quote() {
    let expect = IcmpError {
        from: ROUTER.into(),
        kind: IcmpErrorKind::Unreachable,
        code: 13,
        ttl: 254,
        orig_src: US.into(),
        orig_dst: THEM.into(),
        orig_proto: IPPROTO_TCP,
        orig_sport: 61000,
        orig_dport: 80,
        orig_seq: 0x1234_5678,
        orig_tag: 0xabcd,
    };
    assert_eq!(
        parse_reply(&SCAPY_UNREACH_FULL),
        Some(Reply::IcmpError(expect))
    );
    assert_eq!(
        parse_reply(&SCAPY_UNREACH_SHORT),
        Some(Reply::IcmpError(IcmpError {
            code: 1,
            ttl: 250,
            ..expect
        }))
    );
    // One byte short of the RFC 792 minimum: no ports to trust.
    let mut short = SCAPY_UNREACH_SHORT;
    let len = short.len() - 1;
    short[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    assert_eq!(parse_reply(&short[..len]), None);
}

#[test]
fn ethernet_padding_is_ignored() {
    // A 40-byte RST in a 60-byte minimum Ethernet frame carries 6 padding bytes.
    let mut padded = [0u8; 46];
    padded[..40].copy_from_slice(&SCAPY_RST_ACK);
    padded[40..].copy_from_slice(&[0xde; 6]);
    assert_eq!(parse_reply(&padded), parse_reply(&SCAPY_RST_ACK));
}

#[test]
fn rejects_what_cannot_be_a_reply() {
    // Truncated at every length (a capture cut short): nothing, or the very
    // reply the whole packet gives once every field it reads is present;
    // never a different one.
    for pkt in [
        &SCAPY_SYN_ACK[..],
        &SCAPY_RST_ACK,
        &SCAPY_ECHO_REPLY,
        &SCAPY_TS_REPLY,
        &SCAPY_UNREACH_FULL,
    ] {
        let whole = parse_reply(pkt);
        for len in 0..pkt.len() {
            let cut = parse_reply(&pkt[..len]);
            assert!(cut.is_none() || cut == whole, "len {len}: {cut:?}");
            if len < 28 {
                assert_eq!(cut, None, "len {len}");
            }
        }
    }
    let mutate = |f: &dyn Fn(&mut [u8])| {
        let mut p = SCAPY_SYN_ACK;
        f(&mut p);
        parse_reply(&p)
    };
    assert_eq!(mutate(&|p| p[0] = 0x65), None, "IPv6 version nibble");
    assert_eq!(mutate(&|p| p[0] = 0x44), None, "IHL below 5");
    assert_eq!(mutate(&|p| p[0] = 0x4f), None, "IHL past the packet");
    assert_eq!(
        mutate(&|p| p[6..8].copy_from_slice(&[0x00, 0x01])),
        None,
        "fragment offset 1"
    );
    assert_eq!(
        mutate(&|p| p[2..4].copy_from_slice(&[0x00, 0x13])),
        None,
        "total length < IHL"
    );
    // A total length past the bytes is a capture cut short: read as far as
    // it goes (the TCP header is all there).
    assert!(mutate(&|p| p[2..4].copy_from_slice(&[0x00, 0xff])).is_some());
    assert_eq!(
        mutate(&|p| p[32] = 0xf0),
        None,
        "TCP data offset past the segment"
    );
    assert_eq!(mutate(&|p| p[32] = 0x40), None, "TCP data offset below 5");
    assert_eq!(mutate(&|p| p[9] = 47), None, "GRE");
    assert!(matches!(mutate(&|p| p[9] = 17), Some(Reply::Udp(_))), "UDP");
    // First fragment (MF set, offset 0) still carries the whole TCP header.
    assert!(mutate(&|p| p[6] |= 0x20).is_some());
    // Unhandled ICMP types.
    let mut p = SCAPY_ECHO_REPLY;
    p[20] = 8;
    assert_eq!(parse_reply(&p), None, "echo request is not a reply");
    p[20] = 11;
    assert_eq!(parse_reply(&p), None, "time exceeded");
    // The quoted datagram must be a first fragment.
    let mut p = SCAPY_UNREACH_FULL;
    p[28 + 7] = 1;
    assert_eq!(parse_reply(&p), None, "quoted non-first fragment");
    let mut p = SCAPY_UNREACH_FULL;
    p[28] = 0x43;
    assert_eq!(parse_reply(&p), None, "quoted IHL below 5");
}

#[test]
fn strip_ethernet_only_passes_ipv4() {
    assert_eq!(strip_ethernet(&SCAPY_ETH_SYN), Some(&SCAPY_SYN[..]));
    let mut arp = SCAPY_ETH_SYN;
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(strip_ethernet(&arp), None);
    let mut v6 = SCAPY_ETH_SYN;
    v6[12..14].copy_from_slice(&[0x86, 0xdd]);
    assert_eq!(strip_ethernet(&v6), None);
    let mut vlan = SCAPY_ETH_SYN;
    vlan[12..14].copy_from_slice(&[0x81, 0x00]);
    assert_eq!(strip_ethernet(&vlan), None);
    assert_eq!(strip_ethernet(&SCAPY_ETH_SYN[..13]), None);
    assert_eq!(strip_ethernet(&SCAPY_ETH_SYN[..14]), Some(&[][..]));
}

// ---------------------------------------------------------------- with cookies

#[test]
fn cookie_round_trip_through_the_wire() {
    let c = SynCookie::new(*b"prtip-wire-test!");
    let sport = c.source_port(THEM, 80, 61000, 4096);
    let seq = c.seq(US, THEM, sport, 80);
    let mut probe = [0u8; SYN_LEN];
    let n = build_syn(&mut probe, US, THEM, sport, 80, seq, 1, 64);

    // The target's SYN-ACK, as Linux would send it.
    let mut reply = [0u8; 64];
    let tcp = TcpFields {
        sport: 80,
        dport: sport,
        seq: 0x7777_0000,
        ack: seq.wrapping_add(1),
        flags: TcpFlags::SYN_ACK,
        window: 65160,
        mss: Some(1460),
    };
    let rip = Ipv4Fields {
        src: THEM,
        dst: US,
        ip_id: 0,
        ttl: 64,
    };
    let m = build_tcp(&mut reply, &rip, &tcp).expect("fits");
    let parsed = parse_reply(&reply[..m]).expect("parses");
    assert!(c.validate(&parsed));
    assert!(!SynCookie::new(*b"an older scan...").validate(&parsed));

    // A router's unreachable quoting the probe.
    let mut icmp = [0u8; 20 + 8 + SYN_LEN];
    icmp[..20].copy_from_slice(&SCAPY_UNREACH_SHORT[..20]);
    icmp[2..4].copy_from_slice(&((20 + 8 + n) as u16).to_be_bytes());
    icmp[20] = 3;
    icmp[21] = 3;
    icmp[28..].copy_from_slice(&probe[..n]);
    let parsed = parse_reply(&icmp).expect("parses");
    assert!(matches!(parsed, Reply::IcmpError(u) if u.orig_sport == sport && u.orig_seq == seq));
    assert!(c.validate(&parsed));
    icmp[28 + 24] ^= 0x80; // flip a bit of the quoted seq
    assert!(!c.validate(&parse_reply(&icmp).expect("parses")));

    // ACK probe -> bare RST echoing our ack as its seq.
    let aseq = c.seq(US, THEM, sport, 80);
    let n = build_tcp_ack(&mut probe, &ip(2, 64), sport, 80, aseq, aseq).expect("fits");
    assert_eq!(n, TCP_NO_OPTIONS_LEN);
    let rst = TcpFields {
        sport: 80,
        dport: sport,
        seq: aseq,
        ack: 0,
        flags: TcpFlags::RST,
        window: 0,
        mss: None,
    };
    let m = build_tcp(&mut reply, &rip, &rst).expect("fits");
    assert!(c.validate(&parse_reply(&reply[..m]).expect("parses")));

    // Echo with cookie-derived id/seq.
    let (id, eseq) = c.icmp_id_seq(US, THEM);
    let mut echo = SCAPY_ECHO_REPLY;
    echo[24..26].copy_from_slice(&id.to_be_bytes());
    echo[26..28].copy_from_slice(&eseq.to_be_bytes());
    assert!(c.validate(&parse_reply(&echo).expect("parses")));
}

/// The engines receive into 256-byte slots: a large UDP answer, or an ICMP
/// error quoting a large probe, arrives cut short of its total length and
/// must still be read as far as it goes.
#[test]
fn captures_cut_short_are_read_as_far_as_they_go() {
    use prtip_core::wire::{
        build_ipv4_icmp, build_ipv4_udp, IcmpMessage, Ipv4Header, UdpHeader, ICMP_DEST_UNREACHABLE,
    };
    let ip = |src, dst| Ipv4Header {
        src,
        dst,
        id: 0x4242,
        ttl: 61,
        tos: 0,
        df: false,
    };
    let mut answer = vec![0u8; 1200];
    let body: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    let udp = UdpHeader {
        sport: 53,
        dport: 61001,
    };
    let n = build_ipv4_udp(&mut answer, &ip(THEM, US), &udp, &body).expect("room");
    match parse_reply(&answer[..256.min(n)]) {
        Some(Reply::Udp(u)) => {
            assert_eq!((u.sport, u.dport, u.ttl), (53, 61001, 61));
            assert_eq!(u.head(), &body[..32]);
        }
        other => panic!("{other:?}"),
    }

    // Our probe with a 600-byte payload, quoted whole by the target.
    let mut probe = vec![0u8; 700];
    let probe_udp = UdpHeader {
        sport: 61001,
        dport: 67,
    };
    let n = build_ipv4_udp(&mut probe, &ip(US, THEM), &probe_udp, &[7u8; 600]).expect("room");
    let mut error = vec![0u8; 800];
    let m = IcmpMessage {
        icmp_type: ICMP_DEST_UNREACHABLE,
        code: 3,
        rest: 0,
        body: &probe[..n],
    };
    let n = build_ipv4_icmp(&mut error, &ip(THEM, US), &m).expect("room");
    match parse_reply(&error[..256.min(n)]) {
        Some(Reply::IcmpError(u)) => {
            assert_eq!(
                (u.orig_sport, u.orig_dport, u.orig_tag),
                (61001, 67, 0x4242)
            );
            assert_eq!(u.code, 3);
        }
        other => panic!("{other:?}"),
    }
}
