//! OS detection: replies to the OS probes, the fingerprint computed from
//! them, nmap's printed fingerprints and nmap-os-db.

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::sync::OnceLock;
use std::time::Duration;

use prtip_core::os_db::{best_matches, value_matches, Fingerprint, OsDbReader};
use prtip_core::os_fp::{
    compute, compute_with_scan, parse_os_reply, render_plain, render_wrapped, Observations,
    OsReply, Probe, ProbeNumbers, ProbePlan, ScanInfo, PROBE_COUNT,
};
use prtip_core::wire::TCP_MAX_OPTIONS_LEN;

use crate::{assert_one_line, split_line, text, within};

/// Bytes before the replies in the structured form of [`os_reply`]'s input.
const HEADER: usize = 4 + 4 + 1 + 2 + 6 * 2;

/// The OS-probe reply parser on the whole input as one packet; then the
/// input read as a probing session (probe numbers, SEQ send times, and
/// replies as `[probe][length u16][bytes]` records), whose fingerprint is
/// computed, printed, and must parse back to itself.
pub fn os_reply(data: &[u8]) {
    if let Some(r) = parse_os_reply(data) {
        check_reply(&r);
    }
    let Some((head, mut rest)) = data.split_first_chunk::<HEADER>() else {
        return;
    };
    let be16 = |i: usize| u16::from_be_bytes([head[i], head[i + 1]]);
    let be32 = |i: usize| u32::from_be_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let mut obs = Observations::new(ProbeNumbers {
        seq_base: be32(0),
        ack: be32(4),
        u1_ttl: head[8],
        u1_udp_checksum: be16(9),
    });
    for (i, slot) in obs.seq_sent_at.iter_mut().enumerate() {
        // 0xffff: this SEQ probe's send time is unknown.
        let ms = be16(11 + 2 * i);
        *slot = (ms != u16::MAX).then(|| Duration::from_millis(u64::from(ms)));
    }
    let plan = ProbePlan::new(
        Ipv4Addr::new(192, 0, 2, 1),
        Ipv4Addr::new(192, 0, 2, 2),
        80,
        81,
        82,
        u64::from(be32(0)),
    );
    while let Some((&[probe, hi, lo], tail)) = rest.split_first_chunk::<3>() {
        let len = usize::from(u16::from_be_bytes([hi, lo])).min(tail.len());
        let (packet, next) = tail.split_at(len);
        rest = next;
        let Some(reply) = parse_os_reply(packet) else {
            continue;
        };
        check_reply(&reply);
        black_box(plan.classify(&reply));
        if let Some(probe) = Probe::from_index(usize::from(probe) % PROBE_COUNT) {
            obs.record(probe, reply);
        }
    }
    assert!(obs.answered() <= PROBE_COUNT);
    black_box(obs.distance());
    let fp = compute(&obs);
    let plain = render_plain(&fp);
    let again = Fingerprint::parse(&plain).expect("a computed fingerprint parses");
    assert_eq!(again.to_string(), fp.to_string());
    let wrapped = render_wrapped(&fp);
    assert!(wrapped.lines().all(|l| l.starts_with("OS:")));
    let unwrapped = Fingerprint::parse(&wrapped).expect("the wrapped form parses");
    assert_eq!(unwrapped.to_string(), fp.to_string());
    let scan = ScanInfo {
        version: "0.1(fuzz)",
        open_port: Some(80),
        closed_port: None,
        closed_udp_port: Some(82),
        unix_time: Some(u64::from(be32(4))),
        platform: "x86_64 linux",
    };
    let with_scan = compute_with_scan(&obs, &scan);
    Fingerprint::parse(&render_plain(&with_scan)).expect("the SCAN line parses too");
}

fn check_reply(r: &OsReply) {
    if let Some(t) = r.tcp() {
        assert!(t.options().len() <= TCP_MAX_OPTIONS_LEN);
        assert!(t.reserved <= 0x0f);
        black_box(t.timestamp());
    }
    black_box((r.echo(), r.unreach()));
}

