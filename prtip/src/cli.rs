//! Command-line parsing with nmap's spelling.
//!
//! nmap's multi-letter single-dash flags (`-sS`, `-Pn`, `-oX file`, `-iL file`)
//! do not fit a getopt-style parser, so the raw arguments are first rewritten
//! to long options (`--sS`, `--Pn`, `--oX`, `--iL`) that clap understands.
//! nmap flags that prtip does not implement yet are recognised here and
//! refused with "not supported yet" instead of being misread as targets.

use clap::{ArgAction, Parser};
use std::ffi::OsString;
use std::path::PathBuf;

/// Parsed command line, before validation.
#[derive(Debug, Parser, Default)]
#[command(
    name = "prtip",
    disable_help_flag = true,
    disable_version_flag = true,
    disable_help_subcommand = true,
    args_override_self = true
)]
pub struct Args {
    #[arg(long = "sS")]
    pub syn_scan: bool,
    #[arg(long = "sT")]
    pub connect_scan: bool,
    #[arg(long = "sU")]
    pub udp_scan: bool,
    // The other raw TCP scan types and `--scanflags` are taken out of argv
    // before clap sees it (`crate::tcpscan::take_raw_scan_options`): every
    // option clap knows costs heap while parsing, which is the SYN scan's
    // peak on a small scan.
    #[arg(skip)]
    pub ack_scan: bool,
    #[arg(skip)]
    pub window_scan: bool,
    #[arg(skip)]
    pub maimon_scan: bool,
    #[arg(skip)]
    pub null_scan: bool,
    #[arg(skip)]
    pub fin_scan: bool,
    #[arg(skip)]
    pub xmas_scan: bool,
    /// `--scanflags`: the control bits of the raw TCP scan's probes.
    #[arg(skip)]
    pub scanflags: Option<String>,
    /// `--defeat-icmp-ratelimit`: accepted with any scan, used by `-sU`.
    #[arg(long = "defeat-icmp-ratelimit")]
    pub defeat_icmp_ratelimit: bool,
    #[arg(long = "sV")]
    pub version_scan: bool,
    #[arg(long = "version-intensity", allow_hyphen_values = true)]
    pub version_intensity: Option<String>,
    #[arg(long = "version-light")]
    pub version_light: bool,
    #[arg(long = "version-all")]
    pub version_all: bool,
    #[arg(long = "version-trace")]
    pub version_trace: bool,
    #[arg(long = "allports")]
    pub all_ports: bool,
    #[arg(long = "sn")]
    pub ping_only: bool,
    #[arg(long = "Pn")]
    pub no_ping: bool,
    /// `-PS`, `-PE`... and `--disable-arp-ping`, `--send-ip`: taken out of
    /// argv before clap, like the raw scan types (`crate::pings`).
    #[arg(skip)]
    pub pings: crate::pings::PingArgs,
    /// `-g`, `--ttl`, `--badsum`: taken out of argv before clap (`crate::audit`).
    #[arg(skip)]
    pub audit: crate::audit::AuditArgs,
    #[arg(short = 'O')]
    pub os_detection: bool,
    #[arg(long = "osscan-limit")]
    pub osscan_limit: bool,
    #[arg(long = "osscan-guess", alias = "fuzzy")]
    pub osscan_guess: bool,
    #[arg(long = "max-os-tries", allow_hyphen_values = true)]
    pub max_os_tries: Option<String>,
    #[arg(short = 'n')]
    pub no_dns: bool,
    /// `-6`: scan IPv6 targets.
    #[arg(short = '6')]
    pub ipv6: bool,
    /// Kept as a list only to refuse a second `-p` like nmap does.
    #[arg(short = 'p', allow_hyphen_values = true, action = ArgAction::Append)]
    pub port_specs: Vec<String>,
    #[arg(skip)]
    pub ports: Option<String>,
    /// `--exclude-ports`, kept as a list only to refuse a second one like nmap does.
    #[arg(long = "exclude-ports", allow_hyphen_values = true, action = ArgAction::Append)]
    pub exclude_port_specs: Vec<String>,
    #[arg(skip)]
    pub exclude_ports: Option<String>,
    #[arg(short = 'F')]
    pub fast: bool,
    #[arg(long = "top-ports", allow_hyphen_values = true)]
    pub top_ports: Option<String>,
    // Values that start with '-' are taken as values (and refused by
    // name) where no valid value looks like an option: `-T -1` says what
    // is wrong with -T, not "unexpected argument '-1'".
    #[arg(short = 'T', allow_hyphen_values = true)]
    pub timing: Option<String>,
    #[arg(long = "min-rate", allow_hyphen_values = true)]
    pub min_rate: Option<String>,
    #[arg(long = "max-rate", allow_hyphen_values = true)]
    pub max_rate: Option<String>,
    #[arg(long = "max-retries", allow_hyphen_values = true)]
    pub max_retries: Option<String>,
    #[arg(long = "host-timeout", allow_hyphen_values = true)]
    pub host_timeout: Option<String>,
    #[arg(long = "scan-delay", allow_hyphen_values = true)]
    pub scan_delay: Option<String>,
    #[arg(long = "iL")]
    pub input_list: Option<PathBuf>,
    #[arg(long = "exclude", allow_hyphen_values = true, action = ArgAction::Append)]
    pub exclude: Vec<String>,
    #[arg(long = "excludefile")]
    pub exclude_file: Option<PathBuf>,
    #[arg(short = 'e')]
    pub interface: Option<String>,
    #[arg(short = 'S', allow_hyphen_values = true)]
    pub source: Option<String>,
    #[arg(long = "datadir")]
    pub datadir: Option<PathBuf>,
    /// `-sC`: the `default` scripts.
    #[arg(long = "sC")]
    pub script_default: bool,
    /// `--script`: script names, categories, globs, files, directories, expressions.
    #[arg(long = "script")]
    pub script: Option<String>,
    #[arg(long = "script-timeout")]
    pub script_timeout: Option<String>,
    /// `--script-args a=1,b={c,d}`: `nmap.registry.args`.
    #[arg(long = "script-args")]
    pub script_args: Option<String>,
    #[arg(long = "script-args-file")]
    pub script_args_file: Option<PathBuf>,
    #[arg(long = "oN")]
    pub out_normal: Option<PathBuf>,
    #[arg(long = "oG")]
    pub out_grepable: Option<PathBuf>,
    #[arg(long = "oX")]
    pub out_xml: Option<PathBuf>,
    #[arg(long = "oJ")]
    pub out_json: Option<PathBuf>,
    #[arg(long = "oA")]
    pub out_all: Option<PathBuf>,
    /// `--db FILE`: record the scan in an SQLite scan history.
    #[arg(long = "db")]
    pub db: Option<OsString>,
    #[arg(short = 'v', action = ArgAction::Count)]
    pub verbose: u8,
    #[arg(short = 'd', action = ArgAction::Count)]
    pub debug: u8,
    #[arg(long = "open")]
    pub open_only: bool,
    #[arg(long = "reason")]
    pub reason: bool,
    /// `--mem-report` or `--mem-report=json[:FILE]`; `=` is required so the
    /// optional value can never swallow a target.
    #[arg(
        long = "mem-report",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "table"
    )]
    pub mem_report: Option<String>,
    /// `--event-log FILE`: the scan's events as JSON lines.
    #[arg(long = "event-log")]
    pub event_log: Option<PathBuf>,
    /// `--packet-trace`: every packet of the raw scans, as nmap prints them.
    #[arg(long = "packet-trace")]
    pub packet_trace: bool,
    /// `--stats-every TIME`: nmap's status lines at this interval.
    #[arg(long = "stats-every", allow_hyphen_values = true)]
    pub stats_every: Option<String>,
    /// Seed of the SYN scan's probe order (masscan's `--seed`).
    #[arg(long = "seed", allow_hyphen_values = true)]
    pub seed: Option<String>,
    /// `--shard i/n`: scan only the i-th of n slices (masscan's `--shard`).
    #[arg(long = "shard", allow_hyphen_values = true)]
    pub shard: Option<String>,
    #[arg(short = 'h', long = "help")]
    pub help: bool,
    #[arg(short = 'V', long = "version")]
    pub version: bool,
    pub targets: Vec<String>,
}

