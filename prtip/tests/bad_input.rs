//! Bad input, as a table: every flag that takes a value, given an absurd
//! one (negative, zero, huge, NaN, empty, a wrong unit, 100,000
//! characters), and every input file empty, binary, endless, missing or a
//! directory. Each case ends within [`REFUSAL_DEADLINE`] with exit status
//! 2 (bad input) or 1 (the scan could not start), exactly one line on
//! stderr starting with `prtip:` and nothing on stdout. Where nmap 7.93
//! accepts the value and does something sensible, prtip does the same
//! (exit 0, at most one `prtip: warning:` line), and the table says what.
//!
//! README.md's two "bad input" tables are generated from these cases
//! ([`markdown_tables`]); `readme_tables_match_the_cases` fails when they
//! differ, and `cargo test -p prtip --test bad_input -- --ignored
//! --nocapture` prints them.
//!
//! Network safety: every scan that is accepted is a connect scan (or, as
//! root, a UDP or OS scan) of port 1 or 7 of 127.0.0.1; no value here is a
//! hostname, so nothing is resolved.

mod common;

use common::prtip;
use prtip_testkit::{
    prereq::require_root,
    process::{describe, run_timeout, tempdir},
};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

/// A refused value must be refused this fast (debug build, loaded machine).
const REFUSAL_DEADLINE: Duration = Duration::from_secs(2);
/// An accepted value runs a one-port scan of 127.0.0.1; with `-sV` the
/// debug build spends about a second loading nmap's probe file.
const SCAN_DEADLINE: Duration = Duration::from_secs(5);
/// Characters in the "100,000 characters" column.
const LONG: usize = 100_000;

/// The columns of the value table.
const KINDS: [&str; 7] = [
    "negative",
    "zero",
    "huge",
    "NaN",
    "empty",
    "wrong unit",
    "100,000 characters",
];

/// One value for a flag and what prtip must do with it.
#[derive(Debug, Clone, Copy)]
struct Cell {
    /// The value; in the last column, `prefix` followed by [`LONG`] copies of `fill`.
    value: &'static str,
    fill: Option<char>,
    /// Expected exit status: 2 bad input, 1 the scan cannot start, 0 accepted.
    exit: i32,
    /// Refused: text the one stderr line must contain. Accepted: the one
    /// warning line's text, or "" for a silent run.
    says: &'static str,
    /// Accepted: what happens, for README.
    note: &'static str,
    /// Refused (exit 1) but only as a record: the scan and its other
    /// outputs went on (`--db`), so stdout has the report.
    went_on: bool,
}

const fn no(value: &'static str, exit: i32, says: &'static str) -> Option<Cell> {
    Some(Cell {
        value,
        fill: None,
        exit,
        says,
        note: "",
        went_on: false,
    })
}

const fn ok(value: &'static str, says: &'static str, note: &'static str) -> Option<Cell> {
    Some(Cell {
        value,
        fill: None,
        exit: 0,
        says,
        note,
        went_on: false,
    })
}

const fn long(prefix: &'static str, fill: char, exit: i32, says: &'static str) -> Option<Cell> {
    Some(Cell {
        value: prefix,
        fill: Some(fill),
        exit,
        says,
        note: "",
        went_on: false,
    })
}

const fn long_ok(prefix: &'static str, fill: char, note: &'static str) -> Option<Cell> {
    Some(Cell {
        value: prefix,
        fill: Some(fill),
        exit: 0,
        says: "",
        note,
        went_on: false,
    })
}

/// `--db`: the database cannot be used; one line says so, the scan goes on
/// without it and exits 1.
const fn went_on(value: &'static str, fill: Option<char>, says: &'static str) -> Option<Cell> {
    Some(Cell {
        value,
        fill,
        exit: 1,
        says,
        note: "the scan and its other outputs go on without it",
        went_on: true,
    })
}

/// A flag and its values: `args` is the command line, with `{}` replaced
/// by the value (as a whole argument or inside one, `--mem-report={}`).
#[derive(Debug)]
struct Row {
    flag: &'static str,
    args: &'static [&'static str],
    /// Needs raw sockets (`-sU`, `-O`): skipped loudly without root.
    root: bool,
    /// One per [`KINDS`]; `None` where the kind makes no sense for the flag.
    cells: [Option<Cell>; 7],
}

