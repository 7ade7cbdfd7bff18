//! `--db FILE`: the scan history as one more sink beside -oN/-oX/-oG/-oJ.
//!
//! Each host is written as it arrives, in its own transaction, so the heap
//! holds one host and a host already reported is in the file even if prtip
//! is killed. The database is a record, not the scan's purpose: when it
//! cannot be opened or fails mid-scan, one `prtip:` line says so, the sink
//! goes quiet, the other outputs go on, and the run exits 1 at the end
//! ([`DbHealth`]).

use memprof::Phase;
use prtip_core::result::{HostResult, ResultSink, RunInfo, RunStats};
use prtip_store::{ScanMeta, SqliteStore};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Whether the history failed during the run (shared with `app`).
#[derive(Debug, Clone, Default)]
pub struct DbHealth(Arc<AtomicBool>);

impl DbHealth {
    /// True once the database failed; the line was printed then.
    pub fn failed(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The sink; inert after its first failure.
#[derive(Debug)]
pub struct DbSink {
    store: Option<SqliteStore>,
    path: PathBuf,
    meta: ScanMeta,
    health: DbHealth,
}

impl DbSink {
    /// Opens (creating and migrating) the file; a failure is reported now
    /// and leaves an inert sink, so the scan and its other outputs go on.
    pub fn open(path: &Path, meta: ScanMeta, health: DbHealth) -> DbSink {
        let _store = memprof::phase(Phase::Store);
        let mut sink = DbSink {
            store: None,
            path: path.to_path_buf(),
            meta,
            health,
        };
        // Privileged, a link in a directory others can write could point
        // the database at a file only root may change (as create_file).
        match SqliteStore::open_for_writing(path, crate::sys::privileged()) {
            Ok(s) => sink.store = Some(s),
            Err(e) => sink.give_up(&e),
        }
        sink
    }

    fn give_up(&mut self, e: &prtip_store::Error) {
        self.store = None;
        if !self.health.0.swap(true, Ordering::SeqCst) {
            let msg = format!(
                "--db {}: {e}; the scan goes on without recording it",
                self.path.display()
            );
            eprintln!("prtip: {}", crate::app::elide_long_words(&msg));
        }
    }

    /// Runs `f` on the open store in the `store` phase; a failure ends recording.
    fn with(&mut self, f: impl FnOnce(&mut SqliteStore) -> Result<(), prtip_store::Error>) {
        let _store = memprof::phase(Phase::Store);
        let Some(store) = self.store.as_mut() else {
            return;
        };
        if let Err(e) = f(store) {
            self.give_up(&e);
        }
    }
}

impl ResultSink for DbSink {
    fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        let meta = self.meta.clone();
        self.with(|s| s.begin_scan(run, &meta).map(drop));
        Ok(())
    }

    fn host(&mut self, host: &HostResult) -> io::Result<()> {
        self.with(|s| s.add_host(host));
        Ok(())
    }

    fn end(&mut self, stats: &RunStats) -> io::Result<()> {
        self.with(|s| s.end_scan(stats));
        // Closing frees SQLite's cache and checkpoints the WAL: in the store phase too.
        let _store = memprof::phase(Phase::Store);
        self.store = None;
        Ok(())
    }
}
