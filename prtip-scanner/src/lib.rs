//! prtip-scanner: the scan engines. All sockets live here.

pub mod cancel;
pub mod connect;
pub mod error;
pub mod net;
pub mod os;
pub mod pacer;
pub mod rlimit;
pub mod rtt;
pub mod service;
pub mod syn;

pub use error::ScanError;
