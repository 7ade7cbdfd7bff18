//! `-O` for one host: pick the ports, run the probes, and match the
//! fingerprint while streaming nmap-os-db. The result is data (an
//! [`OsReport`]); what nmap prints of it is decided by the output formats.

use crate::error::ScanError;
use crate::net::raw::{RawIo, OS_RCVBUF_BYTES};
use crate::net::route;
use crate::os::{fingerprint, OsOptions, OsProbeResult};
use crate::sys::MappedFile;
use prtip_core::os_db::{best_matches_in, OsDbReader, OsMatch};
use prtip_core::os_fp::{compute_with_scan, render_wrapped, Probe, ScanInfo};
use prtip_core::ports::PortList;
use prtip_core::result::{
    HostResult, HostStatus, OsFailure, OsGuess, OsGuessClass, OsNotIdeal, OsReport, PortState,
    Protocol,
};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use std::time::SystemTime;

/// nmap keeps this many reference fingerprints per host.
const KEPT_MATCHES: usize = 36;

/// What `-O` was asked to do.
#[derive(Debug, Clone)]
pub struct OsConfig {
    /// nmap-os-db.
    pub db_path: PathBuf,
    /// `--max-os-tries`.
    pub max_tries: u32,
    /// `--osscan-limit`: skip hosts without one open and one closed port.
    pub limit: bool,
    /// `-T5`, which nmap says makes a fingerprint unreliable.
    pub insane_timing: bool,
    /// `-e`.
    pub interface: Option<String>,
}

/// One worker's OS stage: the shared database and its own raw sockets.
pub struct OsStage {
    /// Shared by every worker's stage: one mapping, counted once in RSS
    /// (eight mappings of the same 5 MB file showed as 40 MB of RSS).
    db: Arc<MappedFile>,
    db_name: String,
    io: RawIo,
    opts: Arc<OsConfig>,
}

impl std::fmt::Debug for OsStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OsStage")
            .field("db", &self.db_name)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl OsStage {
    /// Maps the database once and opens `n` stages, each with its own raw
    /// sockets (a stage's receive loop must see only its own replies); an
    /// empty list without `-O`.
    pub fn open_many(cfg: OsConfig, n: usize) -> Result<Vec<OsStage>, ScanError> {
        let db_name = cfg.db_path.display().to_string();
        let unreadable = |source| ScanError::Database {
            path: db_name.clone(),
            source,
        };
        let db = MappedFile::open(&cfg.db_path).map_err(unreadable)?;
        db.text().map_err(unreadable)?;
        let db = Arc::new(db);
        let opts = Arc::new(cfg);
        (0..n)
            .map(|_| {
                let io = RawIo::open_with_recv_buffer(opts.interface.as_deref(), OS_RCVBUF_BYTES)
                    .map_err(|source| ScanError::RawSockets {
                    interface: opts.interface.clone(),
                    source,
                })?;
                Ok(OsStage {
                    db: Arc::clone(&db),
                    db_name: db_name.clone(),
                    io,
                    opts: Arc::clone(&opts),
                })
            })
            .collect()
    }

    /// Fingerprints `host` (whose port scan covered `scanned`) and returns
    /// the report, or `None` when `--osscan-limit` skips it or it is down.
    /// Probing stops at `deadline` (`--host-timeout`), with what was answered.
    pub fn detect(
        &self,
        host: &HostResult,
        scanned: &PortList,
        deadline: Option<Instant>,
    ) -> Option<Box<OsReport>> {
        if host.status != HostStatus::Up {
            return None;
        }
        let IpAddr::V4(dst) = host.addr else {
            return None;
        };
        let open = host
            .ports
            .shown
            .iter()
            .find(|p| p.state == PortState::Open && p.protocol == Protocol::Tcp)
            .map(|p| p.port);
        let closed = known_closed(host, scanned);
        if self.opts.limit && (open.is_none() || closed.is_none()) {
            return None;
        }
        let _phase = memprof::phase(memprof::Phase::OsDetection);
        let Some(open) = open else {
            return Some(failed(OsFailure::NoOpenPort));
        };
        // No closed port seen (e.g. only open ports were scanned): probe one
        // that was not scanned and is very likely closed, as the issue asks,
        // rather than leaving T5-T7 without a target as nmap does.
        let closed_tcp = closed.unwrap_or_else(|| likely_closed(dst, scanned, 0));
        let closed_udp = likely_closed(dst, &PortList::new(), 1);
        let src = match route::source_for(dst) {
            Ok(s) => s,
            Err(e) => return Some(failed(OsFailure::Failed(format!("no route to {dst}: {e}")))),
        };
        let opts = OsOptions {
            max_tries: self.opts.max_tries,
            deadline,
            ..OsOptions::default()
        };
        let probed = match fingerprint(&self.io, src, dst, open, closed_tcp, closed_udp, &opts) {
            Ok(r) => r,
            Err(e) => return Some(failed(OsFailure::Failed(e.to_string()))),
        };
        Some(Box::new(
            self.report(dst, &probed, open, closed, closed_tcp, closed_udp),
        ))
    }

    fn report(
        &self,
        dst: Ipv4Addr,
        probed: &OsProbeResult,
        open: u16,
        closed_known: Option<u16>,
        closed_tcp: u16,
        closed_udp: u16,
    ) -> OsReport {
        let obs = &probed.observations;
        // A RST from the port we guessed makes it a closed port after all.
        let closed = closed_known.or_else(|| obs.reply(Probe::T5).map(|_| closed_tcp));
        let udp_answered = obs.reply(Probe::U1).is_some();
        let distance = if dst.is_loopback() {
            Some(0)
        } else {
            obs.distance()
        };
        let mut ports_used = vec![(PortState::Open, Protocol::Tcp, open)];
        if let Some(c) = closed {
            ports_used.push((PortState::Closed, Protocol::Tcp, c));
        }
        if udp_answered {
            ports_used.push((PortState::Closed, Protocol::Udp, closed_udp));
        }
        let not_ideal = self.not_ideal(closed.is_some(), udp_answered, distance);
        let text = self.db.text().unwrap_or_default();
        let reader = OsDbReader::with_file_name(text, &self.db_name);
        let (matches, warnings) = best_matches_in(reader, &probed.fingerprint, KEPT_MATCHES);
        for w in &warnings {
            eprintln!("prtip: warning: {w}");
        }
        let scan_info = ScanInfo {
            version: env!("CARGO_PKG_VERSION"),
            open_port: Some(open),
            closed_port: closed,
            closed_udp_port: Some(closed_udp),
            unix_time: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs()),
            platform: "x86_64-unknown-linux-gnu",
        };
        OsReport {
            ports_used,
            candidates: matches.iter().map(guess_of).collect(),
            closed_port: closed.is_some(),
            not_ideal,
            fingerprint: Some(render_wrapped(&compute_with_scan(obs, &scan_info))),
            distance,
            failure: None,
        }
    }

    /// nmap's reasons for not trusting a fingerprint enough to ask for it.
    fn not_ideal(
        &self,
        closed_found: bool,
        udp_answered: bool,
        distance: Option<u8>,
    ) -> Option<OsNotIdeal> {
        if self.opts.insane_timing {
            return Some(OsNotIdeal::InsaneTiming);
        }
        if !closed_found {
            return Some(OsNotIdeal::NoClosedPort);
        }
        if let Some(d) = distance.filter(|&d| d > 5) {
            return Some(OsNotIdeal::Distance(d));
        }
        if !udp_answered {
            return Some(OsNotIdeal::NoUdpResponse);
        }
        None
    }
}

