//! The OS engine on an in-memory network: a responder that answers like the
//! Linux stack of the lab captures, with loss, silence and noise.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prtip_core::os_db::Fingerprint;
use prtip_scanner::net::fake::FakeNet;
use prtip_scanner::os::{fingerprint, fingerprint_with_plan, OsOptions};

const SRC: Ipv4Addr = Ipv4Addr::new(198, 18, 200, 1);
const DST: Ipv4Addr = Ipv4Addr::new(198, 18, 200, 2);

/// What nmap printed for the lab's Linux target, minus the clock-dependent
/// SEQ values (the fake ISNs below are not Linux's).
const LINUX_LINES: &str = "\
OPS(O1=M5B4ST11NWA%O2=M5B4ST11NWA%O3=M5B4ST11NWA%O4=M5B4ST11NWA%O5=M5B4ST11NWA%O6=M5B4ST11NWA)
WIN(W1=FE88%W2=FE88%W3=FE88%W4=FE88%W5=FE88%W6=FE88)
ECN(R=Y%DF=Y%T=40%W=FAF0%O=M5B4NNSNWA%CC=Y%Q=)
T1(R=Y%DF=Y%T=40%S=O%A=S+%F=AS%RD=0%Q=)
T2(R=N)
T3(R=N)
T4(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)
T5(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)
T6(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)
T7(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)
U1(R=Y%DF=N%T=40%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)
IE(R=Y%DFI=N%T=40%CD=S)";

fn fast() -> OsOptions {
    OsOptions {
        seq_interval: Duration::from_millis(10),
        probe_gap: Duration::from_millis(1),
        initial_timeout: Duration::from_millis(200),
        min_timeout: Duration::from_millis(30),
        seed: Some(42),
        ..OsOptions::default()
    }
}

fn sum16(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

fn ipv4(proto: u8, id: u16, df: bool, tos: u8, payload: &[u8]) -> Vec<u8> {
    let total = 20 + payload.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[1] = tos;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[4..6].copy_from_slice(&id.to_be_bytes());
    if df {
        p[6] = 0x40;
    }
    p[8] = 64;
    p[9] = proto;
    p[12..16].copy_from_slice(&DST.octets());
    p[16..20].copy_from_slice(&SRC.octets());
    let ck = sum16(&p[..20]);
    p[10..12].copy_from_slice(&ck.to_be_bytes());
    p[20..].copy_from_slice(payload);
    p
}

#[allow(clippy::too_many_arguments)] // one argument per header field
fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, window: u16, opts: &[u8]) -> Vec<u8> {
    let mut t = vec![0u8; 20 + opts.len()];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12] = ((20 + opts.len()) as u8 / 4) << 4;
    t[13] = flags;
    t[14..16].copy_from_slice(&window.to_be_bytes());
    t[20..].copy_from_slice(opts);
    ipv4(6, 0, true, 0, &t)
}

const SYNACK_OPTS: [u8; 20] = [
    2, 4, 5, 0xb4, 4, 2, 8, 10, 0x12, 0x34, 0x56, 0x78, 0xff, 0xff, 0xff, 0xff, 1, 3, 3, 10,
];
const ECN_OPTS: [u8; 12] = [2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 10];

