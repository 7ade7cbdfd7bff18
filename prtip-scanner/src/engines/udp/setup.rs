//! Opening a UDP scan: the source address, the sockets, the source-port
//! window and the scan's secrets.

use super::{UdpConfig, UdpScanner, UdpSetup};
use crate::cancel::StopFlag;
use crate::error::ScanError;
use crate::net::raw::{Family, RawIo, Transport, SCAN_RCVBUF_BYTES};
use crate::net::route;
use prtip_core::cookie::DEFAULT_SOURCE_PORT_RANGE;
use std::net::IpAddr;
use std::sync::Arc;

/// Opens the raw sockets and returns the scanner.
pub fn open_scanner(
    setup: UdpSetup,
    first_target: Option<IpAddr>,
    stop: StopFlag,
) -> Result<UdpScanner, ScanError> {
    let source =
        crate::engines::source_address(setup.source, first_target, setup.interface.as_deref())?;
    let io = RawIo::open_for(
        setup.interface.as_deref(),
        Family::of(source),
        Transport::Udp,
        SCAN_RCVBUF_BYTES,
    )
    .map_err(|source| ScanError::RawSockets {
        interface: setup.interface.clone(),
        source,
    })?;
    let (sport_base, sport_range) = setup.shape.source_ports(route::source_port_window(
        route::ephemeral_range(),
        DEFAULT_SOURCE_PORT_RANGE,
    ));
    let seed = match setup.seed {
        Some(s) => s,
        None => u64::from_le_bytes(crate::engines::random_bytes::<8>()?),
    };
    let cfg = UdpConfig {
        timing: setup.timing,
        source,
        source_per_target: setup.source.is_none() && setup.interface.is_none(),
        sport_base,
        sport_range,
        key: crate::engines::random_bytes::<16>()?,
        seed,
        ttl: setup.shape.ttl(),
        defeat_icmp_ratelimit: setup.defeat_icmp_ratelimit,
        badsum: setup.shape.badsum,
    };
    Ok(UdpScanner::new(
        crate::trace::wrap(Arc::new(io)),
        cfg,
        setup.ports,
        setup.payloads,
        stop,
    ))
}
