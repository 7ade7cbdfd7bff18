//! Opening a UDP scan: the source address, the sockets, the source-port
//! window and the scan's secrets.

use super::{UdpConfig, UdpScanner, UdpSetup};
use crate::cancel::StopFlag;
use crate::error::ScanError;
use crate::net::raw::Transport;
use std::net::IpAddr;

/// Opens the raw sockets and returns the scanner.
pub fn open_scanner(
    setup: UdpSetup,
    first_target: Option<IpAddr>,
    stop: StopFlag,
) -> Result<UdpScanner, ScanError> {
    let raw = crate::engines::open_raw(
        crate::engines::RawChoice {
            source: setup.source,
            interface: setup.interface.as_deref(),
            seed: setup.seed,
            shape: &setup.shape,
        },
        first_target,
        Transport::Udp,
    )?;
    let cfg = UdpConfig {
        timing: setup.timing,
        source: raw.source,
        source_per_target: raw.source_per_target,
        sport_base: raw.sport_base,
        sport_range: raw.sport_range,
        key: raw.key,
        seed: raw.seed,
        ttl: setup.shape.ttl(),
        defeat_icmp_ratelimit: setup.defeat_icmp_ratelimit,
        badsum: setup.shape.badsum,
    };
    Ok(UdpScanner::new(
        raw.io,
        cfg,
        setup.ports,
        setup.payloads,
        stop,
    ))
}
