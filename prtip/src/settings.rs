//! Validation of the parsed command line into the settings a scan runs with.
//! Every problem becomes one line for the user and exit status 2.

use crate::cli::{Args, UsageError};
use crate::output::OutputSpec;
pub use crate::portdb::{load_payloads, load_port_db, PortChoice, PortDb, PortRequest, PortSource};
use crate::tcpscan::{any_tcp_flag, tcp_from};
pub use crate::tcpscan::{ScanKind, NEED_CAP_NET_RAW};
use prtip_core::config::{parse_time_spec, Timing, TimingTemplate};
use prtip_core::ports::Protocols;
use prtip_core::target::Family;
use prtip_scanner::engines::connect::SocketOptions;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Where `--mem-report` sends its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemReport {
    Table,
    Json(Option<PathBuf>),
}

/// Validated settings of one run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The TCP scan; `None` with `-sU` alone. With `-sn`, the engine that
    /// runs host discovery.
    pub tcp: Option<ScanKind>,
    /// `--scanflags` as given (already in `tcp`'s probe), for XML's `scanflags=`.
    pub scanflags: Option<u8>,
    /// `-sU` and its options; `None` without `-sU`.
    pub udp: Option<UdpSettings>,
    /// `--seed`: probe order of the SYN scan.
    pub seed: Option<u64>,
    /// `--shard i/n` as (i - 1, n).
    pub shard: Option<(u64, u64)>,
    /// A notice to print before scanning (e.g. which scan type was chosen).
    pub notice: Option<String>,
    /// `-6`: the family of every target.
    pub family: Family,
    pub ping_only: bool,
    pub no_ping: bool,
    /// Discovery's probes (`-PS`, `-PE`...); `None`: nmap's default set.
    pub ping: Option<prtip_scanner::engines::ping::PingProbes>,
    /// `-sL`: list the targets, send nothing (`ping_only` is set too).
    pub list_only: bool,
    /// `-g`, `--ttl`, `--badsum`.
    pub shape: prtip_scanner::engines::shape::ProbeShape,
    pub no_dns: bool,
    pub ports: PortRequest,
    /// nmap-services file to read, if one exists (ports and service names).
    pub services_file: Option<PathBuf>,
    /// nmap-payloads to read for `-sU`; prtip's own payloads if none.
    pub payloads_file: Option<PathBuf>,
    pub timing: Timing,
    pub socket: SocketOptions,
    pub outputs: OutputSpec,
    pub verbose: u8,
    pub debug: u8,
    pub open_only: bool,
    pub reason: bool,
    pub mem_report: Option<MemReport>,
    /// `--db`: the scan history file.
    pub db: Option<std::path::PathBuf>,
    /// `--event-log` and `--stats-every`.
    pub watch: crate::watch::WatchSettings,
    pub targets: Vec<String>,
    pub input_list: Option<PathBuf>,
    pub excludes: Vec<String>,
    pub exclude_file: Option<PathBuf>,
    /// `-sV` and its options; `None` without `-sV`.
    pub version: Option<VersionSettings>,
    /// `-O` and its options; `None` without `-O`.
    pub os: Option<OsSettings>,
    /// `-sC` / `--script`; `None` without scripts.
    pub scripts: Option<crate::scripts::ScriptSettings>,
    /// nmap-os-db to read for `-O` (required with `-O`).
    pub os_db_file: Option<PathBuf>,
    /// nmap-service-probes to read for `-sV`; the built-in database if none.
    pub probes_file: Option<PathBuf>,
}

/// `-sU` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpSettings {
    /// `--defeat-icmp-ratelimit`.
    pub defeat_icmp_ratelimit: bool,
}

/// `-sU` without raw sockets: what is missing and what to do.
pub const NEED_CAP_NET_RAW_UDP: &str = "-sU (UDP scan) needs the CAP_NET_RAW capability (raw sockets): run as root, or grant it with `setcap cap_net_raw+eip prtip`; a UDP scan has no unprivileged form";

fn udp_from(args: &Args, privileged: bool) -> Result<Option<UdpSettings>, UsageError> {
    if !args.udp_scan {
        if args.defeat_icmp_ratelimit {
            // nmap refuses it without -sU too.
            return Err(usage(
                "--defeat-icmp-ratelimit applies only to a UDP scan: add -sU or leave it out",
            ));
        }
        return Ok(None);
    }
    if !privileged {
        return Err(usage(NEED_CAP_NET_RAW_UDP));
    }
    Ok(Some(UdpSettings {
        defeat_icmp_ratelimit: args.defeat_icmp_ratelimit,
    }))
}

