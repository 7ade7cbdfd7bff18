//! Which TCP scan a run does: the scan-type flags (`-sS`, `-sT`, `-sA`,
//! `-sW`, `-sM`, `-sN`, `-sF`, `-sX`), `--scanflags`, and nmap's default
//! when none is given.

use crate::cli::{Args, UsageError};
use prtip_core::wire::TcpFlags;
use prtip_scanner::engines::syn::{TcpProbe, TcpScanType};
use std::ffi::OsString;

/// The TCP scan engine to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanKind {
    /// `-sT`: the kernel's TCP handshake, no privileges needed.
    Connect,
    /// A raw scan (`-sS` and the others; needs CAP_NET_RAW).
    Raw(TcpProbe),
}

impl ScanKind {
    /// `-sS`, nmap's default with privileges.
    pub const SYN: ScanKind = ScanKind::Raw(TcpProbe::SYN);

    /// nmap's name of the scan type (XML `<scaninfo type=...>`).
    pub fn nmap_name(self) -> &'static str {
        match self {
            ScanKind::Connect => "connect",
            ScanKind::Raw(p) => p.scan.nmap_name(),
        }
    }
}

/// The one-line refusal when `-sS` needs raw sockets but has none.
pub const NEED_CAP_NET_RAW: &str = "-sS needs the CAP_NET_RAW capability (raw sockets): run as root, or grant it with `setcap cap_net_raw+eip prtip`, or use -sT (TCP connect scan)";

/// The raw scan-type options of a command line, taken out before clap
/// parses the rest.
#[derive(Debug, Default)]
pub struct RawScanOptions {
    /// The letters of `-sA`, `-sW`, `-sM`, `-sN`, `-sF`, `-sX` given.
    letters: Vec<char>,
    scanflags: Option<String>,
}

impl RawScanOptions {
    /// Sets the options on the parsed `args`.
    pub fn apply(self, args: &mut Args) {
        for c in self.letters {
            match c {
                'A' => args.ack_scan = true,
                'W' => args.window_scan = true,
                'M' => args.maimon_scan = true,
                'N' => args.null_scan = true,
                'F' => args.fin_scan = true,
                _ => args.xmas_scan = true,
            }
        }
        if self.scanflags.is_some() {
            args.scanflags = self.scanflags;
        }
    }
}

/// Removes the raw scan-type options from `argv` (as `cli::normalize`
/// leaves them: `--sA`... and `--scanflags V` or `--scanflags=V`), up to a
/// `--` separator; the last `--scanflags` wins, as clap's options do.
pub fn take_raw_scan_options(argv: &mut Vec<OsString>) -> Result<RawScanOptions, UsageError> {
    let mut out = RawScanOptions::default();
    crate::argv::take_options(argv, |s, rest| {
        if let Some(c) = raw_scan_letter(s) {
            out.letters.push(c);
        } else if s == "--scanflags" {
            let v = crate::argv::value_of(s, rest, ", like SYNFIN or 41")?;
            out.scanflags = Some(v);
        } else if let Some(v) = s.strip_prefix("--scanflags=") {
            out.scanflags = Some(v.to_string());
        } else {
            return Ok(false);
        }
        Ok(true)
    })?;
    Ok(out)
}

/// The letter of `--sA`, `--sW`, `--sM`, `--sN`, `--sF` or `--sX`.
fn raw_scan_letter(s: &str) -> Option<char> {
    let c = s.strip_prefix("--s")?;
    let mut chars = c.chars();
    let letter = chars.next()?;
    (chars.next().is_none() && "AWMNFX".contains(letter)).then_some(letter)
}

/// The raw scan-type flags given, with their spelling.
fn raw_flags(args: &Args) -> impl Iterator<Item = (&'static str, TcpScanType)> {
    [
        (args.syn_scan, "-sS", TcpScanType::Syn),
        (args.ack_scan, "-sA", TcpScanType::Ack),
        (args.window_scan, "-sW", TcpScanType::Window),
        (args.maimon_scan, "-sM", TcpScanType::Maimon),
        (args.null_scan, "-sN", TcpScanType::Null),
        (args.fin_scan, "-sF", TcpScanType::Fin),
        (args.xmas_scan, "-sX", TcpScanType::Xmas),
    ]
    .into_iter()
    .filter(|(given, _, _)| *given)
    .map(|(_, flag, t)| (flag, t))
}

/// True when any TCP scan type was asked for (`-sT` included).
pub fn any_tcp_flag(args: &Args) -> bool {
    args.connect_scan || raw_flags(args).next().is_some()
}

/// The TCP scan the flags ask for, and a notice when it was chosen for the
/// user. Without a scan type nmap runs a SYN scan when privileged and a
/// connect scan otherwise, but `-sU` alone runs no TCP scan at all.
pub fn tcp_from(
    args: &Args,
    privileged: bool,
) -> Result<(Option<ScanKind>, Option<String>), UsageError> {
    let mut given: Vec<(&str, Option<TcpScanType>)> =
        raw_flags(args).map(|(f, t)| (f, Some(t))).collect();
    if args.connect_scan {
        given.push(("-sT", None));
    }
    if let [(a, _), (b, _), ..] = given.as_slice() {
        return Err(UsageError(format!(
            "choose one TCP scan type: {a} and {b} cannot be combined (nmap scans with one TCP type per run; -sU can be added to any)"
        )));
    }
    let flags = args.scanflags.as_deref().map(parse_scanflags).transpose()?;
    let raw = given.first().and_then(|&(f, t)| Some((f, t?)));
    if let Some((flag, _)) = raw.filter(|_| !privileged) {
        return Err(UsageError(need_cap_net_raw(flag)));
    }
    if flags.is_some() {
        refuse_scanflags(args, privileged)?;
    }
    let probe = |scan: TcpScanType| TcpProbe {
        scan,
        flags: flags.unwrap_or(scan.default_flags()),
    };
    Ok(if args.connect_scan {
        (Some(ScanKind::Connect), None)
    } else if let Some((_, t)) = raw {
        (Some(ScanKind::Raw(probe(t))), None)
    } else if privileged && !args.udp_scan {
        (Some(ScanKind::Raw(probe(TcpScanType::Syn))), None)
    } else if args.udp_scan {
        (None, None)
    } else if args.ping_only {
        (Some(ScanKind::Connect), None)
    } else {
        (
            Some(ScanKind::Connect),
            Some(
                "no raw-socket privilege (CAP_NET_RAW), so using a TCP connect scan (-sT)"
                    .to_string(),
            ),
        )
    })
}

