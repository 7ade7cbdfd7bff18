//! The `SEQ` test: what the series of SEQ replies (and the closed-port and
//! echo replies, for IP ids) says about the target's counters.
//!
//! - `GCD`, `ISR`, `SP` (at least four SYN/ACKs): differences of
//!   consecutive ISNs, taken the short way round the 32-bit circle; their
//!   GCD; their rates per second of send time; `ISR` is the binary log of the
//!   mean rate times 8, `SP` that of the rates' sample standard deviation
//!   (rates divided by the GCD first when it exceeds 9).
//! - `TI`/`CI`/`II`: the class of the IP id sequence of the SYN/ACKs (three
//!   or more), the T5-T7 replies (two or more) and the two echo replies.
//! - `SS`: whether TCP and ICMP share one IP id counter.
//! - `TS`: the frequency of the TCP timestamp clock.

use std::time::Duration;

use super::obs::Observations;
use super::probes::Probe;
use super::val::{Line, Val};

/// Which replies an IP id series came from; they differ in how many
/// samples they need and whether `RD` can be told from two samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpIdSource {
    /// `TI`: SYN/ACKs to the SEQ probes (at least 3).
    Tcp,
    /// `CI`: replies to T5-T7 (at least 2).
    TcpClosed,
    /// `II`: the two echo replies (both).
    Icmp,
}

/// Classifies an IP id series: `Z` all zero, `RD` random (a jump of at
/// least 20,000; not for two echo replies), the value itself when constant,
/// `RI` random increments (a jump over 1,000 not a multiple of 256), `BI`
/// (byte-swapped increments: multiples of 256 up to 5,120), `I` (steps
/// under 10). `None` when there are too few samples or no class fits.
/// Differences are taken modulo 2^16.
pub fn ipid_class(ids: &[u16], source: IpIdSource) -> Option<Val> {
    let min = match source {
        IpIdSource::Tcp => 3,
        IpIdSource::TcpClosed | IpIdSource::Icmp => 2,
    };
    if ids.len() < min {
        return None;
    }
    if ids.iter().all(|&id| id == 0) {
        return Some(Val::lit("Z"));
    }
    let diffs = || ids.windows(2).map(|w| u32::from(w[1].wrapping_sub(w[0])));
    if source != IpIdSource::Icmp && diffs().any(|d| d >= 20_000) {
        return Some(Val::lit("RD"));
    }
    if diffs().all(|d| d == 0) {
        return Some(Val::hex(u64::from(ids[0])));
    }
    // A multiple of 256 would need to reach 256,000 to count here, which a
    // 16-bit difference cannot.
    if diffs().any(|d| d > 1000 && d % 256 != 0) {
        return Some(Val::lit("RI"));
    }
    if diffs().all(|d| d % 256 == 0 && d <= 5120) {
        return Some(Val::lit("BI"));
    }
    if diffs().all(|d| d < 10) {
        return Some(Val::lit("I"));
    }
    None
}

/// One SYN/ACK to a SEQ probe.
#[derive(Debug, Clone, Copy)]
struct Sample {
    probe: usize,
    isn: u32,
    ip_id: u16,
    ts: Option<u32>,
    at: Option<Duration>,
}

