//! The port scan engines, each an [`Engine`]: the TCP connect scan on
//! tokio, and the stateless raw SYN scan. A UDP engine plugs in here as a
//! third module and a third [`EngineConfig`] variant.

pub mod connect;
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
        EngineConfig::Udp(u) => udp::open(u, first_target, stop)?,
        EngineConfig::Both { udp, .. } => udp::open(udp, first_target, stop)?,
    })
}
