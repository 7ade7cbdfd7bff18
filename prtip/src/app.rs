//! The run of one command line: validate, expand targets, scan, stream results.

use crate::cli::{self, UsageError, HELP};
use crate::mapped::MappedFile;
use crate::osdetect::OsStage;
use crate::output::open_outputs;
use crate::poststage::{self, Ordered};
use crate::progress::Progress;
use crate::resolve;
use crate::settings::{load_port_db, PortDb, ScanKind, Settings};
use memprof::Phase;
use prtip_core::result::{
    HostResult, HostStatus, PortState, Protocol, ResultSink, RunInfo, RunStats, ServiceInfo,
};
use prtip_core::service_db::{ServiceDb, BUILTIN_NAME, BUILTIN_PROBES};
use prtip_core::target::{ExcludeSet, Resolver, TargetList};
use prtip_scanner::cancel::StopFlag;
use prtip_scanner::connect::{
    hostgroup_size, ConnectConfig, ConnectScanner, HostJob, HostOutcome, PortSource, ScanPlan,
};
use prtip_scanner::rlimit;
use prtip_scanner::service::{VersionConfig, VersionScanner};
use std::ffi::OsString;
use std::io::{IsTerminal, Read};
use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Exit status for command-line errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit status when the scan itself failed.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status after Ctrl-C, as shells report SIGINT.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Probes in flight when the timing template does not restrict it. Loopback
/// and LAN targets answer within microseconds, so this only matters for
/// silent (filtered) ports, where it bounds the time per port group.
const DEFAULT_PARALLELISM: usize = 1024;

fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("prtip: {msg}");
    ExitCode::from(code)
}

