//! `prtip db export` and `prtip db diff`: export equals what the scan wrote,
//! diff prints what `ndiff` prints on the two scans' XML files, and every
//! bad input is one line and a non-zero exit.
//!
//! Network safety: only 127.0.0.2-5 are scanned, on ports this test bound
//! (its listeners) or released (closed).

mod common;

use common::db::{db, stdout};
use common::{prtip, prtip_ok};
use prtip_core::result::*;
use prtip_store::{ScanMeta, SqliteStore};
use prtip_testkit::{
    loopback::{self, LoopbackPorts},
    prereq::{require_root, require_tool},
    process::{describe, run, tempdir},
    xml,
};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A listener on a port chosen earlier on another address. Binding it can
/// fail for a moment (once seen, not understood: a socket of the previous
/// scan still being torn down?), so it is tried for up to a second.
fn listen(addr: &str, port: u16) -> TcpListener {
    let mut last = None;
    for _ in 0..50 {
        match TcpListener::bind((addr, port)) {
            Ok(l) => return l,
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("bind {addr}:{port}: {last:?}")
}

/// `ndiff a b` (exit 1: the scans differ) against `prtip db diff A B`.
fn assert_same_as_ndiff(file: &Path, ids: (&str, &str), xmls: (&Path, &Path)) -> String {
    let nd = run(Command::new("ndiff").arg(xmls.0).arg(xmls.1));
    assert_eq!(nd.status.code(), Some(1), "{}", describe(&nd));
    let ours = db(&["diff", ids.0, ids.1], file);
    assert_eq!(stdout(&ours), stdout(&nd), "prtip db diff != ndiff");
    stdout(&nd)
}

/// One scan writes -oX, -oN, -oG and -oJ and records itself; the export of
/// the record writes the same four files, byte for byte, and the XML is
/// valid against nmap.dtd.
#[test]
fn export_writes_the_files_the_scan_wrote() {
    let _g = loopback::lock();
    let ports = LoopbackPorts::new(2, 3);
    let dir = tempdir();
    let file = dir.path().join("h.sqlite");
    let live = dir.path().join("live");
    let exported = dir.path().join("export");
    let names = ["x.xml", "n.nmap", "g.gnmap", "j.json"];
    let spec = ports.spec();
    let mut args = vec![
        "-sT",
        "-n",
        "-v",
        "--reason",
        "-p",
        &spec,
        "--db",
        path(&file),
    ];
    let outs: Vec<String> = names
        .iter()
        .map(|n| format!("{}.{n}", live.display()))
        .collect();
    for (flag, out) in ["-oX", "-oN", "-oG", "-oJ"].iter().zip(&outs) {
        args.extend([*flag, out.as_str()]);
    }
    args.push("127.0.0.1");
    prtip_ok(&args);
    let mut ex = vec!["export", "1"];
    let exs: Vec<String> = names
        .iter()
        .map(|n| format!("{}.{n}", exported.display()))
        .collect();
    for (flag, out) in ["-oX", "-oN", "-oG", "-oJ"].iter().zip(&exs) {
        ex.extend([*flag, out.as_str()]);
    }
    db(&ex, &file);
    for (a, b) in outs.iter().zip(&exs) {
        let (a, b) = (
            std::fs::read_to_string(a).unwrap(),
            std::fs::read_to_string(b).unwrap(),
        );
        assert_eq!(a, b, "export differs from the scan's file");
    }
    xml::xmllint(Path::new(&exs[0]), true);
    let (_, host) = xml::only_host_up(Path::new(&exs[0]), "127.0.0.1");
    assert_eq!(host.ports, ports.expected());
    // `-` is standard output.
    let to_stdout = db(&["export", "1", "-oG", "-"], &file);
    assert_eq!(
        stdout(&to_stdout),
        std::fs::read_to_string(&outs[2]).unwrap()
    );
}

/// A raw scan with --scanflags: its `<scaninfo scanflags=...>` survives the
/// database (schema V2), so the export equals the scan's XML.
#[test]
fn export_keeps_scanflags() {
    if !require_root() {
        return;
    }
    let _g = loopback::lock();
    let ports = LoopbackPorts::new(1, 2);
    let dir = tempdir();
    let file = dir.path().join("h.sqlite");
    let (live, exported) = (dir.path().join("a.xml"), dir.path().join("b.xml"));
    let spec = ports.spec();
    prtip_ok(&[
        "-sS",
        "--scanflags",
        "SYNPSH",
        "-n",
        "-p",
        &spec,
        "--db",
        path(&file),
        "-oX",
        path(&live),
        "127.0.0.1",
    ]);
    db(&["export", "1", "-oX", path(&exported)], &file);
    let text = std::fs::read_to_string(&live).unwrap();
    assert!(text.contains("scanflags=\"SYNPSH\""), "{text}");
    assert_eq!(text, std::fs::read_to_string(&exported).unwrap());
}

/// Two real scans of 127.0.0.2-5 whose listeners differ: a host gone, a
/// host new, ports opened, and "Not shown" counts changed. `prtip db diff`
/// prints exactly what ndiff prints on the scans' own -oX files.
#[test]
fn diff_of_two_loopback_scans_is_ndiffs() {
    if !require_tool("ndiff") {
        return;
    }
    let _g = loopback::lock();
    let dir = tempdir();
    let file = dir.path().join("h.sqlite");
    let closed = LoopbackPorts::new(0, 27);
    let held = [
        TcpListener::bind("127.0.0.2:0").expect("bind"),
        TcpListener::bind("127.0.0.3:0").expect("bind"),
        TcpListener::bind("127.0.0.4:0").expect("bind"),
    ];
    let [a, b, c] = held
        .each_ref()
        .map(|l| l.local_addr().expect("addr").port());
    drop(held);
    let spec = format!("{a},{b},{c},{}", closed.spec());
    let scan = |targets: &str, xml: &Path| {
        prtip_ok(&[
            "-sT",
            "-n",
            "-p",
            &spec,
            "--db",
            path(&file),
            "-oX",
            path(xml),
            targets,
        ]);
    };
    let (xml_a, xml_b) = (dir.path().join("a.xml"), dir.path().join("b.xml"));
    {
        let _open = [listen("127.0.0.2", a), listen("127.0.0.3", b)];
        scan("127.0.0.2-4", &xml_a);
    }
    {
        let _open = [
            listen("127.0.0.3", a),
            listen("127.0.0.3", b),
            listen("127.0.0.4", c),
            listen("127.0.0.5", a),
        ];
        scan("127.0.0.3-5", &xml_b);
    }
    let text = assert_same_as_ndiff(&file, ("1", "2"), (&xml_a, &xml_b));
    // Not vacuous: every kind of change of this scenario is in it.
    for line in [
        "-127.0.0.2:".to_string(),
        "+127.0.0.5:".into(),
        format!("+{a}/tcp open"),
        format!("+{c}/tcp open"),
        "+Not shown: 28 closed ports".into(),
    ] {
        assert!(text.contains(&line), "{line:?} missing from\n{text}");
    }
    // The reverse direction too.
    let back = run(Command::new("ndiff").arg(&xml_b).arg(&xml_a));
    assert_eq!(stdout(&db(&["diff", "2", "1"], &file)), stdout(&back));
    // The same scan against itself: nothing.
    assert_eq!(stdout(&db(&["diff", "1", "1"], &file)), "");
    let json = stdout(&db(&["diff", "1", "2", "--json"], &file));
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let changes: Vec<(&str, &str)> = lines[1..]
        .iter()
        .map(|v| (v["addr"].as_str().unwrap(), v["change"].as_str().unwrap()))
        .collect();
    assert_eq!(
        changes,
        [
            ("127.0.0.2", "gone"),
            ("127.0.0.3", "changed"),
            ("127.0.0.4", "changed"),
            ("127.0.0.5", "new")
        ]
    );
    assert_eq!(lines[0]["a"]["id"], 1);
}

fn at(s: u64) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

fn run_info(args: &str, start: u64) -> RunInfo {
    RunInfo {
        args: args.into(),
        start: at(start),
        scans: vec![ScanInfo {
            scan_type: "syn",
            protocol: Protocol::Tcp,
            num_services: 1000,
            services: "1-1000".into(),
            tcp_flags: None,
        }],
        verbose: 1,
        debug: 0,
        reason: false,
        port_scan: true,
        version_scan: true,
        os_scan: true,
        os_guess: false,
    }
}

fn port(n: u16, proto: Protocol, state: PortState, svc: Option<(&str, &[&str])>) -> PortResult {
    let reason = if state == PortState::Open {
        Reason::SynAck
    } else {
        Reason::Reset
    };
    let mut p = PortResult::new(n, proto, state, reason);
    p.service = svc.map(|(name, fields)| {
        let f = |i: usize| {
            fields
                .get(i)
                .filter(|s| !s.is_empty())
                .map(|s| s.to_string())
        };
        Box::new(ServiceInfo {
            product: f(0),
            version: f(1),
            extrainfo: f(2),
            tunnel: f(3),
            method: ServiceMethod::Probed,
            conf: 10,
            ..ServiceInfo::from_table(name)
        })
    });
    p
}

fn os(names: &[&str]) -> Option<Box<OsReport>> {
    Some(Box::new(OsReport {
        ports_used: vec![],
        candidates: names
            .iter()
            .map(|n| OsGuess {
                name: n.to_string(),
                accuracy: 100,
                line: 1,
                matched: 10,
                possible: 10,
                classes: vec![],
            })
            .collect(),
        closed_port: true,
        not_ideal: None,
        fingerprint: None,
        distance: Some(0),
        failure: None,
    }))
}

fn host(
    addr: &str,
    name: Option<&str>,
    up: bool,
    ports: Vec<PortResult>,
    extra: &[(PortState, u32)],
) -> HostResult {
    HostResult {
        addr: addr.parse().unwrap(),
        hostname: name.map(str::to_string),
        status: if up { HostStatus::Up } else { HostStatus::Down },
        reason: if up {
            Reason::EchoReply
        } else {
            Reason::NoResponse
        },
        latency: None,
        start: at(1_700_000_000),
        end: at(1_700_000_001),
        ports: PortTable {
            shown: ports,
            extra: extra
                .iter()
                .map(|(state, count)| ExtraPorts {
                    state: *state,
                    count: *count,
                    reasons: vec![],
                })
                .collect(),
        },
        os: None,
        scripts: None,
    }
}

/// The two recorded scans of the service and OS case.
fn version_scans() -> [Vec<HostResult>; 2] {
    use PortState::{Closed, Filtered, Open};
    let tcp = Protocol::Tcp;
    let web = |product: &str, version: &str, tunnel: &str| {
        port(
            443,
            tcp,
            Open,
            Some(("http", &[product, version, "Ubuntu", tunnel][..])),
        )
    };
    let alpha = |web: PortResult, names: &[&str]| {
        let ssh = port(22, tcp, Open, Some(("ssh", &["OpenSSH", "9.2"][..])));
        let mut h = host(
            "198.18.0.10",
            Some("alpha"),
            true,
            vec![web, ssh],
            &[(Closed, 998)],
        );
        h.os = os(names);
        h
    };
    let alpha_a = alpha(web("nginx", "1.22", ""), &["Linux 5.0 - 6.2", "Linux 4.15"]);
    let alpha_b = alpha(
        web("nginx", "1.24", "ssl"),
        &["Linux 5.0 - 6.2", "FreeBSD 13.1", "OpenBSD 7"],
    );
    let mut beta_a = host(
        "198.18.0.9",
        None,
        true,
        vec![
            port(53, Protocol::Udp, Open, Some(("domain", &[][..]))),
            port(53, tcp, Open, None),
        ],
        &[(Filtered, 990), (Closed, 8)],
    );
    beta_a.os = os(&["Linux 4.15"]);
    let beta_b = host(
        "198.18.0.9",
        None,
        true,
        vec![
            port(53, Protocol::Udp, Closed, None),
            port(53, tcp, Open, None),
            port(9, tcp, Open, Some(("discard\u{1}", &[][..]))),
        ],
        &[(Filtered, 989), (Closed, 8)],
    );
    let down = host("198.18.0.11", None, false, vec![], &[]);
    let up_again = host("198.18.0.11", None, true, vec![], &[(Closed, 1000)]);
    // One open http port and 999 closed, under a name or none.
    let web_host = |addr: &str, name: Option<&str>| {
        let http = port(80, tcp, Open, Some(("http", &[][..])));
        host(addr, name, true, vec![http], &[(Closed, 999)])
    };
    let renamed_a = web_host("198.18.0.100", Some("old-name"));
    let renamed_b = web_host("198.18.0.100", Some("new-name"));
    let same = web_host("198.18.0.2", None);
    // IPv6 hosts sort after "198..." as text, as ndiff sorts them.
    let v6 = |addr: &str| {
        let ssh = port(22, tcp, Open, Some(("ssh", &[][..])));
        host(addr, None, true, vec![ssh], &[(Closed, 999)])
    };
    [
        vec![
            alpha_a,
            beta_a,
            down,
            renamed_a,
            same.clone(),
            v6("2001:db8::10"),
        ],
        vec![
            v6("2001:db8::5"),
            same,
            renamed_b,
            up_again,
            beta_b,
            alpha_b,
        ],
    ]
}

/// Services, versions, tunnels, OS matches, host names, down hosts listed
/// with -v, several "Not shown" groups and hostile text, recorded through
/// the store (no network), exported as XML and compared with ndiff.
#[test]
fn diff_of_recorded_versions_and_os_is_ndiffs() {
    if !require_tool("ndiff") {
        return;
    }
    let dir = tempdir();
    let file = dir.path().join("h.sqlite");
    let mut store = SqliteStore::open(&file).expect("open");
    for (i, hosts) in version_scans().iter().enumerate() {
        let start = 1_700_000_000 + 86_400 * i as u64;
        store
            .begin_scan(
                &run_info(&format!("prtip -sS -sV -O -v scan{i}"), start),
                &ScanMeta::default(),
            )
            .expect("begin");
        for h in hosts {
            store.add_host(h).expect("host");
        }
        let stats = RunStats {
            end: at(start + 5),
            elapsed: Duration::from_secs(5),
            hosts_up: 4,
            hosts_down: 1,
            interrupted: false,
        };
        store.end_scan(&stats).expect("end");
    }
    drop(store);
    let (xml_a, xml_b) = (dir.path().join("a.xml"), dir.path().join("b.xml"));
    db(&["export", "1", "-oX", path(&xml_a)], &file);
    db(&["export", "2", "-oX", path(&xml_b)], &file);
    for x in [&xml_a, &xml_b] {
        xml::xmllint(x, true);
    }
    let text = assert_same_as_ndiff(&file, ("1", "2"), (&xml_a, &xml_b));
    for line in [
        "-443/tcp open  http     nginx 1.22 (Ubuntu)",
        "+443/tcp open  ssl/http nginx 1.24 (Ubuntu)",
        "+  FreeBSD 13.1",
        "-Host is down.",
        "-old-name (198.18.0.100):",
        "+new-name (198.18.0.100):",
        "-2001:db8::10:",
        "+2001:db8::5:",
        "-Not shown: 990 filtered ports, 8 closed ports",
        "\\x01",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
    let back = run(Command::new("ndiff").arg(&xml_b).arg(&xml_a));
    assert_eq!(stdout(&db(&["diff", "2", "1"], &file)), stdout(&back));
}

/// Unknown scan ids, a missing or corrupt database, an output that cannot
/// be written and wrong arguments: one line on stderr, a non-zero exit,
/// and no output file created for a scan that does not exist.
#[test]
fn bad_inputs_are_one_line_each() {
    let dir = tempdir();
    let file = dir.path().join("h.sqlite");
    drop(SqliteStore::open(&file).expect("create"));
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database\n".repeat(200)).unwrap();
    let f = path(&file);
    let out_xml = dir.path().join("never.xml");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["export", "7", "-oX", path(&out_xml), "--db", f],
            "no scan 7",
        ),
        (vec!["diff", "1", "2", "--db", f], "no scan 1"),
        (
            vec!["diff", "1", "2", "--db", "/nonexistent/h.sqlite"],
            "unable to open",
        ),
        (vec!["show", "1", "--db", path(&text)], "not a database"),
        (
            vec!["diff", "1", "2", "--db", path(&text)],
            "not a database",
        ),
        (vec!["export", "1", "--db", f], "at least one of"),
        (vec!["export", "1", "-oQ", "x", "--db", f], "unknown option"),
        (vec!["diff", "1", "--db", f], "two scan ids"),
    ];
    for (args, says) in cases {
        let out = run(prtip().arg("db").args(&args));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}\n{}", describe(&out));
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("prtip: ") && err.contains(says),
            "{args:?}: {err}"
        );
    }
    assert!(!out_xml.exists(), "a file was created for a missing scan");
    // A recorded scan, then an output path that cannot be opened.
    let _g = loopback::lock();
    prtip_ok(&["-sT", "-n", "-p", "1", "--db", f, "127.0.0.2"]);
    let out = run(prtip().args([
        "db",
        "export",
        "1",
        "-oX",
        "/nonexistent/dir/x.xml",
        "--db",
        f,
    ]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot open output file /nonexistent/dir/x.xml"),
        "{err}"
    );
    // A damaged file: valid header, pages overwritten.
    let damaged = dir.path().join("damaged.sqlite");
    let mut bytes = std::fs::read(&file).unwrap();
    assert!(bytes.len() > 8192, "{} bytes", bytes.len());
    bytes[4096..8192].fill(0xAB);
    std::fs::write(&damaged, bytes).unwrap();
    for sub in [
        &["list"][..],
        &["show", "1"],
        &["diff", "1", "1"],
        &["latest", "127.0.0.2"],
    ] {
        let out = run(prtip().arg("db").args(sub).args(["--db", path(&damaged)]));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{sub:?}: {}", describe(&out));
        assert_eq!(err.lines().count(), 1, "{sub:?}: {err}");
        assert!(err.contains("malformed"), "{sub:?}: {err}");
    }
}