/// nmap options prtip recognises but does not implement yet, with a short name for the message.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("-sI", "idle scan"),
    ("-sY", "SCTP INIT scan"),
    ("-sZ", "SCTP COOKIE-ECHO scan"),
    ("-sO", "IP protocol scan"),
    ("-sR", "RPC scan"),
    ("-PY", "SCTP ping"),
    ("-PR", "ARP ping"),
    ("-oS", "script kiddie output"),
    ("-oM", "machine output"),
    ("-iR", "random targets"),
    ("-A", "aggressive mode"),
    ("-r", "sequential port order"),
    ("-f", "fragmentation"),
    ("-D", "decoys"),
    ("-R", "reverse DNS for all hosts"),
    ("--traceroute", "traceroute"),
    ("--data-length", "padding"),
    ("--data", "custom payloads"),
    ("--data-string", "custom payloads"),
    ("--mtu", "fragmentation"),
    ("--spoof-mac", "MAC spoofing"),
    ("--resume", "resuming scans"),
    ("--append-output", "appending output"),
    ("--iflist", "interface listing"),
    ("--randomize-hosts", "host randomisation"),
    ("--min-hostgroup", "host group sizes"),
    ("--max-hostgroup", "host group sizes"),
    ("--min-parallelism", "parallelism limits"),
    ("--max-parallelism", "parallelism limits"),
    ("--min-rtt-timeout", "RTT timeouts"),
    ("--max-rtt-timeout", "RTT timeouts"),
    ("--initial-rtt-timeout", "RTT timeouts"),
    ("--max-scan-delay", "scan delay limits"),
    ("--defeat-rst-ratelimit", "RST rate-limit handling"),
    ("--system-dns", "system DNS"),
    ("--dns-servers", "custom DNS servers"),
    ("--privileged", "privilege overrides"),
    ("--unprivileged", "privilege overrides"),
    ("--send-eth", "raw ethernet sending"),
    ("--stylesheet", "XML stylesheets"),
    ("--webxml", "XML stylesheets"),
    ("--no-stylesheet", "XML stylesheets"),
    ("--top-ports-ratio", "port ratios"),
    ("--port-ratio", "port ratios"),
];

