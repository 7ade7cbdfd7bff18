//! The run of one command line: validate, expand targets, scan, stream results.

use crate::cli::{self, UsageError, HELP};
use crate::configs;
use crate::output::{open_outputs, MultiSink as Sinks, Stdout};
use crate::panics;
use crate::progress::Progress;
use crate::settings::{load_payloads, load_port_db, PortDb, Settings};
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
use std::net::IpAddr;
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

fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("prtip: {msg}");
    ExitCode::from(code)
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
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| usage(format!("cannot read targets from standard input: {e}")))?;
        return Ok(s);
    }
    std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))
}

fn target_list(settings: &Settings) -> Result<TargetList, Failure> {
    let mut list = TargetList::new();
    for t in &settings.targets {
        list.push_arg(t.clone());
    }
    if let Some(path) = &settings.input_list {
        let name = path.display().to_string();
        list.push_file(name, read_input(path)?);
    }
    // Syntax errors stop the run before any packet is sent.
    list.count().map_err(usage)?;
    Ok(list)
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
    let mut sinks = {
        let _output = memprof::phase(Phase::Output);
        open_outputs(&settings.outputs, &stdout).map_err(usage)?
    };
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
    let plan = configs::plan(settings, &ports);
    let mut tally = Tally::default();
    let mut emit = |outcome: HostOutcome| match outcome {
        HostOutcome::Done(host) => emit_host(host, settings, &mut sinks, &progress),
        HostOutcome::TimedOut(job) => {
            skip_timed_out(&job, &progress);
            Ok(())
        }
    };
    let result = stages.drive(
        |submit| engine.run(&mut jobs, plan, &mut |o| tally.take(o, submit, &progress)),
        &mut emit,
    );
    drop(ticker);
    progress.finish();
    {
        // Shuts the engine's runtime down, so no task or socket outlives the scan.
        let _teardown = memprof::phase(Phase::Teardown);
        drop(stages);
        drop(engine);
    }
    let stats = tally.stats(started, stop.is_stopped());
    let outcome = finish(sinks, &stats, result.map_err(|e| e.to_string()), settings)?;
    if stdout.is_closed() {
        return Ok(Outcome::Interrupted(EXIT_CLOSED_STDOUT));
    }
    Ok(outcome.stopped_by(interrupts.signal()))
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
/// is skipped with a warning, as nmap does.
fn host_jobs<'a>(
    targets: &'a TargetList,
    excludes: &'a ExcludeSet,
    resolver: &'a dyn Resolver,
) -> impl Iterator<Item = HostJob> + 'a {
    targets.iter(excludes, resolver).filter_map(|t| match t {
        Ok(t) => Some(HostJob {
            addr: IpAddr::V4(t.addr),
            hostname: t.hostname,
        }),
        Err(e) => {
            eprintln!("prtip: warning: {e}");
            None
        }
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
