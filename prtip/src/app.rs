//! The run of one command line: validate, expand targets, scan, stream results.

use crate::cli::{self, UsageError, HELP};
use crate::configs;
use crate::output::db::{DbHealth, DbSink};
use crate::output::{open_outputs, MultiSink as Sinks, Stdout};
use crate::panics;
use crate::progress::Progress;
use crate::settings::{load_payloads, load_port_db, PortDb, Settings};
use crate::watch::Watch;
use memprof::Phase;
use prtip_core::result::{HostResult, HostStatus, ResultSink, RunInfo, RunStats};
use prtip_core::services::ServiceNames;
use prtip_core::target::{ExcludeSet, Resolver, TargetList};
use prtip_scanner::cancel::{self, InterruptWatcher, StopFlag};
use prtip_scanner::engines;
use prtip_scanner::plan::{HostJob, HostOutcome};
use prtip_scanner::stages::version::ProbeSource;
use prtip_scanner::stages::{Emit, Stages};
use prtip_scanner::sys::names;
use prtip_scanner::ScanError;
use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Exit status for command-line errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit status when the scan itself failed.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status when standard output's reader went away (`prtip ... | head`),
/// as shells report a process ended by SIGPIPE.
pub const EXIT_CLOSED_STDOUT: u8 = 141;
/// Exit status after Ctrl-C, as shells report SIGINT; SIGTERM gives 143
/// and SIGHUP 129 (see [`prtip_scanner::cancel::exit_status`]).
pub const EXIT_INTERRUPTED: u8 = 130;

pub(crate) fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("prtip: {}", elide_long_words(&msg.to_string()));
    ExitCode::from(code)
}

/// Words longer than this are shortened in messages for the user.
const LONGEST_WORD: usize = 256;

/// Messages quote the value that was refused; a value of 100,000
/// characters would make the one line of the error 100 KB long. Such a
/// word keeps its start and end (where the quotes and the rest of the
/// sentence are) and says how long it was. Paths up to PATH_MAX-ish
/// lengths that matter in practice stay whole.
pub(crate) fn elide_long_words(msg: &str) -> std::borrow::Cow<'_, str> {
    if msg.len() <= LONGEST_WORD {
        return msg.into();
    }
    let words: Vec<String> = msg
        .split(' ')
        .map(|w| {
            let n = w.chars().count();
            if n <= LONGEST_WORD {
                return w.to_string();
            }
            let head: String = w.chars().take(40).collect();
            let tail: String = w.chars().skip(n - 8).collect();
            format!("{head}...[{} more characters]...{tail}", n - 48)
        })
        .collect();
    words.join(" ").into()
}

/// Writes `text` to standard output; print! would panic on a closed pipe.
fn print_stdout(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(EXIT_CLOSED_STDOUT),
        Err(e) => fail(
            EXIT_FAILURE,
            format!("cannot write to standard output: {e}"),
        ),
    }
}

/// Entry point for `main`; `argv` includes the program name.
pub fn run(argv: Vec<OsString>) -> ExitCode {
    if argv.get(1).is_some_and(|a| a == "db") {
        return crate::db::run(&argv[2..]);
    }
    let parsing = memprof::phase(Phase::ArgumentParsing);
    let args = match cli::parse(argv.clone()) {
        Ok(a) => a,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    if args.help {
        return print_stdout(HELP);
    }
    if args.version {
        return print_stdout(&format!("prtip {}\n", env!("CARGO_PKG_VERSION")));
    }
    let settings = match Settings::from_args(&args) {
        Ok(s) => s,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let command_line = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(kind) = &settings.mem_report {
        if let Err(e) = crate::memreport::check_available(kind) {
            return fail(EXIT_USAGE, e);
        }
    }
    drop(parsing);
    let scanned = scan(&settings, command_line);
    if panics::happened() {
        // The panic hook has said what went wrong, in one line.
        return ExitCode::from(EXIT_FAILURE);
    }
    match scanned {
        Ok(Outcome::Finished) => ExitCode::SUCCESS,
        Ok(Outcome::Interrupted(code)) => ExitCode::from(code),
        Err(Failure::Usage(e)) => fail(EXIT_USAGE, e),
        Err(Failure::Scan(e)) => fail(EXIT_FAILURE, e),
    }
}

enum Outcome {
    Finished,
    /// Stopped early; the exit status says by what.
    Interrupted(u8),
}

impl Outcome {
    /// A scan stopped by a signal exits as shells report that signal.
    fn stopped_by(self, signal: Option<i32>) -> Outcome {
        match (self, signal) {
            (Outcome::Interrupted(_), Some(s)) => Outcome::Interrupted(cancel::exit_status(s)),
            (o, _) => o,
        }
    }
}

enum Failure {
    Usage(UsageError),
    Scan(String),
}

fn usage(e: impl std::fmt::Display) -> Failure {
    Failure::Usage(UsageError(e.to_string()))
}

fn read_input(path: &Path) -> Result<String, Failure> {
    if path.as_os_str() == "-" {
        return read_text(std::io::stdin().lock())
            .map_err(|e| usage(format!("cannot read targets from standard input: {e}")));
    }
    std::fs::File::open(path)
        .map_err(|e| e.to_string())
        .and_then(read_text)
        .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))
}