/// `-O` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsSettings {
    /// `--osscan-limit`.
    pub limit: bool,
    /// `--osscan-guess` / `--fuzzy`.
    pub guess: bool,
    /// `--max-os-tries` (nmap's default 5).
    pub max_tries: u32,
    /// `-T5`: nmap distrusts fingerprints taken that fast.
    pub insane_timing: bool,
}

/// `-O` without raw sockets: what is missing and what to do instead.
pub const NEED_CAP_NET_RAW_OS: &str = "-O (OS detection) needs the CAP_NET_RAW capability (raw sockets): run as root, or grant it with `setcap cap_net_raw+eip prtip`; without it, -sV still reports the OS some services reveal";

fn os_from(args: &Args, privileged: bool) -> Result<Option<OsSettings>, UsageError> {
    let max_tries = match &args.max_os_tries {
        None => prtip_core::config::DEFAULT_MAX_OS_TRIES,
        Some(v) => match v.trim().parse::<u32>() {
            Ok(n) if (1..=50).contains(&n) => n,
            _ => {
                return Err(usage(format!(
                    "invalid --max-os-tries \"{v}\": expected a number from 1 to 50"
                )))
            }
        },
    };
    if !args.os_detection {
        return Ok(None);
    }
    if args.ping_only {
        return Err(usage(
            "-O needs a port scan; it cannot be combined with -sn",
        ));
    }
    if !privileged {
        return Err(usage(NEED_CAP_NET_RAW_OS));
    }
    Ok(Some(OsSettings {
        limit: args.osscan_limit,
        guess: args.osscan_guess,
        max_tries,
        insane_timing: matches!(
            args.timing.as_deref().and_then(TimingTemplate::parse),
            Some(TimingTemplate::Insane)
        ),
    }))
}

/// `-sV` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionSettings {
    /// 0..=9.
    pub intensity: u8,
    /// `--allports`.
    pub all_ports: bool,
    /// `--version-trace`.
    pub trace: bool,
}

/// nmap's `--version-light` level.
const VERSION_LIGHT: u8 = 2;

fn version_from(args: &Args) -> Result<Option<VersionSettings>, UsageError> {
    let chosen = [
        args.version_intensity.is_some(),
        args.version_light,
        args.version_all,
    ]
    .iter()
    .filter(|&&b| b)
    .count();
    if chosen > 1 {
        return Err(usage(
            "choose one of --version-intensity, --version-light and --version-all",
        ));
    }
    let intensity = if let Some(v) = &args.version_intensity {
        match v.trim().parse::<u8>() {
            Ok(n) if n <= 9 => n,
            _ => {
                return Err(usage(format!(
                    "invalid --version-intensity \"{v}\": expected a number from 0 to 9"
                )))
            }
        }
    } else if args.version_light {
        VERSION_LIGHT
    } else if args.version_all {
        9
    } else {
        prtip_core::config::DEFAULT_VERSION_INTENSITY
    };
    if !args.version_scan {
        // nmap accepts these without -sV and ignores them; so do we.
        return Ok(None);
    }
    if args.ping_only {
        return Err(usage(
            "-sV needs a port scan; it cannot be combined with -sn",
        ));
    }
    Ok(Some(VersionSettings {
        intensity,
        all_ports: args.all_ports,
        trace: args.version_trace,
    }))
}

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError(msg.into())
}

/// Directories searched for nmap's data files, in nmap's order.
pub fn data_dirs(datadir: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = datadir {
        dirs.push(d.to_path_buf());
    }
    if let Some(d) = std::env::var_os("NMAPDIR") {
        dirs.push(PathBuf::from(d));
    }
    dirs.push(PathBuf::from("/usr/local/share/nmap"));
    dirs.push(PathBuf::from("/usr/share/nmap"));
    dirs
}

