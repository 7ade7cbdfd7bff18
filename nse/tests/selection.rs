//! `--script` selection equals nmap's on the installed script database:
//! `nmap --script-help EXPR` lists each script it selects (its id, then a
//! `Categories:` line).

use prtip_nse::choose;
use prtip_testkit::prereq::{require_file, require_tool};
use std::path::Path;
use std::process::Command;

const SCRIPTS: &str = "/usr/share/nmap/scripts";

fn nmap_selection(expr: &str) -> Vec<String> {
    let out = Command::new("nmap")
        .args(["--script-help", expr])
        .output()
        .expect("nmap runs");
    assert!(out.status.success(), "nmap --script-help {expr} failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let mut ids: Vec<String> = lines
        .windows(2)
        .filter(|w| w[1].starts_with("Categories:"))
        .map(|w| w[0].trim().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn selection_equals_nmaps() {
    if !require_tool("nmap") || !require_file(&format!("{SCRIPTS}/script.db")) {
        return;
    }
    for expr in [
        "default",
        "default or safe",
        "not intrusive",
        "http-*",
        "default and not intrusive",
        "(default or discovery) and not http-*",
        "safe and version or auth",
        "ftp-anon,smtp-commands",
        "vuln,exploit",
    ] {
        let ours: Vec<String> = choose(expr, Path::new(SCRIPTS))
            .expect("selects")
            .into_iter()
            .map(|c| c.id)
            .collect();
        let theirs = nmap_selection(expr);
        assert!(!theirs.is_empty(), "{expr}: nmap selected nothing");
        assert_eq!(ours, theirs, "{expr}: selection differs from nmap's");
        println!("{expr}: {} scripts, as nmap", ours.len());
    }
}

#[test]
fn unknown_rule_is_one_clear_error() {
    if !require_file(&format!("{SCRIPTS}/script.db")) {
        return;
    }
    let e = choose("no-such-script-xyz", Path::new(SCRIPTS)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "'no-such-script-xyz' did not match a category, filename, or directory"
    );
}
