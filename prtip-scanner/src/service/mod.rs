//! Service and version detection (`-sV`) against nmap-service-probes.
//!
//! For each open TCP port: nmap's probe sequence (`order.rs`), run a few
//! probes at a time (`port.rs`), each on its own connection with a capped
//! response (`exchange.rs`). A hard match on `ssl` starts the sequence again
//! through TLS (`tls.rs`), as nmap does, and the result is reported as
//! `ssl/<service>`.
//!
//! For each open or open|filtered UDP port: the same driver over nmap's UDP
//! probes (no NULL probe, no TLS pass), each probe on a connected UDP socket
//! of its own (`udp.rs`). The verdict says whether the port answered, which
//! is what turns an open|filtered port open.

mod exchange;
mod order;
mod port;
mod tls;
mod udp;
mod verdict;

pub use exchange::RESPONSE_CAP;
pub use tls::{connector as tls_connector, server_name as tls_server_name};
pub use verdict::{PortVerdict, Verdict};

use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use prtip_core::ports::{PortSpec, Protocols};
use prtip_core::result::Protocol;
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
    /// Probes in flight per port (TCP connections or UDP sockets).
    pub window: usize,
    /// Ports of one host probed at the same time, TCP and UDP together.
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
    /// Interface index that gives link-local IPv6 targets their scope
    /// (the scan's `-e`, or the interface of `fe80::1%eth0`); 0 for none.
    pub link_scope: u32,
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
            link_scope: 0,
        }
    }
}

