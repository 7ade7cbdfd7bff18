//! Work done per host after its port scan, in nmap's order: reverse DNS,
//! `-sV`, `-O`, then service names from nmap-services for ports still
//! unnamed.
//!
//! Engines hand each finished host to [`Stages::drive`]'s submit callback
//! on their own thread. When any stage is enabled the host goes to a small
//! worker pool ([`pool`]), so a slow resolver or a silent service never
//! stalls an engine; results still leave in target order. Each stage
//! switches to its own memprof phase where it starts, so that is the one
//! place to look for its figures.
//!
//! `--host-timeout` counts from the host's start, so it bounds `-sV` and
//! `-O` as well as the port scan: a host whose stages run past it is
//! handed on as [`HostOutcome::TimedOut`], as an engine reports a host
//! that ran out during the scan, and nmap then reports nothing else for it.

pub mod dns;
pub mod os;
pub mod pool;
pub mod version;

use crate::error::ScanError;
use crate::plan::{HostJob, HostOutcome};
use crate::service::VersionScanner;
use dns::ReverseDns;
use os::{OsConfig, OsStage};
pub use pool::Deliver;
use pool::Ordered;
use prtip_core::ports::PortList;
use prtip_core::result::{HostResult, HostStatus, ServiceInfo};
use prtip_core::services::ServiceNames;
use std::io;
use std::time::{Duration, Instant, SystemTime};

/// Hosts processed at once.
pub const WORKERS: usize = 8;

/// Stage workers for a scan of `hosts` targets: a worker costs a runtime
/// and, with -O, raw sockets, so no more of them than there are hosts.
pub fn worker_count(hosts: u64) -> usize {
    WORKERS.min(usize::try_from(hosts.max(1)).unwrap_or(WORKERS))
}

/// Receives each finished host, in target order.
pub type Emit<'a> = dyn FnMut(HostResult) -> io::Result<()> + 'a;

/// Which stages run, and what they need.
#[derive(Debug)]
pub struct StagesConfig<'a> {
    /// Look up names of hosts that are up (false with `-n`).
    pub reverse_dns: bool,
    /// `-sV`.
    pub versions: Option<VersionScanner<'a, 'a>>,
    /// `-O`.
    pub os: Option<OsConfig>,
    /// nmap-services, for naming ports.
    pub names: &'a ServiceNames,
    /// The ports the engine scanned (OS detection picks a closed one).
    pub scanned: &'a PortList,
    /// Targets in the scan: no more workers than this.
    pub hosts: u64,
    /// `--host-timeout`: the most a host may take, port scan and stages
    /// together.
    pub host_timeout: Option<Duration>,
}

/// The per-host stages of one scan.
#[derive(Debug)]
pub struct Stages<'a> {
    cfg: StagesConfig<'a>,
    dns: ReverseDns,
    workers: Vec<Worker>,
}

/// One pool thread's own state: a runtime for `-sV`, raw sockets for `-O`.
#[derive(Debug)]
struct Worker {
    rt: Option<tokio::runtime::Runtime>,
    os: Option<OsStage>,
}

impl<'a> Stages<'a> {
    /// Opens what the enabled stages need (runtimes, raw sockets, the OS
    /// database) for each worker.
    pub fn open(cfg: StagesConfig<'a>) -> Result<Self, ScanError> {
        let pooled = cfg.reverse_dns || cfg.versions.is_some() || cfg.os.is_some();
        let mut workers = Vec::new();
        if pooled {
            // Charged to the stage the workers' runtimes and sockets exist for.
            let _setup = match (&cfg.versions, &cfg.os) {
                (Some(_), _) => Some(memprof::phase(memprof::Phase::ServiceDetection)),
                (None, Some(_)) => Some(memprof::phase(memprof::Phase::OsDetection)),
                (None, None) => None,
            };
            let n = worker_count(cfg.hosts);
            let mut os = match &cfg.os {
                Some(o) => OsStage::open_many(o.clone(), n)?,
                None => Vec::new(),
            }
            .into_iter();
            for _ in 0..n {
                let rt = match cfg.versions {
                    Some(_) => Some(
                        tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .map_err(ScanError::Runtime)?,
                    ),
                    None => None,
                };
                workers.push(Worker { rt, os: os.next() });
            }
        }
        Ok(Stages {
            cfg,
            dns: ReverseDns::new(),
            workers,
        })
    }

