//! The hostile-services suite: `-sV` against services built to hurt a
//! scanner (`prtip_testkit::hostile`): a trickle of one byte every 10 ms
//! for 60 s, a banner that never ends, a 100 MB flood, a connection
//! accepted and never answered, TLS garbage, a service that closes in the
//! middle of the TLS handshake, and 1,000 ports that accept and hang.
//! Each case runs in a network namespace of its own, where the services
//! bind 127.0.0.1; it must end within its deadline, and the heap of the
//! service-detection phase (from `--mem-report=json:FILE`) must stay
//! within the `-sV` budget ([`prtip::budgets::VERSION_SCAN`]).
//!
//! The wall times and heaps in README come from
//! `benchmarks/scripts/hostile-services.sh` (release build, same services);
//! this suite asserts the bounds. Root only (namespaces): without root
//! every case skips loudly, and fails under CI=true. The phase's heap comes
//! from `--mem-report`, which the dhat-heap build does not have.
#![cfg(not(feature = "dhat-heap"))]

mod common;

use common::{mem_report_phase, prtip_path};
use prtip_testkit::hostile::{hang, Hostile, HostileNetns, TRICKLE_FOR};
use prtip_testkit::process::{describe, run_timeout, tempdir};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The heap `-sV` may use on the way, as for three real daemons.
const BUDGET: u64 = prtip::budgets::VERSION_SCAN.max_heap_bytes;

/// Time allowed beyond `--host-timeout`: the debug build spends about a
/// second loading nmap's probe file before the host's clock starts, then
/// winds down and writes its report, with other tests running.
const GRACE: Duration = Duration::from_secs(8);

/// With `--host-timeout`, the host's deadline.
const HOST_TIMEOUT: Duration = Duration::from_secs(10);

/// Without `--host-timeout`: every probe has its own wait (5 s, or the
/// probe file's `totalwaitms`), four probes run at once, and a response
/// is capped at 4 KiB; a port that has said nothing useful by the end of
/// its probes is done. Measured: a silent port takes about 13 s.
const PROBES_DEADLINE: Duration = Duration::from_secs(25);

/// What one run of prtip did.
struct Run {
    out: Output,
    took: Duration,
    phase_peak: u64,
    total_peak: u64,
}

/// `prtip -sT -sV -n -Pn -p <ports> [extra] 127.0.0.1` inside `ns`.
fn scan(ns: &HostileNetns, ports: &str, extra: &[&str]) -> Run {
    let dir = tempdir();
    let report = dir.path().join("mem.json");
    let report_arg = format!("--mem-report=json:{}", report.display());
    let mut cmd = ns.cmd(prtip_path());
    cmd.args(["-sT", "-sV", "-n", "-Pn", "-p", ports])
        .args(extra)
        .args([report_arg.as_str(), "127.0.0.1"]);
    let started = Instant::now();
    // The hard limit only stops a hang; the cases hold the deadlines.
    let out = run_timeout(&mut cmd, Duration::from_secs(120));
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let phase = mem_report_phase(&report, "service detection");
    let phase_peak = phase["peak_live_bytes"].as_u64().expect("phase peak");
    let text = std::fs::read_to_string(&report).expect("the memory report");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let total_peak = json["totals"]["peak_live_bytes"]
        .as_u64()
        .expect("total peak");
    Run {
        out,
        took,
        phase_peak,
        total_peak,
    }
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    /// Within `deadline` and the budget; the figures go to the test's output.
    fn assert_bounded(&self, case: &str, deadline: Duration) {
        println!(
            "hostile {case}: {:.2} s (deadline {} s), service detection peak {} B, \
             process peak {} B (budget {BUDGET} B)",
            self.took.as_secs_f64(),
            deadline.as_secs(),
            self.phase_peak,
            self.total_peak
        );
        assert!(
            self.took < deadline,
            "{case}: took {:?}, deadline {deadline:?}\n{}",
            self.took,
            describe(&self.out)
        );
        assert!(self.phase_peak > 0, "{case}: the phase recorded nothing");
        assert!(
            self.phase_peak <= BUDGET,
            "{case}: service detection peaked at {} B, over the -sV budget of {BUDGET} B",
            self.phase_peak
        );
    }

    /// The port is reported open (`ssl/` first when `tls`).
    fn assert_open(&self, case: &str, port: u16, tls: bool) {
        let stdout = self.stdout();
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{port}/tcp ")))
            .unwrap_or_else(|| panic!("{case}: {port} not reported\n{stdout}"));
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields.get(1), Some(&"open"), "{case}: {line}");
        assert_eq!(
            fields.get(2).is_some_and(|s| s.starts_with("ssl/")),
            tls,
            "{case}: {line}"
        );
    }

    /// nmap's report of a host whose `--host-timeout` ran out.
    fn assert_timed_out(&self, case: &str) {
        let stderr = String::from_utf8_lossy(&self.out.stderr);
        assert!(
            stderr.contains("skipping host 127.0.0.1 due to host timeout"),
            "{case}: {}",
            describe(&self.out)
        );
        assert!(
            !self.stdout().contains("/tcp"),
            "{case}: {}",
            describe(&self.out)
        );
    }
}