/// First existing `name` in the data directories.
pub fn find_data_file(datadir: Option<&Path>, name: &str) -> Option<PathBuf> {
    data_dirs(datadir)
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

pub use prtip_scanner::net::route::has_cap_net_raw;

/// Rates outside these bounds are typing mistakes: below, one probe would
/// wait longer than the longest time a flag accepts (a week); above, no
/// network card sends that many packets a second.
const RATE_RANGE: std::ops::RangeInclusive<f64> = 0.001..=1e9;

fn parse_rate(flag: &str, v: &str) -> Result<f64, UsageError> {
    match v.trim().parse::<f64>() {
        Ok(r) if RATE_RANGE.contains(&r) => Ok(r),
        _ => Err(usage(format!(
            "invalid {flag} \"{v}\": expected a number of probes per second from 0.001 to 1000000000"
        ))),
    }
}

pub(crate) fn parse_time(flag: &str, v: &str) -> Result<std::time::Duration, UsageError> {
    parse_time_spec(v).map_err(|e| usage(format!("{flag}: {e}")))
}

fn timing_from(args: &Args) -> Result<Timing, UsageError> {
    let template = match &args.timing {
        Some(t) => TimingTemplate::parse(t).ok_or_else(|| {
            usage(format!(
                "invalid timing template -T{t}: use 0-5 or paranoid, sneaky, polite, normal, aggressive, insane"
            ))
        })?,
        None => TimingTemplate::Normal,
    };
    let mut timing = template.timing();
    if let Some(v) = &args.max_retries {
        timing.max_retries = v.trim().parse::<u32>().map_err(|_| {
            usage(format!(
                "invalid --max-retries \"{v}\": expected a non-negative integer"
            ))
        })?;
    }
    if let Some(v) = &args.host_timeout {
        let d = parse_time("--host-timeout", v)?;
        // nmap treats 0 as "no host timeout".
        timing.host_timeout = (!d.is_zero()).then_some(d);
    }
    if let Some(v) = &args.scan_delay {
        timing.scan_delay = parse_time("--scan-delay", v)?;
    }
    if let Some(v) = &args.min_rate {
        timing.min_rate = Some(parse_rate("--min-rate", v)?);
    }
    if let Some(v) = &args.max_rate {
        timing.max_rate = Some(parse_rate("--max-rate", v)?);
    }
    if let (Some(min), Some(max)) = (timing.min_rate, timing.max_rate) {
        if min > max {
            return Err(usage(format!(
                "--min-rate ({min}) must not be greater than --max-rate ({max})"
            )));
        }
    }
    Ok(timing)
}

fn port_choice(args: &Args) -> Result<PortChoice, UsageError> {
    let chosen = [args.ports.is_some(), args.fast, args.top_ports.is_some()]
        .iter()
        .filter(|&&b| b)
        .count();
    if chosen > 1 {
        return Err(usage(
            "choose one of -p, -F and --top-ports (they all select the ports to scan)",
        ));
    }
    if args.ping_only {
        return Ok(PortChoice::NoPorts);
    }
    if let Some(spec) = &args.ports {
        return Ok(PortChoice::Spec(spec.clone()));
    }
    Ok(PortChoice::Top(match (&args.top_ports, args.fast) {
        (Some(v), _) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(usage(format!(
                    "invalid --top-ports \"{v}\": expected a positive integer"
                )))
            }
        },
        (None, true) => 100,
        (None, false) => 1000,
    }))
}

/// `--db TARGET`: a file path (SQLite). PostgreSQL URLs are for a later version.
fn db_from(v: Option<&std::ffi::OsStr>) -> Result<Option<std::path::PathBuf>, UsageError> {
    let Some(v) = v else {
        return Ok(None);
    };
    if v.is_empty() {
        return Err(UsageError(
            "invalid --db \"\": expected a database file name".to_string(),
        ));
    }
    if v.to_str().is_some_and(prtip_store::is_postgres_url) {
        return Err(UsageError(format!(
            "--db {}: PostgreSQL is not supported yet; give an SQLite file name",
            v.to_string_lossy()
        )));
    }
    Ok(Some(std::path::PathBuf::from(v)))
}

fn outputs_from(args: &Args) -> OutputSpec {
    OutputSpec {
        stdout: true,
        normal: args.out_normal.clone(),
        grepable: args.out_grepable.clone(),
        xml: args.out_xml.clone(),
        json: args.out_json.clone(),
        all: args.out_all.clone(),
    }
}

fn mem_report_from(v: Option<&str>) -> Result<Option<MemReport>, UsageError> {
    Ok(match v {
        None => None,
        Some("table") | Some("") => Some(MemReport::Table),
        Some("json") => Some(MemReport::Json(None)),
        Some(s) => match s.strip_prefix("json:") {
            Some(file) if !file.is_empty() => Some(MemReport::Json(Some(PathBuf::from(file)))),
            _ => {
                return Err(usage(format!(
                    "invalid --mem-report=\"{s}\": use --mem-report, --mem-report=json or --mem-report=json:FILE"
                )))
            }
        },
    })
}

