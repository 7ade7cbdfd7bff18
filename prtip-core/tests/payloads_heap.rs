//! Heap cost of the payload database, counted per thread by the `heapcount`
//! allocator this test binary installs, against what
//! [`PayloadDb::heap_bytes`] reports.

use heapcount::thread_usage;
use prtip_core::payloads::PayloadDb;
use prtip_testkit::prereq::require_text;

#[global_allocator]
static GLOBAL: heapcount::Counting = heapcount::Counting;

const PATH: &str = "/usr/share/nmap/nmap-payloads";

/// Parses `text`; returns the database, its live heap bytes and the peak
/// while parsing.
fn measure(text: &str, file: &str) -> (PayloadDb, usize, usize) {
    let (loaded, usage) = thread_usage(|| PayloadDb::parse(text, file));
    assert_eq!(loaded.warnings, [], "{file}");
    let live = usize::try_from(usage.live).expect("parsing cannot free what it did not hold");
    (loaded.value, live, usage.peak)
}

#[test]
fn builtin_db_heap_is_what_it_reports() {
    let (db, live, peak) = measure(
        prtip_core::payloads::BUILTIN_PAYLOADS,
        prtip_core::payloads::BUILTIN_NAME,
    );
    println!("built-in payloads: {live} bytes live, {peak} bytes peak while parsing");
    assert_eq!(live, db.heap_bytes());
    assert!(live < 1_000, "live {live}");
}

#[test]
fn installed_db_heap_is_what_it_reports() {
    let Some(text) = require_text(PATH) else {
        return;
    };
    let (db, live, peak) = measure(&text, PATH);
    println!(
        "nmap-payloads: {live} bytes live, {peak} bytes peak while parsing ({} bytes of text)",
        text.len()
    );
    assert_eq!(live, db.heap_bytes());
    // nmap 7.93: 3,490 bytes (2,690 of payload, 63 ends, 134 single ports,
    // two ranges); 8,218 bytes peak.
    assert!(live < 4_096, "live {live}");
    assert!(peak < 16_384, "peak {peak}");
}
