//! Host discovery options: nmap's ping types (`-PS`, `-PA`, `-PU` with
//! their port lists, `-PE`, `-PP`, `-PM`, `-PO` with its protocol list),
//! `-sL`, `--disable-arp-ping` and
//! `--send-ip`. Like the raw scan types (`crate::tcpscan`), they are taken
//! out of argv before clap parses the rest, and checked here into the
//! scanner's [`PingProbes`].

use crate::cli::{Args, UsageError};
use prtip_core::ports::PortSpec;
use prtip_scanner::engines::ping::{
    PingProbes, DEFAULT_PROTO_PINGS, DEFAULT_TCP_PING_PORT, DEFAULT_UDP_PING_PORT,
};
use std::ffi::OsString;

/// The discovery options of a command line, as given.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PingArgs {
    /// Each ping type given, as written (`-PS22,80`, `-PE`...), in order.
    pub types: Vec<String>,
    /// `--disable-arp-ping`: accepted; prtip has no ARP ping yet.
    pub disable_arp_ping: bool,
    /// `--send-ip`: accepted; prtip always sends at the IP layer.
    pub send_ip: bool,
    /// `-sL`: list the targets (with reverse DNS) and send them nothing.
    pub list: bool,
}

/// The ping types this module reads (`-PR` and `-PY` are refused by name
/// in `cli`).
const TYPES: [&str; 7] = ["-PS", "-PA", "-PU", "-PE", "-PP", "-PM", "-PO"];

/// Removes the discovery options from `argv` (up to a `--`).
pub fn take_ping_options(argv: &mut Vec<OsString>) -> PingArgs {
    let mut out = PingArgs::default();
    // Nothing here takes a value, so nothing can fail.
    let _ = crate::argv::take_options(argv, |s, _| {
        match s {
            "--disable-arp-ping" => out.disable_arp_ping = true,
            "--send-ip" => out.send_ip = true,
            // As `cli::normalize` leaves `-sL`.
            "--sL" => out.list = true,
            _ if TYPES.iter().any(|t| s.starts_with(t)) => out.types.push(s.to_string()),
            _ => return Ok(false),
        }
        Ok(true)
    });
    out
}

/// The probes of host discovery: `None` for nmap's default set (no `-P`
/// type given, or `-Pn`, which skips discovery and makes them moot, as in
/// nmap); otherwise exactly the types given.
pub fn ping_probes(args: &Args, privileged: bool) -> Result<Option<PingProbes>, UsageError> {
    let given = &args.pings.types;
    // -sL sends nothing: the ping types are moot, as in nmap.
    if given.is_empty() || args.no_ping || args.pings.list {
        return Ok(None);
    }
    let first = &given[0][..3];
    if !privileged {
        return Err(UsageError(format!(
            "{first} needs the CAP_NET_RAW capability (raw sockets): run as root, or grant it with `setcap cap_net_raw+eip prtip`, or leave the ping types out"
        )));
    }
    if args.connect_scan {
        return Err(UsageError(format!(
            "{first} is raw host discovery, which -sT does not run yet: use -sS (or another raw scan type) or -sn"
        )));
    }
    let mut p = PingProbes::none();
    for arg in given {
        let (kind, list) = arg.split_at(3);
        match kind {
            "-PE" | "-PP" | "-PM" if !list.is_empty() => {
                return Err(UsageError(format!("{kind} takes no value (got \"{arg}\")")))
            }
            "-PE" => p.echo = true,
            "-PO" if args.ipv6 => {
                return Err(UsageError(
                    "-PO (IP protocol ping) with -6 is not supported yet".to_string(),
                ));
            }
            "-PO" => p.proto.extend(protocols(list)?),
            "-PP" | "-PM" if args.ipv6 => {
                // nmap quits the same way.
                return Err(UsageError(
                    "ICMP timestamp (-PP) and address mask (-PM) pings are only valid for IPv4"
                        .to_string(),
                ));
            }
            "-PP" => p.timestamp = true,
            "-PM" => p.netmask = true,
            "-PS" => p.syn.extend(ports(kind, list, DEFAULT_TCP_PING_PORT)?),
            "-PA" => p.ack.extend(ports(kind, list, DEFAULT_TCP_PING_PORT)?),
            _ => p.udp.extend(ports(kind, list, DEFAULT_UDP_PING_PORT)?),
        }
    }
    for list in [&mut p.syn, &mut p.ack, &mut p.udp] {
        list.sort_unstable();
        list.dedup();
    }
    p.proto.sort_unstable();
    p.proto.dedup();
    Ok(Some(p))
}

