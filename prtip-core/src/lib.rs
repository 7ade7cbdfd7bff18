//! prtip-core: everything a scan needs that does no I/O.
pub mod config;
pub mod cookie;
pub mod error;
pub mod os_db;
pub mod os_fp;
pub mod payloads;
pub mod permutation;
pub mod ports;
pub mod result;
pub mod service_db;
pub mod services;
pub mod target;
pub mod wire;