/// Distance between two 32-bit counter values the short way round.
fn mod_diff(a: u32, b: u32) -> u32 {
    a.wrapping_sub(b).min(b.wrapping_sub(a))
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// nmap rounds half up: `(int)(x + 0.5)`.
fn round_half_up(x: f64) -> u64 {
    if x.is_finite() && x > 0.0 {
        (x + 0.5).floor() as u64
    } else {
        0
    }
}

const NO_SAMPLE: Sample = Sample {
    probe: 0,
    isn: 0,
    ip_id: 0,
    ts: None,
    at: None,
};

/// The SYN/ACKs among the SEQ replies, in probe order: `(buffer, count)`.
fn samples(obs: &Observations) -> ([Sample; 6], usize) {
    let mut out = [NO_SAMPLE; 6];
    let mut n = 0;
    for (i, probe) in Probe::ALL[..6].iter().enumerate() {
        let Some(reply) = obs.reply(*probe) else {
            continue;
        };
        let Some(tcp) = reply.tcp() else { continue };
        // Only a SYN/ACK carries an ISN; a RST from a port that closed meanwhile does not.
        if tcp.flags & 0x12 != 0x12 || tcp.flags & 0x04 != 0 {
            continue;
        }
        out[n] = Sample {
            probe: i,
            isn: tcp.seq,
            ip_id: reply.ip.id,
            ts: tcp.timestamp(),
            at: obs.seq_sent_at[i],
        };
        n += 1;
    }
    (out, n)
}

/// Seconds between two sends; at least a microsecond, so rates stay finite.
fn secs_between(a: Option<Duration>, b: Option<Duration>) -> Option<f64> {
    let (a, b) = (a?, b?);
    Some(b.checked_sub(a)?.as_secs_f64().max(1e-6))
}

/// The `SEQ` line, or `SEQ(R=N)` when nothing at all could be computed.
pub(crate) fn seq_line(obs: &Observations) -> Line {
    let mut line = Line::new("SEQ");
    let (buf, n) = samples(obs);
    let s = &buf[..n];

    if s.len() >= 4 {
        isn_tests(&mut line, s);
    }

    let mut tcp_ids = [0u16; 6];
    for (slot, sample) in tcp_ids.iter_mut().zip(s) {
        *slot = sample.ip_id;
    }
    let ti = ipid_class(&tcp_ids[..s.len()], IpIdSource::Tcp);

    let mut closed_ids = [0u16; 3];
    let mut nc = 0;
    for probe in [Probe::T5, Probe::T6, Probe::T7] {
        if let Some(r) = obs.reply(probe).filter(|r| r.tcp().is_some()) {
            closed_ids[nc] = r.ip.id;
            nc += 1;
        }
    }
    let ci = ipid_class(&closed_ids[..nc], IpIdSource::TcpClosed);

    let echo_id = |p| obs.reply(p).filter(|r| r.echo().is_some()).map(|r| r.ip.id);
    let icmp = match (echo_id(Probe::Ie1), echo_id(Probe::Ie2)) {
        (Some(a), Some(b)) => Some([a, b]),
        _ => None,
    };
    let ii = icmp.and_then(|ids| ipid_class(&ids, IpIdSource::Icmp));

    for (attr, v) in [("TI", ti), ("CI", ci), ("II", ii)] {
        if let Some(v) = v {
            line.add(attr, v);
        }
    }
    if let (Some(ti), Some(ii), Some(icmp)) = (ti, ii, icmp) {
        if ti == ii && matches!(ti.as_str(), "RI" | "BI" | "I") {
            line.add_lit("SS", shared_ipid(s, icmp[0]));
        }
    }
    if let Some(ts) = ts_test(s) {
        line.add("TS", ts);
    }
    if line.is_empty() {
        line.add_lit("R", "N");
    }
    line
}

/// `SP`, `GCD`, `ISR` from four or more SYN/ACKs.
fn isn_tests(line: &mut Line, s: &[Sample]) {
    let mut diffs = [0u32; 5];
    let mut rates = [0f64; 5];
    let mut n = 0;
    for w in s.windows(2) {
        let Some(dt) = secs_between(w[0].at, w[1].at) else {
            continue;
        };
        diffs[n] = mod_diff(w[1].isn, w[0].isn);
        rates[n] = f64::from(diffs[n]) / dt;
        n += 1;
    }
    let (diffs, rates) = (&diffs[..n], &rates[..n]);
    if n < 3 {
        return;
    }
    let g = diffs.iter().fold(0, |g, &d| gcd(g, d));
    let avg = rates.iter().sum::<f64>() / n as f64;
    let isr = if avg < 1.0 {
        0
    } else {
        round_half_up(avg.log2() * 8.0)
    };
    let div = if g > 9 { f64::from(g) } else { 1.0 };
    let var = rates
        .iter()
        .map(|r| (r / div - avg / div).powi(2))
        .sum::<f64>()
        / (n - 1) as f64;
    let sd = var.sqrt();
    let sp = if sd <= 1.0 {
        0
    } else {
        round_half_up(sd.log2() * 8.0)
    };
    line.add("SP", Val::hex(sp));
    line.add("GCD", Val::hex(u64::from(g)));
    line.add("ISR", Val::hex(isr));
}

/// `S` when the first echo reply's id is below the last SYN/ACK's id plus
/// three average TCP steps (one counter for both), else `O`.
fn shared_ipid(s: &[Sample], ie1_id: u16) -> &'static str {
    let (Some(first), Some(last)) = (s.first(), s.last()) else {
        return "O";
    };
    let probes = last.probe.saturating_sub(first.probe).max(1) as f64;
    let avg = f64::from(last.ip_id.wrapping_sub(first.ip_id)) / probes;
    if f64::from(ie1_id) < f64::from(last.ip_id) + 3.0 * avg {
        "S"
    } else {
        "O"
    }
}