    /// Runs `scan`, which feeds hosts to the submit callback it is given,
    /// puts every host through the stages and hands it to `emit` in the
    /// order it was submitted.
    pub fn drive(
        &mut self,
        scan: impl FnOnce(&mut Emit<'_>) -> Result<(), ScanError>,
        emit: &mut Deliver<'_>,
    ) -> Result<(), ScanError> {
        let names = self.cfg.names;
        let mut named = |outcome: HostOutcome| match outcome {
            HostOutcome::Done(mut host) => {
                name_ports(&mut host, names);
                emit(HostOutcome::Done(host))
            }
            timed_out => emit(timed_out),
        };
        if self.workers.is_empty() {
            return scan(&mut |host| named(HostOutcome::Done(host)));
        }
        let workers = std::mem::take(&mut self.workers);
        let this = &*self;
        let process = |w: &mut Worker, host: HostResult| this.process(w, host);
        std::thread::scope(|scope| {
            let mut pool = Ordered::start(scope, workers, &process);
            let scanned = scan(&mut |host| pool.submit(host, &mut named));
            let finished = pool.finish(&mut named).map_err(ScanError::Output);
            scanned.and(finished)
        })
    }

    /// Every enabled stage, in order, for one host.
    fn process(&self, w: &mut Worker, mut host: HostResult) -> HostOutcome {
        if host.status == HostStatus::Down {
            return HostOutcome::Done(host);
        }
        if self.cfg.reverse_dns && host.hostname.is_none() {
            let _phase = memprof::phase(memprof::Phase::ReverseDns);
            host.hostname = self.dns.lookup(host.addr, dns::REVERSE_TIMEOUT);
        }
        // A listed host (-sL) gets its name and nothing else.
        if host.status != HostStatus::Up {
            return HostOutcome::Done(host);
        }
        let deadline = self.deadline(&host);
        if let (Some(scanner), Some(rt)) = (&self.cfg.versions, &w.rt) {
            let _phase = memprof::phase(memprof::Phase::ServiceDetection);
            if !version::detect_versions(scanner, rt, &mut host, self.cfg.names, deadline) {
                return timed_out(host);
            }
        }
        if let Some(os) = &w.os {
            // -O is not started without time left, its probing stops at the
            // deadline, and a host it took past the limit is dropped.
            if passed(deadline) {
                return timed_out(host);
            }
            host.os = os.detect(&host, self.cfg.scanned, deadline);
            if passed(deadline) {
                return timed_out(host);
            }
        }
        HostOutcome::Done(host)
    }

    /// When `--host-timeout` runs out for `host`, counted from its start.
    fn deadline(&self, host: &HostResult) -> Option<Instant> {
        let limit = self.cfg.host_timeout?;
        // A clock set back reads as no time spent, never as a panic.
        let spent = SystemTime::now()
            .duration_since(host.start)
            .unwrap_or_default();
        Some(Instant::now() + limit.saturating_sub(spent))
    }
}

fn passed(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// A host reported as nmap reports one whose `--host-timeout` ran out.
fn timed_out(host: HostResult) -> HostOutcome {
    HostOutcome::TimedOut(HostJob {
        addr: host.addr,
        hostname: host.hostname,
        scope_id: 0,
    })
}

/// Names ports that no stage named, from nmap-services, as nmap's table does.
fn name_ports(host: &mut HostResult, names: &ServiceNames) {
    for p in &mut host.ports.shown {
        if p.service.is_none() {
            p.service = names
                .name(p.port, p.protocol)
                .map(|n| Box::new(ServiceInfo::from_table(n)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prtip_core::result::{PortResult, PortState, PortTable, Protocol, Reason};
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::SystemTime;

    fn host(last: u8, status: HostStatus) -> HostResult {
        HostResult {
            addr: IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)),
            hostname: None,
            status,
            reason: Reason::UserSet,
            latency: None,
            start: SystemTime::UNIX_EPOCH,
            end: SystemTime::UNIX_EPOCH,
            ports: PortTable {
                shown: vec![PortResult::new(
                    22,
                    Protocol::Tcp,
                    PortState::Open,
                    Reason::SynAck,
                )],
                ..PortTable::default()
            },
            os: None,
            scripts: None,
        }
    }

    fn run(reverse_dns: bool, hosts: Vec<HostResult>) -> Vec<HostResult> {
        let ports = PortList::from_ranges([(22, 22)]);
        let names = ServiceNames::builtin(Protocol::Tcp, &ports);
        let mut stages = Stages::open(StagesConfig {
            reverse_dns,
            versions: None,
            os: None,
            names: &names,
            scanned: &ports,
            hosts: hosts.len() as u64,
            host_timeout: None,
        })
        .expect("stages");
        let mut out = Vec::new();
        stages
            .drive(
                |submit| {
                    for h in hosts {
                        submit(h).map_err(ScanError::Output)?;
                    }
                    Ok(())
                },
                &mut |o| {
                    if let HostOutcome::Done(h) = o {
                        out.push(h);
                    }
                    Ok(())
                },
            )
            .expect("drive");
        out
    }

    #[test]
    fn reverse_dns_runs_on_the_pool_and_order_is_kept() {
        let hosts: Vec<HostResult> = (1..=12)
            .map(|n| {
                host(
                    n,
                    if n == 5 {
                        HostStatus::Down
                    } else {
                        HostStatus::Up
                    },
                )
            })
            .collect();
        let want: Vec<IpAddr> = hosts.iter().map(|h| h.addr).collect();
        let out = run(true, hosts);
        assert_eq!(out.iter().map(|h| h.addr).collect::<Vec<_>>(), want);
        // /etc/hosts names 127.0.0.1 on every Debian system.
        assert!(out[0].hostname.as_deref().is_some_and(|n| !n.is_empty()));
        assert_eq!(out[4].hostname, None, "down hosts are not looked up");
        let ssh = out[0].ports.shown[0]
            .service
            .as_deref()
            .map(|s| s.name.as_str());
        assert_eq!(ssh, Some("ssh"), "ports are named after the stages");
    }

    #[test]
    fn without_stages_hosts_pass_straight_through_with_names() {
        let out = run(false, vec![host(1, HostStatus::Up)]);
        assert_eq!(out[0].hostname, None);
        let ssh = out[0].ports.shown[0]
            .service
            .as_deref()
            .map(|s| s.name.as_str());
        assert_eq!(ssh, Some("ssh"));
    }
}