const NA: Option<Cell> = None;
const LO: &str = "127.0.0.1";
const HUGE: &str = "99999999999999999999";
const TIME: &str = "use a number with an optional unit";

#[rustfmt::skip]
const ROWS: &[Row] = &[
    Row { flag: "--db", args: &["-sT", "-n", "-Pn", "-p", "1", "--db", "{}", LO], root: false, cells: [
        no("-1", 2, "unexpected argument '-1'"), ok("0", "", "recorded in the SQLite file `0`"),
        NA, NA, no("", 2, "expected a database file name"),
        no("postgres://h/db", 2, "PostgreSQL is not supported yet"),
        went_on("", Some('a'), "unable to open database file")] },
    Row { flag: "-p", args: &["-sT", "-n", "-Pn", "-p", "{}", LO], root: false, cells: [
        ok("-1", "", "ports up to 1, as nmap"), ok("0", "", "port 0, as nmap"),
        no(HUGE, 2, "port out of range"), no("NaN", 2, "invalid port specification \"NaN\""),
        no("", 2, "no ports specified"), no("1k", 2, "invalid port specification \"1k\""),
        long("", '9', 2, "port out of range")] },
    Row { flag: "-p (with -sU)", args: &["-sU", "-n", "-Pn", "-p", "{}", LO], root: true, cells: [
        ok("U:-1", "", "UDP ports up to 1, as nmap"), ok("U:0", "", "UDP port 0, as nmap"),
        no("U:99999999999999999999", 2, "port out of range"), no("U:NaN", 2, "invalid port specification \"NaN\""),
        no("U:", 2, "U:"), no("U:1k", 2, "invalid port specification \"1k\""),
        long("U:", '9', 2, "port out of range")] },
    Row { flag: "--exclude-ports", args: &["-sT", "-n", "-Pn", "-p", "1,2", "--exclude-ports", "{}", LO], root: false, cells: [
        ok("-1", "", "port 2 is left, as nmap"), ok("0", "", "nothing excluded"),
        no(HUGE, 2, "port out of range"), no("NaN", 2, "--exclude-ports"),
        no("", 2, "no ports specified"), no("1k", 2, "--exclude-ports"),
        long("", '9', 2, "port out of range")] },
    Row { flag: "--top-ports", args: &["-sT", "-n", "-Pn", "--top-ports", "{}", LO], root: false, cells: [
        no("-1", 2, "--top-ports"), no("0", 2, "--top-ports"), no(HUGE, 2, "--top-ports"),
        no("NaN", 2, "--top-ports"), no("", 2, "--top-ports"), no("10%", 2, "--top-ports"),
        long("", '9', 2, "--top-ports")] },
    Row { flag: "-T", args: &["-sT", "-n", "-Pn", "-p", "1", "-T", "{}", LO], root: false, cells: [
        no("-1", 2, "invalid timing template -T-1"), ok("0", "", "paranoid, as nmap"),
        no(HUGE, 2, "invalid timing template"), no("NaN", 2, "invalid timing template -TNaN"),
        no("", 2, "invalid timing template"), no("4s", 2, "invalid timing template -T4s"),
        long("", '9', 2, "invalid timing template")] },
    Row { flag: "--min-rate", args: &["-sT", "-n", "-Pn", "-p", "1", "--min-rate", "{}", LO], root: false, cells: [
        no("-1", 2, "invalid --min-rate"), no("0", 2, "invalid --min-rate"),
        no("1e300", 2, "invalid --min-rate"), no("NaN", 2, "invalid --min-rate"),
        no("", 2, "invalid --min-rate"), no("100/s", 2, "invalid --min-rate"),
        long("", '9', 2, "invalid --min-rate")] },
    Row { flag: "--max-rate", args: &["-sT", "-n", "-Pn", "-p", "1", "--max-rate", "{}", LO], root: false, cells: [
        no("-1", 2, "invalid --max-rate"), no("0", 2, "invalid --max-rate"),
        no("1e300", 2, "invalid --max-rate"), no("NaN", 2, "invalid --max-rate"),
        no("", 2, "invalid --max-rate"), no("100/s", 2, "invalid --max-rate"),
        long("", '9', 2, "invalid --max-rate")] },
    Row { flag: "--max-retries", args: &["-sT", "-n", "-Pn", "-p", "1", "--max-retries", "{}", LO], root: false, cells: [
        no("-1", 2, "invalid --max-retries"), ok("0", "", "no retransmission, as nmap"),
        no(HUGE, 2, "invalid --max-retries"), no("NaN", 2, "invalid --max-retries"),
        no("", 2, "invalid --max-retries"), no("3x", 2, "invalid --max-retries"),
        long("", '9', 2, "invalid --max-retries")] },
    Row { flag: "--host-timeout", args: &["-sT", "-n", "-Pn", "-p", "1", "--host-timeout", "{}", LO], root: false, cells: [
        no("-1s", 2, TIME), ok("0", "", "no host timeout, as nmap"),
        no("99999999999999999999h", 2, "--host-timeout"), no("NaN", 2, TIME),
        no("", 2, TIME), no("5parsecs", 2, TIME), long("", '9', 2, "--host-timeout")] },
    Row { flag: "--scan-delay", args: &["-sT", "-n", "-Pn", "-p", "1", "--scan-delay", "{}", LO], root: false, cells: [
        no("-1ms", 2, TIME), ok("0", "", "no delay"),
        no("99999999999999999999s", 2, "--scan-delay"), no("NaN", 2, TIME),
        no("", 2, TIME), no("5parsecs", 2, TIME), long("", '9', 2, "--scan-delay")] },
    Row { flag: "--stats-every", args: &["-sT", "-n", "-Pn", "-p", "1", "--stats-every", "{}", LO], root: false, cells: [
        no("-1s", 2, TIME), ok("0", "", "no status lines, as nmap"),
        no("99999999999999999999h", 2, "--stats-every"), no("NaN", 2, TIME),
        no("", 2, TIME), no("5parsecs", 2, TIME), long("", '9', 2, "--stats-every")] },
    Row { flag: "--version-intensity", args: &["-sT", "-sV", "-n", "-Pn", "-p", "1", "--version-intensity", "{}", LO], root: false, cells: [
        no("-1", 2, "a number from 0 to 9"), ok("0", "", "only the probes that list the port, as nmap"),
        no(HUGE, 2, "a number from 0 to 9"), no("NaN", 2, "a number from 0 to 9"),
        no("", 2, "a number from 0 to 9"), no("5x", 2, "a number from 0 to 9"),
        long("", '9', 2, "a number from 0 to 9")] },
    Row { flag: "--max-os-tries", args: &["-O", "-n", "-Pn", "-p", "1", "--max-os-tries", "{}", LO], root: false, cells: [
        no("-1", 2, "a number from 1 to 50"), no("0", 2, "a number from 1 to 50"),
        no(HUGE, 2, "a number from 1 to 50"), no("NaN", 2, "a number from 1 to 50"),
        no("", 2, "a number from 1 to 50"), no("5x", 2, "a number from 1 to 50"),
        long("", '9', 2, "a number from 1 to 50")] },
    Row { flag: "--seed", args: &["-sT", "-n", "-Pn", "-p", "1", "--seed", "{}", LO], root: false, cells: [
        no("-1", 2, "invalid --seed"), ok("0", "", "a seed like any other"),
        no(HUGE, 2, "invalid --seed"), no("NaN", 2, "invalid --seed"),
        no("", 2, "invalid --seed"), no("42s", 2, "invalid --seed"),
        long("", '9', 2, "invalid --seed")] },
    Row { flag: "--shard", args: &["-sT", "-n", "-Pn", "-p", "1", "--seed", "1", "--shard", "{}", LO], root: false, cells: [
        no("-1/2", 2, "invalid --shard"), no("0/0", 2, "invalid --shard"),
        no("1/99999999999999999999", 2, "invalid --shard"), no("NaN/2", 2, "invalid --shard"),
        no("", 2, "invalid --shard"), no("1of2", 2, "invalid --shard"),
        long("1/", '9', 2, "invalid --shard")] },
    Row { flag: "-S", args: &["-sT", "-n", "-Pn", "-p", "1", "-S", "{}", LO], root: false, cells: [
        no("-1", 2, "invalid source address"), no("0", 2, "invalid source address"),
        no("999.999.999.999", 2, "invalid source address"), no("NaN", 2, "invalid source address"),
        no("", 2, "invalid source address"), no("127.0.0.1/8", 2, "invalid source address"),
        long("", '9', 2, "invalid source address")] },
    Row { flag: "--scanflags", args: &["--scanflags", "{}", "-n", "-Pn", "-p", "1", LO], root: true, cells: [
        no("-1", 2, "invalid --scanflags"), ok("0", "", "probes with no flag set, read as a SYN scan, as nmap"),
        no(HUGE, 2, "invalid --scanflags"), no("NaN", 2, "invalid --scanflags \"NaN\""),
        no("", 2, "invalid --scanflags"), no("2x", 2, "invalid --scanflags \"2x\""),
        long("", 'S', 2, "invalid --scanflags")] },
    Row { flag: "-g", args: &["-sS", "-n", "-Pn", "-p", "1", "-g", "{}", LO], root: true, cells: [
        no("-1", 2, "invalid source port -g \"-1\""), no("0", 2, "invalid source port -g \"0\""),
        no(HUGE, 2, "invalid source port"), no("NaN", 2, "invalid source port -g \"NaN\""),
        no("", 2, "invalid source port"), no("53s", 2, "invalid source port -g \"53s\""),
        long("", '9', 2, "invalid source port")] },
    Row { flag: "--ttl", args: &["-sS", "-n", "-Pn", "-p", "1", "--ttl", "{}", LO], root: true, cells: [
        no("-1", 2, "invalid --ttl \"-1\""), ok("0", "", "probes with TTL 0, as nmap"),
        no(HUGE, 2, "invalid --ttl"), no("NaN", 2, "invalid --ttl \"NaN\""),
        no("", 2, "invalid --ttl"), no("17s", 2, "invalid --ttl \"17s\""),
        long("", '9', 2, "invalid --ttl")] },
    Row { flag: "-PS", args: &["-sn", "-n", "-PS{}", LO], root: true, cells: [
        ok("-1", "", "ports up to 1, as nmap"), ok("0", "", "a SYN ping to port 0, as nmap"),
        no(HUGE, 2, "invalid port list for -PS"), no("NaN", 2, "invalid port list for -PS"),
        ok("", "", "port 80, as nmap"), no("80s", 2, "invalid port list for -PS"),
        long("", '9', 2, "invalid port list for -PS")] },
    Row { flag: "-e", args: &["-sT", "-n", "-Pn", "-p", "1", "-e", "{}", LO], root: false, cells: [
        no("-1", 2, "'-1'"), no("0", 1, "cannot bind to interface 0"),
        no(HUGE, 2, "invalid interface name"), no("NaN", 1, "cannot bind to interface NaN"),
        no("", 2, "invalid interface name"), NA,
        long("", 'x', 2, "invalid interface name")] },
    Row { flag: "target", args: &["-sT", "-n", "-Pn", "-p", "1", "{}"], root: false, cells: [
        no("-1", 2, "'-1'"), no("0", 2, "expected 4 octets"),
        ok("127.0.0.1/33", "illegal netmask", "one host, as nmap: \"Assuming /32\""), NA,
        ok("", "no targets were specified", "nothing scanned, as nmap"),
        no("127.0.0.1:80", 2, "not a valid IPv6 address"),
        long("", 'a', 2, "hostname longer than 253 characters")] },
    Row { flag: "target (with -6)", args: &["-6", "-sT", "-n", "-Pn", "-p", "1", "{}"], root: false, cells: [
        no("-1", 2, "'-1'"), no("::1/0", 2, "too many to scan"),
        no("::1/129", 2, "invalid CIDR prefix"), NA,
        ok("", "no targets were specified", "nothing scanned, as nmap"),
        no("[::1]:80", 2, "not a valid IPv6 address"),
        long("::1%", 'a', 2, "is not an interface name")] },
    Row { flag: "--exclude", args: &["-sT", "-n", "-Pn", "-p", "1", "--exclude", "{}", LO], root: false, cells: [
        no("-1", 2, "invalid target \"-1\""), no("0", 2, "expected 4 octets"),
        no("127.0.0.1/33", 2, "invalid CIDR prefix \"/33\""), NA,
        ok("", "", "nothing excluded, as nmap"), no("127.0.0.1:80", 2, "not a valid IPv6 address"),
        long("", 'a', 2, "hostname longer than 253 characters")] },
    Row { flag: "-iL", args: &["-sT", "-n", "-Pn", "-p", "1", "-iL", "{}"], root: false, cells: [
        NA, NA, NA, NA, no("", 2, "a value is required for '-iL"), NA,
        long("", 'a', 2, "File name too long")] },
    Row { flag: "--excludefile", args: &["-sT", "-n", "-Pn", "-p", "1", "--excludefile", "{}", LO], root: false, cells: [
        NA, NA, NA, NA, no("", 2, "a value is required for '--excludefile"), NA,
        long("", 'a', 2, "File name too long")] },
    Row { flag: "--datadir", args: &["-sT", "-n", "-Pn", "-p", "1", "--datadir", "{}", LO], root: false, cells: [
        NA, NA, NA, NA, no("", 2, "a value is required for '--datadir"), NA,
        long_ok("", 'a', "no such directory: the next one is searched, as nmap")] },
    Row { flag: "-oN", args: &["-sT", "-n", "-Pn", "-p", "1", "-oN", "{}", LO], root: false, cells: [
        NA, NA, NA, NA, no("", 2, "a value is required for '-oN"), NA,
        long("", 'a', 2, "cannot open output file")] },
    Row { flag: "-oG", args: &["-sT", "-n", "-Pn", "-p", "1", "-oG", "{}", LO], root: false, cells: [
        NA, NA, NA, NA, no("", 2, "a value is required for '-oG"), NA,
        long("", 'a', 2, "cannot open output file")] },
    Row { flag: "-oX", args: &["-sT", "-n", "-Pn", "-p", "1", "-oX", "{}", LO], root: false, cells: [
        NA, NA, NA, NA, no("", 2, "a value is required for '-oX"), NA,
        long("", 'a', 2, "cannot open output file")] },
    Row { flag: "-oJ", args: &["-sT", "-n", "-Pn", "-p", "1", "-oJ", "{}", LO], root: false, cells: [
        NA, NA, NA, NA, no("", 2, "a value is required for '-oJ"), NA,
        long("", 'a', 2, "cannot open output file")] },
    Row { flag: "-oA", args: &["-sT", "-n", "-Pn", "-p", "1", "-oA", "{}", LO], root: false, cells: [
        NA, NA, NA, NA, no("", 2, "a value is required for '-oA"), NA,
        long("", 'a', 2, "cannot open output file")] },
    Row { flag: "--event-log", args: &["-sT", "-n", "-Pn", "-p", "1", "--event-log", "{}", LO], root: false, cells: [
        NA, NA, NA, NA, no("", 2, "a value is required for '--event-log"), NA,
        long("", 'a', 2, "cannot open output file")] },
    Row { flag: "--mem-report=", args: &["-sT", "-n", "-Pn", "-p", "1", "--mem-report={}", LO], root: false, cells: [
        no("-1", 2, "invalid --mem-report"), no("0", 2, "invalid --mem-report"), NA,
        no("NaN", 2, "invalid --mem-report"), no("json:", 2, "invalid --mem-report"),
        no("xml", 2, "invalid --mem-report"), long("", 'a', 2, "invalid --mem-report")] },
    Row { flag: "--mem-report=json:", args: &["-sT", "-n", "-Pn", "-p", "1", "--mem-report=json:{}", LO], root: false, cells: [
        NA, NA, NA, NA, no("", 2, "invalid --mem-report"), NA,
        long("", 'a', 2, "cannot write memory report")] },
    Row { flag: "-v", args: &["-sT", "-n", "-Pn", "-p", "1", "-v{}", LO], root: false, cells: [
        no("-1", 2, "unexpected argument"), ok("0", "", "as plain output"),
        ok(HUGE, "", "the highest level, 10"), no("NaN", 2, "unexpected argument"), NA, NA, NA] },
    Row { flag: "-d", args: &["-sT", "-n", "-Pn", "-p", "1", "-d{}", LO], root: false, cells: [
        no("-1", 2, "unexpected argument"), ok("0", "", "as plain output"),
        ok(HUGE, "", "the highest level, 10"), no("NaN", 2, "unexpected argument"), NA, NA, NA] },
];