/// `flag` without raw sockets: the same way out as `-sS`'s.
fn need_cap_net_raw(flag: &str) -> String {
    NEED_CAP_NET_RAW.replacen("-sS", flag, 1)
}

/// Where `--scanflags` has no raw TCP probe to shape.
fn refuse_scanflags(args: &Args, privileged: bool) -> Result<(), UsageError> {
    let why = if args.connect_scan {
        "--scanflags shapes raw TCP probes; it cannot be combined with -sT (connect scan)"
    } else if args.ping_only {
        "--scanflags shapes the probes of a port scan; it cannot be combined with -sn"
    } else if !privileged {
        "--scanflags needs the CAP_NET_RAW capability (raw sockets): run as root, or grant it with `setcap cap_net_raw+eip prtip`"
    } else if args.udp_scan && !any_tcp_flag(args) {
        "--scanflags shapes TCP probes, and -sU alone scans no TCP port: add a TCP scan type (-sS, -sA, -sF...)"
    } else {
        return Ok(());
    };
    Err(UsageError(why.to_string()))
}

/// The control bits `--scanflags` names: a number from 0 to 255 (decimal,
/// or hex with `0x`), or flag names run together in any case and order
/// (`URGACKPSHRSTSYNFIN`, `ECE`, `CWR`, `PUSH`, `RESET`; `ALL`, `NONE`).
pub fn parse_scanflags(v: &str) -> Result<TcpFlags, UsageError> {
    let bad = || {
        UsageError(format!(
            "invalid --scanflags \"{v}\": give a number from 0 to 255 or flag names run together, like URGACKPSHRSTSYNFIN"
        ))
    };
    let t = v.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if t.starts_with(|c: char| c.is_ascii_digit()) {
        let n = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(hex) => u8::from_str_radix(hex, 16),
            None => t.parse::<u8>(),
        };
        return n.map(TcpFlags).map_err(|_| bad());
    }
    const NAMES: [(&str, u8); 12] = [
        ("URG", 0x20),
        ("ACK", 0x10),
        ("PSH", 0x08),
        ("PUSH", 0x08),
        ("RST", 0x04),
        ("RESET", 0x04),
        ("SYN", 0x02),
        ("FIN", 0x01),
        ("ECE", 0x40),
        ("CWR", 0x80),
        ("ALL", 0xff),
        ("NONE", 0x00),
    ];
    let upper = t.to_ascii_uppercase();
    let mut rest = upper.as_str();
    let mut bits = 0u8;
    // Each step consumes a name, so this ends within len/3 steps.
    while !rest.is_empty() {
        let (name, b) = NAMES
            .iter()
            // PUSH and RESET before PSH and RST would not matter: no name
            // is a prefix of another.
            .find(|(n, _)| rest.starts_with(n))
            .ok_or_else(bad)?;
        bits |= b;
        rest = &rest[name.len()..];
    }
    Ok(TcpFlags(bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_scan_options_leave_argv_before_clap() {
        let argv = |s: &str| -> Vec<OsString> { s.split(' ').map(OsString::from).collect() };
        let mut a = argv("prtip --sA --scanflags SYN -p 1 --sF --scanflags=FIN x -- --sX");
        let o = take_raw_scan_options(&mut a).expect("valid");
        assert_eq!(o.letters, ['A', 'F']);
        assert_eq!(o.scanflags.as_deref(), Some("FIN"));
        assert_eq!(a, argv("prtip -p 1 x -- --sX"));
        // Not a scan letter: left for clap (and its error).
        let mut a = argv("prtip --sQ --sAW x");
        assert!(take_raw_scan_options(&mut a)
            .expect("valid")
            .letters
            .is_empty());
        assert_eq!(a.len(), 4);
        let e = take_raw_scan_options(&mut argv("prtip x --scanflags")).expect_err("no value");
        assert!(e.0.contains("--scanflags needs a value"), "{e}");
    }

    #[test]
    fn scanflags_names_and_numbers() {
        let f = |v| parse_scanflags(v).map(|f| f.0);
        assert_eq!(f("URGACKPSHRSTSYNFIN"), Ok(0x3f));
        assert_eq!(f("synfin"), Ok(0x03));
        assert_eq!(f("FINSYN"), Ok(0x03));
        assert_eq!(f("ECECWR"), Ok(0xc0));
        assert_eq!(f("PUSHRESET"), Ok(0x0c));
        assert_eq!(f("ALL"), Ok(0xff));
        assert_eq!(f("NONE"), Ok(0));
        assert_eq!(f("41"), Ok(41));
        assert_eq!(f("0x29"), Ok(0x29));
        assert_eq!(f("255"), Ok(255));
        for bad in ["256", "-1", "SYNX", "", "0x", "0x100", "syn fin"] {
            let e = parse_scanflags(bad).expect_err(bad).0;
            assert!(
                e.starts_with("invalid --scanflags") && !e.contains('\n'),
                "{e}"
            );
        }
    }
}