/// Reads a list of targets in pieces, checking each piece as it comes:
/// a file that is not text is refused at its first bad byte. Reading it
/// whole first would never end for `-iL /dev/zero` or `/dev/urandom`
/// (the first exhausts memory, the second never ends at all). No target
/// list contains a NUL byte, though UTF-8 allows it.
fn read_text(mut input: impl Read) -> Result<String, String> {
    let mut text = Vec::new();
    let mut piece = [0u8; 8192];
    // Bytes of `text` known to be whole UTF-8 characters.
    let mut checked = 0;
    loop {
        let n = match input.read(&mut piece) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.to_string()),
        };
        if let Some(i) = piece[..n].iter().position(|&b| b == 0) {
            return Err(format!(
                "not a text file (a NUL byte at byte {})",
                text.len() + i
            ));
        }
        text.extend_from_slice(&piece[..n]);
        match std::str::from_utf8(&text[checked..]) {
            Ok(_) => checked = text.len(),
            // A character cut in two by the end of this piece.
            Err(e) if e.error_len().is_none() => checked += e.valid_up_to(),
            Err(e) => {
                return Err(format!(
                    "not UTF-8 text (byte {})",
                    checked + e.valid_up_to()
                ))
            }
        }
    }
    String::from_utf8(text)
        .map_err(|e| format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))
}

fn target_list(settings: &Settings) -> Result<TargetList, Failure> {
    let mut list = TargetList::with_family(settings.family);
    for t in &settings.targets {
        list.push_arg(t.clone());
    }
    if let Some(path) = &settings.input_list {
        let name = path.display().to_string();
        list.push_file(name, read_input(path)?);
    }
    // Syntax errors stop the run before any packet is sent.
    if list.count().map_err(usage)? == 0 {
        // nmap 7.93 says the same of an empty -iL file, and scans nothing.
        eprintln!("prtip: warning: no targets were specified, so 0 hosts scanned");
    }
    for w in list.warnings() {
        eprintln!("prtip: warning: {}", elide_long_words(&w));
    }
    Ok(list)
}

/// Link-local targets (`fe80::1%eth0`) are reached through their interface:
/// it becomes the scan's `-e`, so every engine and stage sends there (a
/// socket bound to a device gives a link-local address its scope). `None`
/// when nothing changes.
fn through_link(settings: &Settings, targets: &TargetList) -> Result<Option<Settings>, Failure> {
    let Some(scope) = targets.link_scope().map_err(usage)? else {
        return Ok(None);
    };
    match &settings.socket.interface {
        Some(e) if *e == scope => Ok(None),
        Some(e) => Err(usage(format!(
            "-e {e}: the link-local targets are on {scope}; scan them with -e {scope} or without -e"
        ))),
        None => {
            let mut linked = settings.clone();
            linked.socket.interface = Some(scope);
            Ok(Some(linked))
        }
    }
}

fn exclude_set(settings: &Settings, resolver: &dyn Resolver) -> Result<ExcludeSet, Failure> {
    let mut set = ExcludeSet::new();
    for list in &settings.excludes {
        set.add_list(list, resolver).map_err(usage)?;
    }
    if let Some(path) = &settings.exclude_file {
        let content = read_input(path)?;
        set.add_file(&path.display().to_string(), &content, resolver)
            .map_err(usage)?;
    }
    Ok(set)
}

