//! `-sV` as a per-host stage: where the probe database comes from, and how
//! a host's open ports are handed to the [`VersionScanner`].

use crate::error::ScanError;
use crate::service::{PortVerdict, VersionScanner};
use crate::sys::MappedFile;
use prtip_core::result::{HostResult, HostStatus, PortResult, PortState, Protocol, Reason};
use prtip_core::service_db::{ServiceDb, BUILTIN_NAME, BUILTIN_PROBES};
use prtip_core::services::ServiceNames;
use std::path::Path;
use std::time::Instant;

/// nmap-service-probes memory-mapped, or the built-in probes.
#[derive(Debug)]
pub enum ProbeSource {
    File(MappedFile, String),
    Builtin,
}

impl ProbeSource {
    /// Maps `path`, or picks the built-in probes when there is none.
    pub fn open(path: Option<&Path>) -> Result<ProbeSource, ScanError> {
        match path {
            Some(p) => MappedFile::open(p)
                .map(|m| ProbeSource::File(m, p.display().to_string()))
                .map_err(|source| ScanError::Database {
                    path: p.display().to_string(),
                    source,
                }),
            None => Ok(ProbeSource::Builtin),
        }
    }

    /// The database, borrowing the mapped text (only offsets are built).
    pub fn parse(&self) -> Result<ServiceDb<'_>, ScanError> {
        match self {
            ProbeSource::File(m, name) => {
                let text = m.text().map_err(|source| ScanError::Database {
                    path: name.clone(),
                    source,
                })?;
                Ok(ServiceDb::parse(text, name))
            }
            ProbeSource::Builtin => Ok(ServiceDb::parse(BUILTIN_PROBES, BUILTIN_NAME)),
        }
    }
}

/// Runs `-sV` on the host's open TCP ports and its open and open|filtered
/// UDP ports, on the calling worker's own runtime, and records what was
/// found. False when `deadline` came first: the probes still open are
/// dropped with their sockets.
pub fn detect_versions(
    scanner: &VersionScanner<'_, '_>,
    rt: &tokio::runtime::Runtime,
    host: &mut HostResult,
    names: &ServiceNames,
    deadline: Option<Instant>,
) -> bool {
    if host.status != HostStatus::Up {
        return true;
    }
    let wanted: Vec<(Protocol, u16)> = host
        .ports
        .shown
        .iter()
        .filter(|p| worth_probing(p))
        .map(|p| (p.protocol, p.port))
        .collect();
    if wanted.is_empty() {
        return true;
    }
    let identify = memprof::in_phase(
        memprof::Phase::ServiceDetection,
        scanner.identify_ports(host.addr, host.hostname.as_deref(), &wanted),
    );
    let verdicts = rt.block_on(async {
        match deadline {
            Some(at) => tokio::time::timeout_at(at.into(), identify).await.ok(),
            None => Some(identify.await),
        }
    });
    let Some(verdicts) = verdicts else {
        return false;
    };
    for ((protocol, port), verdict) in wanted.iter().zip(verdicts) {
        let found = host
            .ports
            .shown
            .iter_mut()
            .find(|p| p.port == *port && p.protocol == *protocol);
        if let Some(p) = found {
            record(p, &verdict, names);
        }
    }
    true
}

/// nmap probes open ports, and UDP ports that may be open: a silent UDP
/// port is open|filtered, and a version probe is one more chance for it
/// to answer.
fn worth_probing(p: &PortResult) -> bool {
    match p.protocol {
        Protocol::Tcp => p.state == PortState::Open,
        Protocol::Udp => matches!(p.state, PortState::Open | PortState::OpenFiltered),
    }
}

/// The verdict into the port's record. A UDP port that answered any probe
/// is open, as nmap reports it: reason `udp-response` with no TTL (the
/// answer came through a socket, not a captured packet).
fn record(p: &mut PortResult, verdict: &PortVerdict<'_>, names: &ServiceNames) {
    if p.protocol == Protocol::Udp && p.state != PortState::Open && verdict.answered() {
        p.state = PortState::Open;
        p.reason = Reason::UdpResponse;
        p.reason_ttl = 0;
    }
    let table = names.name(p.port, p.protocol);
    p.service = verdict.service_info(table).map(Box::new);
}