/// Runs version detection with one database for a whole scan.
pub struct VersionScanner<'s, 'a> {
    db: &'s ServiceDb<'a>,
    cfg: VersionConfig,
    tls: TlsConnector,
    /// The database's `Exclude` ports, per protocol.
    excluded: PortSpec,
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
        // As nmap reads it: an item without T: or U: excludes both.
        let both = Protocols {
            tcp: true,
            udp: true,
        };
        let excluded = db
            .exclude()
            .and_then(|spec| PortSpec::parse_for(spec, None, both).ok())
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
        if let Some(excluded) = self.excluded(Protocol::Tcp, port) {
            return excluded;
        }
        let mut ep = self.endpoint(Protocol::Tcp, addr, port);
        let plain = identify_pass(self.db, &ep, false, self.pass(), &self.stop).await;
        let is_ssl = matches!(&plain, Verdict::Hard(m) if m.service == "ssl");
        if !is_ssl {
            return PortVerdict {
                verdict: plain,
                ssl: false,
            };
        }
        ep.tls = Some((self.tls.clone(), tls::server_name(hostname, addr)));
        let inner = identify_pass(self.db, &ep, true, self.pass(), &self.stop).await;
        PortVerdict {
            verdict: inner,
            ssl: true,
        }
    }

    /// Identifies the service on one open or open|filtered UDP port with
    /// nmap's UDP probes. [`PortVerdict::answered`] tells whether the port
    /// sent anything back (nmap then reports it open).
    pub async fn identify_udp(&self, addr: IpAddr, port: u16) -> PortVerdict<'a> {
        if let Some(excluded) = self.excluded(Protocol::Udp, port) {
            return excluded;
        }
        let ep = self.endpoint(Protocol::Udp, addr, port);
        // nmap never tunnels UDP, so there is no second pass; a match named
        // `ssl/<service>` still reports the tunnel (see `service_info`).
        PortVerdict {
            verdict: identify_pass(self.db, &ep, false, self.pass(), &self.stop).await,
            ssl: false,
        }
    }

    /// [`identify`](Self::identify) or [`identify_udp`](Self::identify_udp)
    /// for several ports of one host, a bounded number at a time (shared by
    /// both protocols); results in the order of `ports`.
    pub async fn identify_ports(
        &self,
        addr: IpAddr,
        hostname: Option<&str>,
        ports: &[(Protocol, u16)],
    ) -> Vec<PortVerdict<'a>> {
        let one = |(protocol, port): (Protocol, u16)| async move {
            match protocol {
                Protocol::Tcp => self.identify(addr, hostname, port).await,
                Protocol::Udp => self.identify_udp(addr, port).await,
            }
        };
        stream::iter(ports.iter().map(|&p| one(p)))
            .buffered(self.cfg.ports_at_once.max(1))
            .collect()
            .await
    }

    /// The verdict for a port in the database's `Exclude` list, unless
    /// `--allports`.
    fn excluded(&self, protocol: Protocol, port: u16) -> Option<PortVerdict<'a>> {
        let list = match protocol {
            Protocol::Tcp => &self.excluded.tcp,
            Protocol::Udp => &self.excluded.udp,
        };
        (!self.cfg.all_ports && list.contains(port)).then_some(PortVerdict {
            verdict: Verdict::Excluded,
            ssl: false,
        })
    }

    fn endpoint(&self, protocol: Protocol, addr: IpAddr, port: u16) -> Endpoint {
        let addr = match addr {
            // fe80::/10 needs its interface; every other address is routed.
            IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80 => {
                SocketAddr::V6(SocketAddrV6::new(a, port, 0, self.cfg.link_scope))
            }
            a => SocketAddr::new(a, port),
        };
        Endpoint {
            addr,
            protocol,
            tls: None,
            connect_timeout: self.cfg.connect_timeout,
        }
    }

    fn pass(&self) -> PassConfig {
        PassConfig {
            intensity: self.cfg.intensity,
            window: self.cfg.window,
            grace: self.cfg.grace,
            trace: self.cfg.trace,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prtip_testkit::loopback::{closed_udp_port, UdpService};
    use std::time::Instant;

    /// Two UDP probes that both name their service, the second listing
    /// `port`; a rare third; and a TCP NULL probe that UDP must never use.
    fn db_text(port: u16) -> String {
        format!(
            "\
Probe TCP NULL q||
match alpha m|^alpha| p/over TCP/
Probe UDP Alpha q|alpha?|
rarity 1
totalwaitms 400
match alpha m|^alpha ([\\d.]+)$| p/Alpha server/ v/$1/
Probe UDP Beta q|beta?|
rarity 1
totalwaitms 400
ports {port}
match beta m|^beta ([\\d.]+)$| p/Beta server/ v/$1/
Probe UDP Rare q|rare?|
rarity 9
totalwaitms 400
match rare m|^rare|
"
        )
    }

    fn config(intensity: u8, window: usize) -> VersionConfig {
        VersionConfig {
            intensity,
            window,
            ..VersionConfig::default()
        }
    }

    fn identify(text: &str, cfg: VersionConfig, addr: SocketAddr) -> PortVerdict<'static> {
        let text: &'static str = Box::leak(text.to_string().into_boxed_str());
        let db: &'static ServiceDb<'static> = Box::leak(Box::new(ServiceDb::parse(text, "test")));
        assert!(db.warnings().is_empty(), "{:?}", db.warnings());
        let scanner = VersionScanner::new(db, cfg, StopFlag::new()).expect("scanner");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(scanner.identify_udp(addr.ip(), addr.port()))
    }

    /// Answers `alpha?` at once and `beta?` after 150 ms.
    fn two_services() -> UdpService {
        UdpService::start(|d| match d {
            b"alpha?" => vec![(Duration::ZERO, b"alpha 1.0".to_vec())],
            b"beta?" => vec![(Duration::from_millis(150), b"beta 2.0".to_vec())],
            _ => Vec::new(),
        })
    }

    fn hard(v: &PortVerdict<'_>) -> (String, Option<String>) {
        match &v.verdict {
            Verdict::Hard(m) => (m.service.to_string(), m.version.clone()),
            other => panic!("no hard match: {other:?}"),
        }
    }

    #[test]
    fn the_listed_probe_decides_even_when_an_earlier_one_answers_first() {
        let svc = two_services();
        let listed = identify(&db_text(svc.port()), config(7, 4), svc.addr());
        assert_eq!(hard(&listed), ("beta".into(), Some("2.0".into())));
        assert!(listed.answered());
        // Not listed: file order, so the first probe's answer stands.
        let unlisted = identify(&db_text(1), config(7, 4), svc.addr());
        assert_eq!(hard(&unlisted), ("alpha".into(), Some("1.0".into())));
    }

    #[test]
    fn probes_go_out_in_nmaps_order_without_the_null_probe() {
        let svc = UdpService::silent();
        identify(&db_text(svc.port()), config(7, 1), svc.addr());
        assert_eq!(svc.received(), [b"beta?".to_vec(), b"alpha?".to_vec()]);
        let all = UdpService::silent();
        identify(&db_text(all.port()), config(9, 1), all.addr());
        let sent = [b"beta?".to_vec(), b"alpha?".to_vec(), b"rare?".to_vec()];
        assert_eq!(all.received(), sent);
    }

    #[test]
    fn a_silent_port_stays_unanswered_and_is_faster_than_a_serial_wait() {
        let svc = UdpService::silent();
        let started = Instant::now();
        let v = identify(&db_text(1), config(9, 4), svc.addr());
        assert_eq!(v.verdict, Verdict::Unrecognized { responded: false });
        assert!(!v.answered());
        // nmap waits out the three probes one by one: 1.2 s.
        assert!(started.elapsed() < Duration::from_millis(900));
    }

    #[test]
    fn garbage_is_an_answer_without_a_name() {
        let svc = UdpService::start(|_| vec![(Duration::ZERO, b"\xff\x00garbage".to_vec())]);
        let v = identify(&db_text(1), config(7, 4), svc.addr());
        assert_eq!(v.verdict, Verdict::Unrecognized { responded: true });
        assert!(v.answered());
    }

    #[test]
    fn refused_everywhere_or_nothing_to_send_is_tcpwrapped_as_in_nmap() {
        let refused = identify(&db_text(1), config(7, 4), closed_udp_port());
        assert_eq!(refused.verdict, Verdict::TcpWrapped);
        assert!(!refused.answered());
        // Intensity 0 and no probe listing the port: nothing is sent.
        let svc = UdpService::silent();
        let idle = identify(&db_text(1), config(0, 4), svc.addr());
        assert_eq!(idle.verdict, Verdict::TcpWrapped);
        assert!(svc.received().is_empty());
    }

    #[test]
    fn excluded_udp_ports_are_not_probed_unless_allports() {
        let svc = UdpService::silent();
        let text = format!("Exclude U:{},T:1\n{}", svc.port(), db_text(1));
        let v = identify(&text, config(7, 4), svc.addr());
        assert_eq!(v.verdict, Verdict::Excluded);
        let all = VersionConfig {
            all_ports: true,
            ..config(7, 4)
        };
        let v = identify(&text, all, svc.addr());
        assert_eq!(v.verdict, Verdict::Unrecognized { responded: false });
    }
}