/// `-sL` lists targets: with a port scan or a stage there would be nothing
/// to list. nmap quits on the same combinations (and ignores `-sV`).
pub fn refuse_list_conflicts(args: &Args) -> Result<(), UsageError> {
    if !args.pings.list {
        return Ok(());
    }
    let conflict = if crate::tcpscan::any_tcp_flag(args) || args.udp_scan {
        "a scan type (-sS, -sT, -sU...)"
    } else if args.ports.is_some() || args.fast || args.top_ports.is_some() {
        "-p, -F or --top-ports"
    } else if args.version_scan || args.os_detection {
        "-sV or -O"
    } else if args.scanflags.is_some() {
        "--scanflags"
    } else {
        return Ok(());
    };
    Err(UsageError(format!(
        "-sL (list scan) sends nothing to the targets; it cannot be combined with {conflict}"
    )))
}

/// The protocol list of `-PO` (nmap's 1,2,4 when none): numbers and
/// ranges from 0 to 255. TCP (6) and UDP (17) are refused: their pings are
/// `-PS`/`-PA` and `-PU` here.
fn protocols(list: &str) -> Result<Vec<u8>, UsageError> {
    if list.is_empty() {
        return Ok(DEFAULT_PROTO_PINGS.to_vec());
    }
    let shown: String = list.chars().take(40).collect();
    let bad = || {
        UsageError(format!(
            "invalid protocol list for -PO \"{shown}\": expected protocol numbers 0-255 and ranges like -PO1,2,4 or -PO50-60"
        ))
    };
    let mut out = Vec::new();
    for item in list.split(',') {
        let (a, b) = item.split_once('-').unwrap_or((item, item));
        let (a, b) = (
            a.parse::<u8>().map_err(|_| bad())?,
            b.parse::<u8>().map_err(|_| bad())?,
        );
        if a > b {
            return Err(bad());
        }
        out.extend(a..=b);
    }
    if out.iter().any(|&p| p == 6 || p == 17) {
        return Err(UsageError(
            "-PO with TCP (6) or UDP (17) is not supported yet: use -PS or -PA, and -PU"
                .to_string(),
        ));
    }
    Ok(out)
}

