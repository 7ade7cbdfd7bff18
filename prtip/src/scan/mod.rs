//! One scan, from validated settings to closed outputs: read the inputs,
//! open everything, drop privileges, drive the engine and stages, close.

mod databases;
mod inputs;
mod outputs;

use crate::app::{usage, Failure, Outcome, EXIT_CLOSED_STDOUT, EXIT_FAILURE};
use crate::configs;
use crate::output::db::{DbHealth, DbSink};
use crate::output::{open_outputs, MultiSink as Sinks, Stdout};
use crate::panics;
use crate::progress::Progress;
use crate::scripts::Scripts;
use crate::settings::Settings;
use crate::watch::Watch;
use databases::{failure, Databases};
use memprof::Phase;
use outputs::{emit_host, skip_timed_out, Tally};
use prtip_core::result::RunInfo;
use prtip_core::service_db::ServiceDb;
use prtip_scanner::cancel::{InterruptWatcher, StopFlag};
use prtip_scanner::engines;
use prtip_scanner::plan::{Engine, HostJob, HostOutcome};
use prtip_scanner::stages::{Emit, Stages};
use prtip_scanner::sys::names;
use std::io::IsTerminal;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// One scan, from validated settings to closed outputs.
pub(crate) fn scan(settings: &Settings, command_line: String) -> Result<Outcome, Failure> {
    if let Some(n) = &settings.notice {
        eprintln!("prtip: {n}");
    }
    let resolver = |name: &str| names::forward(name);
    let expansion = memprof::phase(Phase::TargetExpansion);
    let targets = inputs::target_list(settings)?;
    let excludes = inputs::exclude_set(settings, &resolver)?;
    drop(expansion);
    let linked = inputs::through_link(settings, &targets)?;
    let settings = linked.as_ref().unwrap_or(settings);
    let loading = memprof::phase(Phase::DatabaseLoad);
    let dbs = Databases::load(settings)?;
    let probe_db = parse_probes(&dbs)?;
    drop(loading);
    let stop = StopFlag::new();
    let scripts = crate::scripts::open(settings, &stop).map_err(|e| match e {
        crate::scripts::OpenError::Usage(m) => usage(m),
        crate::scripts::OpenError::Failed(m) => Failure::Scan(m),
    })?;
    let _panics = panics::watch(&stop);
    let stdout = Stdout::new(stop.clone());
    // Watched from before the first output is written, so a signal at any
    // point of the scan still completes every file.
    let interrupts = InterruptWatcher::start(stop.clone())
        .map_err(|e| Failure::Scan(format!("cannot watch for signals: {e}")))?;
    let mut jobs = inputs::host_jobs(&targets, &excludes, &resolver).peekable();
    let first = jobs.peek().map(|j| j.addr);
    let ctx = Ctx {
        settings,
        dbs: &dbs,
        probe_db: &probe_db,
        stop: &stop,
        total_hosts: targets.count().unwrap_or(0),
    };
    let mut running = Running::open(&ctx, first, &stdout)?;
    // Every socket and file the scan needs is open: give up every right.
    // Threads started from here on inherit nothing.
    prtip_scanner::sys::privs::drop_all()
        .map_err(|e| Failure::Scan(format!("cannot drop privileges: {e}")))?;
    let info = configs::run_info(settings, command_line, &dbs.ports);
    outputs::begin(&mut running.sinks, &info)?;
    prtip_scanner::inject::stuck_point();
    let scanned = running.drive(&ctx, &info, &mut jobs, scripts.as_ref());
    running.close(scanned, scripts, &ctx, &stdout, &interrupts)
}

/// nmap-service-probes parsed (with `-sV`); its warnings are printed once.
fn parse_probes(dbs: &Databases) -> Result<Option<ServiceDb<'_>>, Failure> {
    let probe_db = dbs
        .probes
        .as_ref()
        .map(|p| p.parse())
        .transpose()
        .map_err(failure)?;
    for w in probe_db.iter().flat_map(|db| db.warnings()) {
        eprintln!("prtip: warning: {w}");
    }
    Ok(probe_db)
}

/// What every part of a running scan reads.
struct Ctx<'a> {
    settings: &'a Settings,
    dbs: &'a Databases,
    probe_db: &'a Option<ServiceDb<'a>>,
    stop: &'a StopFlag,
    total_hosts: u64,
}

/// What a running scan holds open. [`Running::close`] takes it apart in
/// the order the outputs need.
struct Running<'a> {
    stages: Stages<'a>,
    engine: Arc<dyn Engine>,
    watch: Watch,
    sinks: Sinks,
    db_health: DbHealth,
    /// `--packet-trace`: kept until the very end, after the engine.
    trace: Option<prtip_scanner::trace::Installed>,
}

