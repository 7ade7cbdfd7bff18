//! Starting and completing the outputs, and counting hosts on the way.

use crate::app::{Failure, Outcome, EXIT_INTERRUPTED};
use crate::output::MultiSink as Sinks;
use crate::progress::Progress;
use crate::settings::Settings;
use memprof::Phase;
use prtip_core::result::{HostResult, HostStatus, ResultSink, RunInfo, RunStats};
use prtip_scanner::plan::{HostJob, HostOutcome};
use prtip_scanner::stages::Emit;
use std::time::{Duration, Instant, SystemTime};

/// Starts every output; on failure, completes the ones that did start.
pub(super) fn begin(sinks: &mut Sinks, info: &RunInfo) -> Result<(), Failure> {
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
pub(super) fn finish(
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
pub(super) struct Tally {
    up: u64,
    down: u64,
}

impl Tally {
    /// Counts one outcome and passes a finished host on to the stages.
    pub(super) fn take(
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

    pub(super) fn stats(&self, started: Instant, interrupted: bool) -> RunStats {
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
pub(super) fn skip_timed_out(job: &HostJob, progress: &Progress) {
    progress.suspend(|| {
        eprintln!("prtip: skipping host {} due to host timeout", job.addr);
    });
}

/// Writes one host to every output, leaving out what `--open` hides.
pub(super) fn emit_host(
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