/// A command-line problem, reported as one line with exit status 2.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn unsupported(flag: &str) -> Option<UsageError> {
    let name = flag.split('=').next().unwrap_or(flag);
    UNSUPPORTED
        .iter()
        .find(|(f, _)| *f == name || (f.len() == 3 && f.starts_with("-P") && name.starts_with(f)))
        .map(|(f, what)| UsageError(format!("{f} ({what}) is not supported yet")))
}

/// Rewrite nmap's single-dash multi-letter options to the long options clap knows.
pub fn normalize(raw: impl IntoIterator<Item = OsString>) -> Result<Vec<OsString>, UsageError> {
    let mut out = Vec::new();
    let mut iter = raw.into_iter();
    if let Some(program) = iter.next() {
        out.push(program);
    }
    let mut after_separator = false;
    for arg in iter {
        let Some(s) = arg.to_str().map(str::to_owned) else {
            out.push(arg);
            continue;
        };
        if after_separator || !s.starts_with('-') || s == "-" {
            out.push(arg);
            continue;
        }
        if s == "--" {
            after_separator = true;
            out.push(arg);
            continue;
        }
        if let Some(err) = unsupported(&s) {
            return Err(err);
        }
        match s.as_str() {
            "-sS" | "-sT" | "-sU" | "-sA" | "-sW" | "-sM" | "-sN" | "-sF" | "-sX" | "-sV"
            | "-sC" | "-sL" | "-sn" | "-Pn" | "-oN" | "-oG" | "-oX" | "-oJ" | "-oA" | "-iL" => {
                out.push(format!("-{s}").into())
            }
            // Older nmap spellings of the same options.
            "-sP" => out.push("--sn".into()),
            "-PN" | "-P0" => out.push("--Pn".into()),
            _ if is_count_with_level(&s, 'v') || is_count_with_level(&s, 'd') => {
                let letter = &s[1..2];
                // Digits only, so a failed parse is an overflow: the most
                // there is, not the least.
                let level: usize = s[2..].parse().unwrap_or(usize::MAX);
                for _ in 0..level.min(MAX_LEVEL) {
                    out.push(format!("-{letter}").into());
                }
            }
            _ if s.starts_with("-s") && s.len() > 2 && !s.starts_with("--") => {
                out.extend(scan_letters(&s)?);
            }
            _ => out.push(arg),
        }
    }
    Ok(out)
}

