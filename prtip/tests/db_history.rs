//! `--db` and `prtip db`: a real connect scan of 127.0.0.1 recorded and
//! read back, two scans writing one file at once, unusable database files,
//! a database that fails mid-scan, and `db` as a host name.
//!
//! Network safety: only 127.0.0.1-200 are scanned (ports the test opened,
//! or closed ones); the `db` host name is looked up inside an empty network
//! namespace, where nothing leaves the process.

mod common;

use common::db::{db, stdout};
use common::{prtip, prtip_ok};
use prtip_testkit::{
    loopback::{self, LoopbackPorts},
    prereq::{require_root, require_tool},
    process::{describe, run, tempdir},
    xml,
};
use std::path::Path;
use std::process::Command;

/// The ids `db list` prints, in its order.
fn listed_ids(file: &Path) -> Vec<u64> {
    stdout(&db(&["list"], file))
        .lines()
        .map(|l| {
            let id = l.split('\t').next().unwrap_or("");
            id.parse()
                .unwrap_or_else(|_| panic!("line without an id: {l:?}"))
        })
        .collect()
}

#[test]
fn a_recorded_scan_shows_as_its_normal_output() {
    let _g = loopback::lock();
    let ports = LoopbackPorts::new(3, 3);
    let spec = ports.spec();
    let dir = tempdir();
    let file = dir.path().join("history.sqlite");
    let f = file.to_str().expect("utf-8");
    let first = prtip_ok(&["-sT", "-n", "--reason", "-p", &spec, "--db", f, "127.0.0.1"]);
    let second = prtip_ok(&["-sT", "-n", "-p", &spec, "--db", f, "127.0.0.1-3"]);
    assert!(stdout(&first).contains("open"), "{}", describe(&first));
    assert_eq!(listed_ids(&file), vec![2, 1], "newest first");
    for (id, live) in [("1", &first), ("2", &second)] {
        let shown = db(&["show", id], &file);
        assert_eq!(stdout(&shown), stdout(live), "db show {id}");
    }
    let missing = run(prtip().args(["db", "show", "3", "--db", f]));
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no scan 3"));
}

#[test]
fn two_scans_write_one_file_at_once() {
    let _g = loopback::lock();
    let ports = LoopbackPorts::new(2, 2);
    let spec = ports.spec();
    let dir = tempdir();
    // A race shows only sometimes: a few rounds, each on a new file (the
    // opening of a new file by two processes is the narrowest window).
    for round in 0..5 {
        let file = dir.path().join(format!("shared-{round}.sqlite"));
        two_writers(&file, &spec);
    }
}

fn two_writers(file: &Path, spec: &str) {
    let f = file.to_str().expect("utf-8");
    let start = |target: &str| {
        prtip()
            .args(["-sT", "-n", "-Pn", "-p", spec, "--db", f, target])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn prtip")
    };
    // 20 hosts each, each host its own transaction: the writes interleave.
    let a = start("127.0.0.2-21");
    let b = start("127.0.0.1-20");
    let outs = [a, b].map(|c| c.wait_with_output().expect("wait"));
    for o in &outs {
        assert_eq!(o.status.code(), Some(0), "{}", describe(o));
    }
    let mut ids = listed_ids(file);
    ids.sort_unstable();
    assert_eq!(ids, vec![1, 2]);
    // Which scan got which id depends on who began first: match by output.
    let shown: Vec<String> = ["1", "2"]
        .iter()
        .map(|id| stdout(&db(&["show", id], file)))
        .collect();
    for o in &outs {
        assert!(
            shown.contains(&stdout(o)),
            "a scan's report is not in the file:\n{}",
            stdout(o)
        );
    }
}

