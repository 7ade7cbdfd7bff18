//! The data files a scan reads before it starts.

use crate::app::{usage, Failure};
use crate::configs;
use crate::settings::{load_payloads, load_port_db, PortDb, Settings};
use memprof::Phase;
use prtip_core::services::ServiceNames;
use prtip_scanner::stages::version::ProbeSource;
use prtip_scanner::ScanError;
use std::sync::Arc;

pub(super) fn failure(e: ScanError) -> Failure {
    match e {
        // An unreadable database is bad input, like a bad flag.
        ScanError::Database { .. } => usage(e),
        e => Failure::Scan(e.to_string()),
    }
}

/// The data files a scan reads before it starts.
pub(super) struct Databases {
    pub ports: configs::ScanPorts,
    pub names: ServiceNames,
    /// nmap-service-probes (or the built-in probes) with `-sV`.
    pub probes: Option<ProbeSource>,
}

impl Databases {
    pub fn load(settings: &Settings) -> Result<Databases, Failure> {
        let PortDb {
            tcp,
            udp,
            names,
            warnings,
            ..
        } = load_port_db(&settings.ports, settings.services_file.as_deref())
            .map_err(Failure::Usage)?;
        for w in &warnings {
            eprintln!("prtip: warning: {w}");
        }
        let payloads = match &settings.udp {
            Some(_) if !udp.is_empty() => {
                let _payloads = memprof::phase(Phase::UdpPayloads);
                let loaded =
                    load_payloads(settings.payloads_file.as_deref()).map_err(Failure::Usage)?;
                for w in &loaded.warnings {
                    eprintln!("prtip: warning: {w}");
                }
                Some(Arc::new(loaded.value))
            }
            _ => None,
        };
        let ports = configs::ScanPorts {
            tcp: Arc::new(tcp),
            udp: Arc::new(udp),
            payloads,
        };
        let probes = match &settings.version {
            Some(_) => Some(ProbeSource::open(settings.probes_file.as_deref()).map_err(failure)?),
            None => None,
        };
        Ok(Databases {
            ports,
            names,
            probes,
        })
    }
}