/// nmap reads `-s` followed by several scan letters as each of them
/// (`-sSU` is `-sS -sU`, `-sSUV` adds `-sV`), in any order.
fn scan_letters(s: &str) -> Result<Vec<OsString>, UsageError> {
    s[2..]
        .chars()
        .map(|c| match c {
            'S' | 'T' | 'U' | 'A' | 'W' | 'M' | 'N' | 'F' | 'X' | 'V' | 'n' | 'C' => {
                Ok(format!("--s{c}").into())
            }
            _ => Err(unsupported(&format!("-s{c}"))
                .unwrap_or_else(|| UsageError(format!("unknown scan type {s}")))),
        })
        .collect()
}

/// Highest verbosity or debug level that `-v<n>` / `-d<n>` gives.
const MAX_LEVEL: usize = 10;

/// `-v3` / `-d2`: nmap's numeric verbosity and debug levels.
fn is_count_with_level(s: &str, letter: char) -> bool {
    let mut chars = s.chars();
    chars.next() == Some('-')
        && chars.next() == Some(letter)
        && s.len() > 2
        && s[2..].chars().all(|c| c.is_ascii_digit())
}

/// Parse a full command line (program name first).
pub fn parse(raw: impl IntoIterator<Item = OsString>) -> Result<Args, UsageError> {
    let mut argv = normalize(raw)?;
    let raw_scan = crate::tcpscan::take_raw_scan_options(&mut argv)?;
    let pings = crate::pings::take_ping_options(&mut argv);
    let audit = crate::audit::take_audit_options(&mut argv)?;
    let mut args = Args::try_parse_from(argv).map_err(|e| UsageError(one_line(&e)))?;
    raw_scan.apply(&mut args);
    // A list scan is no port scan (what -sn says too).
    args.ping_only |= pings.list;
    args.pings = pings;
    args.audit = audit;
    if args.port_specs.len() > 1 {
        return Err(UsageError(
            "only one -p option is allowed; separate ports with commas".to_string(),
        ));
    }
    if args.exclude_port_specs.len() > 1 {
        return Err(UsageError(
            "only one --exclude-ports option is allowed; separate ports with commas".to_string(),
        ));
    }
    args.ports = args.port_specs.pop();
    args.exclude_ports = args.exclude_port_specs.pop();
    Ok(args)
}

/// clap's error without its usage block, and with nmap's option spelling.
fn one_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let first = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid command line")
        .trim()
        .trim_start_matches("error: ")
        .to_string();
    // Show the user's spelling (`-oX`), not the internal long form (`--oX`).
    let mut msg = first;
    for flag in [
        "sS", "sT", "sU", "sV", "sn", "Pn", "oN", "oG", "oX", "oJ", "oA", "iL",
    ] {
        msg = msg.replace(&format!("'--{flag}"), &format!("'-{flag}"));
    }
    msg
}

/// `--help`, written like a man page section.
pub const HELP: &str = "\
NAME
    prtip - network port scanner with measured memory use

SYNOPSIS
    prtip [scan type] [options] <target specification...>

DESCRIPTION
    prtip finds open TCP and UDP ports the way nmap does and accepts nmap's
    options and output formats. With --mem-report it also prints how much heap each
    phase of the scan used.

TARGET SPECIFICATION
    Targets are host names, IPv4 addresses, CIDR blocks and octet ranges:
    scanme.example, 192.168.0.1, 10.0.0.0/24, 192.168.0-3.1-254.
    With -6: IPv6 addresses and blocks up to a /96: 2001:db8::1,
    2001:db8::/120, fe80::1%eth0.
    -iL <file>            Read targets from a file (- for standard input).
    --exclude <specs>     Skip these hosts (comma-separated specifications).
    --excludefile <file>  Skip the hosts listed in a file.
    -6                    Scan IPv6 targets (names resolve to IPv6 addresses).

