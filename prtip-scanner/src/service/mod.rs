//! Service and version detection (`-sV`) against nmap-service-probes.
//!
//! For each open TCP port: nmap's probe sequence (`order.rs`), run a few
//! probes at a time (`port.rs`), each on its own connection with a capped
//! response (`exchange.rs`). A hard match on `ssl` starts the sequence again
//! through TLS (`tls.rs`), as nmap does, and the result is reported as
//! `ssl/<service>`.

mod exchange;
mod order;
mod port;
mod tls;
mod verdict;

pub use exchange::RESPONSE_CAP;
pub use verdict::{PortVerdict, Verdict};

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use prtip_core::ports::{PortList, PortSpec};
use prtip_core::service_db::ServiceDb;
use tokio_rustls::TlsConnector;

use crate::cancel::StopFlag;
use exchange::Endpoint;
use port::{identify_pass, PassConfig};

/// Settings of version detection.
#[derive(Debug, Clone, Copy)]
pub struct VersionConfig {
    /// `--version-intensity` 0..=9 (nmap's default 7; `--version-light` 2,
    /// `--version-all` 9).
    pub intensity: u8,
    /// Probes in flight per port.
    pub window: usize,
    /// Ports of one host probed at the same time.
    pub ports_at_once: usize,
    /// How long a running probe may stay silent before a
    /// later probe's match is accepted over it.
    pub grace: Duration,
    /// Connect timeout for each probe's connection.
    pub connect_timeout: Duration,
    /// `--allports`: also probe ports in the database's `Exclude` list.
    pub all_ports: bool,
    /// `--version-trace`: print every probe and outcome on stderr.
    pub trace: bool,
}

impl Default for VersionConfig {
    fn default() -> Self {
        VersionConfig {
            intensity: prtip_core::config::DEFAULT_VERSION_INTENSITY,
            window: 4,
            ports_at_once: 32,
            grace: Duration::from_millis(300),
            connect_timeout: Duration::from_secs(5),
            all_ports: false,
            trace: false,
        }
    }
}

/// Runs version detection with one database for a whole scan.
pub struct VersionScanner<'s, 'a> {
    db: &'s ServiceDb<'a>,
    cfg: VersionConfig,
    tls: TlsConnector,
    excluded: PortList,
    stop: StopFlag,
}

impl std::fmt::Debug for VersionScanner<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionScanner")
            .field("cfg", &self.cfg)
            .field("excluded", &self.excluded)
            .finish_non_exhaustive()
    }
}

impl<'s, 'a> VersionScanner<'s, 'a> {
    /// A scanner over `db`. Fails only if no TLS configuration can be built.
    pub fn new(
        db: &'s ServiceDb<'a>,
        cfg: VersionConfig,
        stop: StopFlag,
    ) -> Result<Self, crate::ScanError> {
        let tls = tls::connector().map_err(|e| crate::ScanError::Tls(e.to_string()))?;
        let excluded = db
            .exclude()
            .and_then(|spec| PortSpec::parse(spec, None).ok())
            .map(|s| s.tcp)
            .unwrap_or_default();
        Ok(VersionScanner {
            db,
            cfg,
            tls,
            excluded,
            stop,
        })
    }

    /// Identifies the service on one open TCP port. `hostname` is sent as
    /// TLS SNI when given.
    pub async fn identify(
        &self,
        addr: IpAddr,
        hostname: Option<&str>,
        port: u16,
    ) -> PortVerdict<'a> {
        if !self.cfg.all_ports && self.excluded.contains(port) {
            return PortVerdict {
                verdict: Verdict::Excluded,
                ssl: false,
            };
        }
        let pass = PassConfig {
            intensity: self.cfg.intensity,
            window: self.cfg.window,
            grace: self.cfg.grace,
            trace: self.cfg.trace,
        };
        let mut ep = Endpoint {
            addr: SocketAddr::new(addr, port),
            tls: None,
            connect_timeout: self.cfg.connect_timeout,
        };
        let plain = identify_pass(self.db, &ep, false, pass, &self.stop).await;
        let is_ssl = matches!(&plain, Verdict::Hard(m) if m.service == "ssl");
        if !is_ssl {
            return PortVerdict {
                verdict: plain,
                ssl: false,
            };
        }
        ep.tls = Some((self.tls.clone(), tls::server_name(hostname, addr)));
        let inner = identify_pass(self.db, &ep, true, pass, &self.stop).await;
        PortVerdict {
            verdict: inner,
            ssl: true,
        }
    }

    /// [`identify`](Self::identify) for several ports of one host, a bounded
    /// number at a time; results in the order of `ports`.
    pub async fn identify_ports(
        &self,
        addr: IpAddr,
        hostname: Option<&str>,
        ports: &[u16],
    ) -> Vec<PortVerdict<'a>> {
        stream::iter(ports.iter().map(|&p| self.identify(addr, hostname, p)))
            .buffered(self.cfg.ports_at_once.max(1))
            .collect()
            .await
    }
}
