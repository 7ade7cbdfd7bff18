//! The SQLite back end: migrations on open, round trips of every field,
//! and one-line errors for files that are not usable databases.

use prtip_core::result::*;
use prtip_store::{schema, ScanMeta, SqliteStore};
use std::io;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn at(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(s)
}

fn run() -> RunInfo {
    RunInfo {
        args: "prtip -sS -O 127.0.0.1".into(),
        start: at(1_700_000_000_000_001),
        scans: vec![ScanInfo {
            scan_type: "syn",
            protocol: Protocol::Tcp,
            num_services: 1000,
            services: "1-1000".into(),
            tcp_flags: None,
        }],
        verbose: 1,
        debug: 0,
        reason: true,
        port_scan: true,
        version_scan: true,
        os_scan: true,
        os_guess: false,
    }
}

fn host() -> HostResult {
    let mut http = PortResult::new(80, Protocol::Tcp, PortState::Open, Reason::SynAck);
    http.reason_ttl = 64;
    http.service = Some(Box::new(ServiceInfo {
        product: Some("nginx".into()),
        version: Some("1.22".into()),
        tunnel: Some("ssl".into()),
        cpe: vec![
            "cpe:/a:igor_sysoev:nginx:1.22".into(),
            "cpe:/o:linux:linux_kernel".into(),
        ],
        method: ServiceMethod::Probed,
        conf: 10,
        ..ServiceInfo::from_table("http")
    }));
    HostResult {
        addr: "127.0.0.1".parse::<IpAddr>().unwrap(),
        hostname: Some("localhost".into()),
        status: HostStatus::Up,
        reason: Reason::Localhost,
        latency: Some(Duration::from_micros(42)),
        start: at(1_700_000_000_100_000),
        end: at(1_700_000_001_000_000),
        ports: PortTable {
            shown: vec![
                http,
                PortResult::new(22, Protocol::Tcp, PortState::Closed, Reason::Reset),
            ],
            extra: vec![ExtraPorts {
                state: PortState::Filtered,
                count: 998,
                reasons: vec![ExtraReason {
                    protocol: Protocol::Tcp,
                    reason: Reason::NoResponse,
                    count: 998,
                    first_port: 1,
                }],
            }],
        },
        os: Some(Box::new(OsReport {
            ports_used: vec![
                (PortState::Open, Protocol::Tcp, 80),
                (PortState::Closed, Protocol::Tcp, 22),
            ],
            candidates: vec![OsGuess {
                name: "Linux 5.0 - 6.2".into(),
                accuracy: 100,
                line: 12345,
                matched: 30,
                possible: 30,
                classes: vec![OsGuessClass {
                    device_type: "general purpose".into(),
                    vendor: "Linux".into(),
                    family: "Linux".into(),
                    generation: Some("5.X".into()),
                    accuracy: 100,
                    cpe: vec!["cpe:/o:linux:linux_kernel:5".into()],
                }],
            }],
            closed_port: true,
            not_ideal: Some(OsNotIdeal::Distance(0)),
            fingerprint: Some("OS:SCAN(V=7.93)".into()),
            distance: Some(0),
            failure: None,
        })),
        scripts: None,
    }
}

/// Keeps what `show` feeds it.
#[derive(Default)]
struct Keep {
    run: Option<RunInfo>,
    hosts: Vec<HostResult>,
    stats: Option<RunStats>,
}

impl ResultSink for Keep {
    fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        self.run = Some(run.clone());
        Ok(())
    }
    fn host(&mut self, host: &HostResult) -> io::Result<()> {
        self.hosts.push(host.clone());
        Ok(())
    }
    fn end(&mut self, stats: &RunStats) -> io::Result<()> {
        self.stats = Some(stats.clone());
        Ok(())
    }
}

/// Scan `id` of the file at `path`, as `show` feeds it.
fn shown(path: &std::path::Path, id: i64) -> Keep {
    let mut keep = Keep::default();
    SqliteStore::open_existing(path)
        .unwrap()
        .show(id, &mut keep)
        .unwrap();
    keep
}