/// What driving the engine and the stages left behind.
struct Scanned {
    tally: Tally,
    started: Instant,
    result: Result<(), String>,
}

impl<'a> Running<'a> {
    fn open(ctx: &Ctx<'a>, first: Option<IpAddr>, stdout: &Stdout) -> Result<Self, Failure> {
        let settings = ctx.settings;
        let engine_cfg = configs::engine(settings, &ctx.dbs.ports).map_err(Failure::Scan)?;
        // Installed before the engine opens its sockets, which it wraps.
        let trace = settings
            .watch
            .packet_trace
            .then(|| prtip_scanner::trace::install(Box::new(std::io::stdout())));
        let engine = engines::open(engine_cfg, first, ctx.stop.clone()).map_err(failure)?;
        let stages_cfg = configs::stages(
            settings,
            ctx.probe_db,
            &ctx.dbs.names,
            &ctx.dbs.ports.tcp,
            ctx.total_hosts,
            ctx.stop,
        )
        .map_err(Failure::Scan)?;
        let stages = Stages::open(stages_cfg).map_err(failure)?;
        // Opened only once the sockets and routes are set up, so a scan that
        // cannot start leaves the files of an earlier run as they were.
        let watch = Watch::open(&settings.watch).map_err(usage)?;
        let mut sinks = {
            let _output = memprof::phase(Phase::Output);
            open_outputs(&settings.outputs, stdout).map_err(usage)?
        };
        let db_health = DbHealth::default();
        if let Some(path) = &settings.db {
            let meta = prtip_store::ScanMeta {
                seed: settings.seed,
                shard: settings.shard,
            };
            sinks.push(Box::new(DbSink::open(path, meta, db_health.clone())));
        }
        Ok(Running {
            stages,
            engine,
            watch,
            sinks,
            db_health,
            trace,
        })
    }

    /// Runs the engine over `jobs`, every host through the stages and the
    /// scripts, and out to every output as it completes.
    fn drive(
        &mut self,
        ctx: &Ctx<'_>,
        info: &RunInfo,
        jobs: &mut dyn Iterator<Item = HostJob>,
        scripts: Option<&Scripts>,
    ) -> Scanned {
        let started = Instant::now();
        let progress = Progress::new(
            std::io::stderr().is_terminal(),
            ctx.total_hosts.saturating_mul(info.ports_per_host().max(1)),
        );
        let counter = Arc::clone(&self.engine);
        let ticker = progress.ticker(Arc::new(move || counter.probes_sent()));
        let watch = &mut self.watch;
        watch.start(
            &self.engine,
            ctx.settings,
            ctx.total_hosts,
            info.ports_per_host(),
            progress.printer(),
        );
        let plan = configs::plan(ctx.settings, &ctx.dbs.ports);
        let mut tally = Tally::default();
        let sinks = &mut self.sinks;
        let mut emit = |outcome: HostOutcome| match outcome {
            HostOutcome::Done(mut host) => {
                crate::scripts::run(scripts, &mut host);
                watch.host_detected(&host);
                emit_host(host, ctx.settings, sinks, &progress)
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
        let engine = &self.engine;
        let result = self
            .stages
            .drive(
                |submit| engine.run(jobs, plan, &mut |o| on_host(o, submit)),
                &mut emit,
            )
            .map_err(|e| e.to_string());
        self.watch
            .scanned(result.as_ref().err().map(String::as_str));
        drop(ticker);
        progress.finish();
        Scanned {
            tally,
            started,
            result,
        }
    }

    /// Tears the scan down, then completes the event log and every output,
    /// and says how the run ends.
    fn close(
        self,
        scanned: Scanned,
        scripts: Option<Scripts>,
        ctx: &Ctx<'_>,
        stdout: &Stdout,
        interrupts: &InterruptWatcher,
    ) -> Result<Outcome, Failure> {
        let Running {
            stages,
            engine,
            watch,
            sinks,
            db_health,
            trace,
        } = self;
        {
            // Shuts the engine's runtime down, so no task or socket outlives the scan.
            let _teardown = memprof::phase(Phase::Teardown);
            drop(stages);
            drop(engine);
            drop(scripts);
        }
        let stats = scanned.tally.stats(scanned.started, ctx.stop.is_stopped());
        let logged = watch.finish(&stats);
        let outcome = outputs::finish(sinks, &stats, scanned.result, ctx.settings)?;
        logged.map_err(|e| Failure::Scan(e.to_string()))?;
        drop(trace);
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
}
