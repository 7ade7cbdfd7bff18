//! The SQLite back end: open (migrations, WAL, busy timeout) and writing.

use crate::codec::{duration_micros, micros, not_ideal_text};
use crate::{alloc, schema, Error};
use prtip_core::result::{HostResult, OsReport, PortResult, RunInfo, RunStats};
use rusqlite::{params, Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

/// How long a writer waits for another process's transaction to end.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// SQLite's page cache per connection, in KiB (negative `cache_size`). The
/// default 2 MiB would be most of a scan's heap budget; rows are appended,
/// so a small cache costs little.
const CACHE_KIB: i64 = 256;

/// What a scan row records beyond `RunInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanMeta {
    /// `--seed`, when given.
    pub seed: Option<u64>,
    /// `--shard i/n` as (i - 1, n).
    pub shard: Option<(u64, u64)>,
}

/// One line of `prtip db list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSummary {
    pub id: i64,
    pub args: String,
    pub started_us: i64,
    pub status: String,
    pub hosts_up: Option<i64>,
    pub hosts_down: Option<i64>,
}

/// One open SQLite history file.
#[derive(Debug)]
pub struct SqliteStore {
    pub(crate) conn: Connection,
    pub(crate) path: String,
    scan: Option<i64>,
    hosts: i64,
}

impl SqliteStore {
    /// Opens (creating if needed) `path` for writing, migrated to the current schema.
    pub fn open(path: &Path) -> Result<Self, Error> {
        Self::open_for_writing(path, false)
    }