/// `TS`: `U` if a SYN/ACK lacks the option, `0` if a TSval is zero,
/// otherwise the clock rate: 1, 7 or 8 for the common 2, 100 and 200 Hz
/// clocks, else the rounded binary log of ticks per second.
fn ts_test(s: &[Sample]) -> Option<Val> {
    if s.is_empty() {
        return None;
    }
    if s.iter().any(|x| x.ts.is_none()) {
        return Some(Val::lit("U"));
    }
    if s.iter().any(|x| x.ts == Some(0)) {
        return Some(Val::lit("0"));
    }
    let mut sum = 0.0;
    let mut n = 0u32;
    for w in s.windows(2) {
        let (Some(a), Some(b)) = (w[0].ts, w[1].ts) else {
            continue;
        };
        let Some(dt) = secs_between(w[0].at, w[1].at) else {
            continue;
        };
        sum += f64::from(mod_diff(b, a)) / dt;
        n += 1;
    }
    if n == 0 {
        return None;
    }
    let hz = sum / f64::from(n);
    Some(if hz > 0.0 && hz < 5.66 {
        Val::lit("1")
    } else if hz > 70.0 && hz < 150.0 {
        Val::lit("7")
    } else if (150.0..350.0).contains(&hz) {
        Val::lit("8")
    } else {
        Val::hex(round_half_up(hz.log2()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(ids: &[u16], src: IpIdSource) -> String {
        ipid_class(ids, src).map_or("-".into(), |v| v.as_str().to_owned())
    }

    #[test]
    fn ipid_classes() {
        use IpIdSource::*;
        assert_eq!(class(&[0, 0, 0], Tcp), "Z");
        assert_eq!(class(&[1, 0], Tcp), "-");
        assert_eq!(class(&[100, 30000, 5], Tcp), "RD");
        assert_eq!(class(&[100, 30000], Icmp), "RI");
        assert_eq!(class(&[7, 7, 7], Tcp), "7");
        assert_eq!(class(&[0xabc, 0xabc], Icmp), "ABC");
        assert_eq!(class(&[10, 1500, 2100], Tcp), "RI");
        assert_eq!(class(&[256, 512, 1280], Tcp), "BI");
        assert_eq!(class(&[65534, 1, 5], Tcp), "I");
        assert_eq!(class(&[961, 962], Icmp), "I");
        assert_eq!(class(&[1, 60, 100], Tcp), "-");
    }

    #[test]
    fn gcd_and_mod_diff() {
        assert_eq!(gcd(0, 12), 12);
        assert_eq!(gcd(12, 18), 6);
        assert_eq!(mod_diff(5, u32::MAX), 6);
        assert_eq!(mod_diff(u32::MAX, 5), 6);
    }
}
