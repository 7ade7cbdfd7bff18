//! Heap budget: a SYN scan (`-sS -Pn -p 22,80,443,1000`) of a /16 (65,536
//! hosts, 262,144 probes) across the namespace lab, in-process: the test thread
//! enters the lab's scan namespace with setns(2) before `prtip::app::run`, so
//! every thread of the scan lives there. Root only.
//! Run with `cargo test --features dhat-heap --test heap_syn_lab16`.
#![cfg(feature = "dhat-heap")]

mod common;

use common::{json_hosts, NetnsGuard, ScriptLab};
use memprof::dhat;
use prtip::budgets::SYN_LAB16;
use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Instant;

memprof::install_global_allocator!();

const PREFIX: &str = "198.19.0.0/16";
const LISTEN: [u16; 3] = [22, 80, 443];

#[test]
fn syn_scan_of_a_slash16_stays_within_budget() {
    let Some(lab) = ScriptLab::up(PREFIX, &LISTEN, 0) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("scan.json");
    let argv = [
        "prtip",
        "-sS",
        "-n",
        "-Pn",
        "-p",
        "22,80,443,1000",
        "-oJ",
        json.to_str().expect("utf8 path"),
        PREFIX,
    ]
    .map(std::ffi::OsString::from)
    .to_vec();

    let netns = NetnsGuard::enter(&lab.scan_netns_path());
    let started = Instant::now();
    let profiler = dhat::Profiler::builder().testing().build();
    let code = prtip::app::run(argv);
    let stats = dhat::HeapStats::get();
    drop(profiler);
    let elapsed = started.elapsed();
    drop(netns);

    assert_eq!(code, ExitCode::SUCCESS);
    let hosts = json_hosts(&std::fs::read_to_string(&json).expect("json output"));
    assert_eq!(hosts.len(), 65_536, "one line per address of {PREFIX}");
    let want: BTreeSet<u16> = LISTEN.into_iter().collect();
    let missing: Vec<_> = hosts
        .iter()
        .filter(|(_, (status, open, total))| status != "up" || *open != want || *total != 4)
        .take(10)
        .collect();
    assert!(
        missing.is_empty(),
        "hosts without every listener: {missing:?}"
    );

    eprintln!(
        "heap_syn_lab16: peak {} bytes in {} blocks (budget {}), {} allocations, {:.1} s",
        stats.max_bytes,
        stats.max_blocks,
        SYN_LAB16.max_heap_bytes,
        stats.total_blocks,
        elapsed.as_secs_f64()
    );
    assert!(
        stats.max_bytes as u64 <= SYN_LAB16.max_heap_bytes,
        "peak heap {} B exceeds the budget of {} B",
        stats.max_bytes,
        SYN_LAB16.max_heap_bytes
    );
    drop(lab);
}
