//! What prtip's integration tests share beyond the test kit
//! (`prtip-testkit`): the binary under test (its path exists only here, as
//! `CARGO_BIN_EXE_prtip`), a reader of its `-oJ` output, and the dhat heap
//! scenarios that run `prtip::app` in-process.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

pub mod db;
pub mod mixed;

use std::collections::BTreeSet;
use std::process::{Command, Output};
#[cfg(feature = "dhat-heap")]
use std::time::{Duration, Instant};

use prtip_testkit::lab::{Namespaces, Side};
use prtip_testkit::process::{describe, run};
#[cfg(feature = "dhat-heap")]
use prtip_testkit::{
    lab::ScriptLab, loopback::LoopbackPorts, netns::NetnsGuard, nmapdata::HiddenNmapData,
    process::tempdir, services::ServicesNetns, xml,
};
use std::collections::BTreeMap;

/// A `Command` for the binary under test.
pub fn prtip() -> Command {
    Command::new(env!("CARGO_BIN_EXE_prtip"))
}

/// Path of the binary under test (for `ip netns exec ... <prtip>`).
pub fn prtip_path() -> &'static str {
    env!("CARGO_BIN_EXE_prtip")
}

/// `prtip <args>` (bounded), asserting exit status 0.
pub fn prtip_ok(args: &[&str]) -> Output {
    let out = run(prtip().args(args));
    assert_eq!(
        out.status.code(),
        Some(0),
        "prtip {args:?}\n{}",
        describe(&out)
    );
    out
}

/// The binary under test inside a lab's scanner namespace.
pub trait PrtipIn: Namespaces {
    /// `ip netns exec <scanner ns> <prtip>`; add arguments to the returned command.
    fn prtip(&self) -> Command {
        self.cmd(Side::Scanner, prtip_path())
    }
}

impl<T: Namespaces> PrtipIn for T {}

/// Host lines of prtip's `-oJ` output: address -> (status, open ports,
/// number of ports accounted for, listed plus extraports).
pub fn json_hosts(text: &str) -> BTreeMap<String, (String, BTreeSet<u16>, u64)> {
    text.lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}"))
        })
        .filter(|v| v["type"] == "host")
        .map(|h| {
            let listed = h["ports"].as_array().cloned().unwrap_or_default();
            let open = listed
                .iter()
                .filter(|p| p["state"] == "open")
                .filter_map(|p| p["port"].as_u64().and_then(|n| u16::try_from(n).ok()))
                .collect();
            let extra: u64 = h["extraports"].as_array().map_or(0, |a| {
                a.iter().map(|e| e["count"].as_u64().unwrap_or(0)).sum()
            });
            (
                h["addr"].as_str().unwrap_or_default().to_string(),
                (
                    h["status"].as_str().unwrap_or_default().to_string(),
                    open,
                    listed.len() as u64 + extra,
                ),
            )
        })
        .collect()
}