/// The columns of the input-file table: what the file is.
const FILE_KINDS: [&str; 5] = [
    "empty",
    "binary (64 KiB of random bytes)",
    "endless (`/dev/zero`)",
    "missing",
    "a directory",
];

/// An input file and what prtip must do with each kind of it.
#[derive(Debug)]
struct FileRow {
    what: &'static str,
    /// `{}` is the file's path, or with `datafile` the data directory.
    args: &'static [&'static str],
    /// A data file looked up in `--datadir` (`nmap-services`, ...).
    datafile: Option<&'static str>,
    root: bool,
    cells: [Option<Cell>; 5],
}

const NEXT_DIR: &str = "the next data directory's file is used, as nmap";

#[rustfmt::skip]
const FILE_ROWS: &[FileRow] = &[
    FileRow { what: "`--db`", args: &["-sT", "-n", "-Pn", "-p", "1", "--db", "{}", LO], datafile: None, root: false, cells: [
        ok("", "", "an empty file is an empty database: the scan is recorded"),
        went_on("", None, "not a database"), went_on("", None, "goes on without recording it"),
        ok("", "", "the file is created"), went_on("", None, "unable to open database file")] },
    FileRow { what: "`-iL`", args: &["-sT", "-n", "-Pn", "-p", "1", "-iL", "{}"], datafile: None, root: false, cells: [
        ok("", "no targets were specified", "nothing scanned, as nmap"),
        no("", 2, "not a text file"), no("", 2, "not a text file"),
        no("", 2, "No such file"), no("", 2, "Is a directory")] },
    FileRow { what: "`--excludefile`", args: &["-sT", "-n", "-Pn", "-p", "1", "--excludefile", "{}", LO], datafile: None, root: false, cells: [
        ok("", "", "nothing excluded, as nmap"),
        no("", 2, "not a text file"), no("", 2, "not a text file"),
        no("", 2, "No such file"), no("", 2, "Is a directory")] },
    FileRow { what: "`--datadir`: nmap-services", args: &["-sT", "-n", "-Pn", "-p", "1", "--datadir", "{}", LO], datafile: Some("nmap-services"), root: false, cells: [
        ok("", "", "no service names, as nmap"),
        no("", 2, "not UTF-8 text"), ok("", "", NEXT_DIR), ok("", "", NEXT_DIR), ok("", "", NEXT_DIR)] },
    FileRow { what: "`--datadir`: nmap-payloads (`-sU`)", args: &["-sU", "-n", "-Pn", "-p", "7", "--datadir", "{}", LO], datafile: Some("nmap-payloads"), root: true, cells: [
        ok("", "", "no payloads, as nmap"),
        no("", 2, "not UTF-8 text"), ok("", "", NEXT_DIR), ok("", "", NEXT_DIR), ok("", "", NEXT_DIR)] },
    FileRow { what: "`--datadir`: nmap-service-probes (`-sV`)", args: &["-sT", "-sV", "-n", "-Pn", "-p", "1", "--datadir", "{}", LO], datafile: Some("nmap-service-probes"), root: false, cells: [
        ok("", "", "no probes: open ports are tcpwrapped or unknown, as nmap"),
        no("", 2, "not UTF-8 text"), ok("", "", NEXT_DIR), ok("", "", NEXT_DIR), ok("", "", NEXT_DIR)] },
    FileRow { what: "`--datadir`: nmap-os-db (`-O`)", args: &["-O", "-n", "-Pn", "-p", "1", "--datadir", "{}", LO], datafile: Some("nmap-os-db"), root: true, cells: [
        ok("", "", "no OS matches, as nmap"),
        no("", 2, "not UTF-8 text"), ok("", "", NEXT_DIR), ok("", "", NEXT_DIR), ok("", "", NEXT_DIR)] },
];