    /// [`SqliteStore::open`]; with `nofollow`, a symbolic link is refused
    /// ([`Error::Symlink`]), as a privileged prtip treats its output files.
    pub fn open_for_writing(path: &Path, nofollow: bool) -> Result<Self, Error> {
        if nofollow && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Error::Symlink);
        }
        let mut flags = OpenFlags::SQLITE_OPEN_CREATE;
        if nofollow {
            // Also refuses a link made between the check above and the open.
            flags |= OpenFlags::SQLITE_OPEN_NOFOLLOW;
        }
        let store = Self::connect(path, flags)?;
        if store.conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) {
            return Err(Error::ReadOnly(store.path));
        }
        store.settle(|s| {
            s.pragmas(true)?;
            s.migrate()
        })?;
        Ok(store)
    }

    /// Opens an existing `path` for reading (`prtip db ...`); an older schema is migrated.
    pub fn open_existing(path: &Path) -> Result<Self, Error> {
        let store = Self::connect(path, OpenFlags::empty())?;
        store.settle(|s| {
            s.pragmas(false)?;
            s.migrate()
        })?;
        Ok(store)
    }

    fn connect(path: &Path, extra: OpenFlags) -> Result<Self, Error> {
        // Before the first connection, so SQLite's heap is counted (see alloc.rs).
        let _ = alloc::route();
        let name = path.display().to_string();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | extra;
        let conn = Connection::open_with_flags(path, flags).map_err(|source| Error::Sqlite {
            path: name.clone(),
            source,
        })?;
        Ok(SqliteStore {
            conn,
            path: name,
            scan: None,
            hosts: 0,
        })
    }

    /// Runs the opening steps again while another process holds the file.
    /// SQLite answers "database is locked" at once, without its busy handler,
    /// in some of them (switching a new file to WAL while another connection
    /// is setting it up), so the wait is ours here, bounded by the busy timeout.
    fn settle(&self, step: impl Fn(&Self) -> Result<(), Error>) -> Result<(), Error> {
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        loop {
            match step(self) {
                Err(Error::Sqlite { source, .. })
                    if is_busy(&source) && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                done => return done,
            }
        }
    }

    pub(crate) fn err(&self, source: rusqlite::Error) -> Error {
        Error::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// WAL lets readers and several writing scans share the file; writers
    /// wait for each other up to the busy timeout. synchronous=NORMAL in WAL
    /// keeps every committed host across a crash of prtip (not of the OS).
    /// SQLite ignores the schema's REFERENCES unless `foreign_keys` is on,
    /// per connection: on, a row whose scan or host is missing is refused
    /// instead of written as an orphan no query would find.
    fn pragmas(&self, writing: bool) -> Result<(), Error> {
        let c = &self.conn;
        c.busy_timeout(BUSY_TIMEOUT).map_err(|e| self.err(e))?;
        c.pragma_update(None, "foreign_keys", true)
            .map_err(|e| self.err(e))?;
        c.pragma_update(None, "cache_size", -CACHE_KIB)
            .map_err(|e| self.err(e))?;
        if writing {
            c.pragma_update(None, "journal_mode", "WAL")
                .map_err(|e| self.err(e))?;
            c.pragma_update(None, "synchronous", "NORMAL")
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Applies every migration the file lacks, each in its own transaction,
    /// with the version bump in the same transaction: a crash leaves either
    /// the old or the new version, never half of one.
    fn migrate(&self) -> Result<(), Error> {
        let e = |s| self.err(s);
        self.conn
            .execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .map_err(e)?;
        loop {
            let found = self.version()?;
            if found > schema::CURRENT {
                return Err(Error::TooNew {
                    path: self.path.clone(),
                    found,
                    known: schema::CURRENT,
                });
            }
            let Some(step) = usize::try_from(found)
                .ok()
                .and_then(|i| schema::MIGRATIONS.get(i))
            else {
                return Ok(());
            };
            let sql = format!(
                "BEGIN IMMEDIATE;{}\nDELETE FROM schema_version;INSERT INTO schema_version VALUES ({});COMMIT;",
                schema::render(step, schema::SQLITE_ID),
                found + 1
            );
            // Another process may have migrated while we waited for the lock:
            // BEGIN IMMEDIATE serialises, and the version is read again below.
            if self.version()? == found {
                if let Err(err) = self.conn.execute_batch(&sql) {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    if self.version()? == found {
                        return Err(e(err));
                    }
                }
            }
        }
    }

    /// The schema version of the file (0 for a new one).
    pub fn version(&self) -> Result<i64, Error> {
        self.conn
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Records the start of a scan; its id.
    pub fn begin_scan(&mut self, run: &RunInfo, meta: &ScanMeta) -> Result<i64, Error> {
        let tx = self.conn.savepoint().map_err(|e| Error::Sqlite {
            path: self.path.clone(),
            source: e,
        })?;
        let id = insert_scan(&tx, run, meta).and_then(|id| tx.commit().map(|()| id));
        let id = id.map_err(|e| self.err(e))?;
        self.scan = Some(id);
        self.hosts = 0;
        Ok(id)
    }

    /// Appends one host, all its rows in one transaction: a host is in the
    /// file whole or not at all, and no lock is held between hosts, so other
    /// scans writing the same file never wait for this one's network.
    /// (A savepoint, so that inside [`SqliteStore::atomically`] it is part
    /// of the enclosing transaction.)
    pub fn add_host(&mut self, host: &HostResult) -> Result<(), Error> {
        let Some(scan) = self.scan else {
            return Err(Error::Corrupt("host written before its scan".into()));
        };
        let seq = self.hosts;
        let tx = self.conn.savepoint().map_err(|e| Error::Sqlite {
            path: self.path.clone(),
            source: e,
        })?;
        let done = insert_host(&tx, scan, seq, host).and_then(|()| tx.commit());
        done.map_err(|e| self.err(e))?;
        self.hosts += 1;
        Ok(())
    }

    /// Records the end of the scan: time, counts, and whether it was interrupted.
    pub fn end_scan(&mut self, stats: &RunStats) -> Result<(), Error> {
        let Some(scan) = self.scan else {
            return Ok(());
        };
        let status = if stats.interrupted {
            "interrupted"
        } else {
            "done"
        };
        self.conn
            .execute(
                "UPDATE scans SET ended_us = ?1, elapsed_us = ?2, hosts_up = ?3, hosts_down = ?4, status = ?5,
                    elapsed_ns = ?7 WHERE id = ?6",
                params![
                    micros(stats.end),
                    duration_micros(stats.elapsed),
                    i64::try_from(stats.hosts_up).unwrap_or(i64::MAX),
                    i64::try_from(stats.hosts_down).unwrap_or(i64::MAX),
                    status,
                    scan,
                    i64::try_from(stats.elapsed.as_nanos()).unwrap_or(i64::MAX)
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Runs `f` in one transaction: all it wrote is committed, or, when it
    /// fails, nothing (`db import` of a file that breaks off half way).
    pub fn atomically<T, E: From<Error>>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> Result<T, E> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.err(e))?;
        match f(self) {
            Ok(v) => {
                self.conn.execute_batch("COMMIT").map_err(|e| self.err(e))?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Records that scan `id` was imported from a file written by `scanner`
    /// `version` (the XML's `<nmaprun scanner= version=>`).
    pub fn set_origin(&self, id: i64, scanner: &str, version: Option<&str>) -> Result<(), Error> {
        self.conn
            .execute(
                "UPDATE scans SET scanner = ?1, scanner_version = ?2 WHERE id = ?3",
                params![scanner, version, id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every scan, newest first.
    pub fn list(
        &self,
        each: &mut dyn FnMut(ScanSummary) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        let mut st = self
            .conn
            .prepare("SELECT id, args, started_us, status, hosts_up, hosts_down FROM scans ORDER BY started_us DESC, id DESC")
            .map_err(|e| self.err(e))?;
        let mut rows = st.query([]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let s = ScanSummary {
                id: r.get(0).map_err(|e| self.err(e))?,
                args: r.get(1).map_err(|e| self.err(e))?,
                started_us: r.get(2).map_err(|e| self.err(e))?,
                status: r.get(3).map_err(|e| self.err(e))?,
                hosts_up: r.get(4).map_err(|e| self.err(e))?,
                hosts_down: r.get(5).map_err(|e| self.err(e))?,
            };
            each(s).map_err(Error::Output)?;
        }
        Ok(())
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn insert_scan(c: &Connection, run: &RunInfo, meta: &ScanMeta) -> rusqlite::Result<i64> {
    let shard = meta.shard.map(|(i, n)| (i as i64, n as i64));
    c.execute(
        "INSERT INTO scans (args, started_us, seed, shard_index, shard_count, prtip_version, status,
            verbose, debug, show_reason, port_scan, version_scan, os_scan, os_guess)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running', ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            run.args,
            micros(run.start),
            meta.seed.map(|s| s.to_string()),
            shard.map(|s| s.0),
            shard.map(|s| s.1),
            env!("CARGO_PKG_VERSION"),
            run.verbose,
            run.debug,
            run.reason,
            run.port_scan,
            run.version_scan,
            run.os_scan,
            run.os_guess
        ],
    )?;
    let id = c.last_insert_rowid();
    let mut st = c.prepare_cached(
        "INSERT INTO scan_types (scan_id, seq, scan_type, protocol, num_services, services, tcp_flags)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (i, s) in run.scans.iter().enumerate() {
        st.execute(params![
            id,
            i as i64,
            s.scan_type,
            s.protocol.as_str(),
            s.num_services,
            s.services,
            s.tcp_flags
        ])?;
    }
    Ok(id)
}

fn insert_host(c: &Connection, scan: i64, seq: i64, h: &HostResult) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO hosts (scan_id, seq, addr, hostname, status, reason, latency_ns, started_us, ended_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        scan,
        seq,
        h.addr.to_string(),
        h.hostname,
        h.status.as_str(),
        h.reason.as_str(),
        h.latency.map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
        micros(h.start),
        micros(h.end)
    ])?;
    let host = c.last_insert_rowid();
    for (i, p) in h.ports.shown.iter().enumerate() {
        insert_port(c, host, i as i64, p)?;
    }
    insert_extra(c, host, h)?;
    if let Some(os) = &h.os {
        insert_os(c, host, os)?;
    }
    Ok(())
}

fn insert_port(c: &Connection, host: i64, seq: i64, p: &PortResult) -> rusqlite::Result<()> {
    let s = p.service.as_deref();
    c.prepare_cached(
        "INSERT INTO ports (host_id, seq, protocol, port, state, reason, reason_ttl, service, product, version,
            extrainfo, service_hostname, ostype, devicetype, tunnel, method, conf)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?
    .execute(params![
        host,
        seq,
        p.protocol.as_str(),
        p.port,
        p.state.as_str(),
        p.reason.as_str(),
        p.reason_ttl,
        s.map(|s| &s.name),
        s.and_then(|s| s.product.as_ref()),
        s.and_then(|s| s.version.as_ref()),
        s.and_then(|s| s.extrainfo.as_ref()),
        s.and_then(|s| s.hostname.as_ref()),
        s.and_then(|s| s.ostype.as_ref()),
        s.and_then(|s| s.devicetype.as_ref()),
        s.and_then(|s| s.tunnel.as_ref()),
        s.map(|s| s.method.as_str()),
        s.map(|s| s.conf)
    ])?;
    let mut cpe = c.prepare_cached(
        "INSERT INTO port_cpes (host_id, port_seq, seq, cpe) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (i, one) in s.map_or(&[][..], |s| &s.cpe[..]).iter().enumerate() {
        cpe.execute(params![host, seq, i as i64, one])?;
    }
    Ok(())
}

fn insert_extra(c: &Connection, host: i64, h: &HostResult) -> rusqlite::Result<()> {
    let mut group = c.prepare_cached(
        "INSERT INTO extraports (host_id, seq, state, count) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut why = c.prepare_cached(
        "INSERT INTO extra_reasons (host_id, extra_seq, seq, protocol, reason, count, first_port) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (i, e) in h.ports.extra.iter().enumerate() {
        group.execute(params![host, i as i64, e.state.as_str(), e.count])?;
        for (j, r) in e.reasons.iter().enumerate() {
            why.execute(params![
                host,
                i as i64,
                j as i64,
                r.protocol.as_str(),
                r.reason.as_str(),
                r.count,
                r.first_port
            ])?;
        }
    }
    Ok(())
}

fn insert_os(c: &Connection, host: i64, os: &OsReport) -> rusqlite::Result<()> {
    let note = os.not_ideal.map(not_ideal_text);
    let (failure, detail) = match &os.failure {
        None => (None, None),
        Some(prtip_core::result::OsFailure::NoOpenPort) => (Some("no-open-port"), None),
        Some(prtip_core::result::OsFailure::Failed(why)) => (Some("failed"), Some(why.as_str())),
    };
    c.prepare_cached(
        "INSERT INTO os_reports (host_id, closed_port, not_ideal, not_ideal_distance, fingerprint, distance, failure, failure_detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![host, os.closed_port, note.map(|n| n.0), note.and_then(|n| n.1), os.fingerprint, os.distance, failure, detail])?;
    let mut used = c.prepare_cached("INSERT INTO os_ports_used (host_id, seq, state, protocol, port) VALUES (?1, ?2, ?3, ?4, ?5)")?;
    for (i, (state, proto, port)) in os.ports_used.iter().enumerate() {
        used.execute(params![
            host,
            i as i64,
            state.as_str(),
            proto.as_str(),
            port
        ])?;
    }
    let mut m = c.prepare_cached(
        "INSERT INTO os_matches (host_id, seq, name, accuracy, line, matched, possible) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut k = c.prepare_cached(
        "INSERT INTO os_classes (host_id, match_seq, seq, device_type, vendor, family, generation, accuracy, cpe)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for (i, g) in os.candidates.iter().enumerate() {
        m.execute(params![
            host,
            i as i64,
            g.name,
            g.accuracy,
            g.line as i64,
            g.matched,
            g.possible
        ])?;
        for (j, cl) in g.classes.iter().enumerate() {
            k.execute(params![
                host,
                i as i64,
                j as i64,
                cl.device_type,
                cl.vendor,
                cl.family,
                cl.generation,
                cl.accuracy,
                cl.cpe.join("\n")
            ])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without `foreign_keys=ON` SQLite accepts both rows below silently.
    #[test]
    fn rows_without_their_scan_or_host_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for reading in [false, true] {
            let path = dir.path().join(format!("fk-{reading}.sqlite"));
            drop(SqliteStore::open(&path).unwrap());
            let s = if reading {
                SqliteStore::open_existing(&path).unwrap()
            } else {
                SqliteStore::open(&path).unwrap()
            };
            let orphan_host = s.conn.execute(
                "INSERT INTO hosts (scan_id, seq, addr, status, reason, started_us, ended_us)
                 VALUES (99, 0, '127.0.0.1', 'up', 'reset', 0, 0)",
                [],
            );
            let orphan_port = s.conn.execute(
                "INSERT INTO ports (host_id, seq, protocol, port, state, reason, reason_ttl)
                 VALUES (99, 0, 'tcp', 80, 'open', 'syn-ack', 0)",
                [],
            );
            for r in [orphan_host, orphan_port] {
                let e = r.expect_err("an orphan row was written");
                assert!(e.to_string().contains("FOREIGN KEY"), "{e}");
            }
        }
    }
}