/// A closed TCP port the port scan found: one listed, or, when every
/// collapsed port is closed, any scanned port not listed.
fn known_closed(host: &HostResult, scanned: &PortList) -> Option<u16> {
    if let Some(p) = host
        .ports
        .shown
        .iter()
        .find(|p| p.state == PortState::Closed && p.protocol == Protocol::Tcp)
    {
        return Some(p.port);
    }
    let groups: Vec<_> = host.ports.extra.iter().filter(|g| g.count > 0).collect();
    if groups.is_empty() || groups.iter().any(|g| g.state != PortState::Closed) {
        return None;
    }
    scanned
        .iter()
        .find(|port| !host.ports.shown.iter().any(|p| p.port == *port))
}

/// A high port outside `avoid`, picked from the address so that repeated
/// runs probe the same one.
fn likely_closed(dst: Ipv4Addr, avoid: &PortList, salt: u32) -> u16 {
    let mut x = u32::from(dst) ^ salt.wrapping_mul(0x9E37_79B9);
    for _ in 0..64 {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let port = 30_000 + (x >> 16) % 30_000;
        let port = u16::try_from(port).unwrap_or(40_000);
        if !avoid.contains(port) {
            return port;
        }
    }
    40_001
}

fn guess_of(m: &OsMatch<'_>) -> OsGuess {
    OsGuess {
        name: m.name.to_string(),
        accuracy: m.accuracy,
        line: m.line,
        matched: m.score.matched,
        possible: m.score.possible,
        classes: m
            .class_cpes
            .iter()
            .map(|(c, cpes)| OsGuessClass {
                device_type: c.device_type.to_string(),
                vendor: c.vendor.to_string(),
                family: c.family.to_string(),
                generation: Some(c.generation.to_string()).filter(|g| !g.is_empty()),
                accuracy: m.accuracy,
                cpe: cpes.iter().map(|s| s.to_string()).collect(),
            })
            .collect(),
    }
}

fn failed(failure: OsFailure) -> Box<OsReport> {
    Box::new(OsReport {
        failure: Some(failure),
        ..OsReport::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::raw::SCAN_RCVBUF_BYTES;

    /// An OS stage's socket listens on every interface between fingerprints,
    /// so its receive buffer is sized to the probes' replies, not to a SYN
    /// scan's bursts (which keeps its own). Measured with getsockopt; no
    /// packet is sent.
    #[test]
    fn os_stage_receive_buffer_is_small_and_the_scans_is_not() {
        if !prtip_testkit::prereq::require_root() {
            return;
        }
        let cfg = OsConfig {
            // Any readable text file: only mapped here, never scored.
            db_path: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")),
            max_tries: 1,
            limit: false,
            insane_timing: false,
            interface: None,
        };
        let stages = OsStage::open_many(cfg, 2).expect("OS stages");
        let scan = RawIo::open(None).expect("the scan's raw sockets");
        let scan_buf = scan.recv_buffer_size().expect("SO_RCVBUF");
        eprintln!("SO_RCVBUF: SYN scan {scan_buf} bytes");
        for stage in &stages {
            let os_buf = stage.io.recv_buffer_size().expect("SO_RCVBUF");
            eprintln!("SO_RCVBUF: OS stage {os_buf} bytes");
            // The kernel reports twice what was asked.
            assert_eq!(os_buf, 2 * OS_RCVBUF_BYTES);
            assert!(os_buf <= 512 << 10, "{os_buf}");
        }
        assert_eq!(scan_buf, 2 * SCAN_RCVBUF_BYTES);
    }
}
