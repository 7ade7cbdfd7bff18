//! `top_ports` must pick exactly nmap's ports, tie-breaking included.
//!
//! Runs the installed nmap against 127.0.0.1 only (a connect scan of the
//! loopback interface, and as root a UDP scan of it) and compares its
//! `<scaninfo services="...">` with ours.
//! Without nmap or its nmap-services this is skipped loudly, except under
//! CI=true, where a missing prerequisite is a failure.

use std::process::Command;

use prtip_core::result::Protocol;
use prtip_core::services::{top_ports, ServiceNames};
use prtip_testkit::nmapdata::{DATADIR, SERVICES};
use prtip_testkit::prereq::{require_root, require_text, require_tool};
use prtip_testkit::process::run_ok;
use prtip_testkit::xml;

/// nmap-services, when nmap and its file are there; otherwise `None` after
/// a loud skip (a failure under CI).
fn prerequisites() -> Option<String> {
    if !require_tool("nmap") {
        return None;
    }
    require_text(SERVICES)
}

/// nmap's own choice for `--top-ports n` of a `scan` (`-sT`, `-sU`), from
/// its XML output.
fn nmap_top_ports(scan: &str, n: usize) -> String {
    let out = run_ok(
        Command::new("nmap")
            .args([
                scan,
                "-Pn",
                "-n",
                "--max-retries",
                "0",
                "--datadir",
                DATADIR,
            ])
            .args(["--top-ports", &n.to_string(), "-oX", "-", "127.0.0.1"]),
    );
    let xml = String::from_utf8_lossy(&out.stdout);
    let scaninfo = xml::elements(&xml, "scaninfo")
        .next()
        .unwrap_or_else(|| panic!("no <scaninfo> in nmap output:\n{xml}"));
    xml::attr(scaninfo, "services").expect("services attribute")
}

#[test]
fn top_ports_match_nmap() {
    let Some(content) = prerequisites() else {
        return;
    };
    for n in [1, 10, 100, 1000, 5000] {
        let ours = top_ports(&content, "nmap-services", Protocol::Tcp, n).expect("frequencies");
        assert!(
            ours.warnings.is_empty(),
            "warnings on nmap's own file: {:?}",
            ours.warnings
        );
        assert_eq!(ours.value.len(), n);
        assert_eq!(
            ours.value.to_nmap_string(),
            nmap_top_ports("-sT", n),
            "--top-ports {n}"
        );
    }
}

#[test]
fn udp_top_ports_match_nmap() {
    // nmap's UDP scan needs root; it probes 127.0.0.1 only.
    if !require_root() {
        return;
    }
    let Some(content) = prerequisites() else {
        return;
    };
    for n in [1, 10, 100, 1000] {
        let ours = top_ports(&content, "nmap-services", Protocol::Udp, n).expect("frequencies");
        assert_eq!(ours.value.len(), n);
        assert_eq!(
            ours.value.to_nmap_string(),
            nmap_top_ports("-sU", n),
            "-sU --top-ports {n}"
        );
    }
}

#[test]
fn real_file_parses_cleanly_and_names_common_ports() {
    let Some(content) = prerequisites() else {
        return;
    };
    let top = top_ports(&content, "nmap-services", Protocol::Tcp, 1000).expect("frequencies");
    let names = ServiceNames::load(&content, "nmap-services", Protocol::Tcp, &top.value);
    assert!(names.warnings.is_empty());
    let names = names.value;
    assert_eq!(names.name(22, Protocol::Tcp), Some("ssh"));
    assert_eq!(names.name(80, Protocol::Tcp), Some("http"));
    assert_eq!(names.name(443, Protocol::Tcp), Some("https"));
    assert!(names.len() <= 1000);
}