/// nmap-os-db, which `-O` needs.
fn os_db_file(args: &Args, os: Option<OsSettings>) -> Result<Option<PathBuf>, UsageError> {
    match os {
        Some(_) => find_data_file(args.datadir.as_deref(), "nmap-os-db").map(Some).ok_or_else(|| {
            usage("-O needs nmap's OS fingerprint database (nmap-os-db): install nmap (`apt-get install nmap`) or point --datadir at a directory that has it")
        }),
        None => Ok(None),
    }
}

/// `--shard i/n`: this machine's slice `i` of `n`.
type Shard = (u64, u64);

/// `--seed` and `--shard`: the probe order, and this machine's slice of it.
fn order_from(args: &Args, udp: bool) -> Result<(Option<u64>, Option<Shard>), UsageError> {
    let seed = match &args.seed {
        Some(v) => Some(v.trim().parse::<u64>().map_err(|_| {
            usage(format!(
                "invalid --seed \"{v}\": expected a non-negative integer"
            ))
        })?),
        None => None,
    };
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    if shard.is_some_and(|(_, n)| n > 1) && udp {
        return Err(usage(
            "--shard is not supported with -sU yet: every machine would scan every UDP port",
        ));
    }
    if shard.is_some_and(|(_, n)| n > 1) && seed.is_none() {
        // Each machine would otherwise draw its own random order, and the
        // slices would overlap instead of splitting the work.
        return Err(usage(
            "--shard needs --seed: give every machine the same seed so the slices split one probe order",
        ));
    }
    Ok((seed, shard))
}

/// `-S` and `-e`.
fn socket_from(args: &Args) -> Result<SocketOptions, UsageError> {
    let source = match &args.source {
        Some(s) => Some(s.trim().parse::<IpAddr>().map_err(|_| {
            usage(format!(
                "invalid source address -S \"{s}\": expected an IP address"
            ))
        })?),
        None => None,
    };
    refuse_ipv6_conflicts(args, source)?;
    if let Some(iface) = &args.interface {
        if iface.is_empty() || iface.len() >= crate::sys::IFNAMSIZ || iface.contains('/') {
            return Err(usage(format!("invalid interface name -e \"{iface}\"")));
        }
    }
    Ok(SocketOptions {
        source,
        interface: args.interface.clone(),
    })
}

/// What `-6` cannot be combined with, and a source address of the other
/// family.
fn refuse_ipv6_conflicts(args: &Args, source: Option<IpAddr>) -> Result<(), UsageError> {
    if args.ipv6 && args.os_detection {
        return Err(usage(
            "-O with -6 is not supported yet: nmap's IPv6 OS detection uses a model built into nmap, not a database prtip can read; scan without -O",
        ));
    }
    match source {
        Some(IpAddr::V4(a)) if args.ipv6 => Err(usage(format!(
            "-S {a} is an IPv4 address, and -6 scans IPv6: give an IPv6 source address"
        ))),
        Some(IpAddr::V6(a)) if !args.ipv6 => Err(usage(format!(
            "-S {a} is an IPv6 address: add -6 to scan IPv6 targets"
        ))),
        _ => Ok(()),
    }
}

/// `-sn` is discovery only: no port selection, no port scan type.
fn refuse_ping_only_conflicts(args: &Args) -> Result<(), UsageError> {
    if args.ping_only && (args.ports.is_some() || args.fast || args.top_ports.is_some()) {
        return Err(usage(
            "-sn means no port scan; it cannot be combined with -p, -F or --top-ports",
        ));
    }
    if args.ping_only && (any_tcp_flag(args) || args.udp_scan) {
        return Err(usage(
            "-sn (no port scan) cannot be combined with a scan type (-sS, -sT, -sA, -sW, -sM, -sN, -sF, -sX, -sU)",
        ));
    }
    Ok(())
}

/// `--host-timeout` needs a scan that can give up on one host; the SYN
/// scan cannot yet (the connect and UDP scans can).
fn refuse_host_timeout(args: &Args, tcp: Option<ScanKind>, _udp: bool) -> Result<(), UsageError> {
    if args.host_timeout.is_none() {
        return Ok(());
    }
    if let Some(ScanKind::Raw(p)) = tcp {
        let flag = p.scan.option();
        return Err(usage(format!(
            "--host-timeout is not supported with {flag} yet (use -sT, or leave it out)"
        )));
    }
    Ok(())
}