HOST DISCOVERY
    -sL                   List the targets (with reverse DNS unless -n); send them nothing.
    -sn                   Discover hosts only; no port scan.
    -Pn                   Treat every host as up; skip discovery.
    -PS[ports], -PA[ports]  TCP SYN / ACK ping to these ports (default 80).
    -PU[ports]            UDP ping to these ports (default 40125).
    -PE, -PP, -PM         ICMP echo, timestamp, address mask ping (the last two IPv4 only).
    -PO[protocols]        IP protocol ping (default 1,2,4: ICMP, IGMP, IP in IP; IPv4 only).
                          Any of these replaces the default probes (echo, SYN to 443,
                          ACK to 80, timestamp); they need raw-socket privileges.
    --disable-arp-ping, --send-ip  Accepted (prtip always pings at the IP layer).
    -n                    Never do reverse DNS resolution.

SCAN TECHNIQUES
    -sT                   TCP connect scan (the default without raw-socket privileges).
    -sS                   TCP SYN scan (the default with raw-socket privileges).
    -sA, -sW, -sM         TCP ACK, window and Maimon scans (raw-socket privileges).
    -sN, -sF, -sX         TCP NULL, FIN and Xmas scans (raw-socket privileges).
                          One TCP scan type per run.
    --scanflags <flags>   Control bits of the raw TCP probes: names run together
                          (URGACKPSHRSTSYNFIN, ECE, CWR, ALL, NONE) or a number
                          0-255; answers are read as the scan type says (-sS
                          by default).
    -sU                   UDP scan, alone or with a TCP scan (-sSU, -sTU, -sFU); needs
                          raw-socket privileges. Payloads come from nmap-payloads
                          (a small built-in set without it).
    --defeat-icmp-ratelimit  With -sU: do not wait out ICMP rate limits; ports
                          that stay silent are reported closed|filtered.
    -sV                   Service and version detection with nmap-service-probes
                          (from --datadir or /usr/share/nmap; a small built-in
                          database when neither has it).
    -O                    OS detection with nmap-os-db (from --datadir or
                          /usr/share/nmap); needs raw-socket privileges.
    --osscan-limit        Only fingerprint hosts with an open and a closed TCP port.
    --osscan-guess, --fuzzy  Always print the closest guesses.
    --max-os-tries <n>    Rounds of OS probes at most (default 5).

PORT SPECIFICATION
    -p <ports>            Ports to scan: -p22; -p1-65535; -p 22,80,8000-8100; -p- for all;
                          T: and U: select TCP and UDP ports (-p U:53,161,T:22);
                          ports without a prefix go to every scan requested.
    --exclude-ports <ports>  Leave these ports out (same syntax as -p).
    -F                    Fast mode: the 100 most common ports of each protocol.
    --top-ports <n>       The n most common ports of each protocol (default: 1000).
    Frequencies come from nmap-services in --datadir or /usr/share/nmap;
    without that file prtip uses built-in lists of its own.

SERVICE/VERSION DETECTION
    --version-intensity <0-9>  Try probes up to this rarity (default 7); probes
                          that list the port are always tried.
    --version-light       Same as --version-intensity 2.
    --version-all         Same as --version-intensity 9.
    --allports            Also probe ports the database's Exclude line skips.
    --version-trace       Print every probe sent and how it was judged.

TIMING AND PERFORMANCE
    --seed <n>            Fix the SYN scan's random probe order (reproducible runs).
    --shard <i/n>         Scan only slice i of n (split one scan across n machines).
    -T<0-5>               Timing template: paranoid, sneaky, polite, normal,
                          aggressive, insane (default: normal).
    --min-rate <n>        Keep at least n probes per second in flight.
    --max-rate <n>        Send no more than n probes per second.
    --max-retries <n>     Retransmissions of an unanswered probe.
    --host-timeout <time> Give up on a host after this long (e.g. 30s, 5m).
    --scan-delay <time>   Wait at least this long between probes.
    Times are numbers with an optional unit: ms, s (default), m, h.

SOURCE
    -e <interface>        Send through this interface.
    -S <address>          Use this source address.

FIREWALL AUDIT (raw probes: port scan and discovery)
    -g, --source-port <port>  Send every probe from this port.
    --ttl <0-255>         Time to live (IPv6 hop limit) of every probe.
    --badsum              Send TCP and UDP probes with a wrong checksum.

