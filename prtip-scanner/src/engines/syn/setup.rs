//! Opening a SYN scan: the source address, the interface, the source-port
//! window and the scan's secrets.

use super::{SynConfig, SynScanner, TcpProbe};
use crate::cancel::StopFlag;
use crate::engines::ping::PingProbes;
use crate::error::ScanError;
use prtip_core::config::Timing;
use prtip_core::ports::PortList;
use std::net::IpAddr;
use std::sync::Arc;

/// What the user chose for a SYN scan; everything else is looked up.
#[derive(Debug, Clone)]
pub struct SynSetup {
    pub timing: Timing,
    /// `-S`: the one source address of every probe.
    pub source: Option<IpAddr>,
    /// `-e`: send and receive on this interface only.
    pub interface: Option<String>,
    /// `--seed`; drawn from the kernel's random source when absent.
    pub seed: Option<u64>,
    /// `--shard i/n`.
    pub shard: Option<(u64, u64)>,
    /// Ports probed on every host.
    pub ports: Arc<PortList>,
    /// The TCP scan type (`-sS` unless `-sA`, `-sF`, `--scanflags`...).
    pub probe: TcpProbe,
    /// Host discovery's probes.
    pub ping: PingProbes,
    /// `-g`, `--ttl`, `--badsum`.
    pub shape: crate::engines::shape::ProbeShape,
}

/// Opens the raw sockets and returns the engine. Each target's source
/// address comes from the routing table unless `-S` fixes one; with `-e`
/// alone, the route to `first_target` picks the one source. The sockets
/// are of `first_target`'s family (IPv4 without one), the scan's.
pub fn open(
    setup: SynSetup,
    first_target: Option<IpAddr>,
    stop: StopFlag,
) -> Result<SynScanner, ScanError> {
    let raw = crate::engines::open_raw(
        crate::engines::RawChoice {
            source: setup.source,
            interface: setup.interface.as_deref(),
            seed: setup.seed,
            shape: &setup.shape,
        },
        first_target,
        super::discovery::transport(&setup.ping),
    )?;
    let cfg = SynConfig {
        timing: setup.timing,
        source: raw.source,
        source_per_target: raw.source_per_target,
        sport_base: raw.sport_base,
        sport_range: raw.sport_range,
        key: raw.key,
        seed: raw.seed,
        shard: setup.shard,
        ttl: setup.shape.ttl(),
        probe: setup.probe,
        ping: setup.ping,
        badsum: setup.shape.badsum,
    };
    Ok(SynScanner::new(raw.io, cfg, &setup.ports, stop))
}