/// nmap scans 127.0.0.2-3, listeners change, prtip scans with --db: the
/// nmap file imported and diffed with the prtip scan prints what ndiff
/// prints on the two files; and prtip's own XML imported and exported
/// again is the same file.
#[test]
fn an_imported_nmap_scan_diffs_as_ndiff_does() {
    if !require_tool("ndiff") || !require_tool("nmap") {
        return;
    }
    let _g = loopback::lock();
    let dir = tempdir();
    let file = dir.path().join("h.sqlite");
    let closed = LoopbackPorts::new(0, 3);
    let probe = TcpListener::bind("127.0.0.2:0").expect("bind");
    let a = probe.local_addr().expect("addr").port();
    drop(probe);
    let spec = format!("{a},{}", closed.spec());
    let (nmap_xml, prtip_xml) = (dir.path().join("nmap.xml"), dir.path().join("prtip.xml"));
    {
        let _open = listen("127.0.0.2", a);
        let nmap = run(Command::new("nmap").args([
            "-sT",
            "-n",
            "-p",
            &spec,
            "-oX",
            path(&nmap_xml),
            "127.0.0.2-3",
        ]));
        assert!(nmap.status.success(), "{}", describe(&nmap));
    }
    {
        let _open = listen("127.0.0.3", a);
        prtip_ok(&[
            "-sT",
            "-n",
            "-p",
            &spec,
            "--db",
            path(&file),
            "-oX",
            path(&prtip_xml),
            "127.0.0.2-3",
        ]);
    }
    assert_eq!(stdout(&db(&["import", path(&nmap_xml)], &file)), "2\n");
    let text = assert_same_as_ndiff(&file, ("2", "1"), (&nmap_xml, &prtip_xml));
    assert!(text.starts_with("-Nmap 7."), "{text}");
    assert!(text.contains(&format!("+{a}/tcp open")), "{text}");
    // prtip's XML back through the database is the same file.
    let again = dir.path().join("again.sqlite");
    assert_eq!(stdout(&db(&["import", path(&prtip_xml)], &again)), "1\n");
    let exported = dir.path().join("exported.xml");
    db(&["export", "1", "-oX", path(&exported)], &again);
    assert_eq!(
        std::fs::read_to_string(&exported).unwrap(),
        std::fs::read_to_string(&prtip_xml).unwrap()
    );
}

