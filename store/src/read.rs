//! Reading a scan back as the `RunInfo`, `HostResult`s and `RunStats` the
//! output writers take, one host at a time (the heap holds one host).

use crate::codec::{self, duration, time};
use crate::{Error, SqliteStore};
use prtip_core::result::{
    ExtraPorts, ExtraReason, HostResult, OsFailure, OsGuess, OsGuessClass, OsReport, PortResult,
    PortTable, ResultSink, RunInfo, RunStats, ScanInfo, ServiceInfo,
};
use rusqlite::{params, Row};

type R<T> = Result<T, Error>;

impl SqliteStore {
    /// Feeds scan `id` to `sink` as the live scan did: begin, every host in
    /// the order it was written, end. A scan that never ended (killed) ends
    /// as interrupted, at its last host's end.
    pub fn show(&self, id: i64, sink: &mut dyn ResultSink) -> R<()> {
        let run = self.run_info(id)?;
        sink.begin(&run).map_err(io)?;
        let mut st = self
            .conn
            .prepare("SELECT id, addr, hostname, status, reason, latency_ns, started_us, ended_us FROM hosts WHERE scan_id = ?1 ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let mut rows = st.query([id]).map_err(|e| self.err(e))?;
        let mut last_end = run.start;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let host = self.host(r)?;
            last_end = host.end;
            sink.host(&host).map_err(io)?;
        }
        let stats = self.stats(id, last_end)?;
        sink.end(&stats).map_err(io)
    }

