//! Fixtures shared by the tests of every prtip crate (a dev-dependency only).
//!
//! - [`prereq`]: the one rule for missing prerequisites: skip loudly with
//!   `SKIPPED (needs X)`, or fail when `CI=true`.
//! - [`process`]: child processes with a bound on their run time.
//! - [`xml`]: the one reader of nmap-format XML (and `xmllint`, `ndiff`).
//! - [`netns`]: commands in network namespaces, and [`netns::NetnsGuard`].
//! - [`lab`]: the namespace labs ([`lab::Lab`] built in-process,
//!   [`lab::ScriptLab`] built by `scripts/lab`).
//! - [`capture`]: `tcpdump` inside a lab namespace.
//! - [`services`]: real daemons (`scripts/services`) in a namespace.
//! - [`hostile`]: services built to hurt `-sV`, and a namespace for them.
//! - [`nmapdata`]: nmap's installed data, or hiding it from a thread.
//! - [`loopback`]: listeners and servers on 127.0.0.1 (or ::1), TCP and UDP.
//! - [`versiontrace`]: what nmap's version scan concluded, from its
//!   `--version-trace` output.
//!
//! Programs of the crate under test (the `prtip` binary) are passed in by
//! path: `CARGO_BIN_EXE_*` exists only in that crate's integration tests.
//!
//! Network safety: the labs only ever use 198.18.0.0/15 and 2001:db8::/32
//! inside namespaces they created themselves, and remove everything they
//! create in `Drop`; [`loopback`] binds 127.0.0.1 and ::1 only.

pub mod capture;
pub mod hostile;
pub mod lab;
pub mod loopback;
pub mod netns;
pub mod nmapdata;
pub mod prereq;
pub mod process;
pub mod services;
pub mod versiontrace;
pub mod xml;

/// Path of a file of this repository, from its root (e.g. `scripts/lab`).
pub fn repo_path(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}