impl Cell {
    fn value(&self) -> String {
        match self.fill {
            Some(c) => format!("{}{}", self.value, c.to_string().repeat(LONG)),
            None => self.value.to_string(),
        }
    }

    /// The cell as README shows it.
    fn markdown(&self) -> String {
        let value = match self.fill {
            Some(c) => format!("`{}{c}...` ({LONG} characters)", self.value),
            None if self.value.is_empty() => "`\"\"`".to_string(),
            None => format!("`{}`", self.value),
        };
        let outcome = match self.exit {
            0 if self.says.is_empty() => format!("0: {}", self.note),
            0 => format!("0 + warning: {}", self.note),
            code if self.went_on => format!("{code}: {}", self.note),
            code => code.to_string(),
        };
        format!("{value} → {outcome}")
    }

    fn markdown_file(&self) -> String {
        match self.exit {
            0 if self.says.is_empty() => format!("0: {}", self.note),
            0 => format!("0 + warning: {}", self.note),
            code if self.went_on => format!("{code}: \"{}\", {}", self.says, self.note),
            code => format!("{code}: \"{}\"", self.says),
        }
    }
}

/// Both README tables.
fn markdown_tables() -> String {
    let mut out = format!("| flag | {} |\n|---|", KINDS.join(" | "));
    out.push_str(&"---|".repeat(KINDS.len()));
    out.push('\n');
    for row in ROWS {
        let cells: Vec<String> = row
            .cells
            .iter()
            .map(|c| c.as_ref().map_or("-".to_string(), Cell::markdown))
            .collect();
        out.push_str(&format!("| `{}` | {} |\n", row.flag, cells.join(" | ")));
    }
    out.push_str(&format!("\n| file | {} |\n|---|", FILE_KINDS.join(" | ")));
    out.push_str(&"---|".repeat(FILE_KINDS.len()));
    out.push('\n');
    for row in FILE_ROWS {
        let cells: Vec<String> = row
            .cells
            .iter()
            .map(|c| c.as_ref().map_or("-".to_string(), Cell::markdown_file))
            .collect();
        out.push_str(&format!("| {} | {} |\n", row.what, cells.join(" | ")));
    }
    out
}

