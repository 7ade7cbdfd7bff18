//! Validated settings turned into what the scanner takes: the engine's
//! config, the scan plan, the stages' config and the run's description.

use crate::settings::{ScanKind, Settings};
use prtip_core::ports::PortList;
use prtip_core::result::{PortTableBuilder, Protocol, RunInfo};
use prtip_core::service_db::ServiceDb;
use prtip_core::services::ServiceNames;
use prtip_scanner::cancel::StopFlag;
use prtip_scanner::engines::connect::ConnectConfig;
use prtip_scanner::engines::syn::SynSetup;
use prtip_scanner::engines::EngineConfig;
use prtip_scanner::plan::ScanPlan;
use prtip_scanner::rlimit;
use prtip_scanner::service::{VersionConfig, VersionScanner};
use prtip_scanner::stages::os::OsConfig;
use prtip_scanner::stages::{worker_count, StagesConfig};
use std::sync::Arc;
use std::time::SystemTime;

/// Probes in flight when the timing template does not restrict it. Loopback
/// and LAN targets answer within microseconds, so this only matters for
/// silent (filtered) ports, where it bounds the time per port group.
const DEFAULT_PARALLELISM: usize = 1024;

/// The engine for `settings`, scanning `ports` on every host.
pub fn engine(settings: &Settings, ports: &Arc<PortList>) -> Result<EngineConfig, String> {
    Ok(match settings.scan {
        ScanKind::Connect => EngineConfig::Connect(ConnectConfig {
            timing: settings.timing,
            socket: settings.socket.clone(),
            parallelism: parallelism(settings, socket_budget()?),
            ports: Arc::clone(ports),
        }),
        ScanKind::Syn => EngineConfig::Syn(SynSetup {
            timing: settings.timing,
            source: settings.socket.source,
            interface: settings.socket.interface.clone(),
            seed: settings.seed,
            shard: settings.shard,
            ports: Arc::clone(ports),
        }),
    })
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

/// What to do with each host.
pub fn plan(settings: &Settings) -> ScanPlan {
    ScanPlan {
        discovery: !settings.no_ping,
        port_scan: !settings.ping_only,
        max_per_state: PortTableBuilder::nmap_threshold(settings.verbose, settings.debug),
        open_only: settings.open_only,
    }
}

/// The stages `settings` enable; `probes` is the parsed probe database
/// when `-sV` was given.
pub fn stages<'a>(
    settings: &Settings,
    probes: &'a Option<ServiceDb<'a>>,
    names: &'a ServiceNames,
    ports: &'a PortList,
    hosts: u64,
    stop: &StopFlag,
) -> Result<StagesConfig<'a>, String> {
    let versions = match (probes, settings.version) {
        (Some(db), Some(v)) => Some(
            VersionScanner::new(
                db,
                VersionConfig {
                    intensity: v.intensity,
                    all_ports: v.all_ports,
                    trace: v.trace,
                    ports_at_once: version_ports_at_once(hosts)?,
                    ..VersionConfig::default()
                },
                stop.clone(),
            )
            .map_err(|e| e.to_string())?,
        ),
        _ => None,
    };
    let os = match (settings.os, &settings.os_db_file) {
        (Some(o), Some(path)) => Some(OsConfig {
            db_path: path.clone(),
            max_tries: o.max_tries,
            limit: o.limit,
            insane_timing: o.insane_timing,
            interface: settings.socket.interface.clone(),
        }),
        _ => None,
    };
    Ok(StagesConfig {
        reverse_dns: !settings.no_dns,
        versions,
        os,
        names,
        scanned: ports,
        hosts,
        host_timeout: settings.timing.host_timeout,
    })
}

/// Ports of one host probed at once by -sV, so that every stage worker's
/// connections (`window` per port) fit the descriptor budget together.
fn version_ports_at_once(hosts: u64) -> Result<usize, String> {
    let defaults = VersionConfig::default();
    let per_port = worker_count(hosts) * defaults.window.max(1);
    Ok((socket_budget()? / per_port).clamp(1, defaults.ports_at_once))
}

/// Sockets the scan may hold open at once, after raising the soft
/// descriptor limit to the hard one.
fn socket_budget() -> Result<usize, String> {
    let soft = rlimit::raise_nofile_limit()
        .map_err(|e| format!("cannot read the open-file limit: {e}"))?;
    Ok(rlimit::socket_budget(soft))
}

/// The run as the outputs describe it before the first host.
pub fn run_info(
    settings: &Settings,
    args: String,
    scan_type: &'static str,
    ports: &PortList,
) -> RunInfo {
    let ports_per_host = if settings.ping_only { 0 } else { ports.len() };
    RunInfo {
        args,
        start: SystemTime::now(),
        scan_type,
        protocol: Protocol::Tcp,
        num_services: u32::try_from(ports_per_host).unwrap_or(u32::MAX),
        services: ports.to_nmap_string(),
        verbose: settings.verbose,
        debug: settings.debug,
        reason: settings.reason,
        port_scan: !settings.ping_only,
        version_scan: settings.version.is_some(),
        os_scan: settings.os.is_some(),
        os_guess: settings.os.is_some_and(|o| o.guess),
    }
}
