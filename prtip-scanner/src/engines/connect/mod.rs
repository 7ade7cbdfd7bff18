//! TCP connect scan (`-sT`) and unprivileged host discovery, on tokio.
//!
//! Each host's ports are probed by a few long-lived worker tasks that pull
//! ports from a shared cursor (workers.rs). Every worker holds one permit
//! of a global socket semaphore, so the number of open descriptors never
//! exceeds the budget derived from `RLIMIT_NOFILE`. Retransmission follows
//! nmap: a port that stays silent is tried again only as often as retries
//! have proven useful on that host (one retry at first), capped by
//! `--max-retries`.

mod probe;
mod workers;

pub use probe::SocketOptions;

use crate::cancel::StopFlag;
use crate::error::ScanError;
use crate::pacer::Pacer;
use crate::plan::{Engine, HostJob, HostOutcome, OnHost, ScanPlan};
use crate::rtt::RttEstimator;
use futures_util::stream::{self, StreamExt};
use memprof::Phase;
use probe::{Attempt, Started};
use prtip_core::config::Timing;
use prtip_core::ports::PortList;
use prtip_core::result::{
    HostResult, HostStatus, PortResult, PortState, PortTable, PortTableBuilder, Protocol, Reason,
};
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Ports probed on discovery, as nmap's unprivileged ping does.
pub const DISCOVERY_PORTS: [u16; 2] = [80, 443];

/// How long a local shortage may persist before the scan gives up.
const RESOURCE_RETRY_LIMIT: u32 = 500;
const RESOURCE_BACKOFF: Duration = Duration::from_millis(10);

/// Settings of a connect scan.
#[derive(Debug, Clone)]
pub struct ConnectConfig {
    pub timing: Timing,
    pub socket: SocketOptions,
    /// Probes in flight across all hosts.
    pub parallelism: usize,
    /// Ports probed on every host.
    pub ports: Arc<PortList>,
}

/// Shared state of a connect scan.
#[derive(Debug)]
pub struct ConnectScanner {
    cfg: ConnectConfig,
    sockets: Arc<Semaphore>,
    pacer: Option<Pacer>,
    stop: StopFlag,
    probes: AtomicU64,
}

/// Per-host bookkeeping shared by that host's probes.
#[derive(Debug)]
struct HostCtx {
    addr: IpAddr,
    /// Interface of a link-local IPv6 target.
    scope_id: u32,
    rtt: RttEstimator,
    max_useful_retry: AtomicU32,
}

impl ConnectScanner {
    pub fn new(cfg: ConnectConfig, stop: StopFlag) -> Arc<Self> {
        let parallelism = cfg.parallelism.max(1);
        let pacer = Pacer::new(cfg.timing.max_rate, cfg.timing.scan_delay);
        Arc::new(ConnectScanner {
            sockets: Arc::new(Semaphore::new(parallelism)),
            pacer,
            stop,
            probes: AtomicU64::new(0),
            cfg,
        })
    }

    /// Connect attempts made so far (for progress display).
    pub fn probes_sent(&self) -> u64 {
        self.probes.load(Ordering::Relaxed)
    }

    fn host_ctx(&self, job: &HostJob) -> Arc<HostCtx> {
        Arc::new(HostCtx {
            addr: job.addr,
            scope_id: job.scope_id,
            rtt: RttEstimator::new(&self.cfg.timing),
            max_useful_retry: AtomicU32::new(0),
        })
    }

