//! A SYN scan needs CAP_NET_RAW and nothing else, as README says: a copy
//! of the binary holding only `cap_net_raw=eip`, run by user nobody, scans
//! 127.0.0.1 with raw packets (closed ports answer `reset`, which a connect
//! scan would report as `conn-refused`). Root only: it sets the capability.
//!
//! Network safety: only 127.0.0.1 is scanned.

mod common;

use common::prtip_path;
use prtip_testkit::{
    prereq::{require_root, require_tool},
    process::{describe, run, tempdir},
};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

/// User and group `nobody` on Debian.
const NOBODY: &str = "65534";

#[test]
fn syn_scan_runs_with_only_cap_net_raw() {
    if !require_root() || !require_tool("setcap") || !require_tool("setpriv") {
        return;
    }
    let dir = tempdir();
    // nobody must be able to reach and run the copy.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod dir");
    let copy = dir.path().join("prtip");
    std::fs::copy(prtip_path(), &copy).expect("copy the binary");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let set = run(Command::new("setcap").arg("cap_net_raw+eip").arg(&copy));
    assert!(set.status.success(), "{}", describe(&set));

    let open = TcpListener::bind("127.0.0.1:0").expect("listen");
    let open_port = open.local_addr().expect("addr").port();
    let closed_port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let out = run(Command::new("setpriv")
        .args(["--reuid", NOBODY, "--regid", NOBODY, "--clear-groups"])
        .arg(&copy)
        .args(["-sS", "-n", "-Pn", "--reason", "-p"])
        .arg(format!("{open_port},{closed_port}"))
        .arg("127.0.0.1"));
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{open_port}/tcp open")),
        "{}",
        describe(&out)
    );
    let closed_line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{closed_port}/tcp")))
        .unwrap_or_else(|| panic!("no line for {closed_port}: {}", describe(&out)));
    assert!(
        closed_line.contains("closed") && closed_line.contains("reset"),
        "not a raw SYN scan: {closed_line}"
    );
    drop(open);
}
