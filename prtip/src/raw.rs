//! Setting up a raw SYN scan: route, interface, sockets, secrets.

use crate::settings::Settings;
use prtip_core::cookie::DEFAULT_SOURCE_PORT_RANGE;
use prtip_core::ports::PortList;
use prtip_core::wire::DEFAULT_TTL;
use prtip_scanner::cancel::StopFlag;
use prtip_scanner::net::raw::RawIo;
use prtip_scanner::net::route;
use prtip_scanner::syn::{SynConfig, SynScanner};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// Bytes from the kernel's random source.
fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    let mut buf = [0u8; N];
    let mut filled = 0;
    while filled < N {
        // SAFETY: the pointer and length describe the unfilled tail of `buf`.
        let n = unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), N - filled, 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(format!(
                "cannot read random bytes for the scan's secret: {e}"
            ));
        }
        filled += n as usize;
    }
    Ok(buf)
}

/// The SYN engine for this run. Each target's source address comes from the
/// routing table unless `-S` fixes one; `-e` binds sending and receiving to
/// one interface (and then the route to the first target picks the source).
pub fn syn_scanner(
    settings: &Settings,
    first_target: Option<IpAddr>,
    ports: &PortList,
    stop: StopFlag,
) -> Result<SynScanner, String> {
    let target = match first_target {
        Some(IpAddr::V4(a)) => a,
        _ => Ipv4Addr::LOCALHOST,
    };
    let source = match settings.socket.source {
        Some(IpAddr::V4(a)) => a,
        Some(IpAddr::V6(a)) => {
            return Err(format!(
                "-S {a}: IPv6 source addresses are not supported yet"
            ))
        }
        None => route::source_for(target).map_err(|e| format!("no route to {target}: {e}"))?,
    };
    let io = RawIo::open(settings.socket.interface.as_deref()).map_err(|e| {
        match &settings.socket.interface {
            Some(i) => format!("cannot open raw sockets on {i}: {e}"),
            None => format!("cannot open raw sockets: {e}"),
        }
    })?;
    let (sport_base, sport_range) =
        route::source_port_window(route::ephemeral_range(), DEFAULT_SOURCE_PORT_RANGE);
    let seed = match settings.seed {
        Some(s) => s,
        None => u64::from_le_bytes(random_bytes::<8>()?),
    };
    let cfg = SynConfig {
        timing: settings.timing,
        source,
        source_per_target: settings.socket.source.is_none() && settings.socket.interface.is_none(),
        sport_base,
        sport_range,
        key: random_bytes::<16>()?,
        seed,
        shard: settings.shard,
        ttl: DEFAULT_TTL,
    };
    Ok(SynScanner::new(Arc::new(io), cfg, ports, stop))
}
