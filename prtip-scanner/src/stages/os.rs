//! `-O` for one host: pick the ports, run the probes, match the fingerprint
//! while streaming nmap-os-db, and decide what nmap would print.

use crate::error::ScanError;
use crate::net::raw::RawIo;
use crate::net::route;
use crate::os::{fingerprint, OsOptions, OsProbeResult};
use crate::sys::MappedFile;
use prtip_core::os_db::{best_matches_in, OsDbReader, OsMatch};
use prtip_core::os_fp::{compute_with_scan, render_wrapped, Probe, ScanInfo};
use prtip_core::ports::PortList;
use prtip_core::result::{
    HostResult, HostStatus, OsGuess, OsGuessClass, OsReport, PortState, Protocol,
};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

/// nmap keeps this many reference fingerprints per host.
const KEPT_MATCHES: usize = 36;
/// nmap lists at most this many perfect matches before giving up.
const MAX_PERFECT_SHOWN: usize = 8;
/// At most this many guesses, each within 10 points of the best.
const MAX_GUESSES: usize = 10;
/// Distinct device types / families / CPEs nmap's summary lines can hold.
const MAX_CLASS_MEMBERS: usize = 8;

const UNRELIABLE: &str = "Warning: OSScan results may be unreliable because we could not find at least 1 open and 1 closed port";

