//! `--event-log`: every line parses, the events agree with the XML output
//! of the same scan host by host and port by port, and a scan stopped by
//! SIGTERM still ends its log with a `scan_end` line.
//!
//! Network safety: 127.0.0.1, and the lab's namespaces (198.18.0.0/15).

mod common;

use common::{prtip, PrtipIn};
use prtip_testkit::lab::ScriptLab;
use prtip_testkit::process::{describe, run_timeout, tempdir, wait_output};
use prtip_testkit::xml;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const PREFIX: &str = "198.18.4.0/24";
const LISTEN: [u16; 3] = [22, 80, 8080];
/// Routed to the target, which drops it: these hosts are down.
const DEAD_NET: &str = "198.18.2.0/24";
const DEAD_HOSTS: [&str; 2] = ["198.18.2.9", "198.18.2.200"];

/// Every line of an event log, parsed (a line that does not parse fails).
fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("the event log");
    assert!(text.ends_with('\n'), "a whole last line: {text:?}");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn of_kind<'a>(events: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    events.iter().filter(move |v| v["event"] == kind)
}

/// Per host, the number of ports in each state, from `port` and
/// `extra_ports` events (as `xml::state_counts` reads the XML).
fn state_counts(events: &[Value]) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for v in events {
        let n = match v["event"].as_str() {
            Some("port") => 1,
            Some("extra_ports") => v["count"].as_u64().expect("count"),
            _ => continue,
        };
        let addr = v["addr"].as_str().expect("addr").to_string();
        let state = v["state"].as_str().expect("state").to_string();
        *counts.entry(addr).or_default().entry(state).or_default() += n;
    }
    counts
}