/// One scan, from validated settings to closed outputs.
fn scan(settings: &Settings, command_line: String) -> Result<Outcome, Failure> {
    if let Some(n) = &settings.notice {
        eprintln!("prtip: {n}");
    }
    let resolver = |name: &str| names::forward(name);
    let expansion = memprof::phase(Phase::TargetExpansion);
    let targets = target_list(settings)?;
    let excludes = exclude_set(settings, &resolver)?;
    drop(expansion);
    let linked = through_link(settings, &targets)?;
    let settings = linked.as_ref().unwrap_or(settings);
    let loading = memprof::phase(Phase::DatabaseLoad);
    let dbs = Databases::load(settings)?;
    let probe_db = dbs
        .probes
        .as_ref()
        .map(ProbeSource::parse)
        .transpose()
        .map_err(failure)?;
    for w in probe_db.iter().flat_map(|db| db.warnings()) {
        eprintln!("prtip: warning: {w}");
    }
    drop(loading);
    let stop = StopFlag::new();
    let script_engine = crate::scripts::open(settings, &stop).map_err(|e| match e {
        crate::scripts::OpenError::Usage(m) => usage(m),
        crate::scripts::OpenError::Failed(m) => Failure::Scan(m),
    })?;
    let _panics = panics::watch(&stop);
    let stdout = Stdout::new(stop.clone());
    // Watched from before the first output is written, so a signal at any
    // point of the scan still completes every file.
    let interrupts = InterruptWatcher::start(stop.clone())
        .map_err(|e| Failure::Scan(format!("cannot watch for signals: {e}")))?;
    let ports = dbs.ports;
    let mut jobs = host_jobs(&targets, &excludes, &resolver).peekable();
    let first = jobs.peek().map(|j| j.addr);
    let engine_cfg = configs::engine(settings, &ports).map_err(Failure::Scan)?;
    // Installed before the engine opens its sockets, which it wraps.
    let _trace = settings
        .watch
        .packet_trace
        .then(|| prtip_scanner::trace::install(Box::new(std::io::stdout())));
    let engine = engines::open(engine_cfg, first, stop.clone()).map_err(failure)?;
    let total_hosts = targets.count().unwrap_or(0);
    let mut stages = Stages::open(
        configs::stages(
            settings,
            &probe_db,
            &dbs.names,
            &ports.tcp,
            total_hosts,
            &stop,
        )
        .map_err(Failure::Scan)?,
    )
    .map_err(failure)?;
    // Opened only once the sockets and routes are set up, so a scan that
    // cannot start leaves the files of an earlier run as they were.
    let mut watch = Watch::open(&settings.watch).map_err(usage)?;
    let mut sinks = {
        let _output = memprof::phase(Phase::Output);
        open_outputs(&settings.outputs, &stdout).map_err(usage)?
    };
    let db_health = DbHealth::default();
    if let Some(path) = &settings.db {
        let meta = prtip_store::ScanMeta {
            seed: settings.seed,
            shard: settings.shard,
        };
        sinks.push(Box::new(DbSink::open(path, meta, db_health.clone())));
    }
    // Every socket and file the scan needs is open: give up every right.
    // Threads started from here on inherit nothing.
    prtip_scanner::sys::privs::drop_all()
        .map_err(|e| Failure::Scan(format!("cannot drop privileges: {e}")))?;
    let info = configs::run_info(settings, command_line, &ports);
    begin(&mut sinks, &info)?;
    prtip_scanner::inject::stuck_point();
    let started = Instant::now();
    let progress = Progress::new(
        std::io::stderr().is_terminal(),
        total_hosts.saturating_mul(info.ports_per_host().max(1)),
    );
    let counter = Arc::clone(&engine);
    let ticker = progress.ticker(Arc::new(move || counter.probes_sent()));
    watch.start(
        &engine,
        settings,
        total_hosts,
        info.ports_per_host(),
        progress.printer(),
    );
    let plan = configs::plan(settings, &ports);
    let mut tally = Tally::default();
    let mut emit = |outcome: HostOutcome| match outcome {
        HostOutcome::Done(mut host) => {
            crate::scripts::run(script_engine.as_ref(), &mut host);
            watch.host_detected(&host);
            emit_host(host, settings, &mut sinks, &progress)
        }
        HostOutcome::TimedOut(job) => {
            watch.host_timed_out(job.addr, false);
            skip_timed_out(&job, &progress);
            Ok(())
        }
    };
    let mut on_host = |o: HostOutcome, submit: &mut Emit<'_>| {
        match &o {
            HostOutcome::Done(host) => watch.host_scanned(host),
            HostOutcome::TimedOut(job) => watch.host_timed_out(job.addr, true),
        }
        tally.take(o, submit, &progress)
    };
    let result = stages.drive(
        |submit| engine.run(&mut jobs, plan, &mut |o| on_host(o, submit)),
        &mut emit,
    );
    let result = result.map_err(|e| e.to_string());
    watch.scanned(result.as_ref().err().map(String::as_str));
    drop(ticker);
    progress.finish();
    {
        // Shuts the engine's runtime down, so no task or socket outlives the scan.
        let _teardown = memprof::phase(Phase::Teardown);
        drop(stages);
        drop(engine);
        drop(script_engine);
    }
    let stats = tally.stats(started, stop.is_stopped());
    let logged = watch.finish(&stats);
    let outcome = finish(sinks, &stats, result, settings)?;
    logged.map_err(|e| Failure::Scan(e.to_string()))?;
    if stdout.is_closed() {
        return Ok(Outcome::Interrupted(EXIT_CLOSED_STDOUT));
    }
    let outcome = outcome.stopped_by(interrupts.signal());
    // The database's failure was said when it happened; it only sets the status.
    Ok(match outcome {
        Outcome::Finished if db_health.failed() => Outcome::Interrupted(EXIT_FAILURE),
        o => o,
    })
}