/// A subject fingerprint for scoring (values made up for this target, in
/// nmap's printed form).
fn subject() -> &'static Fingerprint {
    static SUBJECT: OnceLock<Fingerprint> = OnceLock::new();
    SUBJECT.get_or_init(|| {
        Fingerprint::parse(
            "SEQ(SP=101%GCD=1%ISR=10A%TI=Z%CI=Z%II=I%TS=A)\n\
             OPS(O1=M5B4ST11NW7%O2=M5B4ST11NW7%O3=M5B4NNT11NW7%O4=M5B4ST11NW7%O5=M5B4ST11NW7%O6=M5B4ST11)\n\
             WIN(W1=FE88%W2=FE88%W3=FE88%W4=FE88%W5=FE88%W6=FE88)\n\
             ECN(R=Y%DF=Y%T=40%W=FAF0%O=M5B4NNSNW7%CC=Y%Q=)\n\
             T1(R=Y%DF=Y%T=40%S=O%A=S+%F=AS%RD=0%Q=)\n\
             T2(R=N)\n\
             T3(R=N)\n\
             T4(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)\n\
             T5(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)\n\
             T6(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)\n\
             T7(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)\n\
             U1(R=Y%DF=N%T=40%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)\n\
             IE(R=Y%DFI=N%T=40%CD=S)",
        )
        .expect("the built-in subject parses")
    })
}

/// The nmap-os-db reader on arbitrary text: every entry it yields is read
/// through, and the whole text is scored against a fixed subject.
pub fn os_db(data: &[u8]) {
    let text = text(data);
    let mut reader = OsDbReader::with_file_name(&text, "fuzz");
    let mut yielded = 0;
    for r in reader.by_ref() {
        yielded += 1;
        assert!(within(r.body().as_bytes(), text.as_bytes()));
        assert!(r.line() >= 1);
        black_box(r.name());
        for c in r.classes() {
            black_box(format!("{c:?}"));
        }
        black_box(r.cpes().count());
        black_box(r.class_cpes());
        for t in r.tests() {
            assert!(r.test(t.name()).is_some());
            for (attr, expr) in t.attrs() {
                assert!(t.get(attr).is_some());
                black_box(value_matches(expr, "1A"));
            }
        }
    }
    assert_eq!(reader.fingerprints_read(), yielded);
    if let Some(points) = reader.match_points() {
        for t in points.tests() {
            for (attr, weight) in t.attrs() {
                assert_eq!(t.weight(attr), Some(*weight));
            }
        }
    }
    for w in reader.warnings() {
        assert_one_line("an nmap-os-db warning", &w.to_string());
    }
    let (matches, _) = best_matches(&text, subject(), 4);
    assert!(matches.len() <= 4);
    for m in &matches {
        assert!(m.score.matched <= m.score.possible);
        assert!(m.accuracy <= 100);
    }
    for pair in matches.windows(2) {
        assert!(pair[0].score.cmp_accuracy(pair[1].score).is_ge());
    }
}

/// nmap's printed fingerprints must print back to what parses the same;
/// the first two lines are also tried as a reference expression and an
/// observed value.
pub fn os_fingerprint(data: &[u8]) {
    let text = text(data);
    match Fingerprint::parse(&text) {
        Ok(fp) => {
            let printed = fp.to_string();
            let again = Fingerprint::parse(&printed).expect("a printed fingerprint parses");
            assert_eq!(again.to_string(), printed);
            for t in fp.tests() {
                for (attr, value) in t.attrs() {
                    assert_eq!(fp.get(t.name(), attr), Some(value));
                }
            }
        }
        Err(e) => assert_one_line("a fingerprint error", &e.to_string()),
    }
    let (expr, rest) = split_line(data);
    let (observed, _) = split_line(rest);
    black_box(value_matches(&crate::text(expr), &crate::text(observed)));
}
