//! Stateless raw UDP scan (`-sU`).
//!
//! IN PROGRESS: the settings below are final; the engine lands in a
//! following commit and until then `open` refuses.

use crate::cancel::StopFlag;
use crate::error::ScanError;
use prtip_core::config::Timing;
use prtip_core::payloads::PayloadDb;
use prtip_core::ports::PortList;
use std::net::IpAddr;
use std::sync::Arc;

/// What the user chose for a UDP scan; everything else is looked up.
#[derive(Debug, Clone)]
pub struct UdpSetup {
    pub timing: Timing,
    /// `-S`: the one source address of every probe.
    pub source: Option<IpAddr>,
    /// `-e`: send and receive on this interface only.
    pub interface: Option<String>,
    /// `--seed`; drawn from the kernel's random source when absent.
    pub seed: Option<u64>,
    /// UDP ports probed on every host.
    pub ports: Arc<PortList>,
    /// Payloads per port (nmap-payloads, or prtip's own).
    pub payloads: Arc<PayloadDb>,
    /// `--defeat-icmp-ratelimit`: do not wait out ICMP rate limits; silent
    /// ports are reported closed|filtered.
    pub defeat_icmp_ratelimit: bool,
}

/// Opens the raw sockets and returns the engine.
pub fn open(
    _setup: UdpSetup,
    _first_target: Option<IpAddr>,
    _stop: StopFlag,
) -> Result<Arc<dyn crate::plan::Engine>, ScanError> {
    Err(ScanError::Unsupported(
        "-sU (UDP scan) is not supported yet".into(),
    ))
}
