//! Heap budget: OS detection (`-O`) of 127.0.0.1 with one open port,
//! in-process, matched against nmap's complete nmap-os-db. The database is
//! scored while the mapped file is read, so its 5 MB never enter the heap.
//! Root only (raw sockets).
//! Run with `cargo test --features dhat-heap --test heap_os_detect`.
#![cfg(feature = "dhat-heap")]

mod common;

use prtip_testkit::{
    prereq::{require_file, require_root},
    process::tempdir,
};

memprof::install_global_allocator!();

#[test]
fn os_detection_stays_within_budget() {
    if !require_root() || !require_file("/usr/share/nmap/nmap-os-db") {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    let dir = tempdir();
    let xml = dir.path().join("os.xml");
    let argv = [
        "prtip",
        "-O",
        "-n",
        "-p",
        &port,
        "-oX",
        xml.to_str().expect("utf8 path"),
        "127.0.0.1",
    ]
    .map(std::ffi::OsString::from)
    .to_vec();
    let (code, stats, elapsed) = common::profile_app(argv);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let text = std::fs::read_to_string(&xml).expect("xml output");
    // The OS stage ran and matched: the report names the port it used and
    // at least one reference fingerprint.
    assert!(
        text.contains(&format!(
            "<portused state=\"open\" proto=\"tcp\" portid=\"{port}\"/>"
        )),
        "{text}"
    );
    assert!(
        text.contains("<osmatch ") || text.contains("<osfingerprint "),
        "{text}"
    );
    assert!(text.contains("<distance value=\"0\"/>"), "{text}");
    common::assert_within_budget(&prtip::budgets::OS_DETECT, &stats, elapsed);
    drop(listener);
}