    /// Scan `id`'s `RunInfo` ([`Error::NoSuchScan`] when there is none).
    pub fn run_info(&self, id: i64) -> R<RunInfo> {
        let mut run = self
            .conn
            .query_row(
                "SELECT args, started_us, verbose, debug, show_reason, port_scan, version_scan, os_scan, os_guess FROM scans WHERE id = ?1",
                [id],
                |r| {
                    Ok(RunInfo {
                        args: r.get(0)?,
                        start: time(r.get(1)?),
                        scans: Vec::new(),
                        verbose: r.get(2)?,
                        debug: r.get(3)?,
                        reason: r.get(4)?,
                        port_scan: r.get(5)?,
                        version_scan: r.get(6)?,
                        os_scan: r.get(7)?,
                        os_guess: r.get(8)?,
                    })
                },
            )
            .map_err(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Error::NoSuchScan(id),
                e => self.err(e),
            })?;
        let mut st = self
            .conn
            .prepare("SELECT scan_type, protocol, num_services, services, tcp_flags FROM scan_types WHERE scan_id = ?1 ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let mut rows = st.query([id]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let (t, p): (String, String) = (get(self, r, 0)?, get(self, r, 1)?);
            run.scans.push(ScanInfo {
                scan_type: codec::scan_type(&t)?,
                protocol: codec::protocol(&p)?,
                num_services: get(self, r, 2)?,
                services: get(self, r, 3)?,
                tcp_flags: get(self, r, 4)?,
            });
        }
        Ok(run)
    }

    fn stats(&self, id: i64, last_end: std::time::SystemTime) -> R<RunStats> {
        self.conn
            .query_row(
                "SELECT ended_us, elapsed_us, hosts_up, hosts_down, status, started_us,
                    (SELECT COUNT(*) FROM hosts WHERE scan_id = ?1 AND status = 'up'),
                    (SELECT COUNT(*) FROM hosts WHERE scan_id = ?1 AND status = 'down'),
                    elapsed_ns
                 FROM scans WHERE id = ?1",
                [id],
                |r| {
                    let started: i64 = r.get(5)?;
                    let end: Option<i64> = r.get(0)?;
                    let end = end.map_or(last_end, time);
                    // Nanoseconds since V2; a V1 row has microseconds only.
                    let ns: Option<i64> = r.get(8)?;
                    let elapsed = match (ns, r.get::<_, Option<i64>>(1)?) {
                        (Some(ns), _) => {
                            std::time::Duration::from_nanos(ns.try_into().unwrap_or(0))
                        }
                        (None, Some(us)) => duration(us),
                        (None, None) => end.duration_since(time(started)).unwrap_or_default(),
                    };
                    let up: Option<i64> = r.get(2)?;
                    let down: Option<i64> = r.get(3)?;
                    let status: String = r.get(4)?;
                    Ok(RunStats {
                        end,
                        elapsed,
                        hosts_up: up.unwrap_or(r.get(6)?).try_into().unwrap_or(0),
                        hosts_down: down.unwrap_or(r.get(7)?).try_into().unwrap_or(0),
                        interrupted: status != "done",
                    })
                },
            )
            .map_err(|e| self.err(e))
    }

    /// The host of a `hosts` row whose first eight columns are those of `show`.
    pub(crate) fn host(&self, r: &Row<'_>) -> R<HostResult> {
        let id: i64 = get(self, r, 0)?;
        let addr: String = get(self, r, 1)?;
        let status: String = get(self, r, 3)?;
        let reason: String = get(self, r, 4)?;
        let latency: Option<i64> = get(self, r, 5)?;
        Ok(HostResult {
            addr: addr
                .parse()
                .map_err(|_| Error::Corrupt(format!("bad address \"{addr}\"")))?,
            hostname: get(self, r, 2)?,
            status: codec::host_status(&status)?,
            reason: codec::reason(&reason)?,
            latency: latency
                .map(|ns| std::time::Duration::from_nanos(u64::try_from(ns).unwrap_or(0))),
            start: time(get(self, r, 6)?),
            end: time(get(self, r, 7)?),
            ports: PortTable {
                shown: self.ports(id)?,
                extra: self.extra(id)?,
            },
            os: self.os(id)?,
            scripts: None,
        })
    }

    fn ports(&self, host: i64) -> R<Vec<PortResult>> {
        let mut out = Vec::new();
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT seq, protocol, port, state, reason, reason_ttl, service, product, version, extrainfo,
                    service_hostname, ostype, devicetype, tunnel, method, conf FROM ports WHERE host_id = ?1 ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st.query([host]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let (p, s, why): (String, String, String) =
                (get(self, r, 1)?, get(self, r, 3)?, get(self, r, 4)?);
            let mut port = PortResult::new(
                get(self, r, 2)?,
                codec::protocol(&p)?,
                codec::state(&s)?,
                codec::reason(&why)?,
            );
            port.reason_ttl = get(self, r, 5)?;
            let seq: i64 = get(self, r, 0)?;
            port.service = self.service(host, seq, r)?.map(Box::new);
            out.push(port);
        }
        Ok(out)
    }

    fn service(&self, host: i64, seq: i64, r: &Row<'_>) -> R<Option<ServiceInfo>> {
        let Some(name) = get::<Option<String>>(self, r, 6)? else {
            return Ok(None);
        };
        let method: String = get(self, r, 14)?;
        let mut cpe = Vec::new();
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT cpe FROM port_cpes WHERE host_id = ?1 AND port_seq = ?2 ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st.query(params![host, seq]).map_err(|e| self.err(e))?;
        while let Some(c) = rows.next().map_err(|e| self.err(e))? {
            cpe.push(get(self, c, 0)?);
        }
        Ok(Some(ServiceInfo {
            name,
            product: get(self, r, 7)?,
            version: get(self, r, 8)?,
            extrainfo: get(self, r, 9)?,
            hostname: get(self, r, 10)?,
            ostype: get(self, r, 11)?,
            devicetype: get(self, r, 12)?,
            tunnel: get(self, r, 13)?,
            cpe,
            method: codec::method(&method)?,
            conf: get(self, r, 15)?,
        }))
    }

    fn extra(&self, host: i64) -> R<Vec<ExtraPorts>> {
        let mut out: Vec<ExtraPorts> = Vec::new();
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT e.state, e.count, r.protocol, r.reason, r.count, r.first_port FROM extraports e
                 LEFT JOIN extra_reasons r ON r.host_id = e.host_id AND r.extra_seq = e.seq
                 WHERE e.host_id = ?1 ORDER BY e.seq, r.seq",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st.query([host]).map_err(|e| self.err(e))?;
        let mut last: Option<(String, u32)> = None;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let key: (String, u32) = (get(self, r, 0)?, get(self, r, 1)?);
            if last.as_ref() != Some(&key) {
                out.push(ExtraPorts {
                    state: codec::state(&key.0)?,
                    count: key.1,
                    reasons: Vec::new(),
                });
                last = Some(key);
            }
            if let (Some(p), Some(why)) = (
                get::<Option<String>>(self, r, 2)?,
                get::<Option<String>>(self, r, 3)?,
            ) {
                let group = out
                    .last_mut()
                    .ok_or_else(|| Error::Corrupt("extraports".into()))?;
                group.reasons.push(ExtraReason {
                    protocol: codec::protocol(&p)?,
                    reason: codec::reason(&why)?,
                    count: get(self, r, 4)?,
                    first_port: get(self, r, 5)?,
                });
            }
        }
        Ok(out)
    }
}