/// The row named `phase` of a `--mem-report=json:FILE` report.
pub fn mem_report_phase(report: &std::path::Path, phase: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(report).expect("the memory report");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    json["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .find(|p| p["phase"] == phase)
        .cloned()
        .unwrap_or_else(|| panic!("no {phase} row in {text}"))
}

/// Runs `prtip` in-process (argv includes the program name) under dhat's
/// testing profiler: exit code, heap statistics at the end, wall time.
#[cfg(feature = "dhat-heap")]
pub fn profile_app(
    argv: Vec<std::ffi::OsString>,
) -> (std::process::ExitCode, memprof::dhat::HeapStats, Duration) {
    let started = Instant::now();
    let profiler = memprof::dhat::Profiler::builder().testing().build();
    // On a thread of its own: a scan gives up the capabilities of the
    // thread it runs on, and this one still has to leave the lab's
    // namespace and tear the lab down. The new thread starts in this
    // thread's network namespace.
    let code = std::thread::scope(|s| {
        s.spawn(|| prtip::app::run(argv))
            .join()
            .unwrap_or(std::process::ExitCode::FAILURE)
    });
    let stats = memprof::dhat::HeapStats::get();
    drop(profiler);
    (code, stats, started.elapsed())
}

/// A SYN scan of a lab prefix (IPv4, or the IPv6 /118 with `-6`), run
/// in-process inside the lab's scanning namespace under dhat: checks that every address answered with exactly the
/// lab's listeners open and `ports_per_host` ports counted, then asserts the
/// peak heap against `budget`. Skips (or fails under CI) without root.
#[cfg(feature = "dhat-heap")]
pub fn syn_lab_heap_scenario(
    budget: &prtip::budgets::Budget,
    prefix: &str,
    ports: &str,
    ports_per_host: u64,
    hosts: usize,
) {
    tcp_lab_heap_scenario(budget, "-sS", prefix, ports, ports_per_host, hosts, false);
}

/// [`syn_lab_heap_scenario`], with `--db` into a new SQLite file when `db`:
/// the file then holds every host, each with the lab's listeners open.
#[cfg(feature = "dhat-heap")]
pub fn syn_lab_heap_scenario_with(
    budget: &prtip::budgets::Budget,
    prefix: &str,
    ports: &str,
    ports_per_host: u64,
    hosts: usize,
    db: bool,
) {
    tcp_lab_heap_scenario(budget, "-sS", prefix, ports, ports_per_host, hosts, db);
}

/// As [`syn_lab_heap_scenario`], with the raw TCP scan `scan_flag` (`-sS`,
/// `-sA`, `-sF`...): every address must report the lab's listeners in the
/// state that scan type gives them (open, unfiltered, open|filtered); with
/// `db`, the scan is also recorded with `--db` and read back.
#[cfg(feature = "dhat-heap")]
pub fn tcp_lab_heap_scenario(
    budget: &prtip::budgets::Budget,
    scan_flag: &str,
    prefix: &str,
    ports: &str,
    ports_per_host: u64,
    hosts: usize,
    db: bool,
) {
    const LISTEN: [u16; 3] = [22, 80, 443];
    // An IPv6 prefix is the lab's /118, beside a small IPv4 one.
    let v6 = prefix.contains(':');
    let Some(lab) = ScriptLab::up(if v6 { "198.18.4.0/30" } else { prefix }, &LISTEN, 0) else {
        return;
    };
    if v6 && (!lab.require_ipv6() || lab.prefix6.as_deref() != Some(prefix)) {
        return;
    }
    let dir = tempdir();
    let json = dir.path().join("scan.json");
    let mut argv = vec!["prtip", scan_flag];
    if v6 {
        argv.push("-6");
    }
    argv.extend([
        "-n",
        "-Pn",
        "-p",
        ports,
        "-oJ",
        json.to_str().expect("utf8 path"),
        prefix,
    ]);
    let db_path = dir.path().join("history.sqlite");
    if db {
        argv.extend(["--db", db_path.to_str().expect("utf8 path")]);
    }
    let argv: Vec<std::ffi::OsString> = argv.into_iter().map(std::ffi::OsString::from).collect();

    let netns = NetnsGuard::enter(&lab.netns_path(Side::Scanner));
    let (code, stats, elapsed) = profile_app(argv);
    drop(netns);

    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let text = std::fs::read_to_string(&json).expect("json output");
    let found = json_hosts(&text);
    assert_eq!(found.len(), hosts, "one line per address of {prefix}");
    // The listeners' state under this scan type: a SYN scan opens them;
    // an ACK scan finds every port unfiltered; a FIN scan hears nothing
    // from them (open|filtered) and a reset from every other port.
    let (state, want): (&str, BTreeSet<u16>) = match scan_flag {
        "-sS" => ("open", LISTEN.into_iter().collect()),
        "-sA" => ("unfiltered", BTreeSet::new()),
        _ => ("open|filtered", LISTEN.into_iter().collect()),
    };
    let listed = json_listed_in_state(&text, state);
    let unfiltered = json_extraports_in_state(&text, "unfiltered");
    let wrong: Vec<_> = found
        .iter()
        .filter(|(addr, (status, _, total))| {
            let all_unfiltered = unfiltered.get(*addr) == Some(&ports_per_host);
            status != "up"
                || listed.get(*addr).cloned().unwrap_or_default() != want
                || (scan_flag == "-sA" && !all_unfiltered)
                || *total != ports_per_host
        })
        .take(10)
        .collect();
    assert!(
        wrong.is_empty(),
        "hosts without the listeners {state}: {wrong:?}"
    );
    if db {
        assert_history(&db_path, hosts, LISTEN.len());
    }
    assert_within_budget(budget, &stats, elapsed);
    drop(lab);
}

/// The history file holds one finished scan of `hosts` hosts, each with
/// `open` open ports.
#[cfg(feature = "dhat-heap")]
fn assert_history(path: &std::path::Path, hosts: usize, open: usize) {
    let out = prtip_testkit::process::run(prtip().args([
        "db",
        "show",
        "1",
        "--db",
        path.to_str().expect("utf8 path"),
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let reports = text.matches("prtip scan report for ").count();
    // Port lines: "22/tcp open ssh", columns padded with spaces.
    let opened = text
        .lines()
        .filter(|l| {
            let mut w = l.split_whitespace();
            w.next().is_some_and(|p| p.ends_with("/tcp")) && w.next() == Some("open")
        })
        .count();
    let head: String = text.chars().take(1500).collect();
    assert_eq!(
        (reports, opened),
        (hosts, hosts * open),
        "db show of the lab scan:\n{head}"
    );
    assert!(
        text.contains(&format!(
            "prtip done: {hosts} IP addresses ({hosts} hosts up)"
        )),
        "{text}"
    );
}

/// Per host of a `-oJ` text: the ports in `state` not listed (extraports).
pub fn json_extraports_in_state(text: &str, state: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "host")
        .map(|h| {
            let extra = h["extraports"].as_array().cloned().unwrap_or_default();
            let n = extra
                .iter()
                .filter(|e| e["state"] == state)
                .filter_map(|e| e["count"].as_u64())
                .sum();
            (h["addr"].as_str().unwrap_or_default().to_string(), n)
        })
        .collect()
}

/// Per host of a `-oJ` text: the listed ports in `state`.
pub fn json_listed_in_state(text: &str, state: &str) -> BTreeMap<String, BTreeSet<u16>> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "host")
        .map(|h| {
            let ports = h["ports"].as_array().cloned().unwrap_or_default();
            let in_state = ports
                .iter()
                .filter(|p| p["state"] == state)
                .filter_map(|p| p["port"].as_u64().and_then(|n| u16::try_from(n).ok()))
                .collect();
            (h["addr"].as_str().unwrap_or_default().to_string(), in_state)
        })
        .collect()
}

/// A UDP scan (`-sU -n -Pn -p <ports>` of `target`) run in-process under
/// dhat inside `scan_ns` (a lab whose target namespace runs a UDP echo
/// server on `open` and has its ICMP limits lifted): checks that each of
/// `hosts` addresses reported exactly `open` open and `ports_per_host`
/// ports in all, then asserts the peak heap against `budget`.
#[cfg(feature = "dhat-heap")]
pub fn udp_heap_scenario(
    budget: &prtip::budgets::Budget,
    scan_ns: &str,
    port_args: &[&str],
    target: &str,
    open: &[u16],
    (hosts, ports_per_host): (usize, u64),
) {
    let dir = tempdir();
    let json = dir.path().join("scan.json");
    let mut argv = vec!["prtip", "-sU", "-n", "-Pn"];
    argv.extend_from_slice(port_args);
    argv.extend(["-oJ", json.to_str().expect("utf8 path"), target]);
    let argv = argv.into_iter().map(std::ffi::OsString::from).collect();

    let netns = NetnsGuard::enter(scan_ns);
    let (code, stats, elapsed) = profile_app(argv);
    drop(netns);

    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let found = json_hosts(&std::fs::read_to_string(&json).expect("json output"));
    assert_eq!(found.len(), hosts, "one line per address of {target}");
    let want: BTreeSet<u16> = open.iter().copied().collect();
    let wrong: Vec<_> = found
        .iter()
        .filter(|(_, (status, open, total))| {
            status != "up" || *open != want || *total != ports_per_host
        })
        .take(10)
        .collect();
    assert!(
        wrong.is_empty(),
        "hosts without every UDP echo port: {wrong:?}"
    );
    assert_within_budget(budget, &stats, elapsed);
}

/// Print a heap test's figures and assert its peak against `budget`.
#[cfg(feature = "dhat-heap")]
pub fn assert_within_budget(
    budget: &prtip::budgets::Budget,
    stats: &memprof::dhat::HeapStats,
    elapsed: Duration,
) {
    eprintln!(
        "heap_{}: peak {} bytes in {} blocks (budget {}), {} allocations, {:.1} s",
        budget.name,
        stats.max_bytes,
        stats.max_blocks,
        budget.max_heap_bytes,
        stats.total_blocks,
        elapsed.as_secs_f64()
    );
    assert!(
        stats.max_bytes as u64 <= budget.max_heap_bytes,
        "peak heap {} B exceeds the budget of {} B",
        stats.max_bytes,
        budget.max_heap_bytes
    );
}

/// A real scan (`scan_flag`: `-sT` or `-sS`) of 1,000 ports of `addr`
/// (127.0.0.1, or ::1 with `-6`), three of them held open by listeners of
/// this test, run in-process under dhat: checks every listener is reported
/// open and 1,000 ports counted, then asserts the peak heap against `budget`.
#[cfg(feature = "dhat-heap")]
pub fn loopback_heap_scenario(budget: &prtip::budgets::Budget, scan_flag: &str, addr: &str) {
    let ip: std::net::IpAddr = addr.parse().expect("an address");
    let ports = LoopbackPorts::new_on(ip, 3, 0);
    let mut open = ports.open.clone();
    open.sort_unstable();
    // 997 low ports plus the three listeners (ephemeral, so never 2024 or
    // below 998): 1,000 ports.
    assert!(open.iter().all(|&p| p > 997));
    let spec = format!("1-997,{}", ports.spec());
    let dir = tempdir();
    let json = dir.path().join("scan.json");
    let mut argv = vec!["prtip", scan_flag];
    if ip.is_ipv6() {
        argv.push("-6");
    }
    argv.extend([
        "-n",
        "-p",
        &spec,
        "-oJ",
        json.to_str().expect("utf8 path"),
        addr,
    ]);
    let argv: Vec<std::ffi::OsString> = argv.into_iter().map(std::ffi::OsString::from).collect();

    let (code, stats, elapsed) = profile_app(argv);

    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let text = std::fs::read_to_string(&json).expect("json output");
    let hosts = json_hosts(&text);
    let (status, found, scanned) = hosts.get(addr).expect("host line");
    assert_eq!(status, "up", "{text}");
    let found: Vec<u16> = found.iter().copied().filter(|p| open.contains(p)).collect();
    assert_eq!(found, open, "every listener must be reported open");
    assert_eq!(*scanned, 1000);
    assert_within_budget(budget, &stats, elapsed);
    drop(ports);
}

/// `prtip [-sV] -n -Pn -p 22,80,443 -oX <xml> 127.0.0.1` run in-process
/// under dhat inside the namespace at `netns_path` (entered with setns(2) on
/// this thread, so every thread of the scan lives there): peak heap bytes,
/// blocks at the peak, allocations, duration and the XML written.
#[cfg(feature = "dhat-heap")]
fn profiled_version_scan(
    netns_path: &str,
    version: bool,
    xml: &std::path::Path,
) -> (u64, usize, u64, Duration, String) {
    let xml_s = xml.to_str().expect("utf-8 path");
    let mut argv = vec!["prtip"];
    if version {
        argv.push("-sV");
    }
    argv.extend(["-n", "-Pn", "-p", "22,80,443", "-oX", xml_s, "127.0.0.1"]);
    let args: Vec<std::ffi::OsString> = argv.iter().map(std::ffi::OsString::from).collect();

    let netns = NetnsGuard::enter(netns_path);
    let (code, stats, elapsed) = profile_app(args);
    drop(netns);

    assert_eq!(code, std::process::ExitCode::SUCCESS, "{argv:?}");
    let text = std::fs::read_to_string(xml).expect("XML output written");
    (
        stats.max_bytes as u64,
        stats.max_blocks,
        stats.total_blocks,
        elapsed,
        text,
    )
}

/// The `-sV` heap scenario: real daemons (`scripts/services`) in network
/// namespace `netns`; in-process, inside it, under dhat, first
/// `prtip -n -Pn -p 22,80,443 127.0.0.1` (the baseline), then the same with
/// `-sV`. Checks both results (22, 80 and 443 open; -sV: ssh/OpenSSH,
/// http/nginx, ssl/http/nginx, all probed), prints both peaks and the
/// difference, and asserts that `-sV` adds less than 4 MiB (the goal) and
/// that its whole peak is within `budget`. With `builtin_db`, nmap's data
/// directories are hidden from the scans ([`HiddenNmapData`]), so prtip uses
/// its built-in databases. Skips (or fails under CI) without root.
#[cfg(feature = "dhat-heap")]
pub fn version_scan_heap_scenario(budget: &prtip::budgets::Budget, netns: &str, builtin_db: bool) {
    const OVERHEAD_GOAL: u64 = 4 * 1024 * 1024;
    let Some(daemons) = ServicesNetns::up(netns) else {
        return;
    };
    let hidden = if builtin_db {
        match HiddenNmapData::enter() {
            Some(h) => Some(h),
            None => return,
        }
    } else {
        None
    };
    let ns = daemons.netns_path();
    let dir = tempdir();

    let (base, base_blocks, base_allocs, base_t, base_xml) =
        profiled_version_scan(&ns, false, &dir.path().join("base.xml"));
    let states: Vec<(u16, String)> = xml::port_services(&base_xml)
        .into_iter()
        .map(|(port, (state, _))| (port, state))
        .collect();
    let want: Vec<(u16, String)> = [22, 80, 443]
        .into_iter()
        .map(|p| (p, "open".to_string()))
        .collect();
    assert_eq!(states, want, "scan without -sV:\n{base_xml}");

    let (peak, blocks, allocs, sv_t, sv_xml) =
        profiled_version_scan(&ns, true, &dir.path().join("sv.xml"));
    drop(hidden);
    let found = xml::port_services(&sv_xml);
    type Row<'a> = (u16, &'a str, &'a str, Option<&'a str>, Option<&'a str>);
    let summary: Vec<(Row, Option<&str>)> = found
        .iter()
        .map(|(port, (state, svc))| {
            let svc = svc.as_ref();
            (
                (
                    *port,
                    state.as_str(),
                    svc.map_or("", |s| s.name.as_str()),
                    svc.and_then(|s| s.tunnel.as_deref()),
                    svc.and_then(|s| s.product.as_deref()),
                ),
                svc.and_then(|s| s.method.as_deref()),
            )
        })
        .collect();
    let probed = Some("probed");
    assert_eq!(
        summary,
        vec![
            ((22, "open", "ssh", None, Some("OpenSSH")), probed),
            ((80, "open", "http", None, Some("nginx")), probed),
            ((443, "open", "http", Some("ssl"), Some("nginx")), probed),
        ],
        "-sV scan:\n{sv_xml}"
    );

    let overhead = peak.saturating_sub(base);
    eprintln!(
        "heap_{}: without -sV: peak {base} bytes in {base_blocks} blocks, {base_allocs} \
         allocations, {:.1} s; with -sV: peak {peak} bytes in {blocks} blocks, {allocs} \
         allocations, {:.1} s; -sV adds {overhead} bytes (goal < {OVERHEAD_GOAL}); budget {}",
        budget.name,
        base_t.as_secs_f64(),
        sv_t.as_secs_f64(),
        budget.max_heap_bytes,
    );
    assert!(
        overhead < OVERHEAD_GOAL,
        "-sV adds {overhead} B to the scan's peak heap, more than the goal of {OVERHEAD_GOAL} B"
    );
    assert!(
        peak <= budget.max_heap_bytes,
        "peak heap {peak} B with -sV exceeds the budget of {} B",
        budget.max_heap_bytes
    );
    drop(daemons);
}
