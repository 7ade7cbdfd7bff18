//! Heap budget: the SYN scan of `heap_syn_lab22` (1,024 hosts x 1,000 ports
//! across the namespace lab) with and without `--event-log`, in the same
//! lab and the same test: the log may add at most `EVENT_LOG_EXTRA` to the
//! peak, whatever the number of events, and holds every host and port the
//! `-oJ` output holds. Root only.
//! Run with `cargo test --features dhat-heap --test heap_syn_lab22_events`.
#![cfg(feature = "dhat-heap")]

mod common;

use prtip::budgets::{EVENT_LOG_EXTRA, SYN_LAB22, SYN_LAB22_EVENTS};
use prtip_testkit::lab::{Namespaces, ScriptLab, Side};
use prtip_testkit::netns::NetnsGuard;
use prtip_testkit::process::tempdir;
use std::collections::BTreeSet;
use std::path::Path;

memprof::install_global_allocator!();

const PREFIX: &str = "198.18.4.0/22";
const LISTEN: [u16; 3] = [22, 80, 443];
const HOSTS: usize = 1024;

/// One in-process scan of the lab /22, `-oJ` into `json`, plus `extra`.
fn scan(lab: &ScriptLab, json: &Path, extra: &[&str]) -> memprof::dhat::HeapStats {
    let mut argv = vec!["prtip", "-sS", "-n", "-Pn", "-p", "1-1000"];
    argv.extend(["-oJ", json.to_str().expect("utf8 path"), PREFIX]);
    argv.extend(extra);
    let argv = argv.into_iter().map(std::ffi::OsString::from).collect();
    let netns = NetnsGuard::enter(&lab.netns_path(Side::Scanner));
    let (code, stats, elapsed) = common::profile_app(argv);
    drop(netns);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let found = common::json_hosts(&std::fs::read_to_string(json).expect("-oJ"));
    let want: BTreeSet<u16> = LISTEN.into_iter().collect();
    let wrong = found
        .values()
        .filter(|(status, open, total)| status != "up" || *open != want || *total != 1000)
        .count();
    assert_eq!(
        (found.len(), wrong),
        (HOSTS, 0),
        "every host with its listeners"
    );
    eprintln!(
        "{extra:?}: peak {} bytes, {:.1} s",
        stats.max_bytes,
        elapsed.as_secs_f64()
    );
    stats
}

#[test]
fn event_log_adds_a_fixed_small_heap_to_the_slash22_scan() {
    let Some(lab) = ScriptLab::up(PREFIX, &LISTEN, 0) else {
        return;
    };
    let dir = tempdir();
    let log = dir.path().join("events.jsonl");
    let without = scan(&lab, &dir.path().join("a.json"), &[]);
    let with = scan(
        &lab,
        &dir.path().join("b.json"),
        &["--event-log", log.to_str().expect("utf8 path")],
    );
    drop(lab);
    let text = std::fs::read_to_string(&log).expect("the event log");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let count = |kind: &str| lines.iter().filter(|v| v["event"] == kind).count();
    // Each host: host_up, its 3 open ports, one group of closed ports.
    assert_eq!(
        (count("host_up"), count("port"), count("extra_ports")),
        (HOSTS, HOSTS * 3, HOSTS)
    );
    let end = lines.last().expect("a last line");
    assert_eq!(end["event"], "scan_end", "{end}");
    assert_eq!(end["hosts_up"], HOSTS);
    // Only the engine's own events may be dropped (a full channel).
    let dropped = end["dropped"].as_u64().expect("dropped") as usize;
    assert!(count("discovered") + dropped >= HOSTS * 3);
    assert_eq!(end["events"], lines.len() - 1);
    common::assert_within_budget(&SYN_LAB22_EVENTS, &with, std::time::Duration::ZERO);
    let added = with.max_bytes.saturating_sub(without.max_bytes) as u64;
    eprintln!(
        "--event-log adds {added} bytes to {} ({} events); allowed {EVENT_LOG_EXTRA}",
        without.max_bytes,
        lines.len()
    );
    assert!(without.max_bytes as u64 <= SYN_LAB22.max_heap_bytes);
    assert!(
        added <= EVENT_LOG_EXTRA,
        "--event-log adds {added} bytes to the peak; at most {EVENT_LOG_EXTRA} allowed"
    );
}
