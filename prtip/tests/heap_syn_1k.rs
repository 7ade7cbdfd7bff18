//! Heap budget: a real SYN scan (`-sS`) of 1,000 ports on 127.0.0.1,
//! in-process, against listeners this test opens. Root only (raw sockets).
//! Run with `cargo test --features dhat-heap --test heap_syn_1k`.
#![cfg(feature = "dhat-heap")]

mod common;

use memprof::dhat;
use prtip::budgets::SYN_1K;
use std::net::TcpListener;
use std::process::ExitCode;

memprof::install_global_allocator!();

#[test]
fn syn_scan_of_1000_loopback_ports_stays_within_budget() {
    if !common::require_root() {
        return;
    }
    let listeners: Vec<TcpListener> = (0..3)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    let mut open: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect();
    open.sort_unstable();
    // 997 low ports plus the three listeners (ephemeral, so never 2024 or
    // below 998): 1,000 ports.
    assert!(open.iter().all(|&p| p > 997));
    let spec = format!("1-997,{},{},{}", open[0], open[1], open[2]);
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("scan.json");
    let argv = [
        "prtip",
        "-sS",
        "-n",
        "-p",
        &spec,
        "-oJ",
        json.to_str().expect("utf8 path"),
        "127.0.0.1",
    ]
    .map(std::ffi::OsString::from)
    .to_vec();

    let profiler = dhat::Profiler::builder().testing().build();
    let code = prtip::app::run(argv);
    let stats = dhat::HeapStats::get();
    drop(profiler);

    assert_eq!(code, ExitCode::SUCCESS);
    let text = std::fs::read_to_string(&json).expect("json output");
    let host = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json line"))
        .find(|v| v["type"] == "host")
        .expect("host line");
    assert_eq!(host["status"], "up", "{host}");
    let mut found: Vec<u16> = host["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .filter(|p| p["state"] == "open")
        .map(|p| p["port"].as_u64().expect("port") as u16)
        .filter(|p| open.contains(p))
        .collect();
    found.sort_unstable();
    assert_eq!(found, open, "every listener must be reported open");
    let scanned: u64 = host["ports"].as_array().map_or(0, |a| a.len() as u64)
        + host["extraports"].as_array().map_or(0, |a| {
            a.iter().map(|e| e["count"].as_u64().unwrap_or(0)).sum()
        });
    assert_eq!(scanned, 1000);

    eprintln!(
        "heap_syn_1k: peak {} bytes in {} blocks (budget {}), {} allocations",
        stats.max_bytes, stats.max_blocks, SYN_1K.max_heap_bytes, stats.total_blocks
    );
    assert!(
        stats.max_bytes as u64 <= SYN_1K.max_heap_bytes,
        "peak heap {} B exceeds the budget of {} B",
        stats.max_bytes,
        SYN_1K.max_heap_bytes
    );
    drop(listeners);
}
