//! Validated settings turned into what the scanner takes: the engine's
//! config, the scan plan, the stages' config and the run's description.

use crate::settings::{ScanKind, Settings};
use prtip_core::payloads::PayloadDb;
use prtip_core::ports::PortList;
use prtip_core::result::{PortTableBuilder, Protocol, RunInfo, ScanInfo};
use prtip_core::service_db::ServiceDb;
use prtip_core::services::ServiceNames;
use prtip_scanner::cancel::StopFlag;
use prtip_scanner::engines::connect::ConnectConfig;
use prtip_scanner::engines::syn::SynSetup;
use prtip_scanner::engines::udp::UdpSetup;
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

/// The ports every host gets, per protocol, and what `-sU` sends.
#[derive(Debug, Clone)]
pub struct ScanPorts {
    /// Empty without a TCP scan.
    pub tcp: Arc<PortList>,
    /// Empty without `-sU`.
    pub udp: Arc<PortList>,
    /// nmap-payloads (or prtip's own); `None` without `-sU`.
    pub payloads: Option<Arc<PayloadDb>>,
}

impl ScanPorts {
    /// True when some port is to be scanned.
    pub fn any(&self) -> bool {
        !self.tcp.is_empty() || !self.udp.is_empty()
    }
}

/// The engine for `settings`: the TCP scan, the UDP scan, or both in one
/// engine. A scan whose protocol has no port left is skipped, as nmap does
/// (the warning was printed when the ports were read); with no port at
/// all, a TCP engine runs discovery only (the plan says so).
pub fn engine(settings: &Settings, ports: &ScanPorts) -> Result<EngineConfig, String> {
    if settings.list_only {
        return Ok(EngineConfig::List);
    }
    let udp = match &settings.udp {
        Some(u) if !ports.udp.is_empty() => Some(UdpSetup {
            timing: settings.timing,
            source: settings.socket.source,
            interface: settings.socket.interface.clone(),
            seed: settings.seed,
            ports: Arc::clone(&ports.udp),
            payloads: ports
                .payloads
                .clone()
                .unwrap_or_else(|| Arc::new(PayloadDb::builtin())),
            defeat_icmp_ratelimit: u.defeat_icmp_ratelimit,
            ping: settings.ping.clone().unwrap_or_default(),
            shape: settings.shape,
        }),
        _ => None,
    };
    // -sU alone is privileged (checked in settings), so a SYN engine can
    // run its discovery when no UDP port is left.
    let kind = settings.tcp.unwrap_or(ScanKind::SYN);
    Ok(match udp {
        Some(udp) if settings.tcp.is_some() && !ports.tcp.is_empty() => EngineConfig::Both {
            tcp: Box::new(tcp_engine(settings, kind, &ports.tcp)?),
            udp,
        },
        Some(udp) => EngineConfig::Udp(udp),
        None => tcp_engine(settings, kind, &ports.tcp)?,
    })
}