/// One service in a namespace of its own, scanned once; the services stop
/// when the scan is over.
fn one(service: Hostile, extra: &[&str]) -> Option<(u16, Run)> {
    let ns = HostileNetns::new()?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let port = ns.serve(move || service.serve(0, flag));
    let run = scan(&ns, &port.to_string(), extra);
    stop.store(true, Ordering::Relaxed);
    Some((port, run))
}

#[test]
fn a_trickle_cannot_hold_the_scan_past_the_host_timeout() {
    let timeout = format!("{}s", HOST_TIMEOUT.as_secs());
    let Some((_, run)) = one(Hostile::Trickle, &["--host-timeout", &timeout]) else {
        return;
    };
    let deadline = HOST_TIMEOUT + GRACE;
    // The service would have gone on trickling long after the scan ended.
    const { assert!(HOST_TIMEOUT.as_secs() + GRACE.as_secs() < TRICKLE_FOR.as_secs()) };
    run.assert_bounded("trickle", deadline);
    run.assert_timed_out("trickle");
}

#[test]
fn an_endless_banner_is_cut_at_the_response_cap() {
    let Some((port, run)) = one(Hostile::EndlessBanner, &[]) else {
        return;
    };
    run.assert_bounded("endless banner", PROBES_DEADLINE);
    run.assert_open("endless banner", port, false);
}

#[test]
fn a_flood_is_cut_at_the_response_cap() {
    let Some((port, run)) = one(Hostile::Flood, &[]) else {
        return;
    };
    run.assert_bounded("100 MB flood", PROBES_DEADLINE);
    run.assert_open("100 MB flood", port, false);
}

#[test]
fn a_silent_service_ends_with_its_probes() {
    let Some((port, run)) = one(Hostile::Silent, &[]) else {
        return;
    };
    run.assert_bounded("accepted, never answered", PROBES_DEADLINE);
    run.assert_open("accepted, never answered", port, false);
}

#[test]
fn tls_garbage_fails_every_handshake_quickly() {
    let Some((port, run)) = one(Hostile::TlsGarbage, &[]) else {
        return;
    };
    run.assert_bounded("TLS garbage", PROBES_DEADLINE);
    run.assert_open("TLS garbage", port, true);
}

#[test]
fn a_handshake_cut_short_is_still_ssl() {
    let Some((port, run)) = one(Hostile::TlsCut, &[]) else {
        return;
    };
    run.assert_bounded("closed mid-TLS-handshake", PROBES_DEADLINE);
    run.assert_open("closed mid-TLS-handshake", port, true);
}

#[test]
fn a_thousand_hanging_ports_end_at_the_host_timeout() {
    let Some(ns) = HostileNetns::new() else {
        return;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let ports = ns.serve(move || hang(&[0; 1000], flag));
    assert_eq!(ports.len(), 1000);
    let spec = ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let timeout = format!("{}s", HOST_TIMEOUT.as_secs());
    let run = scan(&ns, &spec, &["--host-timeout", &timeout]);
    stop.store(true, Ordering::Relaxed);
    run.assert_bounded("1,000 ports accept and hang", HOST_TIMEOUT + GRACE);
    run.assert_timed_out("1,000 ports accept and hang");
}