fn failure(e: ScanError) -> Failure {
    match e {
        // An unreadable database is bad input, like a bad flag.
        ScanError::Database { .. } => usage(e),
        e => Failure::Scan(e.to_string()),
    }
}

/// The data files a scan reads before it starts.
struct Databases {
    ports: configs::ScanPorts,
    names: ServiceNames,
    /// nmap-service-probes (or the built-in probes) with `-sV`.
    probes: Option<ProbeSource>,
}

impl Databases {
    fn load(settings: &Settings) -> Result<Databases, Failure> {
        let PortDb {
            tcp,
            udp,
            names,
            warnings,
            ..
        } = load_port_db(&settings.ports, settings.services_file.as_deref())
            .map_err(Failure::Usage)?;
        for w in &warnings {
            eprintln!("prtip: warning: {w}");
        }
        let payloads = match &settings.udp {
            Some(_) if !udp.is_empty() => {
                let _payloads = memprof::phase(Phase::UdpPayloads);
                let loaded =
                    load_payloads(settings.payloads_file.as_deref()).map_err(Failure::Usage)?;
                for w in &loaded.warnings {
                    eprintln!("prtip: warning: {w}");
                }
                Some(Arc::new(loaded.value))
            }
            _ => None,
        };
        let ports = configs::ScanPorts {
            tcp: Arc::new(tcp),
            udp: Arc::new(udp),
            payloads,
        };
        let probes = match &settings.version {
            Some(_) => Some(ProbeSource::open(settings.probes_file.as_deref()).map_err(failure)?),
            None => None,
        };
        Ok(Databases {
            ports,
            names,
            probes,
        })
    }
}

/// The targets as the engines take them; a target that cannot be resolved
/// (or whose interface does not exist) is skipped with a warning, as nmap
/// does.
fn host_jobs<'a>(
    targets: &'a TargetList,
    excludes: &'a ExcludeSet,
    resolver: &'a dyn Resolver,
) -> impl Iterator<Item = HostJob> + 'a {
    targets.iter(excludes, resolver).filter_map(|t| {
        let t = t.map_err(|e| eprintln!("prtip: warning: {e}")).ok()?;
        let scope_id = match &t.scope {
            None => 0,
            Some(name) => {
                let Some(index) = crate::sys::interface_index(name) else {
                    eprintln!(
                        "prtip: warning: skipping {}%{name}: no such interface",
                        t.addr
                    );
                    return None;
                };
                index
            }
        };
        Some(HostJob {
            addr: t.addr,
            hostname: t.hostname,
            scope_id,
        })
    })
}

/// Starts every output; on failure, completes the ones that did start.
fn begin(sinks: &mut Sinks, info: &RunInfo) -> Result<(), Failure> {
    let _output = memprof::phase(Phase::Output);
    let Err(e) = sinks.begin(info) else {
        return Ok(());
    };
    let _ = sinks.end(&RunStats {
        end: SystemTime::now(),
        elapsed: Duration::ZERO,
        hosts_up: 0,
        hosts_down: 0,
        interrupted: true,
    });
    Err(Failure::Scan(e.to_string()))
}

