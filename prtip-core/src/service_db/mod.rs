//! nmap's service/version database (`nmap-service-probes`) and the matcher
//! that identifies a response with it.
//!
//! Memory is the design constraint (see DESIGN.md, "Service DB"):
//!
//! - [`ServiceDb`] borrows the file's text (the binary memory-maps it); a rule
//!   is 32 bytes of offsets, so the whole nmap 7.93 file costs a few hundred
//!   kilobytes of heap.
//! - Each rule carries literal bytes every match must contain (a leading
//!   prefix for anchored patterns, and the longest mandatory literal run);
//!   a response lacking them is rejected before any regex exists.
//! - Patterns are compiled on first use into a least-recently-used cache of
//!   [`DEFAULT_CACHE_CAPACITY`] entries ([`ServiceDb::set_cache_capacity`]).
//!
//! Patterns are PCRE run on bytes: `regex-automata` (NFA engines only, after
//! translating PCRE's differences) where it can, a small backtracker for
//! lookaround, backreferences and atomic/possessive constructs.

mod backtrack;
mod matcher;
mod parse;
mod pattern;
mod template;

pub use matcher::{compile_check, search_with, CacheStats, Engine, Match};
pub use parse::{Counts, PrefilterStats, Probe, RuleInfo, ServiceDb};
pub use template::{render, FIELD_CAP};

/// prtip's own small database in nmap's grammar, for `-sV` on a machine
/// without nmap's file (see the file's header).
pub const BUILTIN_PROBES: &str = include_str!("../../data/prtip-service-probes");

/// The name [`BUILTIN_PROBES`] is reported under in warnings.
pub const BUILTIN_NAME: &str = "prtip-service-probes (built in)";

/// Compiled patterns kept by default. One HTTP response can pass the
/// prefilter of a few dozen rules; more than that is rare.
pub const DEFAULT_CACHE_CAPACITY: usize = 64;