    /// Probe one port until it answers or its retries are spent.
    /// `None` means the scan was stopped first. Each attempt that has to
    /// wait for the network adds a permit to `waiting`, if given.
    async fn probe_port(
        &self,
        host: &HostCtx,
        port: u16,
        waiting: Option<&Semaphore>,
    ) -> Result<Option<PortResult>, ScanError> {
        let target = match host.addr {
            IpAddr::V6(a) => SocketAddr::V6(SocketAddrV6::new(a, port, 0, host.scope_id)),
            a @ IpAddr::V4(_) => SocketAddr::new(a, port),
        };
        let mut tries: u32 = 0;
        let mut shortages: u32 = 0;
        loop {
            if self.stop.is_stopped() {
                return Ok(None);
            }
            if let Some(p) = &self.pacer {
                p.wait().await;
            }
            self.probes.fetch_add(1, Ordering::Relaxed);
            let attempt = match probe::start(target, &self.cfg.socket)? {
                Started::Done(a) => a,
                Started::Pending(p) => {
                    if let Some(w) = waiting {
                        w.add_permits(1);
                    }
                    p.wait(host.rtt.timeout()).await
                }
            };
            if crate::trace::is_on() {
                trace_attempt(target, &attempt);
            }
            match attempt {
                Attempt::Answered { state, reason, rtt } => {
                    // Karn's rule: a retransmitted probe's RTT is ambiguous.
                    if tries == 0 {
                        host.rtt.sample(rtt);
                    }
                    host.max_useful_retry.fetch_max(tries, Ordering::Relaxed);
                    return Ok(Some(PortResult::new(port, Protocol::Tcp, state, reason)));
                }
                Attempt::Silent => {
                    let allowed = self
                        .cfg
                        .timing
                        .max_retries
                        .min(host.max_useful_retry.load(Ordering::Relaxed) + 1);
                    if tries >= allowed {
                        return Ok(Some(PortResult::new(
                            port,
                            Protocol::Tcp,
                            PortState::Filtered,
                            Reason::NoResponse,
                        )));
                    }
                    tries += 1;
                }
                Attempt::Resource(e) => {
                    shortages += 1;
                    if shortages > RESOURCE_RETRY_LIMIT {
                        return Err(ScanError::Resources(e));
                    }
                    tokio::time::sleep(RESOURCE_BACKOFF).await;
                }
            }
        }
    }

    /// Unprivileged discovery: connect to 80 and 443; an answer of either
    /// kind (accepted or refused) proves the host up.
    async fn discover(
        self: &Arc<Self>,
        host: &Arc<HostCtx>,
    ) -> Result<Option<(HostStatus, Reason)>, ScanError> {
        let mut set = JoinSet::new();
        for port in DISCOVERY_PORTS {
            let permit = Arc::clone(&self.sockets).acquire_owned().await;
            let (me, h) = (Arc::clone(self), Arc::clone(host));
            set.spawn(memprof::in_phase(Phase::Sending, async move {
                let _permit = permit;
                me.probe_port(&h, port, None).await
            }));
        }
        let mut down_reason = Reason::NoResponse;
        while let Some(joined) = set.join_next().await {
            let Ok(result) = joined else { continue };
            match result? {
                None => return Ok(None),
                Some(p) => match p.state {
                    PortState::Open | PortState::Closed => {
                        return Ok(Some((HostStatus::Up, p.reason)));
                    }
                    _ if p.reason != Reason::NoResponse => down_reason = p.reason,
                    _ => {}
                },
            }
        }
        Ok(Some((HostStatus::Down, down_reason)))
    }

    /// Discovery and port scan of one host, bounded by `--host-timeout`.
    async fn scan_host(
        self: Arc<Self>,
        job: HostJob,
        plan: ScanPlan,
    ) -> Result<Option<HostOutcome>, ScanError> {
        crate::inject::panic_point(crate::inject::place::ENGINE);
        let start = SystemTime::now();
        let host = self.host_ctx(&job);
        let work = async {
            let (status, reason) = if !plan.discovery {
                (HostStatus::Up, Reason::UserSet)
            } else if job.addr.is_loopback() {
                // nmap does not ping its own machine; the kernel's answer is certain.
                (HostStatus::Up, Reason::Localhost)
            } else {
                match self.discover(&host).await? {
                    Some(found) => found,
                    None => return Ok(None),
                }
            };
            let mut table = PortTable::default();
            if status == HostStatus::Up && plan.port_scan {
                let builder = PortTableBuilder::new(plan.max_per_state, plan.open_only);
                match self.scan_ports(&host, builder).await? {
                    Some(t) => table = t,
                    None => return Ok(None),
                }
            }
            Ok(Some((status, reason, table)))
        };
        let done = match self.cfg.timing.host_timeout {
            Some(limit) => match tokio::time::timeout(limit, work).await {
                Ok(r) => r?,
                Err(_) => return Ok(Some(HostOutcome::TimedOut(job))),
            },
            None => work.await?,
        };
        Ok(done.map(|(status, reason, ports)| {
            HostOutcome::Done(HostResult {
                addr: job.addr,
                hostname: job.hostname,
                status,
                reason,
                latency: host.rtt.srtt(),
                start,
                end: SystemTime::now(),
                ports,
                os: None,
                scripts: None,
            })
        }))
    }