fn tcp_engine(
    settings: &Settings,
    kind: ScanKind,
    ports: &Arc<PortList>,
) -> Result<EngineConfig, String> {
    Ok(match kind {
        ScanKind::Connect => EngineConfig::Connect(ConnectConfig {
            timing: settings.timing,
            socket: settings.socket.clone(),
            parallelism: parallelism(settings, socket_budget()?),
            ports: Arc::clone(ports),
        }),
        ScanKind::Raw(probe) => EngineConfig::Syn(SynSetup {
            timing: settings.timing,
            source: settings.socket.source,
            interface: settings.socket.interface.clone(),
            seed: settings.seed,
            shard: settings.shard,
            ports: Arc::clone(ports),
            probe,
            ping: settings.ping.clone().unwrap_or_default(),
            shape: settings.shape,
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
pub fn plan(settings: &Settings, ports: &ScanPorts) -> ScanPlan {
    ScanPlan {
        discovery: !settings.no_ping,
        // nmap reports hosts without a port table when no port is left.
        port_scan: !settings.ping_only && ports.any(),
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
                    link_scope: settings
                        .socket
                        .interface
                        .as_deref()
                        .and_then(crate::sys::interface_index)
                        .unwrap_or(0),
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
/// sockets (`window` per port, TCP connections and UDP sockets alike: both
/// protocols' ports share this count) fit the descriptor budget together.
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

/// The run as the outputs describe it before the first host: one
/// `<scaninfo>` per scan requested, in nmap's order (TCP, then UDP), also
/// for a scan skipped for want of ports (nmap lists it with no services).
pub fn run_info(settings: &Settings, args: String, ports: &ScanPorts) -> RunInfo {
    let scan = |scan_type, protocol, list: &PortList| ScanInfo {
        scan_type,
        protocol,
        num_services: u32::try_from(list.len()).unwrap_or(u32::MAX),
        services: list.to_nmap_string(),
        tcp_flags: None,
    };
    let mut scans = Vec::new();
    if !settings.ping_only {
        if let Some(kind) = settings.tcp {
            let mut tcp = scan(kind.nmap_name(), Protocol::Tcp, &ports.tcp);
            tcp.tcp_flags = settings.scanflags;
            scans.push(tcp);
        }
        if settings.udp.is_some() {
            scans.push(scan("udp", Protocol::Udp, &ports.udp));
        }
    }
    RunInfo {
        args,
        start: SystemTime::now(),
        scans,
        verbose: settings.verbose,
        debug: settings.debug,
        reason: settings.reason,
        port_scan: !settings.ping_only,
        version_scan: settings.version.is_some(),
        os_scan: settings.os.is_some(),
        os_guess: settings.os.is_some_and(|o| o.guess),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse;
    use std::ffi::OsString;

    fn settings(cmd: &str) -> Settings {
        let argv: Vec<OsString> = std::iter::once("prtip")
            .chain(cmd.split_whitespace())
            .map(OsString::from)
            .collect();
        Settings::from_args_with(&parse(argv).expect(cmd), true).expect(cmd)
    }

    fn ports(tcp: &[u16], udp: &[u16]) -> ScanPorts {
        ScanPorts {
            tcp: Arc::new(tcp.iter().copied().collect()),
            udp: Arc::new(udp.iter().copied().collect()),
            payloads: None,
        }
    }

    fn kind(cfg: &EngineConfig) -> String {
        match cfg {
            EngineConfig::Connect(c) => format!("connect {}", c.ports.to_nmap_string()),
            EngineConfig::Syn(s) => format!("syn {}", s.ports.to_nmap_string()),
            EngineConfig::Udp(u) => format!("udp {}", u.ports.to_nmap_string()),
            EngineConfig::Both { tcp, udp } => {
                format!("{} + udp {}", kind(tcp), udp.ports.to_nmap_string())
            }
            EngineConfig::List => "list".to_string(),
        }
    }

    #[test]
    fn engine_per_scan_combination() {
        for (cmd, tcp, udp, want) in [
            ("-sU x", &[][..], &[53][..], "udp 53"),
            ("-sS -sU x", &[22], &[53], "syn 22 + udp 53"),
            ("-sTU x", &[22], &[53], "connect 22 + udp 53"),
            ("-sS x", &[22], &[], "syn 22"),
            ("-sT x", &[22], &[], "connect 22"),
            // A scan left without ports is skipped...
            ("-sS -sU x", &[22], &[], "syn 22"),
            ("-sT -sU x", &[], &[53], "udp 53"),
            // ...and with no port at all, a TCP engine only runs discovery.
            ("-sU x", &[], &[], "syn "),
            ("-sT -sU x", &[], &[], "connect "),
            ("-sL x", &[], &[], "list"),
        ] {
            let cfg = engine(&settings(cmd), &ports(tcp, udp)).expect(cmd);
            assert_eq!(kind(&cfg), want, "{cmd}");
        }
    }

    #[test]
    fn udp_setup_carries_the_udp_options() {
        let s = settings("-sU --defeat-icmp-ratelimit --seed 7 -S 127.0.0.1 x");
        let EngineConfig::Udp(u) = engine(&s, &ports(&[], &[53, 161])).expect("engine") else {
            panic!("not a UDP engine");
        };
        assert!(u.defeat_icmp_ratelimit);
        assert_eq!(u.seed, Some(7));
        assert_eq!(u.source, Some("127.0.0.1".parse().expect("addr")));
        assert_eq!(u.ports.to_nmap_string(), "53,161");
        let EngineConfig::Udp(u) = engine(&settings("-sU x"), &ports(&[], &[53])).expect("engine")
        else {
            panic!("not a UDP engine");
        };
        assert!(!u.defeat_icmp_ratelimit);
    }

    #[test]
    fn plan_scans_ports_only_when_some_are_left() {
        let s = settings("-sS -sU x");
        assert!(plan(&s, &ports(&[22], &[])).port_scan);
        assert!(plan(&s, &ports(&[], &[53])).port_scan);
        assert!(!plan(&s, &ports(&[], &[])).port_scan);
        assert!(!plan(&settings("-sn x"), &ports(&[], &[])).port_scan);
    }

    #[test]
    fn run_info_has_one_scan_per_scan_type() {
        let described = |cmd: &str, p: &ScanPorts| {
            run_info(&settings(cmd), cmd.into(), p)
                .scans
                .iter()
                .map(|s| {
                    format!(
                        "{} {} {} {}",
                        s.scan_type,
                        s.protocol.as_str(),
                        s.num_services,
                        s.services
                    )
                })
                .collect::<Vec<_>>()
        };
        let p = ports(&[22, 80], &[53]);
        assert_eq!(
            described("-sS -sU x", &p),
            vec!["syn tcp 2 22,80", "udp udp 1 53"]
        );
        assert_eq!(
            described("-sT -sU x", &p),
            vec!["connect tcp 2 22,80", "udp udp 1 53"]
        );
        assert_eq!(described("-sU x", &ports(&[], &[53])), vec!["udp udp 1 53"]);
        // nmap lists a skipped scan with no services.
        assert_eq!(
            described("-sS -sU x", &ports(&[22], &[])),
            vec!["syn tcp 1 22", "udp udp 0 "]
        );
        assert!(described("-sn x", &ports(&[], &[])).is_empty());
        let info = run_info(&settings("-sS -sU x"), "x".into(), &p);
        assert_eq!(info.ports_per_host(), 3);
    }
}
