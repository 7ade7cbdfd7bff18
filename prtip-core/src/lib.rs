//! prtip-core: everything a scan needs that does no I/O.
pub mod result;
