//! Firewall-audit options on the raw engines: `-g` / `--source-port`,
//! `--ttl` and `--badsum`. Like the raw scan types (`crate::tcpscan`), they
//! are taken out of argv before clap parses the rest, then checked here
//! into the scanner's [`ProbeShape`].

use crate::cli::{Args, UsageError};
use prtip_scanner::engines::shape::ProbeShape;
use std::ffi::OsString;

/// The audit options of a command line, as given (the last of each wins).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AuditArgs {
    /// `-g` / `--source-port`, as written.
    pub source_port: Option<String>,
    /// `--ttl`, as written.
    pub ttl: Option<String>,
    pub badsum: bool,
}

/// Removes the audit options from `argv` (up to a `--`): `-g N`, `-gN`,
/// `--source-port N`, `--source-port=N`, `--ttl N`, `--ttl=N`, `--badsum`.
pub fn take_audit_options(argv: &mut Vec<OsString>) -> Result<AuditArgs, UsageError> {
    let mut out = AuditArgs::default();
    crate::argv::take_options(argv, |s, rest| {
        match s {
            "--badsum" => out.badsum = true,
            "-g" | "--source-port" => out.source_port = Some(crate::argv::value_of(s, rest, "")?),
            "--ttl" => out.ttl = Some(crate::argv::value_of(s, rest, "")?),
            _ => {
                if let Some(v) = s.strip_prefix("--source-port=") {
                    out.source_port = Some(v.to_string());
                } else if let Some(v) = s.strip_prefix("--ttl=") {
                    out.ttl = Some(v.to_string());
                } else if let Some(v) = s.strip_prefix("-g").filter(|v| !v.is_empty()) {
                    out.source_port = Some(v.to_string());
                } else {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    })?;
    Ok(out)
}

/// The shape of every raw probe. The options shape raw packets: with `-sT`
/// (the kernel's connections) or without raw sockets they are refused.
pub fn probe_shape(args: &Args, privileged: bool) -> Result<ProbeShape, UsageError> {
    let a = &args.audit;
    let shape = ProbeShape {
        source_port: a.source_port.as_deref().map(parse_port).transpose()?,
        ttl: a.ttl.as_deref().map(parse_ttl).transpose()?,
        badsum: a.badsum,
    };
    if shape == ProbeShape::default() {
        return Ok(shape);
    }
    let flag = match (&a.source_port, &a.ttl) {
        (Some(_), _) => "-g",
        (None, Some(_)) => "--ttl",
        _ => "--badsum",
    };
    if args.connect_scan {
        return Err(UsageError(format!(
            "{flag} shapes raw probes; it cannot be combined with -sT (the kernel's connections): use -sS or another raw scan type"
        )));
    }
    if !privileged && !args.pings.list {
        return Err(UsageError(format!(
            "{flag} needs the CAP_NET_RAW capability (raw sockets): run as root, or grant it with `setcap cap_net_raw+eip prtip`"
        )));
    }
    Ok(shape)
}

fn shown(v: &str) -> String {
    v.chars().take(40).collect()
}

fn parse_port(v: &str) -> Result<u16, UsageError> {
    match v.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(UsageError(format!(
            "invalid source port -g \"{}\": expected a port from 1 to 65535",
            shown(v)
        ))),
    }
}

fn parse_ttl(v: &str) -> Result<u8, UsageError> {
    v.trim().parse::<u8>().map_err(|_| {
        UsageError(format!(
            "invalid --ttl \"{}\": expected a number from 0 to 255, as nmap",
            shown(v)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse;

    fn args(s: &str) -> Result<Args, String> {
        let argv = std::iter::once("prtip")
            .chain(s.split_whitespace())
            .map(OsString::from);
        parse(argv).map_err(|e| e.0)
    }

    fn shape(s: &str) -> Result<ProbeShape, String> {
        probe_shape(&args(s)?, true).map_err(|e| e.0)
    }

    #[test]
    fn every_spelling_is_read_and_left_out_of_clap() {
        let want = ProbeShape {
            source_port: Some(53),
            ttl: Some(17),
            badsum: true,
        };
        for cmd in [
            "-g 53 --ttl 17 --badsum x",
            "-g53 --ttl=17 --badsum x",
            "--source-port 53 --ttl 17 --badsum x",
            "--source-port=53 --ttl 0 --ttl 17 --badsum x",
        ] {
            assert_eq!(shape(cmd), Ok(want), "{cmd}");
            assert_eq!(args(cmd).expect(cmd).targets, ["x"], "{cmd}");
        }
        assert_eq!(shape("x"), Ok(ProbeShape::default()));
        assert_eq!(args("x -- -g 5").expect("ok").targets, ["x", "-g", "5"]);
    }

    #[test]
    fn bad_values_are_one_line() {
        for (cmd, want) in [
            ("-g 0 x", "invalid source port"),
            ("-g 65536 x", "invalid source port"),
            ("-g http x", "invalid source port"),
            ("--ttl 256 x", "invalid --ttl"),
            ("--ttl -1 x", "invalid --ttl"),
            ("-sT -g 53 x", "cannot be combined with -sT"),
            ("x --ttl", "--ttl needs a value"),
        ] {
            let e = shape(cmd).expect_err(cmd);
            assert!(e.contains(want) && !e.contains('\n'), "{cmd}: {e}");
        }
        let e = probe_shape(&args("--badsum x").expect("ok"), false).expect_err("no raw");
        assert!(e.0.starts_with("--badsum needs the CAP_NET_RAW"), "{e}");
    }
}