/// Answers one probe like the lab's Linux target; `open_all` makes it
/// answer T2 and T3 too (with a RST), which Linux does not.
fn linux_reply(
    probe: &[u8],
    ip_ids: &AtomicU16,
    isn: &AtomicU16,
    open_all: bool,
) -> Option<Vec<u8>> {
    let proto = probe[9];
    let p = &probe[20..];
    match proto {
        6 => {
            let (sport, dport) = (
                u16::from_be_bytes([p[0], p[1]]),
                u16::from_be_bytes([p[2], p[3]]),
            );
            let seq = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
            let ack = u32::from_be_bytes([p[8], p[9], p[10], p[11]]);
            let flags = p[13];
            let fresh_isn = u32::from(isn.fetch_add(7919, Ordering::Relaxed)) * 65_537;
            if dport == 81 {
                return Some(match flags {
                    0x10 => tcp(dport, sport, ack, 0, 0x04, 0, &[]),
                    _ => tcp(dport, sport, 0, seq.wrapping_add(1), 0x14, 0, &[]),
                });
            }
            match flags {
                0xc2 => Some(tcp(
                    dport,
                    sport,
                    fresh_isn,
                    seq.wrapping_add(1),
                    0x52,
                    0xfaf0,
                    &ECN_OPTS,
                )),
                0x02 => {
                    // A 1 kHz timestamp clock, like Linux without offsets.
                    let mut opts = SYNACK_OPTS;
                    let ms = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(1, |d| d.as_millis() as u32 | 1);
                    opts[8..12].copy_from_slice(&ms.to_be_bytes());
                    Some(tcp(
                        dport,
                        sport,
                        fresh_isn,
                        seq.wrapping_add(1),
                        0x12,
                        0xfe88,
                        &opts,
                    ))
                }
                0x10 => Some(tcp(dport, sport, ack, 0, 0x04, 0, &[])),
                _ if open_all => Some(tcp(dport, sport, ack, 0, 0x04, 0, &[])),
                _ => None,
            }
        }
        1 => {
            let mut msg = p.to_vec();
            msg[0] = 0;
            msg[2..4].fill(0);
            let ck = sum16(&msg);
            msg[2..4].copy_from_slice(&ck.to_be_bytes());
            let id = ip_ids.fetch_add(1, Ordering::Relaxed);
            Some(ipv4(1, id, false, probe[1], &msg))
        }
        17 => {
            let mut msg = vec![3, 3, 0, 0, 0, 0, 0, 0];
            msg.extend_from_slice(probe);
            let ck = sum16(&msg);
            msg[2..4].copy_from_slice(&ck.to_be_bytes());
            let id = ip_ids.fetch_add(1, Ordering::Relaxed);
            Some(ipv4(1, id, false, 0xc0, &msg))
        }
        _ => None,
    }
}

fn linux_net(open_all: bool, drop_first: bool) -> Arc<FakeNet> {
    let ids = AtomicU16::new(961);
    let isn = AtomicU16::new(1);
    // Drops the first transmission of each distinct probe (by its bytes
    // after the IP header, which retransmissions repeat).
    let seen: Mutex<HashSet<Vec<u8>>> = Mutex::new(HashSet::new());
    Arc::new(FakeNet::new(Box::new(move |probe: &[u8]| {
        if drop_first {
            let key = probe[20..].to_vec();
            if seen.lock().unwrap_or_else(|e| e.into_inner()).insert(key) {
                return Vec::new();
            }
        }
        linux_reply(probe, &ids, &isn, open_all)
            .into_iter()
            .collect()
    })))
}