OUTPUT
    -oN <file>            Normal output.
    -oG <file>            Grepable output.
    -oX <file>            XML output (nmap's DTD).
    -oJ <file>            JSON lines: one object per host.
    -oA <basename>        Normal, grepable, XML and JSON at once.
    --db <file>           Record the scan in a scan history (SQLite file); see DATABASE.
    -v, -d                More verbose output, debugging output (repeat to raise).
    --open                Show only ports that are (possibly) open.
    --reason              Show why each port has its state.
    --mem-report          After the scan, print heap use per phase on standard error.
    --mem-report=json[:<file>]
                          The same as JSON, on standard error or into a file.
    --event-log <file>    Write the scan's events (hosts, ports, rounds, results)
                          as JSON lines while it runs.
    --stats-every <time>  Print nmap's status lines (percent done, ETC) this often.
    --packet-trace        Print every probe and reply (at most 1000 lines a second).

DATABASE
    prtip db list --db <file>         Recorded scans, newest first, each with its id.
    prtip db show <id> --db <file>    A recorded scan, as the normal output.
    (To scan a host named db, write prtip -- db.)

MISCELLANEOUS
    --datadir <dir>       Look for nmap-services and other data files here first.
    -V, --version         Print the version.
    -h, --help            Print this help.

EXIT STATUS
    0 on success, 1 when the scan failed, 2 for a command-line error,
    130 when interrupted with Ctrl-C, 143 after SIGTERM, 129 after SIGHUP
    (output files are still complete; a second signal quits at once).
    141, silently, when standard output is a pipe whose reader has gone
    (prtip ... | head): the scan stops and the output files are completed.

EXAMPLES
    prtip -sT -p 1-1000 127.0.0.1
    prtip -p- --open -oA scan 127.0.0.1
    prtip -sSU -p U:53,161,T:22 127.0.0.1
";

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<OsString> {
        std::iter::once("prtip")
            .chain(s.split_whitespace())
            .map(OsString::from)
            .collect()
    }

    fn ok(s: &str) -> Args {
        match parse(argv(s)) {
            Ok(a) => a,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    fn err(s: &str) -> String {
        match parse(argv(s)) {
            Ok(a) => panic!("{s} parsed: {a:?}"),
            Err(e) => e.0,
        }
    }

    #[test]
    fn nmap_spellings() {
        let a = ok("-sT -sV -Pn -n -p 22,80 -T4 -oX out.xml -oN out.txt -iL list.txt 127.0.0.1");
        assert!(a.connect_scan && a.version_scan && a.no_ping && a.no_dns);
        assert_eq!(a.ports.as_deref(), Some("22,80"));
        assert_eq!(a.timing.as_deref(), Some("4"));
        assert_eq!(a.out_xml, Some(PathBuf::from("out.xml")));
        assert_eq!(a.input_list, Some(PathBuf::from("list.txt")));
        assert_eq!(a.targets, vec!["127.0.0.1"]);
    }

    #[test]
    fn attached_values() {
        let a = ok("-p22 -T5 -vv -d2 127.0.0.1");
        assert_eq!(a.ports.as_deref(), Some("22"));
        assert_eq!(a.timing.as_deref(), Some("5"));
        assert_eq!(a.verbose, 2);
        assert_eq!(a.debug, 2);
        let a = ok("-v3 x");
        assert_eq!(a.verbose, 3);
        assert_eq!(ok("-v0 x").verbose, 0);
        assert_eq!(ok("-d99999999999999999999 x").debug, 10);
    }

    #[test]
    fn all_ports_dash() {
        assert_eq!(ok("-p- 127.0.0.1").ports.as_deref(), Some("-"));
        assert_eq!(ok("-p - 127.0.0.1").ports.as_deref(), Some("-"));
        assert_eq!(ok("-p -1024 127.0.0.1").ports.as_deref(), Some("-1024"));
    }

    #[test]
    fn mem_report_never_swallows_a_target() {
        let a = ok("--mem-report 127.0.0.1");
        assert_eq!(a.mem_report.as_deref(), Some("table"));
        assert_eq!(a.targets, vec!["127.0.0.1"]);
        let a = ok("--mem-report=json:/tmp/m.json 127.0.0.1");
        assert_eq!(a.mem_report.as_deref(), Some("json:/tmp/m.json"));
    }

    #[test]
    fn old_aliases() {
        assert!(ok("-sP x").ping_only);
        assert!(ok("-PN x").no_ping);
        assert!(ok("-P0 x").no_ping);
    }

    #[test]
    fn udp_scan_alone_and_combined_like_nmap() {
        let a = ok("-sU x");
        assert!(a.udp_scan && !a.syn_scan && !a.connect_scan && !a.version_scan);
        for (flags, syn, connect, version) in [
            ("-sS -sU", true, false, false),
            ("-sSU", true, false, false),
            ("-sUS", true, false, false),
            ("-sTU", false, true, false),
            ("-sUV", false, false, true),
            ("-sVU", false, false, true),
            ("-sSUV", true, false, true),
            ("-sU -sV -sT", false, true, true),
            ("-sUU", false, false, false),
        ] {
            let a = ok(&format!("{flags} x"));
            assert!(a.udp_scan, "{flags}");
            assert_eq!(
                (a.syn_scan, a.connect_scan, a.version_scan),
                (syn, connect, version),
                "{flags}"
            );
            assert_eq!(a.targets, vec!["x"], "{flags}");
        }
        let a = ok("-sSV x");
        assert!(a.syn_scan && a.version_scan && !a.udp_scan);
        assert!(ok("-sUn x").ping_only);
        assert!(ok("--defeat-icmp-ratelimit -sU x").defeat_icmp_ratelimit);
        // nmap accepts it without -sU too.
        assert!(ok("--defeat-icmp-ratelimit -sT x").defeat_icmp_ratelimit);
    }

    #[test]
    fn combined_scan_letters_refuse_what_is_missing_by_name() {
        let a = ok("-sCV x");
        assert!(a.script_default && a.version_scan);
        assert_eq!(err("-sSI x"), "-sI (idle scan) is not supported yet");
        let a = ok("-sAU x");
        assert!(a.ack_scan && a.udp_scan && !a.syn_scan);
        assert_eq!(err("-sUQ x"), "unknown scan type -sUQ");
    }

    #[test]
    fn exclude_ports_like_p() {
        let a = ok("--exclude-ports 22,U:53 x");
        assert_eq!(a.exclude_ports.as_deref(), Some("22,U:53"));
        assert_eq!(
            ok("--exclude-ports=-100 x").exclude_ports.as_deref(),
            Some("-100")
        );
        assert_eq!(
            ok("--exclude-ports -100 x").exclude_ports.as_deref(),
            Some("-100")
        );
        assert!(err("--exclude-ports 22 --exclude-ports 23 x").contains("only one --exclude-ports"));
    }

    #[test]
    fn unsupported_flags_are_refused_by_name() {
        assert_eq!(err("-sO x"), "-sO (IP protocol scan) is not supported yet");
        assert_eq!(err("-PR x"), "-PR (ARP ping) is not supported yet");
        assert_eq!(err("-PY x"), "-PY (SCTP ping) is not supported yet");
        assert_eq!(
            ok("--script-args=a=1 x").script_args.as_deref(),
            Some("a=1")
        );
        assert_eq!(ok("--script=default x").script.as_deref(), Some("default"));
        assert_eq!(err("-A x"), "-A (aggressive mode) is not supported yet");
    }

    #[test]
    fn unknown_flags_are_one_line() {
        let e = err("--frobnicate x");
        assert!(!e.contains('\n'), "{e}");
        assert!(e.contains("--frobnicate"), "{e}");
        let e = err("-sQ x");
        assert_eq!(e, "unknown scan type -sQ");
        let e = err("-oX");
        assert!(e.contains("-oX"), "{e}");
        assert!(!e.contains("--oX"), "{e}");
    }

    #[test]
    fn repeated_flags_are_accepted_but_not_repeated_ports() {
        let a = ok("-n -n -Pn -Pn -sT -sT --open --open -v -v x");
        assert!(a.no_dns && a.no_ping && a.connect_scan && a.open_only);
        assert_eq!(a.verbose, 2);
        assert!(err("-p 22 -p 80 x").contains("only one -p"));
    }

    #[test]
    fn separator_stops_rewriting() {
        let a = ok("-n -- -sU");
        assert_eq!(a.targets, vec!["-sU"]);
    }
}