/// Broken and hostile files: one line naming FILE:LINE, exit 1, and the
/// database unchanged (no half-imported scan).
#[test]
fn a_bad_xml_file_is_one_line_and_imports_nothing() {
    let dir = tempdir();
    let file = dir.path().join("h.sqlite");
    let head = "<?xml version=\"1.0\"?>\n<nmaprun scanner=\"nmap\" args=\"nmap x\" start=\"1700000000\" version=\"7.93\">\n";
    let host = "<host><status state=\"up\" reason=\"syn-ack\"/>\n<address addr=\"198.18.0.1\" addrtype=\"ipv4\"/>\n<ports><port protocol=\"tcp\" portid=\"80\"><state state=\"open\" reason=\"syn-ack\" reason_ttl=\"64\"/></port></ports></host>\n";
    let cases: Vec<(&str, String, u32, &str)> = vec![
        ("truncated", format!("{head}{host}<host>\n"), 6, "ends inside <host>"),
        ("mismatched", format!("{head}<host>\n</ports>\n"), 4, "ports"),
        ("bad port", format!("{head}{}", host.replace("\"80\"", "\"80x\"")), 5, "not a valid number"),
        ("bad state", format!("{head}{}", host.replace("\"open\"", "\"ajar\"")), 5, "unknown port state"),
        ("entity", "<?xml version=\"1.0\"?>\n<!DOCTYPE nmaprun [<!ENTITY a \"aaaa\">]>\n<nmaprun args=\"&a;&a;\">\n".into(), 3, "unrecognized entity"),
        ("not nmap", "<html>\n<body/></html>\n".into(), 1, "not an nmap XML file"),
        ("text", "just some words\n".into(), 1, "not an nmap XML file"),
        ("deep", format!("{head}{}", "<a>\n".repeat(100)), 66, "nested too deep"),
        (
            "too many ports",
            format!(
                "{head}<host><status state=\"up\"/>\n<address addr=\"198.18.0.1\"/><ports>\n{}",
                "<port protocol=\"tcp\" portid=\"1\"><state state=\"open\"/></port>\n"
                    .repeat(2 * 65_536 + 1)
            ),
            5 + 2 * 65_536,
            "more than 131072 ports in one host",
        ),
        (
            "long cpe",
            format!(
                "{head}<host><status state=\"up\"/>\n<address addr=\"198.18.0.1\"/><ports>\n<port protocol=\"tcp\" portid=\"1\"><state state=\"open\"/><service name=\"x\"><cpe>{}&amp;{}</cpe>\n",
                "a".repeat(40_000),
                "b".repeat(40_000)
            ),
            5,
            "longer than 65536 bytes",
        ),
        ("no address", format!("{head}<host><status state=\"up\"/>\n</host>\n</nmaprun>\n"), 4, "without an IP address"),
    ];
    for (name, text, line, says) in cases {
        let xml = dir.path().join(format!("{}.xml", name.replace(' ', "-")));
        std::fs::write(&xml, text).unwrap();
        let out = run(prtip().args(["db", "import", path(&xml), "--db", path(&file)]));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", describe(&out));
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        let at = format!("prtip: {}:{line}: ", xml.display());
        assert!(err.starts_with(&at) && err.contains(says), "{name}: {err}");
    }
    let out = run(prtip().args(["db", "import", "/nonexistent.xml", "--db", path(&file)]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    assert_eq!(stdout(&db(&["list"], &file)), "", "nothing was imported");
}

/// `db latest`: per port, the newest scan that looked at it. Scan 1 sees
/// 127.0.0.6-7 on ports a and b (a open on .6); scan 2 looks at port b of
/// .6 only, now open. .6's latest is a open from scan 1 and b open from
/// scan 2; the /31 adds .7 from scan 1; an address never scanned is one
/// line and exit 1.
#[test]
fn latest_is_the_newest_state_per_port() {
    let _g = loopback::lock();
    let dir = tempdir();
    let file = dir.path().join("h.sqlite");
    let probe = [
        TcpListener::bind("127.0.0.6:0").expect("bind"),
        TcpListener::bind("127.0.0.6:0").expect("bind"),
    ];
    let [a, b] = probe
        .each_ref()
        .map(|l| l.local_addr().expect("addr").port());
    drop(probe);
    {
        let _open = listen("127.0.0.6", a);
        prtip_ok(&[
            "-sT",
            "-n",
            "-p",
            &format!("{a},{b}"),
            "--db",
            path(&file),
            "127.0.0.6-7",
        ]);
    }
    {
        let _open = listen("127.0.0.6", b);
        prtip_ok(&[
            "-sT",
            "-n",
            "-p",
            &b.to_string(),
            "--db",
            path(&file),
            "127.0.0.6",
        ]);
    }
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    // PORT, STATE and SCAN (a port may have a SERVICE name in between).
    let rows = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.contains("/tcp"))
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                format!("{} {} {}", w[0], w[1], w[w.len() - 1])
            })
            .collect()
    };
    let one = stdout(&db(&["latest", "127.0.0.6"], &file));
    assert!(one.starts_with("127.0.0.6: up in scan 2 at "), "{one}");
    let scan_of = |p: u16| if p == a { 1 } else { 2 };
    let expect: Vec<String> = [lo, hi]
        .iter()
        .map(|p| format!("{p}/tcp open {}", scan_of(*p)))
        .collect();
    assert_eq!(rows(&one), expect, "{one}");
    let both = stdout(&db(&["latest", "127.0.0.6/31"], &file));
    let seven: Vec<String> = [lo, hi]
        .iter()
        .map(|p| format!("{p}/tcp closed 1"))
        .collect();
    assert_eq!(rows(&both), [expect, seven].concat(), "{both}");
    assert!(both.contains("\n127.0.0.7: up in scan 1 at "), "{both}");
    let none = run(prtip().args(["db", "latest", "127.0.0.9", "--db", path(&file)]));
    assert_eq!(none.status.code(), Some(1));
    let err = String::from_utf8_lossy(&none.stderr);
    assert_eq!(err.lines().count(), 1);
    assert!(err.contains("no recorded host in 127.0.0.9"), "{err}");
}