fn lines_without_seq(fp: &Fingerprint) -> String {
    fp.to_string()
        .lines()
        .filter(|l| !l.starts_with("SEQ("))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn linux_like_host_gives_nmaps_lines() {
    let net = linux_net(false, false);
    let started = Instant::now();
    let r = fingerprint(
        &*net,
        SRC,
        DST,
        80,
        81,
        40125,
        &OsOptions {
            seed: Some(7),
            ..OsOptions::default()
        },
    )
    .expect("probing");
    assert_eq!(lines_without_seq(&r.fingerprint), LINUX_LINES);
    let seq = r.fingerprint.test("SEQ").expect("SEQ");
    assert_eq!(seq.get("TI"), Some("Z"));
    assert_eq!(seq.get("CI"), Some("Z"));
    assert_eq!(seq.get("II"), Some("I"));
    assert_eq!(seq.get("TS"), Some("A"), "1 kHz: log2(1000) rounds to 10");
    // The fake ISNs step by multiples of 7919 * 65537.
    assert_eq!(seq.get("GCD"), Some("1EEF1EEF"));
    // T2 and T3 never answer: every round resends just those two.
    assert_eq!((r.tries, r.sent, r.answered), (5, 16 + 4 * 2, 14));
    // Six SEQ probes 100 ms apart take half a second at least.
    assert!(started.elapsed() >= Duration::from_millis(500));
    let at = r.observations.seq_sent_at.map(Option::unwrap_or_default);
    for w in at.windows(2) {
        assert!(w[1] - w[0] >= Duration::from_millis(100), "{at:?}");
    }
}

#[test]
fn stops_after_one_round_when_everything_answers() {
    let net = linux_net(true, false);
    let r = fingerprint(&*net, SRC, DST, 80, 81, 40125, &fast()).expect("probing");
    assert_eq!((r.tries, r.sent, r.answered), (1, 16, 16));
    assert_eq!(net.sent().len(), 16);
    assert_eq!(r.fingerprint.get("T2", "F"), Some("R"), "{}", r.fingerprint);
}

#[test]
fn retries_probes_whose_first_transmission_was_lost() {
    let net = linux_net(true, true);
    let r = fingerprint(&*net, SRC, DST, 80, 81, 40125, &fast()).expect("probing");
    assert_eq!((r.tries, r.sent, r.answered), (2, 32, 16));
    assert_eq!(r.fingerprint.get("T4", "S"), Some("A"));
    assert_eq!(r.fingerprint.get("U1", "RUCK"), Some("G"));
}

#[test]
fn silent_host_gives_r_n_lines_after_max_tries() {
    let net = Arc::new(FakeNet::new(Box::new(|_: &[u8]| Vec::new())));
    let opts = OsOptions {
        max_tries: 3,
        initial_timeout: Duration::from_millis(20),
        ..fast()
    };
    let r = fingerprint(&*net, SRC, DST, 80, 81, 40125, &opts).expect("probing");
    assert_eq!((r.tries, r.sent, r.answered), (3, 48, 0));
    assert_eq!(
        r.fingerprint.to_string(),
        "SEQ(R=N)\nOPS(R=N)\nWIN(R=N)\nECN(R=N)\nT1(R=N)\nT2(R=N)\nT3(R=N)\nT4(R=N)\n\
         T5(R=N)\nT6(R=N)\nT7(R=N)\nU1(R=N)\nIE(R=N)"
    );
}

/// `--host-timeout`'s deadline stops probing mid-round: a silent host that
/// would cost 5 rounds of 10 SEQ gaps and a 1 s wait each ends at once.
#[test]
fn deadline_stops_probing_mid_round() {
    let net = Arc::new(FakeNet::new(Box::new(|_: &[u8]| Vec::new())));
    let opts = OsOptions {
        max_tries: 5,
        seq_interval: Duration::from_millis(100),
        initial_timeout: Duration::from_secs(1),
        deadline: Some(Instant::now() + Duration::from_millis(250)),
        ..fast()
    };
    let started = Instant::now();
    let r = fingerprint(&*net, SRC, DST, 80, 81, 40125, &opts).expect("probing");
    assert_eq!(r.tries, 1, "no round starts after the deadline");
    assert!(
        r.sent < 16,
        "the round stopped at the deadline: {} sent",
        r.sent
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn noise_and_foreign_replies_are_ignored() {
    let ids = AtomicU16::new(100);
    let isn = AtomicU16::new(3);
    let state = Mutex::new(0x9e37_79b9_7f4a_7c15u64);
    let net = Arc::new(FakeNet::new(Box::new(move |probe: &[u8]| {
        let mut out = Vec::new();
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..4 {
            *s ^= *s << 13;
            *s ^= *s >> 7;
            *s ^= *s << 17;
            let len = (*s % 120) as usize;
            let mut junk: Vec<u8> = (0..len).map(|i| (*s >> (i % 56)) as u8).collect();
            if let Some(b) = junk.first_mut() {
                *b = 0x45;
            }
            out.push(junk);
        }
        // A well-formed reply for a port we never used.
        out.push(tcp(80, 1, 5, 6, 0x12, 100, &[]));
        out.extend(linux_reply(probe, &ids, &isn, false));
        out
    })));
    let r = fingerprint(&*net, SRC, DST, 80, 81, 40125, &fast()).expect("probing");
    assert_eq!(lines_without_seq(&r.fingerprint), LINUX_LINES);
}

#[test]
fn explicit_plan_is_used_as_given() {
    let net = linux_net(true, false);
    let mut plan = prtip_core::os_fp::ProbePlan::new(SRC, DST, 80, 81, 40125, 9);
    plan.tcp_sport_base = 50000;
    plan.ttl = 50;
    let r = fingerprint_with_plan(&*net, &plan, &fast()).expect("probing");
    assert_eq!(r.plan, plan);
    let sent = net.sent();
    assert!(sent.iter().all(|p| p[8] == 50));
    let tcp_sports: HashSet<u16> = sent
        .iter()
        .filter(|p| p[9] == 6)
        .map(|p| u16::from_be_bytes([p[20], p[21]]))
        .collect();
    assert_eq!(tcp_sports, (50000..50013).collect());
    // U1 left with TTL 50 and the fake quotes it unchanged: one hop.
    assert_eq!(r.observations.distance(), Some(1));
}
