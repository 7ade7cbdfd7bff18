//! Watching a scan while it runs: the event log (`--event-log`) and nmap's
//! status lines (`--stats-every`). Both read what the scan already counts
//! or publishes; neither touches the probe loops.

pub mod eventlog;
pub mod keys;
pub mod stats;

use crate::cli::{Args, UsageError};
use prtip_core::result::{HostResult, HostStatus, RunStats};
use prtip_scanner::events::{Event, Events};
use prtip_scanner::plan::Engine;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// `--event-log` and `--stats-every`, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchSettings {
    pub event_log: Option<PathBuf>,
    pub stats_every: Option<Duration>,
    /// `--packet-trace`.
    pub packet_trace: bool,
}

impl WatchSettings {
    pub fn from_args(args: &Args) -> Result<WatchSettings, UsageError> {
        let stats_every = match &args.stats_every {
            None => None,
            // As in nmap, 0 prints no status lines.
            Some(v) => {
                Some(crate::settings::parse_time("--stats-every", v)?).filter(|d| !d.is_zero())
            }
        };
        match args.event_log.as_ref().map(|p| p.as_os_str()) {
            Some(p) if p.is_empty() => {
                return Err(UsageError(
                    "invalid --event-log \"\": expected a file name".into(),
                ))
            }
            Some(p) if p == "-" => {
                return Err(UsageError(
                    "invalid --event-log -: standard output carries the results; give a file name"
                        .into(),
                ))
            }
            _ => {}
        }
        Ok(WatchSettings {
            event_log: args.event_log.clone(),
            stats_every,
            packet_trace: args.packet_trace,
        })
    }
}

/// The phase the event log names for the port scan and its stages.
const PORT_SCAN: &str = "port scan";

/// Everything watching one scan: the event log's stream, the hosts counted
/// for the status lines, and the status thread.
#[derive(Debug, Default)]
pub struct Watch {
    log: Option<eventlog::EventLog>,
    events: Events,
    counts: Arc<stats::HostCounts>,
    timer: Option<stats::StatsTimer>,
    keys: Option<keys::KeyWatch>,
}

impl Watch {
    /// Opens the event log (before the scan gives up its rights).
    pub fn open(settings: &WatchSettings) -> std::io::Result<Watch> {
        let log = settings
            .event_log
            .as_deref()
            .map(eventlog::EventLog::open)
            .transpose()?;
        let events = log.as_ref().map(|l| l.events().clone()).unwrap_or_default();
        Ok(Watch {
            log,
            events,
            ..Watch::default()
        })
    }

    /// The scan starts: the engine publishes from now on, the first
    /// events are written and the status threads start (a status thread
    /// that cannot start is a warning: the outputs have begun).
    pub fn start(
        &mut self,
        engine: &Arc<dyn Engine>,
        settings: &crate::settings::Settings,
        hosts: u64,
        ports: u64,
        print: Arc<dyn Fn(&str) + Send + Sync>,
    ) {
        let scan = engine.scan_type();
        engine.publish_to(&self.events);
        self.events
            .publish_result(|| Event::ScanStart { scan, hosts, ports });
        self.events
            .publish_result(|| Event::PhaseStart { phase: PORT_SCAN });
        let counter = Arc::clone(engine);
        let src = Arc::new(stats::Source {
            scan,
            hosts,
            probes: hosts.saturating_mul(ports.max(1)),
            sent: Arc::new(move || counter.probes_sent()),
            counts: Arc::clone(&self.counts),
            all_up: settings.no_ping,
            print: Arc::clone(&print),
            started: std::time::Instant::now(),
        });
        self.keys = keys::KeyWatch::start(Arc::clone(&src));
        if let Some(every) = settings.watch.stats_every {
            match stats::StatsTimer::start(every, src) {
                Ok(timer) => self.timer = Some(timer),
                Err(e) => {
                    let message = format!("no --stats-every lines: cannot start their thread: {e}");
                    print(&format!("prtip: warning: {message}\n"));
                    self.events.publish_result(|| Event::Warning { message });
                }
            }
        }
    }

    /// A host as the engine reported it.
    pub fn host_scanned(&self, host: &HostResult) {
        self.counts.count(host.status == HostStatus::Up);
        self.events.host_scanned(host);
    }

    /// A host after the stages, as the outputs get it.
    pub fn host_detected(&self, host: &HostResult) {
        self.events.host_detected(host);
    }

    /// A host whose `--host-timeout` ran out, in the port scan
    /// (`in_scan`: it counts as a completed host, up, as nmap counts it)
    /// or in a later stage (counted when the engine reported it).
    pub fn host_timed_out(&self, addr: std::net::IpAddr, in_scan: bool) {
        if in_scan {
            self.counts.count(true);
        }
        self.events.publish_result(|| Event::HostTimeout { addr });
    }

    /// The port scan and its stages are over (or stopped).
    pub fn scanned(&mut self, failure: Option<&str>) {
        self.timer = None;
        self.keys = None;
        if let Some(message) = failure {
            self.events.publish_result(|| Event::Error {
                message: message.to_string(),
            });
        }
        self.events
            .publish_result(|| Event::PhaseEnd { phase: PORT_SCAN });
    }

    /// Completes the event log with the scan's summary line.
    pub fn finish(mut self, stats: &RunStats) -> std::io::Result<()> {
        self.timer = None;
        self.keys = None;
        match self.log.take() {
            Some(log) => log.finish(Event::ScanEnd {
                elapsed: stats.elapsed,
                hosts_up: stats.hosts_up,
                hosts_down: stats.hosts_down,
                interrupted: stats.interrupted,
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(line: &str) -> Result<WatchSettings, UsageError> {
        let argv = std::iter::once("prtip")
            .chain(line.split(' '))
            .map(std::ffi::OsString::from)
            .collect::<Vec<_>>();
        WatchSettings::from_args(&crate::cli::parse(argv).expect("parses"))
    }

    #[test]
    fn intervals_and_files_are_checked() {
        let w = watch("--stats-every 5s --event-log ev.jsonl 127.0.0.1").expect("valid");
        assert_eq!(w.stats_every, Some(Duration::from_secs(5)));
        assert_eq!(w.event_log, Some(PathBuf::from("ev.jsonl")));
        assert_eq!(
            watch("--stats-every 250ms 127.0.0.1")
                .expect("valid")
                .stats_every,
            Some(Duration::from_millis(250))
        );
        assert_eq!(watch("127.0.0.1").expect("valid"), WatchSettings::default());
        assert_eq!(
            watch("--stats-every 0 127.0.0.1")
                .expect("valid")
                .stats_every,
            None
        );
        let e = watch("--event-log - 127.0.0.1").expect_err("stdout");
        assert!(e.0.starts_with("invalid --event-log -: "), "{}", e.0);
        let e = watch("--stats-every -5 127.0.0.1").expect_err("negative");
        assert!(e.0.starts_with("--stats-every: "), "{}", e.0);
    }
}
