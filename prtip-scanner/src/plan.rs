//! What every scan engine is given and what it hands back.
//!
//! The binary turns flags into one [`ScanPlan`], a lazy stream of
//! [`HostJob`]s and an engine chosen with [`crate::engines::open`]; every
//! engine (connect, SYN, and UDP next) implements [`Engine`] and returns one
//! [`HostOutcome`] per host, in target order, to a synchronous callback. The
//! per-host stages ([`crate::stages`]) take it from there.

use crate::error::ScanError;
use crate::events::Events;
use prtip_core::result::HostResult;
use std::io;
use std::net::IpAddr;

/// One target to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostJob {
    pub addr: IpAddr,
    /// The name the user typed, when the target was a name.
    pub hostname: Option<String>,
    /// Interface index of a link-local IPv6 target (`fe80::1%eth0`), 0
    /// for every other target.
    pub scope_id: u32,
}

/// What to do with each host.
#[derive(Debug, Clone, Copy)]
pub struct ScanPlan {
    /// Ping hosts first (false with `-Pn`).
    pub discovery: bool,
    /// Scan ports (false with `-sn`).
    pub port_scan: bool,
    /// Display threshold for collapsing port states (see `PortTableBuilder`).
    pub max_per_state: u32,
    /// `--open`.
    pub open_only: bool,
}

/// The outcome for one host, handed to the caller in target order.
#[derive(Debug)]
pub enum HostOutcome {
    Done(HostResult),
    /// `--host-timeout` expired; nmap reports nothing but this for the host.
    TimedOut(HostJob),
}

/// Receives each finished host; an error stops the scan (the outputs failed).
pub type OnHost<'a> = dyn FnMut(HostOutcome) -> io::Result<()> + 'a;

/// A port scan engine: probes the plan's ports on every job and reports
/// each host once, in the order the jobs came.
///
/// `run` blocks until every job is done or the scan's stop flag is raised;
/// hosts unfinished at a stop are not reported. Engines own their threads
/// and runtimes, so the caller needs none.
pub trait Engine: Send + Sync + std::fmt::Debug {
    /// Scans `jobs` according to `plan`.
    fn run(
        &self,
        jobs: &mut dyn Iterator<Item = HostJob>,
        plan: ScanPlan,
        on_host: &mut OnHost<'_>,
    ) -> Result<(), ScanError>;

    /// Probes sent so far, for the progress display.
    fn probes_sent(&self) -> u64;

    /// nmap's name of the scan type, as in XML `<scaninfo type=...>`.
    fn scan_type(&self) -> &'static str;

    /// Where the engine publishes its own events (retransmission rounds,
    /// rate limiting); set once, before `run`. Engines without such events
    /// keep the default, which ignores it.
    fn publish_to(&self, _events: &Events) {}
}
