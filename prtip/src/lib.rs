//! The prtip binary's library half: flag parsing, wiring and output sinks,
//! kept in a library so integration tests can drive them in-process.

pub mod app;
pub mod budgets;
pub mod cli;
pub mod mapped;
pub mod memreport;
pub mod osdetect;
pub mod output;
pub mod poststage;
pub mod progress;
pub mod raw;
pub mod resolve;
pub mod settings;