/// What `-O` was asked to do.
#[derive(Debug, Clone)]
pub struct OsConfig {
    /// nmap-os-db.
    pub db_path: PathBuf,
    /// `--max-os-tries`.
    pub max_tries: u32,
    /// `--osscan-limit`: skip hosts without one open and one closed port.
    pub limit: bool,
    /// `--osscan-guess` / `--fuzzy`.
    pub guess: bool,
    /// `-T5`, which nmap says makes a fingerprint unreliable.
    pub insane_timing: bool,
    /// `-e`.
    pub interface: Option<String>,
    pub verbose: u8,
    pub debug: u8,
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
                let io = RawIo::open(opts.interface.as_deref()).map_err(|source| {
                    ScanError::RawSockets {
                        interface: opts.interface.clone(),
                        source,
                    }
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
    pub fn detect(&self, host: &HostResult, scanned: &PortList) -> Option<Box<OsReport>> {
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
            return Some(Box::new(OsReport {
                lines: vec![
                    UNRELIABLE.to_string(),
                    "OS detection needs an open TCP port and none was found.".to_string(),
                ],
                ..OsReport::default()
            }));
        };
        // No closed port seen (e.g. only open ports were scanned): probe one
        // that was not scanned and is very likely closed, as the issue asks,
        // rather than leaving T5-T7 without a target as nmap does.
        let closed_tcp = closed.unwrap_or_else(|| likely_closed(dst, scanned, 0));
        let closed_udp = likely_closed(dst, &PortList::new(), 1);
        let src = match route::source_for(dst) {
            Ok(s) => s,
            Err(e) => {
                return Some(Box::new(OsReport {
                    lines: vec![format!("OS detection failed: no route to {dst}: {e}")],
                    ..OsReport::default()
                }))
            }
        };
        let opts = OsOptions {
            max_tries: self.opts.max_tries,
            ..OsOptions::default()
        };
        let probed = match fingerprint(&self.io, src, dst, open, closed_tcp, closed_udp, &opts) {
            Ok(r) => r,
            Err(e) => {
                return Some(Box::new(OsReport {
                    lines: vec![format!("OS detection failed: {e}")],
                    ..OsReport::default()
                }))
            }
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
        let reason = self.omit_reason(closed.is_some(), udp_answered, distance);
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
        let wrapped = || render_wrapped(&compute_with_scan(obs, &scan_info));
        let mut report = OsReport {
            ports_used,
            distance,
            ..OsReport::default()
        };
        if closed.is_none() {
            report.lines.push(UNRELIABLE.to_string());
        }
        let guess = self.opts.guess || reason.is_some();
        let talkative = self.opts.verbose > 1 || self.opts.debug > 0;
        let perfect = matches.iter().take_while(|m| m.score.is_perfect()).count();
        // nmap asks for the fingerprint (prints it whatever the verbosity)
        // only when nothing matched well and the conditions were good;
        // otherwise it shows it with -d or -vv.
        let asks_for_fp = Self::decide(
            &mut report,
            &matches,
            perfect,
            guess,
            reason.as_deref(),
            self.opts.debug,
            talkative,
        );
        if asks_for_fp || talkative {
            report.fingerprint = Some(wrapped());
        }
        report
    }

    /// Fills in what nmap prints for the matches; true when it would ask
    /// for the fingerprint to be submitted.
    fn decide(
        report: &mut OsReport,
        matches: &[OsMatch<'_>],
        perfect: usize,
        guess: bool,
        reason: Option<&str>,
        debug: u8,
        talkative: bool,
    ) -> bool {
        if perfect > MAX_PERFECT_SHOWN && debug == 0 {
            report
                .lines
                .push("Too many fingerprints match this host to give specific OS details".into());
            return false;
        }
        if matches.is_empty() {
            match reason {
                None => report.lines.push("No OS matches for host (If you know what OS is running on it, see https://nmap.org/submit/ ).".into()),
                Some(r) => {
                    report
                        .lines
                        .push(format!("OS fingerprint not ideal because: {r}"));
                    report.lines.push("No OS matches for host".into());
                }
            }
            return reason.is_none();
        }
        report
            .lines
            .extend(classification_lines(matches, perfect, guess));
        if perfect > 0 {
            let shown = &matches[..perfect];
            report.matches = shown.iter().map(guess_of).collect();
            let names: Vec<&str> = shown.iter().map(|m| m.name).collect();
            report
                .lines
                .push(format!("OS details: {}", names.join(", ")));
            report.grepable = Some(names.join("|"));
            return false;
        }
        if talkative {
            if let Some(r) = reason {
                report
                    .lines
                    .push(format!("OS fingerprint not ideal because: {r}"));
            }
        }
        let best = matches[0].score.fraction();
        let guesses: Vec<&OsMatch<'_>> = matches
            .iter()
            .take(MAX_GUESSES)
            .take_while(|m| m.score.fraction() > best - 0.10)
            .collect();
        report.matches = guesses.iter().map(|m| guess_of(m)).collect();
        if guess {
            let list: Vec<String> = guesses
                .iter()
                .map(|m| format!("{} ({}%)", m.name, m.accuracy))
                .collect();
            report
                .lines
                .push(format!("Aggressive OS guesses: {}", list.join(", ")));
        }
        report.lines.push(match reason {
            None => "No exact OS matches for host (If you know what OS is running on it, see https://nmap.org/submit/ ).".into(),
            Some(_) => "No exact OS matches for host (test conditions non-ideal).".into(),
        });
        reason.is_none()
    }

    /// nmap's reasons for not trusting a fingerprint enough to ask for it.
    fn omit_reason(
        &self,
        closed_found: bool,
        udp_answered: bool,
        distance: Option<u8>,
    ) -> Option<String> {
        if self.opts.insane_timing {
            return Some("Timing level 5 (Insane) used".into());
        }
        if !closed_found {
            return Some("Missing a closed TCP port so results incomplete".into());
        }
        if let Some(d) = distance.filter(|&d| d > 5) {
            return Some(format!(
                "Host distance ({d} network hops) is greater than five"
            ));
        }
        if !udp_answered {
            return Some("Didn't receive UDP response. Please try again with -sSU".into());
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

/// "Device type:", "Running:" and "OS CPE:" as nmap's classification
/// summary prints them: classes of the perfect matches, or with `guess`
/// of every match within 10 points of the best (at most 10 unless perfect);
/// nothing when more than eight types, families or CPEs would be listed.
fn classification_lines(matches: &[OsMatch<'_>], perfect: usize, guess: bool) -> Vec<String> {
    // Distinct classes in match order, each with the accuracy of the first
    // match that brought it.
    let mut classes: Vec<(&prtip_core::os_db::OsClass<'_>, &Vec<&str>, f64)> = Vec::new();
    let mut perfect_classes = 0;
    for (i, m) in matches.iter().enumerate() {
        for (c, cpes) in &m.class_cpes {
            if classes.iter().any(|(k, _, _)| *k == c) {
                continue;
            }
            if perfect_classes > 0 && i >= perfect {
                break;
            }
            classes.push((c, cpes, m.score.fraction()));
            if i < perfect {
                perfect_classes += 1;
            }
        }
    }
    let Some(&(_, _, top)) = classes.first() else {
        return Vec::new();
    };
    let mut types: Vec<&str> = Vec::new();
    let mut cpes: Vec<&str> = Vec::new();
    let mut families: Vec<(String, Vec<&str>, f64)> = Vec::new();
    let mut overflow = false;
    for (n, (c, class_cpes, acc)) in classes.iter().enumerate() {
        if (!guess && n >= perfect_classes) || *acc <= top - 0.1 || (*acc < 1.0 && n > 9) {
            break;
        }
        overflow |= !add_new(&mut types, c.device_type);
        for cpe in class_cpes.iter() {
            overflow |= !add_new(&mut cpes, cpe);
        }
        let full = if c.vendor == c.family {
            c.family.to_string()
        } else {
            format!("{} {}", c.vendor, c.family)
        };
        let known = families.iter().position(|(f, _, _)| *f == full);
        match known {
            Some(i) => {
                let gens = &mut families[i].1;
                if !c.generation.is_empty() && !gens.contains(&c.generation) {
                    gens.push(c.generation);
                }
            }
            None if families.len() >= MAX_CLASS_MEMBERS => {
                overflow = true;
                break;
            }
            None => {
                let gens = if c.generation.is_empty() {
                    Vec::new()
                } else {
                    vec![c.generation]
                };
                families.push((full, gens, *acc));
            }
        }
    }
    if overflow || families.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![format!("Device type: {}", types.join("|"))];
    let running: Vec<String> = families
        .iter()
        .enumerate()
        .map(|(i, (fam, gens, acc))| {
            let mut s = fam.clone();
            if !gens.is_empty() {
                s.push(' ');
                s.push_str(&gens.join("|"));
            }
            if i >= perfect_classes {
                s.push_str(&format!(" ({}%)", (acc * 100.0).floor()));
            }
            s
        })
        .collect();
    let label = if perfect_classes == 0 {
        "Running (JUST GUESSING)"
    } else {
        "Running"
    };
    lines.push(format!("{label}: {}", running.join(", ")));
    if !cpes.is_empty() {
        lines.push(format!("OS CPE: {}", cpes.join(" ")));
    }
    lines
}

/// Adds `item` unless present; false when the list is already full.
fn add_new<'a>(list: &mut Vec<&'a str>, item: &'a str) -> bool {
    if list.contains(&item) {
        return true;
    }
    if list.len() >= MAX_CLASS_MEMBERS {
        return false;
    }
    list.push(item);
    true
}
