//! Heap budget: default scripts with version detection (`-sV -sC -n -Pn
//! -p 22,80,443 127.0.0.1`) against real daemons (OpenSSH, nginx http and
//! https, started by `scripts/services` in a namespace of this test's own),
//! in-process under dhat: the Lua VM (its heap goes through Rust's
//! allocator), nselib and every default and version script nmap installed
//! are counted. The test thread enters the namespace with setns(2) before
//! `prtip::app::run`; the script thread inherits it. Root only.
//! Run with `cargo test -p prtip --features dhat-heap --test heap_script_scan -- --nocapture`.
#![cfg(feature = "dhat-heap")]

mod common;

use prtip_testkit::netns::NetnsGuard;
use prtip_testkit::prereq::{require_file, require_root};
use prtip_testkit::process::tempdir;
use prtip_testkit::services::ServicesNetns;

memprof::install_global_allocator!();

#[test]
fn script_scan_of_ssh_http_https_stays_within_budget() {
    let budget = prtip::budgets::SCRIPT_SCAN;
    if !require_root() || !require_file("/usr/share/nmap/scripts/script.db") {
        return;
    }
    let Some(daemons) = ServicesNetns::up("prtip-heapsc") else {
        return;
    };
    let dir = tempdir();
    let xml = dir.path().join("sc.xml");
    let xml_s = xml.to_str().expect("utf-8 path");
    let argv = [
        "prtip",
        "-sV",
        "-sC",
        "-n",
        "-Pn",
        "-p",
        "22,80,443",
        "-oX",
        xml_s,
        "127.0.0.1",
    ];
    let args: Vec<std::ffi::OsString> = argv.iter().map(std::ffi::OsString::from).collect();
    let netns = NetnsGuard::enter(&daemons.netns_path());
    let (code, stats, elapsed) = common::profile_app(args);
    drop(netns);
    assert_eq!(code, std::process::ExitCode::SUCCESS, "{argv:?}");
    let text = std::fs::read_to_string(&xml).expect("XML output written");
    for (port, id) in [(80, "http-title"), (443, "http-title"), (443, "tls-alpn")] {
        let at = text
            .find(&format!("portid=\"{port}\""))
            .expect("port in the XML");
        let end = at + text[at..].find("</port>").expect("port closed");
        assert!(
            text[at..end].contains(&format!("<script id=\"{id}\"")),
            "no {id} on port {port}:\n{text}"
        );
    }
    let peak = stats.max_bytes as u64;
    eprintln!(
        "heap_{}: peak {peak} bytes in {} blocks, {} allocations, {:.1} s; budget {}",
        budget.name,
        stats.max_blocks,
        stats.total_blocks,
        elapsed.as_secs_f64(),
        budget.max_heap_bytes
    );
    assert!(
        peak <= budget.max_heap_bytes,
        "peak heap {peak} B with -sV -sC exceeds the budget of {} B",
        budget.max_heap_bytes
    );
    drop(daemons);
}