/// `args` with `{}` replaced by `value`.
fn command_line(args: &[&str], value: &str) -> Vec<String> {
    args.iter().map(|a| a.replace("{}", value)).collect()
}

/// What one case must do; the error names the case.
fn check(case: &str, cell: &Cell, out: &Output, took: Duration) -> Result<(), String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let fail = |what: &str| {
        let mut d = describe(out);
        d.truncate(2000);
        Err(format!("{case}: {what} (took {took:?})\n{d}"))
    };
    if stderr.contains("panicked") {
        return fail("a panic");
    }
    if out.status.code() != Some(cell.exit) {
        return fail(&format!("exit status should be {}", cell.exit));
    }
    let lines: Vec<&str> = stderr.lines().collect();
    if cell.went_on {
        return match lines.as_slice() {
            _ if took >= SCAN_DEADLINE => fail("too slow"),
            _ if !stdout.contains("prtip done: ") => fail("no report on stdout"),
            [line] if line.len() > 1000 => fail("a long value should be shortened"),
            [line] if line.starts_with("prtip: --db ") && line.contains(cell.says) => Ok(()),
            _ => fail(&format!("stderr should be one line saying {:?}", cell.says)),
        };
    }
    if cell.exit == 0 {
        if took >= SCAN_DEADLINE {
            return fail("too slow");
        }
        if !stdout.contains("prtip done: ") {
            return fail("no report on stdout");
        }
        return match (cell.says, lines.as_slice()) {
            ("", []) => Ok(()),
            ("", _) => fail("stderr should be empty"),
            (says, [line]) if line.starts_with("prtip: warning: ") && line.contains(says) => Ok(()),
            (says, _) => fail(&format!("stderr should be one warning saying {says:?}")),
        };
    }
    if took >= REFUSAL_DEADLINE {
        return fail("too slow");
    }
    match lines.as_slice() {
        [line] if !line.starts_with("prtip: ") => fail("the line should start with \"prtip: \""),
        [line] if line.len() > 1000 => {
            fail(&format!("a value of {LONG} characters should be shortened"))
        }
        [line] if !line.contains(cell.says) => fail(&format!("stderr should say {:?}", cell.says)),
        [_] if !stdout.is_empty() => fail("stdout should be empty"),
        [_] => Ok(()),
        _ => fail("stderr should be one line"),
    }
}

