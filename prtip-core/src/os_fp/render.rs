//! Assembling the test lines into a [`Fingerprint`] in nmap's order, and
//! printing it as nmap does.

use super::lines::{ecn_line, ie_line, ops_line, t_line, u1_line, win_line};
use super::obs::Observations;
use super::probes::Probe;
use super::seq::seq_line;
use super::val::{Line, Val};
use crate::os_db::{Fingerprint, FingerprintError};

/// Characters per `OS:` line in nmap's wrapped form.
const WRAP: usize = 72;

/// Facts for the `SCAN(...)` line, which describes the scan rather than the
/// target (the matcher ignores it). Absent fields are left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanInfo<'a> {
    /// `V`: the scanner's version.
    pub version: &'a str,
    /// `OT`: the open TCP port probed.
    pub open_port: Option<u16>,
    /// `CT`: the closed TCP port probed.
    pub closed_port: Option<u16>,
    /// `CU`: the closed UDP port probed.
    pub closed_udp_port: Option<u16>,
    /// `TM`: scan time, seconds since the Unix epoch (printed in hex like nmap).
    pub unix_time: Option<u64>,
    /// `P`: platform of the scanner.
    pub platform: &'a str,
}

fn push(fp: &mut Fingerprint, line: &Line) -> Result<(), FingerprintError> {
    fp.push_test(line.name, line.attrs())
}

/// The fingerprint of `obs`: `SEQ OPS WIN ECN T1..T7 U1 IE`, every line
/// present (`R=N` for unanswered probes), values as nmap prints them.
pub fn compute(obs: &Observations) -> Fingerprint {
    let mut fp = Fingerprint::new();
    append_tests(&mut fp, obs);
    fp
}

/// [`compute`] preceded by a `SCAN(...)` line built from `scan`.
pub fn compute_with_scan(obs: &Observations, scan: &ScanInfo<'_>) -> Fingerprint {
    let mut fp = Fingerprint::new();
    let mut line = Line::new("SCAN");
    let clean = |s: &str| {
        // A value may not hold the fingerprint's separators.
        let mut v = Val::empty();
        for c in s.chars() {
            if c.is_ascii_graphic() && !matches!(c, '%' | '(' | ')' | '=') {
                v.push(c as u8);
            }
        }
        v
    };
    if !scan.version.is_empty() {
        line.add("V", clean(scan.version));
    }
    line.add_lit("E", "4");
    let mut dec = |attr, n: Option<u16>| {
        if let Some(n) = n {
            let mut v = Val::empty();
            let _ = std::fmt::Write::write_fmt(&mut v, format_args!("{n}"));
            line.add(attr, v);
        }
    };
    dec("OT", scan.open_port);
    dec("CT", scan.closed_port);
    dec("CU", scan.closed_udp_port);
    if let Some(d) = obs.distance() {
        let mut v = Val::empty();
        let _ = std::fmt::Write::write_fmt(&mut v, format_args!("{d}"));
        line.add("DS", v);
        // Distance taken from the ICMP reply to U1.
        line.add_lit("DC", "I");
    }
    if let Some(t) = scan.unix_time {
        line.add("TM", Val::hex(t));
    }
    if !scan.platform.is_empty() {
        line.add("P", clean(scan.platform));
    }
    // Cannot fail: names are literals and values were cleaned.
    let _ = push(&mut fp, &line);
    append_tests(&mut fp, obs);
    fp
}

fn append_tests(fp: &mut Fingerprint, obs: &Observations) {
    let lines = [
        seq_line(obs),
        ops_line(obs),
        win_line(obs),
        ecn_line(obs),
        t_line(obs, "T1", Probe::Seq1),
        t_line(obs, "T2", Probe::T2),
        t_line(obs, "T3", Probe::T3),
        t_line(obs, "T4", Probe::T4),
        t_line(obs, "T5", Probe::T5),
        t_line(obs, "T6", Probe::T6),
        t_line(obs, "T7", Probe::T7),
        u1_line(obs),
        ie_line(obs),
    ];
    for line in &lines {
        // Values are built from hex digits and fixed letters only, and each
        // name occurs once, so pushing cannot fail.
        let _ = push(fp, line);
    }
}

/// One test per line, e.g. `T1(R=Y%DF=Y%T=40%S=O%A=S+%F=AS%RD=0%Q=)`.
pub fn render_plain(fp: &Fingerprint) -> String {
    fp.to_string()
}

/// nmap's submission form: all tests run together and cut every 72
/// characters, each piece prefixed with `OS:`. [`Fingerprint::parse`]
/// reads it back.
pub fn render_wrapped(fp: &Fingerprint) -> String {
    let joined: String = render_plain(fp).lines().collect();
    let mut out = String::with_capacity(joined.len() + joined.len() / WRAP * 4 + 4);
    let bytes = joined.as_bytes();
    for chunk in bytes.chunks(WRAP) {
        out.push_str("OS:");
        // The text is ASCII (enforced by `Val`), so chunks are valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}