/// Entry point for `main`; `argv` includes the program name.
pub fn run(argv: Vec<OsString>) -> ExitCode {
    let parsing = memprof::phase(Phase::ArgumentParsing);
    let args = match cli::parse(argv.clone()) {
        Ok(a) => a,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    if args.help {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    if args.version {
        println!("prtip {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
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
    match scan(&settings, command_line) {
        Ok(Outcome::Finished) => ExitCode::SUCCESS,
        Ok(Outcome::Interrupted) => ExitCode::from(EXIT_INTERRUPTED),
        Err(Failure::Usage(e)) => fail(EXIT_USAGE, e),
        Err(Failure::Scan(e)) => fail(EXIT_FAILURE, e),
    }
}

enum Outcome {
    Finished,
    Interrupted,
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

/// Probes in flight: the template's limit, raised so `--min-rate` can be met
/// while probes wait out their timeout, and never above the descriptor budget.
fn parallelism(settings: &Settings, fd_budget: usize) -> usize {
    let t = &settings.timing;
    let mut want = t
        .max_parallelism
        .map_or(DEFAULT_PARALLELISM, |p| p as usize);
    if let Some(rate) = t.min_rate {
        let needed = (rate * t.initial_rtt_timeout.as_secs_f64()).ceil();
        if needed.is_finite() && needed > want as f64 {
            want = needed.min(usize::MAX as f64) as usize;
        }
    }
    want.clamp(1, fd_budget.max(1))
}

struct PortListSource(prtip_core::ports::PortList);

impl PortSource for PortListSource {
    fn ports(&self) -> Box<dyn Iterator<Item = u16> + Send + '_> {
        Box::new(self.0.iter())
    }
    fn count(&self) -> usize {
        self.0.len()
    }
}

fn scan(settings: &Settings, command_line: String) -> Result<Outcome, Failure> {
    if let Some(n) = &settings.notice {
        eprintln!("prtip: {n}");
    }
    let resolver = |name: &str| resolve::forward(name);
    let expansion = memprof::phase(Phase::TargetExpansion);
    let targets = target_list(settings)?;
    let excludes = exclude_set(settings, &resolver)?;
    drop(expansion);
    let loading = memprof::phase(Phase::DatabaseLoad);
    let PortDb {
        ports: port_list,
        names,
        warnings,
        ..
    } = load_port_db(&settings.ports, settings.services_file.as_deref()).map_err(Failure::Usage)?;
    for w in &warnings {
        eprintln!("prtip: warning: {w}");
    }
    let probe_source = match &settings.version {
        Some(_) => Some(ProbeSource::open(settings.probes_file.as_deref())?),
        None => None,
    };
    let probe_db = match &probe_source {
        Some(src) => Some(src.parse()?),
        None => None,
    };
    if let Some(db) = &probe_db {
        for w in db.warnings() {
            eprintln!("prtip: warning: {w}");
        }
    }
    drop(loading);
    let output = memprof::phase(Phase::Output);
    let mut sinks = open_outputs(&settings.outputs).map_err(usage)?;
    drop(output);

    let fd_limit = rlimit::raise_nofile_limit()
        .map_err(|e| Failure::Scan(format!("cannot read the open-file limit: {e}")))?;
    let parallelism = parallelism(settings, rlimit::socket_budget(fd_limit));
    let services = port_list.to_nmap_string();
    let ports = Arc::new(PortListSource(port_list));
    let ports_per_host = if settings.ping_only { 0 } else { ports.count() };
    let plan = ScanPlan {
        discovery: !settings.no_ping,
        port_scan: !settings.ping_only,
        max_per_state: prtip_core::result::PortTableBuilder::nmap_threshold(
            settings.verbose,
            settings.debug,
        ),
        open_only: settings.open_only,
    };
    let info = RunInfo {
        args: command_line,
        start: SystemTime::now(),
        scan_type: match settings.scan {
            ScanKind::Connect => "connect",
            ScanKind::Syn => "syn",
        },
        protocol: Protocol::Tcp,
        num_services: u32::try_from(ports_per_host).unwrap_or(u32::MAX),
        services,
        verbose: settings.verbose,
        debug: settings.debug,
        reason: settings.reason,
        port_scan: plan.port_scan,
        version_scan: settings.version.is_some(),
        os_scan: settings.os.is_some(),
    };
    {
        let _output = memprof::phase(Phase::Output);
        if let Err(e) = sinks.begin(&info) {
            // Finish the outputs that did start, so none is left cut short.
            let _ = sinks.end(&RunStats {
                end: SystemTime::now(),
                elapsed: Duration::ZERO,
                hosts_up: 0,
                hosts_down: 0,
                interrupted: true,
            });
            return Err(Failure::Scan(e.to_string()));
        }
    }

    let stop = StopFlag::new();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Scan(format!("cannot start the async runtime: {e}")))?;

    let versions = match (&probe_db, settings.version) {
        (Some(db), Some(v)) => Some(
            VersionScanner::new(
                db,
                VersionConfig {
                    intensity: v.intensity,
                    all_ports: v.all_ports,
                    trace: v.trace,
                    ..VersionConfig::default()
                },
                stop.clone(),
            )
            .map_err(|e| Failure::Scan(e.to_string()))?,
        ),
        _ => None,
    };
    let post_needed = versions.is_some() || settings.os.is_some();
    let mut workers = Vec::new();
    if post_needed {
        // Charged to the stage the workers exist for.
        let _setup = memprof::phase(if versions.is_some() {
            Phase::ServiceDetection
        } else {
            Phase::OsDetection
        });
        // A worker costs a runtime and, with -O, raw sockets: no more of
        // them than there are hosts.
        let hosts = usize::try_from(targets.count().unwrap_or(1)).unwrap_or(usize::MAX);
        let n = poststage::WORKERS.min(hosts.max(1));
        let mut os_stages = OsStage::open_many(settings, n)
            .map_err(Failure::Scan)?
            .into_iter();
        for _ in 0..n {
            workers.push(PostWorker {
                rt: tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| Failure::Scan(format!("cannot start the async runtime: {e}")))?,
                os: os_stages.next(),
            });
        }
    }
    let scanned = Arc::clone(&ports);
    let process = |w: &mut PostWorker, host: &mut HostResult| {
        if host.hostname.is_none() && !settings.no_dns && host.status == HostStatus::Up {
            host.hostname = resolve::reverse(host.addr);
        }
        if let Some(scanner) = &versions {
            detect_versions(scanner, &w.rt, host, &names);
        }
        if let Some(os) = &w.os {
            host.os = os.detect(host, &scanned.0);
        }
    };
    let started = Instant::now();
    let total_hosts = targets.count().unwrap_or(0);
    let progress = Progress::new(
        std::io::stderr().is_terminal(),
        total_hosts.saturating_mul(ports_per_host.max(1) as u64),
    );
    let (mut up, mut down) = (0u64, 0u64);
    let mut emit = |mut host: HostResult| -> std::io::Result<()> {
        for p in &mut host.ports.shown {
            if p.service.is_none() {
                p.service = names
                    .name(p.port, p.protocol)
                    .map(|n| Box::new(ServiceInfo::from_table(n)));
            }
        }
        if settings.open_only && !settings.ping_only && !has_open_port(&host) {
            // nmap's --open leaves out hosts without an open port.
            return Ok(());
        }
        let _output = memprof::phase(Phase::Output);
        progress.suspend(|| sinks.host(&host))
    };
    let scoped = std::thread::scope(|scope| {
        let mut post =
            post_needed.then(|| Ordered::start(scope, std::mem::take(&mut workers), &process));
        let mut deliver = |outcome: HostOutcome| -> std::io::Result<()> {
            match outcome {
                HostOutcome::Done(mut host) => {
                    if host.status == HostStatus::Up {
                        up += 1;
                    } else {
                        down += 1;
                    }
                    match &mut post {
                        Some(post) => post.submit(host, &mut emit),
                        None => {
                            if host.hostname.is_none()
                                && !settings.no_dns
                                && host.status == HostStatus::Up
                            {
                                host.hostname = resolve::reverse(host.addr);
                            }
                            emit(host)
                        }
                    }
                }
                HostOutcome::TimedOut(job) => {
                    up += 1;
                    progress.suspend(|| {
                        eprintln!("prtip: skipping host {} due to host timeout", job.addr);
                    });
                    Ok(())
                }
            }
        };
        let jobs = targets.iter(&excludes, &resolver).filter_map(|t| match t {
            Ok(t) => Some(HostJob {
                addr: IpAddr::V4(t.addr),
                hostname: t.hostname,
            }),
            Err(e) => {
                eprintln!("prtip: warning: {e}");
                None
            }
        });
        let result: Result<(), String> = match settings.scan {
            ScanKind::Connect => {
                let scanner = ConnectScanner::new(
                    ConnectConfig {
                        timing: settings.timing,
                        socket: settings.socket.clone(),
                        parallelism,
                    },
                    stop.clone(),
                );
                let counter = Arc::clone(&scanner);
                let _ticker = progress.ticker(Arc::new(move || counter.probes_sent()));
                runtime.block_on(async {
                    let watcher = tokio::spawn(watch_ctrl_c(stop.clone()));
                    let r = scanner
                        .run(
                            jobs,
                            ports,
                            plan,
                            hostgroup_size(parallelism, ports_per_host),
                            &mut deliver,
                        )
                        .await;
                    watcher.abort();
                    r.map_err(|e| e.to_string())
                })
            }
            ScanKind::Syn => {
                let mut jobs = jobs.peekable();
                let first = jobs.peek().map(|j| j.addr);
                let syn = match crate::raw::syn_scanner(settings, first, &ports.0, stop.clone()) {
                    Ok(s) => s,
                    Err(e) => return Err(Failure::Scan(e)),
                };
                let syn = Arc::new(syn);
                let counter = Arc::clone(&syn);
                let _ticker = progress.ticker(Arc::new(move || counter.probes_sent()));
                runtime.block_on(async {
                    let watcher = tokio::spawn(watch_ctrl_c(stop.clone()));
                    // The SYN engine runs its own threads; the runtime only watches Ctrl-C.
                    let r = tokio::task::block_in_place(|| syn.run(jobs, plan, &mut deliver));
                    watcher.abort();
                    r.map(drop).map_err(|e| e.to_string())
                })
            }
        };
        let finished = match &mut post {
            Some(post) => post.finish(&mut emit).map_err(|e| e.to_string()),
            None => Ok(()),
        };
        Ok(result.and(finished))
    });
    let result = scoped?;
    progress.finish();
    let teardown = memprof::phase(Phase::Teardown);
    // Shut the runtime down before exit so no task or socket outlives the scan.
    runtime.shutdown_timeout(Duration::from_secs(1));
    let interrupted = stop.is_stopped();
    let stats = RunStats {
        end: SystemTime::now(),
        elapsed: started.elapsed(),
        hosts_up: up,
        hosts_down: down,
        interrupted,
    };
    drop(teardown);
    // Close every output even when the scan failed, so files stay well-formed.
    let closed = {
        let _output = memprof::phase(Phase::Output);
        let closed = sinks.end(&stats);
        drop(sinks);
        closed
    };
    result.map_err(Failure::Scan)?;
    closed.map_err(|e| Failure::Scan(e.to_string()))?;
    if let Some(report) = &settings.mem_report {
        crate::memreport::print(report).map_err(|e| Failure::Scan(e.to_string()))?;
    }
    Ok(if interrupted {
        Outcome::Interrupted
    } else {
        Outcome::Finished
    })
}

/// State of one per-host worker thread (see `poststage`).
struct PostWorker {
    rt: tokio::runtime::Runtime,
    os: Option<OsStage>,
}

/// Runs `-sV` on the host's open ports and records what was found, on the
/// calling worker's own runtime.
fn detect_versions(
    scanner: &VersionScanner<'_, '_>,
    rt: &tokio::runtime::Runtime,
    host: &mut HostResult,
    names: &prtip_core::services::ServiceNames,
) {
    if host.status != HostStatus::Up {
        return;
    }
    let open: Vec<u16> = host
        .ports
        .shown
        .iter()
        .filter(|p| p.state == PortState::Open && p.protocol == Protocol::Tcp)
        .map(|p| p.port)
        .collect();
    if open.is_empty() {
        return;
    }
    let _phase = memprof::phase(Phase::ServiceDetection);
    let hostname = host.hostname.clone();
    let verdicts = rt.block_on(memprof::in_phase(
        Phase::ServiceDetection,
        scanner.identify_ports(host.addr, hostname.as_deref(), &open),
    ));
    for (port, verdict) in open.iter().zip(verdicts) {
        if let Some(p) = host.ports.shown.iter_mut().find(|p| p.port == *port) {
            let table = names.name(p.port, p.protocol);
            p.service = verdict.service_info(table).map(Box::new);
        }
    }
}

/// Where the probe database comes from: nmap's file, memory-mapped, or the
/// built-in one.
enum ProbeSource {
    File(MappedFile, String),
    Builtin,
}

impl ProbeSource {
    fn open(path: Option<&Path>) -> Result<ProbeSource, Failure> {
        match path {
            Some(p) => MappedFile::open(p)
                .map(|m| ProbeSource::File(m, p.display().to_string()))
                .map_err(|e| usage(format!("cannot read {}: {e}", p.display()))),
            None => Ok(ProbeSource::Builtin),
        }
    }

    fn parse(&self) -> Result<ServiceDb<'_>, Failure> {
        match self {
            ProbeSource::File(m, name) => {
                let text = m
                    .text()
                    .map_err(|e| usage(format!("cannot read {name}: {e}")))?;
                Ok(ServiceDb::parse(text, name))
            }
            ProbeSource::Builtin => Ok(ServiceDb::parse(BUILTIN_PROBES, BUILTIN_NAME)),
        }
    }
}

fn has_open_port(host: &prtip_core::result::HostResult) -> bool {
    host.status == HostStatus::Up && host.ports.shown.iter().any(|p| p.state.maybe_open())
}

/// First Ctrl-C: stop cleanly so every output is completed. Second: exit now.
async fn watch_ctrl_c(stop: StopFlag) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    eprintln!("prtip: interrupted; finishing output files (Ctrl-C again to quit at once)");
    stop.stop();
    if tokio::signal::ctrl_c().await.is_ok() {
        std::process::exit(i32::from(EXIT_INTERRUPTED));
    }
}