/// A small nmap file with every element `db import` reads.
const NMAP_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -sS -sV -O -v 198.18.0.1" start="1700000000" version="7.93" xmloutputversion="1.05">
<scaninfo type="syn" protocol="tcp" numservices="1000" services="1-1000"/>
<verbose level="1"/><debugging level="0"/>
<hosthint><status state="up" reason="unknown-response" reason_ttl="0"/><address addr="198.18.0.1" addrtype="ipv4"/></hosthint>
<host starttime="1700000001" endtime="1700000009"><status state="up" reason="echo-reply" reason_ttl="64"/>
<address addr="198.18.0.1" addrtype="ipv4"/><address addr="02:00:00:00:00:01" addrtype="mac"/>
<hostnames><hostname name="a.example" type="PTR"/><hostname name="b.example" type="user"/></hostnames>
<ports><extraports state="closed" count="998"><extrareasons reason="reset" count="998" proto="tcp" ports="1-21,23-79"/></extraports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="ssh" product="OpenSSH" version="9.2p1 &amp; more" extrainfo="protocol 2.0" ostype="Linux" method="probed" conf="10"><cpe>cpe:/a:openbsd:openssh:9.2p1</cpe></service><script id="ssh-hostkey" output="x"/></port>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="http" tunnel="ssl" method="table" conf="3"/></port>
</ports>
<os><portused state="open" proto="tcp" portid="22"/><portused state="closed" proto="tcp" portid="1"/>
<osmatch name="Linux 5.0 - 6.2" accuracy="100" line="70000"><osclass type="general purpose" vendor="Linux" osfamily="Linux" osgen="5.X" accuracy="100"><cpe>cpe:/o:linux:linux_kernel:5</cpe></osclass></osmatch>
</os><distance value="1"/><times srtt="120" rttvar="50" to="100000"/>
</host>
<runstats><finished time="1700000010" timestr="x" summary="y" elapsed="10.00" exit="success"/><hosts up="1" down="0" total="1"/></runstats>
</nmaprun>
"#;

