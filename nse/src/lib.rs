//! NSE: nmap's scripts, read unmodified at run time from nmap's data
//! directory (`scripts/`, `nselib/`), run on an embedded Lua 5.3.
//!
//! - [`select`]: `--script` rules against `scripts/script.db`;
//! - [`vm`]: the Lua state, the `nmap` module (Rust functions plus
//!   `prelude.lua`), and nselib on `package.path`;
//! - [`socket`]: `nmap.new_socket`'s operations, async on tokio: a script's
//!   coroutine yields to the runtime while it waits on the network;
//! - [`driver`]: rules, actions, timeouts, results in nmap's shape.
//!
//! The Lua heap is allocated through Rust's global allocator (mlua hands
//! `lua_newstate` an allocator that calls `std::alloc`), so memprof's
//! `scripts` phase and dhat see it.

pub mod args;
pub mod builtin;
pub mod driver;
mod output;
pub mod select;
pub mod socket;
mod tables;
pub mod vm;

pub use driver::{HostInput, PortInput, ScriptEngine};
pub use select::{choose, choose_builtin, Chosen};

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong before scripts run, one line each.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read the script database {0}: {1}")]
    ScriptDb(PathBuf, std::io::Error),
    #[error("'{0}' did not match a category, filename, or directory")]
    NoMatch(String),
    #[error("directory '{0}' found, but will not match without '/'")]
    BareDirectory(String),
    #[error("no NSE data found: neither scripts/script.db nor nselib/ in the data directories (install nmap or use --datadir)")]
    NoData,
    #[error("script {0}: {1}")]
    Load(String, String),
    #[error("bad --script-args: {0}")]
    Args(String),
    #[error("Lua: {0}")]
    Lua(String),
}

impl Error {
    /// Whether the user's input is at fault (a usage error, exit 2): a
    /// rule that matches nothing, a bare directory, bad `--script-args`.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::NoMatch(_) | Error::BareDirectory(_) | Error::Args(_)
        )
    }
}

impl From<mlua::Error> for Error {
    fn from(e: mlua::Error) -> Self {
        Error::Lua(first_line(&e.to_string()))
    }
}

/// The first line of a (possibly multi-line, traceback-carrying) message.
pub(crate) fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// What the user asked of NSE.
#[derive(Debug, Clone)]
pub struct NseConfig {
    /// nmap's data directories in search order (`--datadir`, `$NMAPDIR`,
    /// /usr/local/share/nmap, /usr/share/nmap).
    pub data_dirs: Vec<PathBuf>,
    /// The `--script` value (`-sC` is `default`).
    pub spec: String,
    /// `--script-args` (with `--script-args-file`'s lines joined by commas).
    pub args: String,
    /// `--script-timeout`; `None` runs scripts until they end.
    pub timeout: Option<Duration>,
    /// Lua heap a script may grow the VM by before it is stopped.
    pub memory_cap: usize,
    pub verbosity: u8,
    pub debugging: u8,
    pub ipv6: bool,
}

impl NseConfig {
    /// The first data directory holding nmap's scripts and nselib.
    pub fn nse_root(&self) -> Result<PathBuf, Error> {
        self.data_dirs
            .iter()
            .find(|d| d.join("scripts/script.db").is_file() && d.join("nselib").is_dir())
            .cloned()
            .ok_or(Error::NoData)
    }
}