    /// Scan `jobs` in order, keeping `hostgroup` hosts in flight, and hand
    /// each finished host to `on_host` in target order. Returns when all
    /// hosts are done or the stop flag is raised.
    pub async fn run<I, F>(
        self: &Arc<Self>,
        jobs: I,
        plan: ScanPlan,
        hostgroup: usize,
        mut on_host: F,
    ) -> Result<(), ScanError>
    where
        I: Iterator<Item = HostJob>,
        F: FnMut(HostOutcome) -> std::io::Result<()>,
    {
        let mut results = stream::iter(jobs)
            .map(|job| {
                let me = Arc::clone(self);
                // Spawned so hosts of the group progress on all worker threads.
                let handle =
                    tokio::spawn(memprof::in_phase(Phase::Sending, me.scan_host(job, plan)));
                async move { handle.await.ok().transpose().map(Option::flatten) }
            })
            .buffered(hostgroup.max(1));
        while let Some(outcome) = results.next().await {
            match outcome {
                Ok(Some(host)) => on_host(host).map_err(ScanError::Output)?,
                Ok(None) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// The connect scan as an [`Engine`]: the scanner and the tokio runtime its
/// probes run on.
#[derive(Debug)]
pub struct ConnectEngine {
    scanner: Arc<ConnectScanner>,
    /// Always `Some` until drop, which shuts it down with a bound.
    runtime: Option<tokio::runtime::Runtime>,
}

impl ConnectEngine {
    pub fn new(cfg: ConnectConfig, stop: StopFlag) -> Result<Self, ScanError> {
        probe::check_options(&cfg.socket)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            // Connecting needs no rights, not even SO_BINDTODEVICE for -e
            // since Linux 5.7 (see sys::privs).
            .on_thread_start(|| {
                let _ = crate::sys::privs::drop_all();
            })
            .build()
            .map_err(ScanError::Runtime)?;
        Ok(ConnectEngine {
            scanner: ConnectScanner::new(cfg, stop),
            runtime: Some(runtime),
        })
    }
}

impl Engine for ConnectEngine {
    fn run(
        &self,
        jobs: &mut dyn Iterator<Item = HostJob>,
        plan: ScanPlan,
        on_host: &mut OnHost<'_>,
    ) -> Result<(), ScanError> {
        let per_host = if plan.port_scan {
            self.scanner.cfg.ports.len()
        } else {
            0
        };
        let hostgroup = hostgroup_size(self.scanner.cfg.parallelism, per_host);
        let Some(rt) = &self.runtime else {
            return Ok(());
        };
        rt.block_on(self.scanner.run(jobs, plan, hostgroup, on_host))
    }

    fn probes_sent(&self) -> u64 {
        self.scanner.probes_sent()
    }

    fn scan_type(&self) -> &'static str {
        "connect"
    }
}

impl Drop for ConnectEngine {
    fn drop(&mut self) {
        // Bounded, so no task or socket outlives the scan by more than this.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// Hosts to keep in flight: enough to fill the probe window when hosts have
/// few ports, at least two so one host's slow tail overlaps the next host.
pub fn hostgroup_size(parallelism: usize, ports_per_host: usize) -> usize {
    let per_host = ports_per_host.max(1);
    (parallelism / per_host).clamp(2, 256)
}

/// How a connect attempt ended, as `--packet-trace` prints it: the error
/// the answer's reason stands for. The attempt keeps the reason, not the
/// error, so that no probe in flight grows for the trace. Silence prints
/// nothing, as in nmap.
fn trace_attempt(target: SocketAddr, attempt: &Attempt) {
    let Attempt::Answered { state, reason, .. } = attempt else {
        return;
    };
    let errno = match (state, reason) {
        (PortState::Open, _) => None,
        (_, Reason::ConnRefused) => Some(libc::ECONNREFUSED),
        (_, Reason::HostUnreach) => Some(libc::EHOSTUNREACH),
        (_, Reason::NetUnreach) => Some(libc::ENETUNREACH),
        (_, Reason::AdminProhibited) => Some(libc::EACCES),
        _ => return,
    };
    let result = errno.map_or(Ok(()), |e| Err(std::io::Error::from_raw_os_error(e)));
    crate::trace::connect(target, &result);
}

#[cfg(test)]
mod tests {
    use super::*;
    use prtip_core::config::TimingTemplate;

    #[test]
    fn hostgroup_bounds() {
        assert_eq!(hostgroup_size(1024, 65535), 2);
        assert_eq!(hostgroup_size(1024, 1000), 2);
        assert_eq!(hostgroup_size(1024, 3), 256);
        assert_eq!(hostgroup_size(1024, 100), 10);
    }

    fn scanner(parallelism: usize) -> Arc<ConnectScanner> {
        scanner_of(parallelism, PortList::new())
    }

    fn scanner_of(parallelism: usize, ports: PortList) -> Arc<ConnectScanner> {
        let mut timing = TimingTemplate::Aggressive.timing();
        timing.initial_rtt_timeout = Duration::from_millis(200);
        ConnectScanner::new(
            ConnectConfig {
                timing,
                socket: SocketOptions::default(),
                parallelism,
                ports: Arc::new(ports),
            },
            StopFlag::new(),
        )
    }

    fn plan() -> ScanPlan {
        ScanPlan {
            discovery: false,
            port_scan: true,
            max_per_state: 25,
            open_only: false,
        }
    }

    fn loopback() -> HostJob {
        HostJob {
            addr: IpAddr::from([127, 0, 0, 1]),
            hostname: None,
            scope_id: 0,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn finds_open_and_closed_ports() {
        let listeners: Vec<std::net::TcpListener> = (0..3)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
            .collect();
        let open: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().expect("addr").port())
            .collect();
        let closed: Vec<u16> = (0..3)
            .map(|_| {
                std::net::TcpListener::bind("127.0.0.1:0")
                    .expect("bind")
                    .local_addr()
                    .expect("addr")
                    .port()
            })
            .collect();
        let ports: PortList = open.iter().chain(closed.iter()).copied().collect();
        let s = scanner_of(4, ports);
        let mut hosts = Vec::new();
        s.run(std::iter::once(loopback()), plan(), 2, |h| {
            hosts.push(h);
            Ok(())
        })
        .await
        .expect("scan");
        assert_eq!(hosts.len(), 1);
        let HostOutcome::Done(h) = &hosts[0] else {
            panic!("host timed out")
        };
        let mut got_open: Vec<u16> = h
            .ports
            .shown
            .iter()
            .filter(|p| p.state == PortState::Open)
            .map(|p| p.port)
            .collect();
        let mut got_closed: Vec<u16> = h
            .ports
            .shown
            .iter()
            .filter(|p| p.state == PortState::Closed)
            .map(|p| p.port)
            .collect();
        let (mut want_open, mut want_closed) = (open.clone(), closed.clone());
        for v in [
            &mut got_open,
            &mut got_closed,
            &mut want_open,
            &mut want_closed,
        ] {
            v.sort_unstable();
        }
        assert_eq!(got_open, want_open);
        assert_eq!(got_closed, want_closed);
        assert_eq!(h.reason, Reason::UserSet);
        assert!(h.latency.is_some());
        drop(listeners);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stop_flag_ends_the_scan_without_a_result() {
        let s = scanner_of(2, PortList::from_ranges([(1, 100)]));
        s.stop.stop();
        let mut n = 0;
        s.run(std::iter::once(loopback()), plan(), 2, |_| {
            n += 1;
            Ok(())
        })
        .await
        .expect("scan");
        assert_eq!(n, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loopback_is_up_without_pinging() {
        let s = scanner(4);
        let mut p = plan();
        p.discovery = true;
        p.port_scan = false;
        let mut hosts = Vec::new();
        s.run(std::iter::once(loopback()), p, 2, |h| {
            hosts.push(h);
            Ok(())
        })
        .await
        .expect("scan");
        let HostOutcome::Done(h) = &hosts[0] else {
            panic!("timed out")
        };
        assert_eq!(h.status, HostStatus::Up);
        assert_eq!(h.reason, Reason::Localhost);
        assert_eq!(s.probes_sent(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn discovery_probes_answer_from_loopback() {
        // Whatever listens on 80/443 here, an accept or a refusal both prove the host up.
        let s = scanner(4);
        let host = s.host_ctx(&loopback());
        let found = s.discover(&host).await.expect("discover");
        let (status, reason) = found.expect("not stopped");
        assert_eq!(status, HostStatus::Up);
        assert!(matches!(reason, Reason::SynAck | Reason::ConnRefused));
        assert!(s.probes_sent() >= 1);
    }
}
