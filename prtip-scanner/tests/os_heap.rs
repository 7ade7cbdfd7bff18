//! Heap budget of `-O` on one host: probing (on the in-memory network),
//! fingerprint computation and the match against the installed nmap-os-db
//! (memory-mapped, as the binary does) must peak under 2 MB of live heap.
//!
//! The `heapcount` allocator this test binary installs measures it over all
//! threads of the process; the binary holds a single test so that no other
//! test's allocations are mixed in.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use heapcount::process_usage;
use prtip_scanner::net::fake::FakeNet;
use prtip_scanner::os::{fingerprint, OsOptions};
use prtip_scanner::sys::MappedFile;
use prtip_testkit::prereq::require_file;

#[global_allocator]
static ALLOC: heapcount::Counting = heapcount::Counting;

const BUDGET: usize = 2 << 20;
const DB: &str = prtip_testkit::nmapdata::OS_DB;

/// Answers every TCP probe with a SYN/ACK or RST and nothing else: enough
/// traffic to run the whole engine.
fn responder(probe: &[u8]) -> Vec<Vec<u8>> {
    if probe[9] != 6 {
        return Vec::new();
    }
    let mut r = probe[..40].to_vec();
    r[2..4].copy_from_slice(&40u16.to_be_bytes());
    r.swap(12, 16);
    r.swap(13, 17);
    r.swap(14, 18);
    r.swap(15, 19);
    let (sport, dport) = ([r[20], r[21]], [r[22], r[23]]);
    r[20..22].copy_from_slice(&dport);
    r[22..24].copy_from_slice(&sport);
    let seq = u32::from_be_bytes([r[24], r[25], r[26], r[27]]);
    r[28..32].copy_from_slice(&seq.wrapping_add(1).to_be_bytes());
    r[24..28].copy_from_slice(&0x1000u32.to_be_bytes());
    r[32] = 0x50;
    r[33] = if probe[33] & 0x02 != 0 { 0x12 } else { 0x14 };
    vec![r]
}

#[test]
fn os_detection_of_one_host_stays_under_two_megabytes() {
    if !require_file(DB) {
        return;
    }
    // Memory-mapped read-only, as the OS stage maps it: not heap.
    let map = MappedFile::open(std::path::Path::new(DB))
        .unwrap_or_else(|e| panic!("cannot map {DB}: {e}"));
    let db = map
        .text()
        .unwrap_or_else(|e| panic!("{DB} is not UTF-8: {e}"));
    let net = Arc::new(FakeNet::new(Box::new(responder)));
    let opts = OsOptions {
        seq_interval: Duration::from_millis(5),
        probe_gap: Duration::from_millis(1),
        initial_timeout: Duration::from_millis(30),
        min_timeout: Duration::from_millis(10),
        seed: Some(1),
        ..OsOptions::default()
    };

    let ((probing_peak, (matches, warnings)), usage) = process_usage(|| {
        let (result, probing) = process_usage(|| {
            fingerprint(
                &*net,
                Ipv4Addr::new(198, 18, 200, 1),
                Ipv4Addr::new(198, 18, 200, 2),
                80,
                81,
                40125,
                &opts,
            )
        });
        let result = result.expect("probing");
        let matched = prtip_core::os_db::best_matches(db, &result.fingerprint, 10);
        (probing.peak, matched)
    });
    let peak = usage.peak;

    eprintln!(
        "os_heap: probing peak {probing_peak} B (FakeNet's packet copies included), \
         with the match {peak} B (budget {BUDGET} B); {} matches, {} warnings",
        matches.len(),
        warnings.len()
    );
    assert!(!matches.is_empty());
    assert!(peak <= BUDGET, "peak heap {peak} B exceeds {BUDGET} B");
}
