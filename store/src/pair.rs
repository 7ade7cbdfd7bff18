//! Two scans walked side by side in ndiff's host order, for `db diff`.
//!
//! ndiff pairs the hosts of two scans by an id, the address left-justified
//! in 40 columns followed by the host name, and walks both lists sorted by
//! that id. An address is at most 39 characters, all above the space, so
//! that order is the order of (address, host name) as plain text, which
//! the `hosts_by_scan_addr` index gives without sorting the scan (only the
//! hosts of one address are sorted by name). SQLite's binary collation
//! orders UTF-8 as Python orders code points, and as Rust compares
//! strings, so the merge below agrees with the queries' order. Only the two
//! current hosts are on the heap.

use crate::{Error, SqliteStore};
use prtip_core::result::HostResult;
use rusqlite::Rows;
use std::cmp::Ordering;

type R<T> = Result<T, Error>;

const WALK: &str = "SELECT id, addr, hostname, status, reason, latency_ns, started_us, ended_us,
        COALESCE(hostname, '')
    FROM hosts WHERE scan_id = ?1 ORDER BY addr, COALESCE(hostname, ''), seq";

/// One side of the walk: the next host and its (address, host name).
type Next = Option<((String, String), HostResult)>;

impl SqliteStore {
    /// Calls `each` with the hosts of scans `a` and `b` paired as ndiff
    /// pairs them: (a, b) when their ids are equal, else the one with the
    /// smaller id alone. Both scans must exist.
    pub fn pair_hosts(
        &self,
        a: i64,
        b: i64,
        each: &mut dyn FnMut(Option<HostResult>, Option<HostResult>) -> R<()>,
    ) -> R<()> {
        for id in [a, b] {
            self.run_info(id)?;
        }
        let mut st_a = self.conn.prepare(WALK).map_err(|e| self.err(e))?;
        let mut st_b = self.conn.prepare(WALK).map_err(|e| self.err(e))?;
        let mut rows_a = st_a.query([a]).map_err(|e| self.err(e))?;
        let mut rows_b = st_b.query([b]).map_err(|e| self.err(e))?;
        let mut next_a = self.next_keyed(&mut rows_a)?;
        let mut next_b = self.next_keyed(&mut rows_b)?;
        loop {
            let order = match (&next_a, &next_b) {
                (None, None) => return Ok(()),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some((ka, _)), Some((kb, _))) => ka.cmp(kb),
            };
            let (ha, hb) = match order {
                Ordering::Less => (take(&mut next_a), None),
                Ordering::Greater => (None, take(&mut next_b)),
                Ordering::Equal => (take(&mut next_a), take(&mut next_b)),
            };
            each(ha, hb)?;
            if next_a.is_none() {
                next_a = self.next_keyed(&mut rows_a)?;
            }
            if next_b.is_none() {
                next_b = self.next_keyed(&mut rows_b)?;
            }
        }
    }

    fn next_keyed(&self, rows: &mut Rows<'_>) -> R<Next> {
        let Some(r) = rows.next().map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        let addr: String = r.get(1).map_err(|e| self.err(e))?;
        let name: String = r.get(8).map_err(|e| self.err(e))?;
        Ok(Some(((addr, name), self.host(r)?)))
    }

    /// Who wrote scan `id`: `(scanner, version)` of the XML it was imported
    /// from, or `(None, Some(prtip's version))` for a scan prtip recorded.
    pub fn origin(&self, id: i64) -> R<(Option<String>, Option<String>)> {
        self.conn
            .query_row(
                "SELECT scanner, CASE WHEN scanner IS NULL THEN prtip_version ELSE scanner_version END
                 FROM scans WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Error::NoSuchScan(id),
                e => self.err(e),
            })
    }
}

fn take(next: &mut Next) -> Option<HostResult> {
    next.take().map(|(_, h)| h)
}
