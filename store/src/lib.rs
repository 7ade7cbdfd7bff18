//! Scan history: one schema ([`schema`]), an SQLite back end ([`SqliteStore`]),
//! written host by host from the output path and read back as the same
//! `HostResult`s the outputs render.
//!
//! SQLite's heap goes through Rust's global allocator ([`alloc`]), so the
//! binary's `--mem-report` and the dhat heap tests see it.

pub mod alloc;
pub mod codec;
mod latest;
mod pair;
mod read;
pub mod schema;
mod sqlite;

pub use latest::Sighting;
pub use sqlite::{ScanMeta, ScanSummary, SqliteStore};

/// What can go wrong with the history; every message is one line, without
/// the file's name, which the caller puts in front (`--db FILE: ...`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite refused (not a database, locked past the busy timeout, disk full...).
    #[error("{source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    /// A row holds something no version of prtip writes.
    #[error("damaged scan history: {0}")]
    Corrupt(String),
    /// The file was written by a newer prtip.
    #[error("schema version {found} is newer than this prtip's {known}")]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    /// The file cannot be written (permissions, read-only medium).
    #[error("the database is read-only")]
    ReadOnly(String),
    /// A privileged prtip does not follow a symbolic link to its database.
    #[error("it is a symbolic link, which prtip does not follow when privileged")]
    Symlink,
    /// The output the scan was being written to failed (a full disk, a closed pipe).
    #[error("{0}")]
    Output(std::io::Error),
    /// `db show` of an id that is not there.
    #[error("no scan {0} in the database")]
    NoSuchScan(i64),
}

/// A target that is not a file but a server, which this version cannot use yet.
pub fn is_postgres_url(target: &str) -> bool {
    target.starts_with("postgres://") || target.starts_with("postgresql://")
}
