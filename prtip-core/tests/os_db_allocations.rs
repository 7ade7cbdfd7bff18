//! A full matching pass over the installed `nmap-os-db` holds a small,
//! fixed amount of heap: it does not grow with the number of fingerprints.
//! Counted per thread by the `heapcount` allocator this test binary installs,
//! so the harness's other threads do not disturb the numbers.
//! Without nmap the test prints a `SKIPPED (needs ...)` line (and fails when
//! CI=true).

use heapcount::thread_usage;
use prtip_core::os_db::{best_matches, Fingerprint, OsDbReader};
use prtip_testkit::{nmapdata, prereq::require_text};

#[global_allocator]
static GLOBAL: heapcount::Counting = heapcount::Counting;

const DB_PATH: &str = nmapdata::OS_DB;

/// Measured on this project's host; the subject is not nmap's data.
const SUBJECT: &str = "\
SEQ(SP=104%GCD=1%ISR=10C%TI=Z%CI=Z%II=I%TS=21)
OPS(O1=MFFD7ST11NWA%O2=MFFD7ST11NWA%O3=MFFD7NNT11NWA%O4=MFFD7ST11NWA%O5=MFFD7ST11NWA%O6=MFFD7ST11)
WIN(W1=FFCB%W2=FFCB%W3=FFCB%W4=FFCB%W5=FFCB%W6=FFCB)
ECN(R=Y%DF=Y%T=40%W=FFD7%O=MFFD7NNSNWA%CC=Y%Q=)
T1(R=Y%DF=Y%T=40%S=O%A=S+%F=AS%RD=0%Q=)
T2(R=N)
T3(R=N)
T4(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)
T5(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)
T6(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)
T7(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)
U1(R=Y%DF=N%T=40%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)
IE(R=Y%DFI=N%T=40%CD=S)";

/// Budget for one pass keeping the best 10 (measured: a few KiB).
const PASS_BUDGET: usize = 64 * 1024;

#[test]
fn full_pass_heap_is_small_and_independent_of_the_database_size() {
    let Some(text) = require_text(DB_PATH) else {
        return;
    };
    let subject = Fingerprint::parse(SUBJECT).expect("subject");

    // The first tenth of the file, cut at an entry boundary.
    let cut = text[text.len() / 10..]
        .find("\nFingerprint ")
        .map(|i| text.len() / 10 + i + 1)
        .expect("an entry after the first tenth");
    let small = &text[..cut];
    let small_entries = OsDbReader::new(small).count();
    let all_entries = OsDbReader::new(&text).count();

    let ((top_small, warnings), small_usage) = thread_usage(|| best_matches(small, &subject, 10));
    let (peak_small, allocs_small) = (small_usage.peak, small_usage.allocs);
    assert!(warnings.is_empty());
    let ((top, warnings), usage) = thread_usage(|| best_matches(&text, &subject, 10));
    let (peak, allocs) = (usage.peak, usage.allocs);
    assert!(warnings.is_empty());
    assert_eq!(top.len(), 10);
    assert_eq!(top_small.len(), 10);
    eprintln!(
        "best 10 of {all_entries} fingerprints: peak heap {peak} B in {allocs} allocations; \
         of {small_entries}: {peak_small} B in {allocs_small} allocations"
    );
    assert!(peak < PASS_BUDGET, "peak heap {peak} B");
    // Ten times the entries, a few more kept-list shuffles at most: the peak
    // may differ only by what the final ten matches' class lists hold.
    assert!(
        peak.abs_diff(peak_small) <= 1024,
        "{peak} B vs {peak_small} B"
    );
    assert!(
        allocs < 200,
        "{allocs} allocations for {all_entries} entries"
    );

    let peak_one = thread_usage(|| best_matches(&text, &subject, 1)).1.peak;
    let peak_hundred = thread_usage(|| best_matches(&text, &subject, 100)).1.peak;
    eprintln!("peak heap keeping 1: {peak_one} B; keeping 100: {peak_hundred} B");
    assert!(peak_one <= peak && peak <= peak_hundred);
}
