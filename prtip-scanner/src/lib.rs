//! prtip-scanner: everything that touches the network. The engines
//! ([`engines`]) scan ports and report each host as a [`plan::HostOutcome`];
//! the stages ([`stages`]) then do the per-host work (reverse DNS, `-sV`,
//! `-O`) on a worker pool. All sockets of prtip live in this crate.

pub mod cancel;
pub mod engines;
pub mod error;
pub mod events;
#[doc(hidden)]
pub mod inject;
pub mod net;
pub mod os;
pub mod pacer;
pub mod plan;
pub mod rlimit;
pub mod rtt;
pub mod service;
pub mod stages;
pub mod sys;
pub mod trace;

pub use error::ScanError;