/// The port list of `-PS`, `-PA` or `-PU` (`default` when none): `-p`'s
/// syntax without protocol prefixes, as nmap's.
fn ports(kind: &str, list: &str, default: u16) -> Result<Vec<u16>, UsageError> {
    if list.is_empty() {
        return Ok(vec![default]);
    }
    let bad = |why: &str| {
        let shown: String = list.chars().take(40).collect();
        UsageError(format!(
            "invalid port list for {kind} \"{shown}\": {why} like {kind}22,80,1000-1010"
        ))
    };
    if list.contains(':') {
        return Err(bad(
            "protocol prefixes (T:, U:) are not allowed here; give ports",
        ));
    }
    let spec = PortSpec::parse(list, None).map_err(|_| bad("expected ports and ranges"))?;
    Ok(spec.tcp.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse;

    fn args(s: &str) -> Args {
        let argv = std::iter::once("prtip")
            .chain(s.split_whitespace())
            .map(OsString::from);
        parse(argv).expect(s)
    }

    fn probes(s: &str) -> Result<Option<PingProbes>, String> {
        ping_probes(&args(s), true).map_err(|e| e.0)
    }

    #[test]
    fn options_leave_argv_before_clap() {
        let a = args("-PS22,80 -PE --disable-arp-ping --send-ip -sn x -- -PA");
        assert_eq!(a.pings.types, ["-PS22,80", "-PE"]);
        assert!(a.pings.disable_arp_ping && a.pings.send_ip);
        assert_eq!(a.targets, ["x", "-PA"]);
    }

    #[test]
    fn types_replace_the_default_with_nmaps_default_ports() {
        assert_eq!(probes("-sn x"), Ok(None));
        let p = probes("-PS -PA -PU x").expect("valid").expect("set");
        assert_eq!((p.syn, p.ack, p.udp), (vec![80], vec![80], vec![40125]));
        assert!(!p.echo && !p.timestamp && !p.netmask);
        let p = probes("-PE -PP -PM -PS443,22-23,22 x")
            .expect("valid")
            .expect("set");
        assert!(p.echo && p.timestamp && p.netmask);
        assert_eq!(p.syn, [22, 23, 443]);
        assert!(p.ack.is_empty() && p.udp.is_empty());
        // -Pn skips discovery: the types are moot, as in nmap.
        assert_eq!(probes("-Pn -PS22 x"), Ok(None));
    }

    #[test]
    fn list_scan_is_alone_like_nmaps() {
        let a = args("-sL -PE -n x");
        assert!(a.pings.list && a.ping_only);
        assert_eq!(ping_probes(&a, false).map_err(|e| e.0), Ok(None));
        assert_eq!(refuse_list_conflicts(&a), Ok(()));
        for (cmd, want) in [
            ("-sL -sS x", "a scan type"),
            ("-sL -sU x", "a scan type"),
            ("-sL -p 22 x", "-p, -F"),
            ("-sL -sV x", "-sV or -O"),
        ] {
            let e = refuse_list_conflicts(&args(cmd)).expect_err(cmd).0;
            assert!(e.starts_with("-sL (list scan)"), "{cmd}: {e}");
            assert!(e.contains(want), "{cmd}: {e}");
        }
    }

    #[test]
    fn bad_ping_options_are_one_line() {
        for (cmd, want) in [
            ("-PST:22 x", "protocol prefixes"),
            ("-PS99999 x", "invalid port list for -PS"),
            ("-PUx-y x", "invalid port list for -PU"),
            ("-PEx x", "-PE takes no value"),
            ("-6 -PP x", "only valid for IPv4"),
            ("-6 -PM -PE x", "only valid for IPv4"),
            ("-sT -PE x", "-sT does not run yet"),
        ] {
            let e = probes(cmd).expect_err(cmd);
            assert!(e.contains(want) && !e.contains('\n'), "{cmd}: {e}");
        }
        let e = ping_probes(&args("-PA x"), false).expect_err("unprivileged");
        assert!(e.0.starts_with("-PA needs the CAP_NET_RAW"), "{e}");
        // -6 with a type that exists there is fine.
        let p = probes("-6 -PE -PU53 x").expect("valid").expect("set");
        assert!(p.echo && p.udp == [53]);
    }

    #[test]
    fn protocol_pings_take_nmaps_list_syntax() {
        let p = probes("-PO x").expect("valid").expect("set");
        assert_eq!(p.proto, [1, 2, 4]);
        let p = probes("-PO4,50-52,4 x").expect("valid").expect("set");
        assert_eq!(p.proto, [4, 50, 51, 52]);
        for (cmd, want) in [
            ("-PO256 x", "invalid protocol list"),
            ("-PO5-3 x", "invalid protocol list"),
            ("-POx x", "invalid protocol list"),
            ("-PO6 x", "TCP (6) or UDP (17)"),
            ("-6 -PO x", "with -6 is not supported yet"),
        ] {
            let e = probes(cmd).expect_err(cmd);
            assert!(e.contains(want) && !e.contains('\n'), "{cmd}: {e}");
        }
    }
}
