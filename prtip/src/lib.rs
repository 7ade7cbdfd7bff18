//! The prtip binary's library half: flag parsing, wiring and output sinks,
//! kept in a library so integration tests can drive them in-process.

pub mod app;
pub mod argv;
pub mod audit;
pub mod budgets;
pub mod cli;
pub mod configs;
pub mod db;
pub mod memreport;
pub mod output;
pub mod panics;
pub mod pings;
pub mod portdb;
pub mod progress;
pub mod scan;
pub mod scripts;
pub mod settings;
mod sys;
pub mod tcpscan;
pub mod watch;