fn get<T: rusqlite::types::FromSql>(s: &SqliteStore, r: &Row<'_>, i: usize) -> R<T> {
    r.get(i).map_err(|e| s.err(e))
}

fn io(e: std::io::Error) -> Error {
    Error::Output(e)
}

impl SqliteStore {
    fn os(&self, host: i64) -> R<Option<Box<OsReport>>> {
        // Cached: `show` and `db diff` ask once per host.
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT closed_port, not_ideal, not_ideal_distance, fingerprint, distance, failure, failure_detail FROM os_reports WHERE host_id = ?1",
            )
            .map_err(|e| self.err(e))?;
        let row = st.query_row([host], |r| {
            Ok((
                r.get::<_, bool>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<u8>>(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        });
        let (closed_port, note, note_d, fingerprint, distance, failure, detail) = match row {
            Ok(v) => v,
            Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(None),
            Err(e) => return Err(self.err(e)),
        };
        let failure = match failure.as_deref() {
            None => None,
            Some("no-open-port") => Some(OsFailure::NoOpenPort),
            Some(_) => Some(OsFailure::Failed(detail.unwrap_or_default())),
        };
        Ok(Some(Box::new(OsReport {
            ports_used: self.os_ports(host)?,
            candidates: self.os_matches(host)?,
            closed_port,
            not_ideal: note.map(|n| codec::not_ideal(&n, note_d)).transpose()?,
            fingerprint,
            distance,
            failure,
        })))
    }

    fn os_ports(
        &self,
        host: i64,
    ) -> R<
        Vec<(
            prtip_core::result::PortState,
            prtip_core::result::Protocol,
            u16,
        )>,
    > {
        let mut out = Vec::new();
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT state, protocol, port FROM os_ports_used WHERE host_id = ?1 ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st.query([host]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let (s, p): (String, String) = (get(self, r, 0)?, get(self, r, 1)?);
            out.push((codec::state(&s)?, codec::protocol(&p)?, get(self, r, 2)?));
        }
        Ok(out)
    }

    fn os_matches(&self, host: i64) -> R<Vec<OsGuess>> {
        let mut out: Vec<OsGuess> = Vec::new();
        let mut st = self
            .conn
            .prepare_cached("SELECT name, accuracy, line, matched, possible FROM os_matches WHERE host_id = ?1 ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let mut rows = st.query([host]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let line: i64 = get(self, r, 2)?;
            out.push(OsGuess {
                name: get(self, r, 0)?,
                accuracy: get(self, r, 1)?,
                line: usize::try_from(line).unwrap_or(0),
                matched: get(self, r, 3)?,
                possible: get(self, r, 4)?,
                classes: Vec::new(),
            });
        }
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT match_seq, device_type, vendor, family, generation, accuracy, cpe FROM os_classes WHERE host_id = ?1 ORDER BY match_seq, seq",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st.query([host]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let i: i64 = get(self, r, 0)?;
            let cpe: String = get(self, r, 6)?;
            let guess = usize::try_from(i)
                .ok()
                .and_then(|i| out.get_mut(i))
                .ok_or_else(|| Error::Corrupt("OS class without its match".into()))?;
            guess.classes.push(OsGuessClass {
                device_type: get(self, r, 1)?,
                vendor: get(self, r, 2)?,
                family: get(self, r, 3)?,
                generation: get(self, r, 4)?,
                accuracy: get(self, r, 5)?,
                cpe: cpe
                    .split('\n')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            });
        }
        Ok(out)
    }
}
