//! The port scan engines, each an [`Engine`]: the TCP connect scan on
//! tokio, and the stateless raw SYN scan. A UDP engine plugs in here as a
//! third module and a third [`EngineConfig`] variant.

pub mod connect;
pub mod hosts;
pub mod icmp;
pub mod list;
pub mod pair;
pub mod ping;
pub mod portindex;
pub mod send;
pub mod shape;
pub mod syn;
pub mod udp;

use crate::cancel::StopFlag;
use crate::error::ScanError;
use crate::plan::Engine;
use std::net::IpAddr;
use std::sync::Arc;

/// Which engine to run, with its settings.
#[derive(Debug, Clone)]
pub enum EngineConfig {
    Connect(connect::ConnectConfig),
    Syn(syn::SynSetup),
    /// `-sU` alone: raw discovery (unless `-Pn`), then the UDP scan.
    Udp(udp::UdpSetup),
    /// A TCP scan and a UDP scan of the same hosts (`-sS -sU`, `-sT -sU`):
    /// discovery and TCP first, then UDP, one port table per host.
    Both {
        tcp: Box<EngineConfig>,
        udp: udp::UdpSetup,
    },
    /// `-sL`: list the targets, send nothing.
    List,
}

/// Opens the engine `cfg` names. `first_target` lets the raw engines pick
/// a source address when `-e` is given without `-S`.
pub fn open(
    cfg: EngineConfig,
    first_target: Option<IpAddr>,
    stop: StopFlag,
) -> Result<Arc<dyn Engine>, ScanError> {
    Ok(match cfg {
        EngineConfig::Connect(c) => Arc::new(connect::ConnectEngine::new(c, stop)?),
        EngineConfig::Syn(s) => Arc::new(syn::open(s, first_target, stop)?),
        EngineConfig::Udp(u) => {
            // nmap's raw discovery comes from the SYN engine, with no ports.
            let finder = syn::SynSetup {
                timing: u.timing,
                source: u.source,
                interface: u.interface.clone(),
                seed: u.seed,
                shard: None,
                ports: Arc::new(prtip_core::ports::PortList::new()),
                probe: syn::TcpProbe::SYN,
                ping: u.ping.clone(),
                shape: u.shape,
            };
            let first: Arc<dyn Engine> = Arc::new(syn::open(finder, first_target, stop.clone())?);
            let second = udp::open(u, first_target, stop)?;
            Arc::new(pair::PairEngine::new(first, false, second))
        }
        EngineConfig::List => Arc::new(list::ListEngine::new(stop)),
        EngineConfig::Both { tcp, udp } => {
            let first = open(*tcp, first_target, stop.clone())?;
            let second = udp::open(udp, first_target, stop)?;
            Arc::new(pair::PairEngine::new(first, true, second))
        }
    })
}

/// Our address for a raw scan: `-S` when given, else the route to
/// `first_target` (loopback of its family when there is none) through
/// `interface` (`-e`) if given. The scan's family is the first target's; a
/// `-S` of the other family is refused.
pub(crate) fn source_address(
    chosen: Option<IpAddr>,
    first_target: Option<IpAddr>,
    interface: Option<&str>,
) -> Result<IpAddr, ScanError> {
    let target = first_target.unwrap_or(match chosen {
        Some(IpAddr::V6(_)) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        _ => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
    });
    match chosen {
        Some(a) if a.is_ipv6() == target.is_ipv6() => Ok(a),
        Some(a) => {
            let family = if target.is_ipv6() { "IPv6" } else { "IPv4" };
            Err(ScanError::Unsupported(format!(
                "-S {a}: the targets are {family} ({target}), so the source address must be too"
            )))
        }
        None => crate::net::route::source_for_addr_on(target, interface).map_err(|source| {
            match interface {
                // The interface itself is what failed (no such device).
                Some(iface) if source.raw_os_error() == Some(libc::ENODEV) => {
                    ScanError::Interface {
                        iface: iface.to_owned(),
                        source,
                    }
                }
                _ => ScanError::NoRoute {
                    addr: target,
                    source,
                },
            }
        }),
    }
}

/// What the stateless raw engines open the same way: the source address,
/// the sockets (wrapped for `--packet-trace`), the keyed source-port window
/// and the scan's secrets.
pub(crate) struct RawOpening {
    pub source: IpAddr,
    /// Each target's source comes from the routing table (neither `-S`
    /// nor `-e` fixed one).
    pub source_per_target: bool,
    pub io: Arc<dyn crate::net::PacketIo>,
    pub sport_base: u16,
    pub sport_range: u16,
    pub seed: u64,
    pub key: [u8; 16],
}

/// The user's choices a raw engine opens with.
pub(crate) struct RawChoice<'a> {
    pub source: Option<IpAddr>,
    pub interface: Option<&'a str>,
    pub seed: Option<u64>,
    pub shape: &'a shape::ProbeShape,
}

/// Opens a raw engine's sockets receiving `transport`. The source comes
/// from `-S`, or from the route to `first_target`; the sockets are of its
/// family. `--seed` fixes the probe order; otherwise, like the cookie key,
/// it is drawn from the kernel's random source.
pub(crate) fn open_raw(
    choice: RawChoice<'_>,
    first_target: Option<IpAddr>,
    transport: crate::net::raw::Transport,
) -> Result<RawOpening, ScanError> {
    use crate::net::raw::{Family, RawIo, SCAN_RCVBUF_BYTES};
    use crate::net::route;
    let source = source_address(choice.source, first_target, choice.interface)?;
    let io = RawIo::open_for(
        choice.interface,
        Family::of(source),
        transport,
        SCAN_RCVBUF_BYTES,
    )
    .map_err(|source| ScanError::RawSockets {
        interface: choice.interface.map(str::to_owned),
        source,
    })?;
    let (sport_base, sport_range) = choice.shape.source_ports(route::source_port_window(
        route::ephemeral_range(),
        prtip_core::cookie::DEFAULT_SOURCE_PORT_RANGE,
    ));
    let seed = match choice.seed {
        Some(s) => s,
        None => u64::from_le_bytes(random_bytes::<8>()?),
    };
    Ok(RawOpening {
        source,
        source_per_target: choice.source.is_none() && choice.interface.is_none(),
        io: crate::trace::wrap(Arc::new(io)),
        sport_base,
        sport_range,
        seed,
        key: random_bytes::<16>()?,
    })
}

/// Bytes from the kernel's random source, for cookie keys and seeds.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], ScanError> {
    let mut buf = [0u8; N];
    crate::sys::fill_random(&mut buf).map_err(ScanError::Random)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn the_source_is_of_the_targets_family() {
        let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(
            source_address(None, Some(v6), None).expect("route to ::1"),
            v6
        );
        assert_eq!(
            source_address(None, Some(v4), None).expect("route to 127.0.0.1"),
            v4
        );
        assert_eq!(source_address(Some(v6), None, None).expect("-S alone"), v6);
        let err = source_address(Some(v6), Some(v4), None).expect_err("mixed families");
        assert_eq!(
            err.to_string(),
            "-S ::1: the targets are IPv4 (127.0.0.1), so the source address must be too"
        );
        // Through an interface: the route to a link-local address needs one.
        assert_eq!(
            source_address(None, Some(v6), Some("lo")).expect("::1 through lo"),
            v6
        );
        let err = source_address(None, Some(v4), Some("nosuchif0")).expect_err("no device");
        assert!(err.to_string().contains("interface nosuchif0"), "{err}");
    }
}