#[test]
fn a_new_file_is_migrated_and_opening_again_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    // An empty file is an empty SQLite database: upgraded from version 0.
    std::fs::write(&path, b"").unwrap();
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.version().unwrap(), schema::CURRENT);
    drop(s);
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.version().unwrap(), schema::CURRENT);
    drop(s);
    let s = SqliteStore::open_existing(&path).unwrap();
    assert_eq!(s.version().unwrap(), schema::CURRENT);
}

#[test]
fn a_file_from_a_newer_prtip_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    drop(SqliteStore::open(&path).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute("UPDATE schema_version SET version = 99", [])
        .unwrap();
    drop(c);
    let e = SqliteStore::open(&path).unwrap_err().to_string();
    assert!(e.contains("schema version 99 is newer"), "{e}");
}

#[test]
fn a_scan_reads_back_field_for_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    let mut s = SqliteStore::open(&path).unwrap();
    let meta = ScanMeta {
        seed: Some(7),
        shard: Some((0, 2)),
    };
    let id = s.begin_scan(&run(), &meta).unwrap();
    let mut down = host();
    down.status = HostStatus::Down;
    down.os = None;
    down.hostname = None;
    down.addr = "::1".parse().unwrap();
    s.add_host(&host()).unwrap();
    s.add_host(&down).unwrap();
    let stats = RunStats {
        end: at(1_700_000_002_000_000),
        elapsed: Duration::from_micros(1_999_999),
        hosts_up: 1,
        hosts_down: 1,
        interrupted: false,
    };
    s.end_scan(&stats).unwrap();
    drop(s);
    let s = SqliteStore::open_existing(&path).unwrap();
    let mut keep = Keep::default();
    s.show(id, &mut keep).unwrap();
    assert_eq!(keep.run.unwrap(), run());
    assert_eq!(keep.hosts, vec![host(), down]);
    assert_eq!(keep.stats.unwrap(), stats);
    let mut ids = Vec::new();
    s.list(&mut |x| {
        ids.push((x.id, x.status));
        Ok(())
    })
    .unwrap();
    assert_eq!(ids, vec![(id, "done".to_string())]);
    assert!(s
        .show(id + 1, &mut Keep::default())
        .unwrap_err()
        .to_string()
        .contains("no scan"));
}

#[test]
fn a_scan_that_never_ended_shows_as_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    let mut s = SqliteStore::open(&path).unwrap();
    let id = s.begin_scan(&run(), &ScanMeta::default()).unwrap();
    s.add_host(&host()).unwrap();
    drop(s);
    let keep = shown(&path, id);
    let stats = keep.stats.unwrap();
    assert!(stats.interrupted);
    assert_eq!((stats.hosts_up, stats.end), (1, host().end));
}

#[test]
fn unusable_files_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "this is not a database, just some text that is long enough\n".repeat(20),
    )
    .unwrap();
    let e = SqliteStore::open(&text).unwrap_err().to_string();
    assert!(e.contains("not a database"), "{e}");
    let e = SqliteStore::open(dir.path()).unwrap_err().to_string();
    assert!(e.contains("unable to open"), "{e}");
    let e = SqliteStore::open_existing(&dir.path().join("missing.sqlite"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unable to open"), "{e}");
    assert!(!e.contains('\n'));
}

#[test]
fn a_symbolic_link_is_refused_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.sqlite");
    let link = dir.path().join("link.sqlite");
    drop(SqliteStore::open(&real).unwrap());
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let e = SqliteStore::open_for_writing(&link, true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("symbolic link"), "{e}");
    assert!(SqliteStore::open_for_writing(&link, false).is_ok());
}