/// 300 damaged copies of a valid nmap file (bytes replaced by markup
/// characters, ranges cut or doubled, from a fixed seed): each import
/// exits 0 with the new scan's id, or 1 with one `FILE:LINE:` line, never
/// a panic or a hang; and the valid file reads back as nmap wrote it.
#[test]
fn damaged_nmap_files_never_crash_the_import() {
    let dir = tempdir();
    let file = dir.path().join("h.sqlite");
    let good = dir.path().join("good.xml");
    std::fs::write(&good, NMAP_XML).unwrap();
    assert_eq!(stdout(&db(&["import", path(&good)], &file)), "1\n");
    let shown = stdout(&db(&["show", "1"], &file));
    for line in [
        "prtip scan report for a.example (198.18.0.1)",
        "22/tcp open  ssh       OpenSSH 9.2p1 & more (protocol 2.0)",
        "80/tcp open  ssl/http?",
        "OS details: Linux 5.0 - 6.2",
    ] {
        assert!(shown.contains(line), "{line:?} missing from\n{shown}");
    }
    let mut seed: u64 = 0x5eed_0fdb;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize % n.max(1)
    };
    const MARKUP: &[u8] = b"<>&\"/;=#x0\xff\n";
    let bad = dir.path().join("bad.xml");
    let mut outcomes = [0u32; 2];
    for round in 0..300 {
        let mut bytes = NMAP_XML.as_bytes().to_vec();
        for _ in 0..1 + next(3) {
            let at = next(bytes.len());
            match next(3) {
                0 => bytes[at] = MARKUP[next(MARKUP.len())],
                1 => drop(bytes.drain(at..(at + next(40)).min(bytes.len()))),
                _ => {
                    let piece = bytes[at..(at + next(80)).min(bytes.len())].to_vec();
                    bytes.splice(at..at, piece);
                }
            }
        }
        std::fs::write(&bad, &bytes).unwrap();
        let out = run(prtip().args(["db", "import", path(&bad), "--db", path(&file)]));
        let err = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => {
                assert!(stdout(&out).trim().parse::<u32>().is_ok(), "round {round}");
                outcomes[0] += 1;
            }
            Some(1) => {
                let at = format!("prtip: {}:", bad.display());
                assert!(
                    err.starts_with(&at) && err.lines().count() == 1,
                    "round {round}: {err}"
                );
                outcomes[1] += 1;
            }
            _ => panic!(
                "round {round}: {}\n{}",
                describe(&out),
                String::from_utf8_lossy(&bytes)
            ),
        }
    }
    // Both outcomes happen: the damage is neither always fatal nor always harmless.
    assert!(
        outcomes[0] > 10 && outcomes[1] > 10,
        "imported, refused: {outcomes:?}"
    );
}