#[test]
fn events_agree_with_the_xml_of_the_same_lab_scan() {
    let Some(lab) = ScriptLab::up(PREFIX, &LISTEN, 0) else {
        return;
    };
    lab.route_dead(DEAD_NET);
    let dir = tempdir();
    let (x, log) = (dir.path().join("scan.xml"), dir.path().join("ev.jsonl"));
    let mut args = vec!["-sS", "-n", "-p", "1-100,8080", PREFIX];
    args.extend(DEAD_HOSTS);
    args.extend(["-oX", x.to_str().expect("utf8")]);
    args.extend(["--event-log", log.to_str().expect("utf8")]);
    let out = run_timeout(lab.prtip().args(&args), Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let xml_text = std::fs::read_to_string(&x).expect("XML");
    let events = lines(&log);

    let (up, down, total) = xml::runstats_hosts(&xml_text).expect("runstats");
    assert_eq!((up, down, total), (256, 2, 258));
    assert_eq!(of_kind(&events, "host_up").count() as u64, up);
    assert_eq!(of_kind(&events, "host_down").count() as u64, down);
    let dead: BTreeSet<&str> = of_kind(&events, "host_down")
        .filter_map(|v| v["addr"].as_str())
        .collect();
    assert_eq!(dead, DEAD_HOSTS.into_iter().collect());
    assert_eq!(state_counts(&events), xml::state_counts(&xml_text));
    let mut open: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    for v in of_kind(&events, "port").filter(|v| v["state"] == "open") {
        let port = u16::try_from(v["port"].as_u64().expect("port")).expect("a port");
        open.entry(v["addr"].as_str().expect("addr").into())
            .or_default()
            .insert(port);
    }
    assert_eq!(open, xml::open_ports(&xml_text));

    assert_eq!(events[0]["event"], "scan_start");
    assert_eq!(events[0]["scan"], "syn");
    assert_eq!(events[0]["hosts"], 258);
    assert_eq!(events[0]["ports"], 101);
    let end = events.last().expect("a last line");
    assert_eq!(end["event"], "scan_end", "{end}");
    assert_eq!(
        (end["hosts_up"].as_u64(), end["hosts_down"].as_u64()),
        (Some(up), Some(down))
    );
    assert_eq!(end["interrupted"], false);
    assert_eq!(end["events"], events.len() - 1);
    // Every open port was published as it answered, or counted as dropped
    // (the engine never waits for the log); results are never dropped.
    let open_ports: usize = open.values().map(BTreeSet::len).sum();
    let discovered = of_kind(&events, "discovered").count();
    let dropped = end["dropped"].as_u64().expect("dropped") as usize;
    assert!(discovered <= open_ports, "{discovered} > {open_ports}");
    assert!(
        discovered + dropped >= open_ports,
        "{discovered} + {dropped}"
    );
    // Times never go back.
    let times: Vec<f64> = events.iter().map(|v| v["t"].as_f64().expect("t")).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

#[test]
fn sigterm_completes_the_event_log() {
    let dir = tempdir();
    let log = dir.path().join("ev.jsonl");
    // 65535 ports at 2000/s: about 33 s, stopped after 1.5 s.
    let child = prtip()
        .args(["-sT", "-n", "-Pn", "-p", "1-65535", "--max-rate", "2000"])
        .args(["--event-log", log.to_str().expect("utf8"), "127.0.0.1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn prtip");
    std::thread::sleep(Duration::from_millis(1500));
    // Written as it goes: the first lines are there before the scan ends.
    let early = std::fs::read_to_string(&log).expect("the log, mid-scan");
    assert!(early.starts_with("{\"t\":"), "{early:?}");
    assert!(early.contains("\"phase_start\""), "{early:?}");
    // SAFETY: kill(2) on the pid of our own, not yet reaped, child.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let out = wait_output(child, Duration::from_secs(30), "prtip after SIGTERM");
    assert_eq!(out.status.code(), Some(143), "{}", describe(&out));
    let events = lines(&log);
    let end = events.last().expect("a last line");
    assert_eq!(end["event"], "scan_end", "{end}");
    assert_eq!(end["interrupted"], true);
    assert_eq!(end["events"], events.len() - 1);
    assert_eq!(of_kind(&events, "scan_end").count(), 1);
    assert_eq!(events[events.len() - 2]["event"], "phase_end");
}

/// Allocations and peak of the `events` row of `--mem-report` for a
/// connect scan of 100 ports of 127.0.0.1, with `extra` arguments.
#[cfg(not(feature = "dhat-heap"))]
fn events_phase(extra: &[&str]) -> (u64, u64) {
    let dir = tempdir();
    let report = dir.path().join("mem.json");
    let out = prtip_testkit::process::run(
        prtip()
            .args(["-sT", "-n", "-Pn", "-p", "1-100", "127.0.0.1"])
            .args(extra)
            .arg(format!("--mem-report=json:{}", report.display())),
    );
    assert!(out.status.success(), "{}", describe(&out));
    let phase = common::mem_report_phase(&report, "events");
    let n = |k: &str| {
        phase[k]
            .as_u64()
            .unwrap_or_else(|| panic!("{k} in {phase}"))
    };
    (n("allocations"), n("peak_live_bytes"))
}

#[test]
#[cfg(not(feature = "dhat-heap"))]
fn the_event_log_is_the_events_phase_of_mem_report() {
    let dir = tempdir();
    let log = dir.path().join("ev.jsonl");
    let (allocs, peak) = events_phase(&["--event-log", log.to_str().expect("utf8")]);
    assert!(allocs > 0, "the event log was not charged to its phase");
    // The channel's 256 slots and the file's buffer, not the events.
    assert!(peak < 128 * 1024, "events peak {peak} bytes");
    assert_eq!(events_phase(&[]), (0, 0), "nothing without --event-log");
}

/// A list scan probes nothing: each target is one `host_listed` line, and
/// no host is up or down.
#[test]
#[cfg(not(feature = "dhat-heap"))]
fn a_list_scan_logs_each_target_as_listed() {
    let dir = tempdir();
    let log = dir.path().join("ev.jsonl");
    let out = prtip_testkit::process::run(
        prtip()
            .args(["-sL", "-n", "127.0.0.1-3", "--event-log"])
            .arg(&log),
    );
    assert!(out.status.success(), "{}", describe(&out));
    let events = lines(&log);
    let listed: Vec<_> = of_kind(&events, "host_listed")
        .map(|v| v["addr"].as_str().expect("addr").to_string())
        .collect();
    assert_eq!(listed, ["127.0.0.1", "127.0.0.2", "127.0.0.3"]);
    assert_eq!(of_kind(&events, "host_up").count(), 0);
    assert_eq!(of_kind(&events, "host_down").count(), 0);
}