/// Runs a scan with `--db bad` and `-oX`: one `prtip:` line, exit 1, and
/// the XML (and the report) complete with the open ports.
fn scan_despite(bad: &Path, dir: &Path, uid: Option<u32>, says: &str) {
    let ports = LoopbackPorts::new(1, 1);
    let xml_path = dir.join(format!(
        "out-{}.xml",
        bad.file_name().and_then(|n| n.to_str()).unwrap_or("x")
    ));
    let mut cmd = match uid {
        // A copy nobody can reach: the build directory may be under /root.
        Some(_) => {
            use std::os::unix::fs::PermissionsExt;
            let copy = dir.join("prtip");
            std::fs::copy(common::prtip_path(), &copy).expect("copy the binary");
            std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            Command::new(copy)
        }
        None => prtip(),
    };
    cmd.args(["-sT", "-n", "-p", &ports.spec(), "--db"])
        .arg(bad)
        .arg("-oX")
        .arg(&xml_path)
        .arg("127.0.0.1");
    if let Some(uid) = uid {
        std::os::unix::process::CommandExt::uid(&mut cmd, uid);
        std::os::unix::process::CommandExt::gid(&mut cmd, uid);
    }
    let out = run(&mut cmd);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("prtip: --db ") && err.contains(says),
        "{err}"
    );
    assert!(
        stdout(&out).contains("prtip done: 1 IP address (1 host up)"),
        "{}",
        describe(&out)
    );
    let text = std::fs::read_to_string(&xml_path).expect("xml");
    assert!(text.ends_with("</nmaprun>\n"), "{text}");
    let (_, host) = xml::only_host_up(&xml_path, "127.0.0.1");
    assert_eq!(host.ports, ports.expected());
}

#[test]
fn an_unusable_database_is_one_line_and_the_other_outputs_complete() {
    let _g = loopback::lock();
    let dir = tempdir();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database, only text\n".repeat(100)).expect("write");
    scan_despite(&text, dir.path(), None, "not a database");
    scan_despite(dir.path(), dir.path(), None, "unable to open");
    // Read-only: the owner can always write as root, so the scan runs as nobody.
    let ro = dir.path().join("ro.sqlite");
    prtip_ok(&[
        "-sT",
        "-n",
        "-p",
        "1",
        "--db",
        ro.to_str().expect("utf-8"),
        "127.0.0.1",
    ]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let uid = if require_root() { Some(65534) } else { None };
    scan_despite(&ro, dir.path(), uid, "read-only");
}

#[test]
fn db_after_a_double_dash_is_a_host_name() {
    // Looked up in an empty network namespace: no resolver is reachable.
    if !require_tool("unshare") {
        return;
    }
    let mut cmd = Command::new("unshare");
    if !require_root() {
        cmd.arg("-r");
    }
    cmd.args(["-n", common::prtip_path(), "-sT", "-p", "1", "--", "db"]);
    let out = run(&mut cmd);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("usage: prtip db"), "{err}");
    assert!(err.contains("db"), "{}", describe(&out));
    // As the first word, `db` is the subcommand.
    let sub = run(prtip().args(["db"]));
    assert_eq!(sub.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&sub.stderr).contains("usage: prtip db"));
    let help = prtip_ok(&["db", "--help"]);
    assert!(stdout(&help).starts_with("usage: prtip db list"));
}

/// The file stops growing mid-scan (RLIMIT_FSIZE, with SIGXFSZ ignored so
/// writes fail with EFBIG as on a full disk): one line, the scan and its
/// XML go on to the end, and the hosts committed before stay readable.
#[test]
fn a_database_that_fails_mid_scan_keeps_what_it_had() {
    if !require_tool("prlimit") || !require_tool("bash") {
        return;
    }
    let dir = tempdir();
    let file = dir.path().join("full.sqlite");
    let xml_path = dir.path().join("full.xml");
    // 200 hosts x 2 closed ports: about 100 KB of XML, far more database
    // (WAL pages) than the 300 KB limit allows.
    let script = format!(
        "trap '' XFSZ; exec prlimit --fsize=300000 '{}' -sT -n -Pn -p 1,2 --db '{}' -oX '{}' 127.0.0.1-200",
        common::prtip_path(),
        file.display(),
        xml_path.display()
    );
    let out = run(Command::new("bash").args(["-c", &script]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("prtip: --db ") && err.contains("goes on"),
        "{err}"
    );
    let text = std::fs::read_to_string(&xml_path).expect("xml");
    assert_eq!(
        xml::runstats_hosts(&text),
        Some((200, 0, 200)),
        "the XML is complete"
    );
    let shown = stdout(&db(&["show", "1"], &file));
    let addrs: Vec<&str> = shown
        .lines()
        .filter_map(|l| l.strip_prefix("prtip scan report for "))
        .collect();
    assert!(
        !addrs.is_empty() && addrs.len() < 200,
        "{} hosts kept",
        addrs.len()
    );
    let first: Vec<String> = (1..=addrs.len()).map(|i| format!("127.0.0.{i}")).collect();
    assert_eq!(
        addrs, first,
        "the hosts written before the failure, in order"
    );
    // Each kept host is as the live report printed it.
    let live = stdout(&out);
    for block in shown
        .split("\n\n")
        .filter(|b| b.starts_with("prtip scan report"))
    {
        assert!(live.contains(block), "{block}");
    }
}
