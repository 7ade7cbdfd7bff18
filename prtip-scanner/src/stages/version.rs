//! `-sV` as a per-host stage: where the probe database comes from, and how
//! a host's open ports are handed to the [`VersionScanner`].

use crate::error::ScanError;
use crate::service::VersionScanner;
use crate::sys::MappedFile;
use prtip_core::result::{HostResult, HostStatus, PortState, Protocol};
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

/// Runs `-sV` on the host's open TCP ports, on the calling worker's own
/// runtime, and records what was found. False when `deadline` came first:
/// the probes still open are dropped with their connections.
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
    let open: Vec<u16> = host
        .ports
        .shown
        .iter()
        .filter(|p| p.state == PortState::Open && p.protocol == Protocol::Tcp)
        .map(|p| p.port)
        .collect();
    if open.is_empty() {
        return true;
    }
    let identify = memprof::in_phase(
        memprof::Phase::ServiceDetection,
        scanner.identify_ports(host.addr, host.hostname.as_deref(), &open),
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
    for (port, verdict) in open.iter().zip(verdicts) {
        if let Some(p) = host.ports.shown.iter_mut().find(|p| p.port == *port) {
            let table = names.name(p.port, p.protocol);
            p.service = verdict.service_info(table).map(Box::new);
        }
    }
    true
}