/// A file written by schema V1 (the first release of `--db`): its scans
/// read back after the V2 migration, and a scan with `--scanflags` written
/// to the migrated file keeps its flags.
#[test]
fn a_v1_file_is_migrated_and_keeps_its_scans() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.sqlite");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(&schema::render(schema::MIGRATIONS[0], schema::SQLITE_ID))
        .unwrap();
    c.execute_batch(
        "CREATE TABLE schema_version (version BIGINT NOT NULL);
         INSERT INTO schema_version VALUES (1);
         INSERT INTO scans (args, started_us, prtip_version, status, verbose, debug, show_reason,
             port_scan, version_scan, os_scan, os_guess, ended_us, elapsed_us, hosts_up, hosts_down)
         VALUES ('prtip -sS -p 80 127.0.0.1', 1700000000000000, '0.1.0', 'done', 0, 0, 0, 1, 0, 0, 0,
             1700000001000000, 1000000, 1, 0);
         INSERT INTO scan_types VALUES (1, 0, 'syn', 'tcp', 1, '80');
         INSERT INTO hosts (scan_id, seq, addr, status, reason, started_us, ended_us)
         VALUES (1, 0, '127.0.0.1', 'up', 'localhost-response', 1700000000000000, 1700000001000000);
         INSERT INTO ports (host_id, seq, protocol, port, state, reason, reason_ttl)
         VALUES (1, 0, 'tcp', 80, 'open', 'syn-ack', 64);",
    )
    .unwrap();
    drop(c);
    let s = SqliteStore::open_existing(&path).unwrap();
    assert_eq!((s.version().unwrap(), schema::CURRENT), (2, 2));
    let mut keep = Keep::default();
    s.show(1, &mut keep).unwrap();
    let old = keep.run.unwrap();
    assert_eq!(old.scans[0].tcp_flags, None);
    assert_eq!(old.scans[0].services, "80");
    assert_eq!(keep.hosts.len(), 1);
    assert_eq!(keep.hosts[0].ports.shown[0].port, 80);
    drop(s);
    let mut s = SqliteStore::open(&path).unwrap();
    let mut flagged = run();
    flagged.scans[0].tcp_flags = Some(0b0010_1001); // FIN PSH URG
    let id = s.begin_scan(&flagged, &ScanMeta::default()).unwrap();
    drop(s);
    let keep = shown(&path, id);
    assert_eq!(keep.run.unwrap(), flagged);
}

/// `pair_hosts` walks in ndiff's order, the address left-justified in 40
/// columns then the name, pairing equal ones: checked against that key
/// computed here, on addresses that are prefixes of others, IPv6 beside
/// IPv4, and names.
#[test]
fn hosts_pair_in_ndiffs_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    let mut s = SqliteStore::open(&path).unwrap();
    let a = [
        ("1.2.3.40", None),
        ("1.2.3.4", Some("b")),
        ("::1", None),
        ("1.2.3.4", Some("a")),
    ];
    let b = [
        ("1.2.3.4", Some("a")),
        ("2001:db8::1", None),
        ("1.2.3.41", None),
        ("::1", None),
    ];
    let mut ids = Vec::new();
    for hosts in [&a[..], &b[..]] {
        ids.push(s.begin_scan(&run(), &ScanMeta::default()).unwrap());
        for (addr, name) in hosts {
            let mut h = host();
            h.addr = addr.parse().unwrap();
            h.hostname = name.map(str::to_string);
            s.add_host(&h).unwrap();
        }
    }
    let key = |h: &HostResult| format!("{:<40}{}", h.addr, h.hostname.as_deref().unwrap_or(""));
    let mut walked: Vec<(Option<String>, Option<String>)> = Vec::new();
    s.pair_hosts(ids[0], ids[1], &mut |x, y| {
        walked.push((x.as_ref().map(key), y.as_ref().map(key)));
        Ok(())
    })
    .unwrap();
    let keys = |hs: &[(&str, Option<&str>)]| -> std::collections::BTreeSet<String> {
        hs.iter()
            .map(|(addr, name)| format!("{addr:<40}{}", name.unwrap_or("")))
            .collect()
    };
    let (ka, kb) = (keys(&a), keys(&b));
    let got: Vec<String> = walked
        .iter()
        .map(|(x, y)| x.clone().or(y.clone()).unwrap())
        .collect();
    let want: Vec<String> = ka.union(&kb).cloned().collect();
    assert_eq!(got, want, "ndiff's order");
    for ((x, y), k) in walked.iter().zip(&got) {
        assert_eq!((x.is_some(), y.is_some()), (ka.contains(k), kb.contains(k)));
        assert!(x.is_none() || y.is_none() || x == y, "{x:?} {y:?}");
    }
}