/// Closes every output even when the scan failed, so files stay
/// well-formed, then reports the scan's own failure first.
fn finish(
    mut sinks: Sinks,
    stats: &RunStats,
    scanned: Result<(), String>,
    settings: &Settings,
) -> Result<Outcome, Failure> {
    let closed = {
        let _output = memprof::phase(Phase::Output);
        let closed = sinks.end(stats);
        drop(sinks);
        closed
    };
    scanned.map_err(Failure::Scan)?;
    closed.map_err(|e| Failure::Scan(e.to_string()))?;
    if let Some(report) = &settings.mem_report {
        crate::memreport::print(report).map_err(|e| Failure::Scan(e.to_string()))?;
    }
    Ok(if stats.interrupted {
        Outcome::Interrupted(EXIT_INTERRUPTED)
    } else {
        Outcome::Finished
    })
}

/// Hosts up and down as the engine reports them.
#[derive(Debug, Default)]
struct Tally {
    up: u64,
    down: u64,
}

impl Tally {
    /// Counts one outcome and passes a finished host on to the stages.
    fn take(
        &mut self,
        outcome: HostOutcome,
        submit: &mut Emit<'_>,
        progress: &Progress,
    ) -> std::io::Result<()> {
        match outcome {
            HostOutcome::Done(host) => {
                if host.status == HostStatus::Up {
                    self.up += 1;
                } else {
                    self.down += 1;
                }
                submit(host)
            }
            HostOutcome::TimedOut(job) => {
                self.up += 1;
                skip_timed_out(&job, progress);
                Ok(())
            }
        }
    }

    fn stats(&self, started: Instant, interrupted: bool) -> RunStats {
        RunStats {
            end: SystemTime::now(),
            elapsed: started.elapsed(),
            hosts_up: self.up,
            hosts_down: self.down,
            interrupted,
        }
    }
}

/// nmap's only report of a host whose `--host-timeout` ran out, in the
/// port scan or in a later stage; the host still counts as up, as nmap's.
fn skip_timed_out(job: &HostJob, progress: &Progress) {
    progress.suspend(|| {
        eprintln!("prtip: skipping host {} due to host timeout", job.addr);
    });
}

/// Writes one host to every output, leaving out what `--open` hides.
fn emit_host(
    host: HostResult,
    settings: &Settings,
    sinks: &mut Sinks,
    progress: &Progress,
) -> std::io::Result<()> {
    if settings.open_only && !settings.ping_only && !has_open_port(&host) {
        // nmap's --open leaves out hosts without an open port.
        return Ok(());
    }
    let _output = memprof::phase(Phase::Output);
    progress.suspend(|| sinks.host(&host))
}

fn has_open_port(host: &HostResult) -> bool {
    host.status == HostStatus::Up && host.ports.shown.iter().any(|p| p.state.maybe_open())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_words_are_shortened_and_the_rest_kept() {
        let value = "9".repeat(100_000);
        let msg = format!("invalid --seed \"{value}\": expected a non-negative integer");
        let short = elide_long_words(&msg);
        assert!(short.len() < 200, "{short}");
        assert!(short.starts_with("invalid --seed \"9999"), "{short}");
        assert!(short.contains("[99955 more characters]"), "{short}");
        assert!(
            short.ends_with("99\": expected a non-negative integer"),
            "{short}"
        );
        let path = format!("cannot read /{}: x", "d".repeat(200));
        assert_eq!(elide_long_words(&path), path);
    }

    #[test]
    fn text_is_read_in_pieces_and_refused_at_the_first_bad_byte() {
        // A character split across two pieces is still whole.
        let text = format!("{}é 127.0.0.1\n", "#".repeat(8191));
        assert_eq!(read_text(text.as_bytes()), Ok(text.clone()));
        assert_eq!(read_text(&b""[..]), Ok(String::new()));
        assert_eq!(
            read_text(&b"10.0.0.1\n\0"[..]),
            Err("not a text file (a NUL byte at byte 9)".to_string())
        );
        assert_eq!(
            read_text(&b"10.0.0.1 \xff\xfe"[..]),
            Err("not UTF-8 text (byte 9)".to_string())
        );
        assert_eq!(
            read_text(&b"10.0.0.1 \xc3"[..]),
            Err("not UTF-8 text (byte 9)".to_string())
        );
        // An endless source ends at its first NUL byte.
        assert!(read_text(std::io::repeat(0)).is_err());
        assert!(read_text(std::io::repeat(0xff)).is_err());
    }
}
