//! prtip-core: everything a scan needs that does no I/O.
pub mod config;
pub mod error;
pub mod ports;
pub mod result;
pub mod services;
pub mod target;
