//! The real daemons of `scripts/services` answer over IPv6 (`::1` in their
//! namespace) exactly as over IPv4: `nmap -6 -sV` and `nmap -sV` identify
//! every service the same way.
//!
//! Root only (namespaces, daemons on ports < 1024): without root, `ip` or
//! nmap the test skips loudly (fails under CI=true), as on a kernel
//! without IPv6.
//!
//! Network safety: only 127.0.0.1 and ::1 inside the test's own namespace.

use std::collections::BTreeMap;
use std::process::Output;
use std::thread;
use std::time::Duration;

use prtip_testkit::lab::kernel_has_ipv6;
use prtip_testkit::prereq::{missing, require_tool};
use prtip_testkit::process::{describe, run_timeout};
use prtip_testkit::services::ServicesNetns;
use prtip_testkit::xml::{self, Service};

/// Every port of the TCP set.
const TCP_PORTS: &str = "21,22,25,80,443,3306,5432,6379,11211";
/// Each -sV scan takes about 15 s on an idle machine.
const SCAN_TIMEOUT: Duration = Duration::from_secs(300);

/// `nmap -sV` of `addr` inside the namespace (`-6` for an IPv6 address):
/// port -> (state, service), with memcached's uptime (which grows between
/// the two scans) cut out of its extra info.
fn version_scan(svc: &ServicesNetns, addr: &str) -> BTreeMap<u16, (String, Option<Service>)> {
    let mut cmd = svc.cmd("nmap");
    if addr.contains(':') {
        cmd.arg("-6");
    }
    cmd.args(["-n", "-Pn", "-sV", "-oX", "-", "-p", TCP_PORTS, addr]);
    let out: Output = run_timeout(&mut cmd, SCAN_TIMEOUT);
    assert!(out.status.success(), "nmap -sV {addr}\n{}", describe(&out));
    let mut table = xml::port_services(&String::from_utf8_lossy(&out.stdout));
    for (_, service) in table.values_mut() {
        if let Some(s) = service.as_mut() {
            s.extrainfo = s.extrainfo.take().map(|e| without_uptime(&e));
        }
    }
    table
}

/// `uptime 12 seconds` -> `uptime N seconds`.
fn without_uptime(extrainfo: &str) -> String {
    match extrainfo.split_once("uptime ") {
        Some((head, tail)) => {
            let rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
            format!("{head}uptime N{rest}")
        }
        None => extrainfo.to_string(),
    }
}

#[test]
fn tcp_daemons_are_identified_the_same_over_ipv6() {
    if !require_tool("nmap") {
        return;
    }
    if !kernel_has_ipv6() {
        missing("IPv6 in the kernel");
        return;
    }
    let name = format!("v6s{}", std::process::id());
    let Some(svc) = ServicesNetns::up(&name) else {
        return;
    };
    // The two scans at once: the daemons serve both.
    let (v4, v6) = thread::scope(|s| {
        let v4 = s.spawn(|| version_scan(&svc, "127.0.0.1"));
        let v6 = s.spawn(|| version_scan(&svc, "::1"));
        (v4.join().expect("IPv4 scan"), v6.join().expect("IPv6 scan"))
    });
    assert_eq!(v4.len(), 9, "{v4:?}");
    for (port, (state, service)) in &v4 {
        assert_eq!(state, "open", "{port} over IPv4");
        let product = service.as_ref().and_then(|s| s.product.as_ref());
        assert!(
            product.is_some(),
            "{port}: no product over IPv4: {service:?}"
        );
    }
    assert_eq!(v4, v6);
}

#[test]
fn memcached_uptime_is_cut_out() {
    assert_eq!(without_uptime("uptime 12 seconds"), "uptime N seconds");
    assert_eq!(without_uptime("protocol 2.0"), "protocol 2.0");
}