fn parse_shard(v: &str) -> Result<(u64, u64), UsageError> {
    let bad = || {
        usage(format!(
            "invalid --shard \"{v}\": expected i/n with 1 <= i <= n"
        ))
    };
    let (i, n) = v.split_once('/').ok_or_else(bad)?;
    let (i, n) = (
        i.trim().parse::<u64>().map_err(|_| bad())?,
        n.trim().parse::<u64>().map_err(|_| bad())?,
    );
    if i == 0 || n == 0 || i > n {
        return Err(bad());
    }
    // Shards are numbered from 1 on the command line (masscan's convention).
    Ok((i - 1, n))
}

impl Settings {
    /// Check every option; the first problem found is returned. Whether raw
    /// sockets are allowed is read from this process's capabilities.
    pub fn from_args(args: &Args) -> Result<Settings, UsageError> {
        Self::from_args_with(args, has_cap_net_raw())
    }

    /// As [`Settings::from_args`], with the privilege given.
    pub fn from_args_with(args: &Args, privileged: bool) -> Result<Settings, UsageError> {
        crate::pings::refuse_list_conflicts(args)?;
        let (tcp, notice) = tcp_from(args, privileged)?;
        let udp = udp_from(args, privileged)?;
        let version = version_from(args)?;
        let os = os_from(args, privileged)?;
        let os_db_file = os_db_file(args, os)?;
        refuse_ping_only_conflicts(args)?;
        if args.targets.is_empty() && args.input_list.is_none() {
            return Err(usage(
                "no targets were specified (see prtip --help for the target syntax)",
            ));
        }
        refuse_host_timeout(args, tcp, udp.is_some())?;
        let (seed, shard) = order_from(args, udp.is_some())?;
        let socket = socket_from(args)?;
        let services_file = find_data_file(args.datadir.as_deref(), "nmap-services");
        let payloads_file =
            udp.and_then(|_| find_data_file(args.datadir.as_deref(), "nmap-payloads"));
        let ports = PortRequest {
            choice: port_choice(args)?,
            exclude: args.exclude_ports.clone(),
            protocols: Protocols {
                tcp: tcp.is_some(),
                udp: udp.is_some(),
            },
        };
        Ok(Settings {
            scripts: crate::scripts::settings(args)?,
            tcp,
            scanflags: args
                .scanflags
                .as_deref()
                .map(crate::tcpscan::parse_scanflags)
                .transpose()?
                .map(|f| f.0),
            udp,
            seed,
            shard,
            notice,
            family: if args.ipv6 { Family::V6 } else { Family::V4 },
            ping_only: args.ping_only,
            no_ping: args.no_ping,
            ping: crate::pings::ping_probes(args, privileged)?,
            list_only: args.pings.list,
            shape: crate::audit::probe_shape(args, privileged)?,
            no_dns: args.no_dns,
            ports,
            services_file,
            payloads_file,
            timing: timing_from(args)?,
            socket,
            outputs: outputs_from(args),
            verbose: args.verbose,
            debug: args.debug,
            open_only: args.open_only,
            reason: args.reason,
            mem_report: mem_report_from(args.mem_report.as_deref())?,
            db: db_from(args.db.as_deref())?,
            watch: crate::watch::WatchSettings::from_args(args)?,
            targets: args.targets.clone(),
            input_list: args.input_list.clone(),
            excludes: args.exclude.clone(),
            exclude_file: args.exclude_file.clone(),
            version,
            os_db_file,
            os,
            probes_file: find_data_file(args.datadir.as_deref(), "nmap-service-probes"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse;
    use std::ffi::OsString;

    fn settings_as(s: &str, privileged: bool) -> Result<Settings, String> {
        let argv: Vec<OsString> = std::iter::once("prtip")
            .chain(s.split_whitespace())
            .map(OsString::from)
            .collect();
        let args = parse(argv).map_err(|e| e.0)?;
        Settings::from_args_with(&args, privileged).map_err(|e| e.0)
    }

    fn settings(s: &str) -> Result<Settings, String> {
        settings_as(s, false)
    }

    fn ports(s: &Settings) -> prtip_core::ports::PortList {
        load_port_db(&s.ports, s.services_file.as_deref())
            .expect("ports")
            .tcp
    }

    fn err(s: &str) -> String {
        match settings(s)
            .and_then(|s| load_port_db(&s.ports, s.services_file.as_deref()).map_err(|e| e.0))
        {
            Ok(_) => panic!("{s} was accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn explicit_ports_and_timing() {
        let s = settings("-sT -p 22,80,1000-1002 -T4 --max-retries 1 --host-timeout 30s 127.0.0.1")
            .expect("valid");
        assert_eq!(ports(&s).len(), 5);
        assert_eq!(s.timing.max_retries, 1);
        assert_eq!(
            s.timing.host_timeout,
            Some(std::time::Duration::from_secs(30))
        );
        assert!(s.notice.is_none());
    }

    #[test]
    fn default_is_a_thousand_ports() {
        let s = settings("-sT 127.0.0.1").expect("valid");
        assert_eq!(ports(&s).len(), 1000);
        let s = settings("-sT -F 127.0.0.1").expect("valid");
        assert_eq!(ports(&s).len(), 100);
        let s = settings("-sT --top-ports 7 127.0.0.1").expect("valid");
        assert_eq!(ports(&s).len(), 7);
    }

    #[test]
    fn ipv6_is_one_family_and_says_what_it_cannot_do_yet() {
        let s = settings_as("-6 -p 80 x", true).expect("valid");
        assert_eq!(s.family, Family::V6);
        assert_eq!(s.tcp, Some(ScanKind::SYN));
        assert!(s.notice.is_none());
        let s = settings_as("-6 -p 80 x", false).expect("valid");
        assert_eq!(s.tcp, Some(ScanKind::Connect));
        assert_eq!(
            settings_as("-p 80 x", true).expect("valid").family,
            Family::V4
        );
        assert!(settings_as("-6 -sU x", true).is_ok());
        for (cmd, says) in [
            ("-6 -O x", "-O with -6 is not supported yet"),
            ("-6 -S 10.0.0.1 x", "is an IPv4 address"),
            ("-S ::1 x", "is an IPv6 address"),
        ] {
            let e = settings_as(cmd, true).expect_err(cmd);
            assert!(e.contains(says), "{cmd}: {e}");
        }
        assert!(settings_as("-6 -S ::1 x", true).is_ok());
    }

    #[test]
    fn scan_type_follows_privilege_like_nmap() {
        let s = settings_as("-p 80 x", true).expect("valid");
        assert_eq!(s.tcp, Some(ScanKind::SYN));
        assert!(s.notice.is_none());
        let s = settings_as("-p 80 x", false).expect("valid");
        assert_eq!(s.tcp, Some(ScanKind::Connect));
        assert!(s.notice.expect("notice").contains("CAP_NET_RAW"));
        assert_eq!(
            settings_as("-sT -p 80 x", true).expect("valid").tcp,
            Some(ScanKind::Connect)
        );
        let e = settings_as("-sS -p 80 x", false).expect_err("needs privilege");
        assert!(
            e.contains("CAP_NET_RAW") && e.contains("setcap") && e.contains("-sT"),
            "{e}"
        );
        assert!(settings_as("-sS -sT x", true).is_err());
        let e = settings_as("-O -p 80 x", false).expect_err("needs privilege");
        assert!(e.contains("CAP_NET_RAW") && e.contains("-O"), "{e}");
        assert_eq!(
            settings_as("-sn x", true).expect("valid").tcp,
            Some(ScanKind::SYN)
        );
        assert_eq!(
            settings_as("-sn x", false).expect("valid").tcp,
            Some(ScanKind::Connect)
        );
    }

    #[test]
    fn raw_tcp_scan_types_one_per_run_like_nmap() {
        use prtip_core::wire::TcpFlags;
        use prtip_scanner::engines::syn::{TcpProbe, TcpScanType};
        let kind = |cmd: &str| settings_as(cmd, true).expect(cmd).tcp;
        for (flag, t) in [
            ("-sA", TcpScanType::Ack),
            ("-sW", TcpScanType::Window),
            ("-sM", TcpScanType::Maimon),
            ("-sN", TcpScanType::Null),
            ("-sF", TcpScanType::Fin),
            ("-sX", TcpScanType::Xmas),
        ] {
            let want = Some(ScanKind::Raw(TcpProbe::of(t)));
            assert_eq!(kind(&format!("{flag} x")), want, "{flag}");
            // With -sU, both scans run.
            let s = settings_as(&format!("{flag} -sU x"), true).expect(flag);
            assert_eq!((s.tcp, s.udp.is_some()), (want, true), "{flag} -sU");
            let e = settings_as(&format!("{flag} x"), false).expect_err(flag);
            assert!(
                e.starts_with(&format!("{flag} needs the CAP_NET_RAW")),
                "{e}"
            );
            let e = settings_as(&format!("-sS {flag} x"), true).expect_err(flag);
            assert!(
                e.contains("choose one TCP scan type") && e.contains(flag),
                "{e}"
            );
        }
        assert!(settings_as("-sT -sF x", true).is_err());
        assert!(settings_as("-sFX x", true).is_err());
        // --scanflags changes the bits, the type reads the answers.
        let custom = |scan, bits| {
            Some(ScanKind::Raw(TcpProbe {
                scan,
                flags: TcpFlags(bits),
            }))
        };
        assert_eq!(kind("--scanflags SYNFIN x"), custom(TcpScanType::Syn, 0x03));
        assert_eq!(kind("-sF --scanflags 41 x"), custom(TcpScanType::Fin, 41));
        assert_eq!(
            kind("-sA --scanflags ACKPSH x"),
            custom(TcpScanType::Ack, 0x18)
        );
        for (cmd, says) in [
            ("-sT --scanflags SYN x", "cannot be combined with -sT"),
            ("-sU --scanflags SYN x", "-sU alone scans no TCP port"),
            ("-sn --scanflags SYN x", "cannot be combined with -sn"),
            ("--scanflags BOGUS x", "invalid --scanflags \"BOGUS\""),
            ("-sn -sA x", "-sn (no port scan) cannot be combined"),
            ("-sA --host-timeout 5s x", "not supported with -sA"),
        ] {
            let e = settings_as(cmd, true).expect_err(cmd);
            assert!(e.contains(says), "{cmd}: {e}");
        }
        let e = settings_as("--scanflags SYN x", false).expect_err("unprivileged");
        assert!(e.contains("--scanflags needs the CAP_NET_RAW"), "{e}");
    }

    #[test]
    fn host_timeout_is_refused_for_syn_scans() {
        let e = settings_as("-sS --host-timeout 5s x", true).expect_err("refused");
        assert!(
            e.contains("--host-timeout") && e.contains("not supported"),
            "{e}"
        );
        assert!(settings_as("-sT --host-timeout 5s x", true).is_ok());
    }

    #[test]
    fn udp_scan_types_like_nmap() {
        let scans = |cmd: &str| {
            let s = settings_as(cmd, true).expect(cmd);
            (s.tcp, s.udp.is_some(), s.ports.protocols)
        };
        let (syn, connect) = (Some(ScanKind::SYN), Some(ScanKind::Connect));
        // -sU alone runs no TCP scan, as nmap.
        assert_eq!(scans("-sU x"), (None, true, Protocols::UDP));
        assert_eq!(scans("-sU -sV x"), (None, true, Protocols::UDP));
        assert_eq!(scans("-sUV x"), (None, true, Protocols::UDP));
        assert_eq!(scans("-sS -sU x"), (syn, true, Protocols::BOTH));
        assert_eq!(scans("-sSU x"), (syn, true, Protocols::BOTH));
        assert_eq!(scans("-sSUV x"), (syn, true, Protocols::BOTH));
        assert_eq!(scans("-sT -sU x"), (connect, true, Protocols::BOTH));
        assert_eq!(scans("-sTU x"), (connect, true, Protocols::BOTH));
        // -sV alone keeps nmap's default TCP scan.
        assert_eq!(scans("-sV x"), (syn, false, Protocols::TCP));
        let s = settings_as("-sU --defeat-icmp-ratelimit x", true).expect("valid");
        assert_eq!(
            s.udp,
            Some(UdpSettings {
                defeat_icmp_ratelimit: true
            })
        );
        assert!(s.notice.is_none());
    }

    #[test]
    fn udp_scan_without_cap_net_raw_is_one_line_naming_it() {
        for cmd in ["-sU x", "-sTU x", "-sT -sU -p 53 x", "-sUV x"] {
            let e = settings_as(cmd, false).expect_err(cmd);
            assert_eq!(e, NEED_CAP_NET_RAW_UDP, "{cmd}");
        }
        assert!(NEED_CAP_NET_RAW_UDP.contains("setcap cap_net_raw+eip prtip"));
        assert!(NEED_CAP_NET_RAW_UDP.contains("root"));
        assert!(!NEED_CAP_NET_RAW_UDP.contains('\n'));
        // -sS is refused first, with its own way out (-sT).
        assert_eq!(
            settings_as("-sSU x", false).expect_err("-sSU"),
            NEED_CAP_NET_RAW
        );
    }

    #[test]
    fn udp_refusals() {
        for (cmd, needle) in [
            (
                "-sS -sU --host-timeout 5s x",
                "--host-timeout is not supported with -sS",
            ),
            ("-sT --defeat-icmp-ratelimit x", "--defeat-icmp-ratelimit"),
            ("--defeat-icmp-ratelimit x", "-sU"),
            ("-sU --seed 1 --shard 1/2 x", "--shard"),
            ("-sU -sn x", "-sn"),
            ("-snU x", "-sn"),
        ] {
            let e = settings_as(cmd, true).expect_err(cmd);
            assert!(e.contains(needle), "{cmd}: {e}");
            assert!(!e.contains('\n'), "{cmd}: {e}");
        }
        assert!(settings_as("-sU --host-timeout 0 x", true).is_ok());
        assert!(settings_as("-sU --host-timeout 5s x", true).is_ok());
        assert!(settings_as("-sT -sU --host-timeout 5s x", true).is_ok());
        assert!(settings_as("-sU --seed 1 --shard 1/1 x", true).is_ok());
    }

    #[test]
    fn payloads_file_is_looked_up_for_udp_only() {
        let s = settings_as("-sT x", true).expect("valid");
        assert_eq!(s.payloads_file, None);
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("nmap-payloads"), "# none\n").expect("write");
        let cmd = format!("-sU --datadir {} x", dir.path().display());
        let s = settings_as(&cmd, true).expect("valid");
        assert_eq!(s.payloads_file, Some(dir.path().join("nmap-payloads")));
    }

    #[test]
    fn seed_and_shard() {
        let s = settings_as("--seed 42 --shard 2/3 x", true).expect("valid");
        assert_eq!(s.seed, Some(42));
        assert_eq!(s.shard, Some((1, 3)));
        for bad in [
            "--shard 0/3 x",
            "--shard 4/3 x",
            "--shard 1 x",
            "--seed -1 x",
            "--seed x x",
        ] {
            assert!(settings_as(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn no_scan_type_gives_a_notice() {
        let s = settings("-p 80 127.0.0.1").expect("valid");
        assert!(s.notice.is_some());
    }

    #[test]
    fn bad_values_are_one_line_errors() {
        let cases = [
            ("-p 70000 x", "70000"),
            ("-p 90-80 x", "90-80"),
            ("-sU x", "CAP_NET_RAW"),
            ("-sT -sU x", "CAP_NET_RAW"),
            ("--defeat-icmp-ratelimit x", "-sU"),
            ("-sT --exclude-ports 70000 x", "--exclude-ports"),
            ("-sT --exclude-ports nosuchservice x", "nosuchservice"),
            ("-sT -p U:nosuchservice x", "no udp service"),
            ("-sn -sU x", "-sU"),
            ("-T9 x", "-T9"),
            ("--max-retries -1 x", "--max-retries"),
            ("--host-timeout 5q x", "5q"),
            ("--min-rate 0 x", "--min-rate"),
            ("--min-rate 10 --max-rate 5 x", "--max-rate"),
            ("-S 1.2.3 x", "1.2.3"),
            ("-p 80 -F x", "-F"),
            ("-sn -p 80 x", "-sn"),
            ("-sS x", "CAP_NET_RAW"),
            ("-sV --version-intensity 10 x", "a number from 0 to 9"),
            ("-sV --version-intensity -1 x", "a number from 0 to 9"),
            ("-sV --version-light --version-all x", "choose one of"),
            ("-sV -sn x", "-sV needs a port scan"),
            ("-O --max-os-tries x x", "a number from 1 to 50"),
            ("-O x", "CAP_NET_RAW"),
            ("--mem-report=xml x", "xml"),
            ("-p 80", "no targets"),
            ("--top-ports 0 x", "--top-ports"),
        ];
        for (cmd, needle) in cases {
            let e = err(cmd);
            assert!(e.contains(needle), "{cmd}: {e}");
            assert!(!e.contains('\n'), "{cmd}: {e}");
        }
    }

    #[test]
    fn mem_report_forms() {
        assert_eq!(mem_report_from(None), Ok(None));
        assert_eq!(mem_report_from(Some("table")), Ok(Some(MemReport::Table)));
        assert_eq!(
            mem_report_from(Some("json")),
            Ok(Some(MemReport::Json(None)))
        );
        assert_eq!(
            mem_report_from(Some("json:/tmp/x")),
            Ok(Some(MemReport::Json(Some(PathBuf::from("/tmp/x")))))
        );
        assert!(mem_report_from(Some("json:")).is_err());
    }
}