/// Panics with every failure at once, so one run shows them all.
fn report(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn run_case(args: &[String], cwd: &Path) -> (Output, Duration) {
    let started = Instant::now();
    // The hard limit only stops a hang; `check` holds the deadlines.
    let out = run_timeout(prtip().args(args).current_dir(cwd), Duration::from_secs(30));
    (out, started.elapsed())
}

/// Skips rows that need root, once and loudly, when not root (a failure
/// under CI=true).
struct Root(Option<bool>);

impl Root {
    fn allows(&mut self, needed: bool) -> bool {
        !needed || *self.0.get_or_insert_with(require_root)
    }
}

#[test]
fn absurd_values_are_refused_in_one_line_or_treated_as_nmap_does() {
    // Output files a case would create land in a directory of its own.
    let dir = tempdir();
    let mut root = Root(None);
    let mut ran = 0;
    let mut failures = Vec::new();
    for row in ROWS {
        if !root.allows(row.root) {
            continue;
        }
        for (kind, cell) in KINDS.iter().zip(&row.cells) {
            let Some(cell) = cell else { continue };
            let args = command_line(row.args, &cell.value());
            let (out, took) = run_case(&args, dir.path());
            if let Err(e) = check(&format!("{} {kind}", row.flag), cell, &out, took) {
                failures.push(e);
            }
            ran += 1;
        }
    }
    report(&failures);
    assert!(ran > 150, "only {ran} cases ran");
}

/// 64 KiB of bytes that are neither text nor UTF-8 (a fixed xorshift stream).
fn binary_bytes() -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..64 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// Lays out the file of `kind` (a [`FILE_KINDS`] index) at `path`.
fn make_file(path: &Path, kind: usize) {
    match kind {
        0 => std::fs::write(path, b"").expect("empty file"),
        1 => std::fs::write(path, binary_bytes()).expect("binary file"),
        2 => std::os::unix::fs::symlink("/dev/zero", path).expect("symlink to /dev/zero"),
        3 => {}
        _ => std::fs::create_dir(path).expect("directory"),
    }
}

#[test]
fn bad_input_files_are_refused_in_one_line_or_treated_as_nmap_does() {
    let mut root = Root(None);
    let mut failures = Vec::new();
    for row in FILE_ROWS {
        if !root.allows(row.root) {
            continue;
        }
        for (kind, cell) in row.cells.iter().enumerate() {
            let Some(cell) = cell else { continue };
            let dir = tempdir();
            let name = row.datafile.unwrap_or("input.txt");
            let path = dir.path().join(name);
            make_file(&path, kind);
            let arg = match row.datafile {
                Some(_) => dir.path(),
                None => &path,
            };
            let args = command_line(row.args, arg.to_str().expect("utf-8 path"));
            let (out, took) = run_case(&args, dir.path());
            let case = format!("{} {}", row.what, FILE_KINDS[kind]);
            if let Err(e) = check(&case, cell, &out, took) {
                failures.push(e);
            }
        }
    }
    report(&failures);
}

#[test]
fn every_row_names_its_flag_and_fills_the_columns_that_apply() {
    for row in ROWS {
        let flag = row.flag.split(' ').next().unwrap_or(row.flag);
        assert!(
            flag == "target" || row.args.iter().any(|a| a.starts_with(flag)),
            "{}: the command line does not use the flag",
            row.flag
        );
        assert!(
            row.args.iter().filter(|a| a.contains("{}")).count() == 1,
            "{}",
            row.flag
        );
        assert!(
            row.cells.iter().flatten().count() >= 2,
            "{}: too few values",
            row.flag
        );
    }
}

#[test]
fn readme_tables_match_the_cases() {
    let readme = include_str!("../../README.md");
    let tables = markdown_tables();
    assert!(
        readme.contains(&tables),
        "README.md's bad input tables are out of date; replace them with:\n{tables}"
    );
}

/// `cargo test -p prtip --test bad_input -- --ignored --nocapture`
#[test]
#[ignore = "prints README's tables"]
fn print_readme_tables() {
    println!("{}", markdown_tables());
}
