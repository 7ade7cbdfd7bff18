//! The observations of one address across scans, newest first, for
//! `prtip db latest` (through the `hosts_by_addr` index).

use crate::{codec, Error, SqliteStore};
use prtip_core::result::{HostResult, Protocol};

type R<T> = Result<T, Error>;

/// One time a host was recorded.
#[derive(Debug, Clone)]
pub struct Sighting {
    pub scan: i64,
    /// The scan's start, microseconds since the epoch.
    pub started_us: i64,
    pub host: HostResult,
    /// The scan's port lists per protocol (`"1-1000"`, `"22,80"`): ports it
    /// looked at, listed or counted in a "Not shown" group.
    pub covered: Vec<(Protocol, String)>,
}

impl SqliteStore {
    /// Each recorded address once, in text order; with `name`, only those
    /// recorded under that host name.
    pub fn addresses(&self, name: Option<&str>, each: &mut dyn FnMut(String) -> R<()>) -> R<()> {
        let sql = match name {
            Some(_) => "SELECT DISTINCT addr FROM hosts WHERE hostname = ?1 ORDER BY addr",
            None => "SELECT addr FROM hosts GROUP BY addr ORDER BY addr",
        };
        let mut st = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let mut rows = match name {
            Some(n) => st.query([n]),
            None => st.query([]),
        }
        .map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            each(r.get(0).map_err(|e| self.err(e))?)?;
        }
        Ok(())
    }

    /// Every recording of `addr`, newest scan first; `each` returns false
    /// to stop.
    pub fn sightings(&self, addr: &str, each: &mut dyn FnMut(Sighting) -> R<bool>) -> R<()> {
        let mut st = self
            .conn
            .prepare(
                "SELECT h.id, h.addr, h.hostname, h.status, h.reason, h.latency_ns, h.started_us, h.ended_us,
                    s.id, s.started_us
                 FROM hosts h JOIN scans s ON s.id = h.scan_id
                 WHERE h.addr = ?1 ORDER BY s.started_us DESC, s.id DESC, h.seq DESC",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st.query([addr]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let scan: i64 = r.get(8).map_err(|e| self.err(e))?;
            let sighting = Sighting {
                scan,
                started_us: r.get(9).map_err(|e| self.err(e))?,
                host: self.host(r)?,
                covered: self.covered(scan)?,
            };
            if !each(sighting)? {
                break;
            }
        }
        Ok(())
    }

    fn covered(&self, scan: i64) -> R<Vec<(Protocol, String)>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT protocol, services FROM scan_types WHERE scan_id = ?1 ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st.query([scan]).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let p: String = r.get(0).map_err(|e| self.err(e))?;
            out.push((codec::protocol(&p)?, r.get(1).map_err(|e| self.err(e))?));
        }
        Ok(out)
    }
}
