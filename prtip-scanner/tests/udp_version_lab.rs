//! -sU -sV against real Debian UDP daemons, compared with nmap -sU -sV on
//! the same ports in the same test.
//!
//! `scripts/services --set udp` starts dnsmasq (53), tftpd-hpa (69),
//! chrony (123) and snmpd (161) in a network namespace of their own, each
//! bound to 127.0.0.1 there. Inside that namespace the test runs nmap, then
//! prtip's library the way the scan runs it: the raw UDP engine with nmap's
//! nmap-payloads, then the -sV stage (`detect_versions`) with nmap's probes
//! and service names. Every port must get nmap's state and service name,
//! and the product, version and extra information of the match line nmap's
//! version scan reported (`--version-trace`). nmap's final XML may differ
//! there: with -sV it also runs the NSE scripts of the "version" category,
//! and snmp-info rewrites snmpd's product ("SNMPv1 server; net-snmp SNMPv3
//! server"); prtip runs no scripts.
//!
//! tftpd answers from a port of its own (TFTP's rule), so nmap and prtip
//! alike hear nothing on 69: it stays open|filtered, and every probe waits
//! out its time. That port is where the speed is measured.
//!
//! Needs root, `ip`, nmap and its data files; without them it prints
//! `SKIPPED (needs ...)`, and under `CI=true` it fails instead.

use prtip_core::config::TimingTemplate;
use prtip_core::payloads::PayloadDb;
use prtip_core::ports::PortList;
use prtip_core::result::{HostResult, Protocol};
use prtip_core::service_db::ServiceDb;
use prtip_core::services::ServiceNames;
use prtip_scanner::cancel::StopFlag;
use prtip_scanner::engines::udp::{open_scanner, UdpSetup};
use prtip_scanner::plan::{HostJob, HostOutcome, ScanPlan};
use prtip_scanner::service::{VersionConfig, VersionScanner};
use prtip_scanner::stages::version::detect_versions;
use prtip_testkit::netns::NetnsGuard;
use prtip_testkit::nmapdata::{DATADIR, SERVICES, SERVICE_PROBES};
use prtip_testkit::prereq::{require_text, require_tool};
use prtip_testkit::process::{describe, run_timeout, tempdir};
use prtip_testkit::services::ServicesNetns;
use prtip_testkit::{versiontrace, xml};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PORTS: [u16; 4] = [53, 69, 123, 161];
const NETNS: &str = "prtip-svcut";

/// What both scanners say of one port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    state: String,
    name: Option<String>,
    method: Option<String>,
    product: Option<String>,
    version: Option<String>,
    extrainfo: Option<String>,
}

fn port_list() -> String {
    PORTS.map(|p| p.to_string()).join(",")
}

/// nmap -sU -sV inside the namespace: port -> what it saw, and how long.
/// Product, version and extra information are those of the match line
/// (from the trace), or none when no line matched.
fn nmap(d: &ServicesNetns) -> (BTreeMap<u16, Seen>, Duration) {
    let dir = tempdir();
    let path = dir.path().join("nmap.xml");
    let spec = format!("U:{}", port_list());
    let started = Instant::now();
    let out = run_timeout(
        d.cmd("nmap")
            .args(["-sU", "-sV", "--version-trace", "-n", "-Pn", "-p", &spec])
            .args(["127.0.0.1", "-oX", path.to_str().expect("utf-8 path")]),
        Duration::from_secs(600),
    );
    let took = started.elapsed();
    assert!(out.status.success(), "nmap: {}", describe(&out));
    let matched = versiontrace::matches(&String::from_utf8_lossy(&out.stdout), "127.0.0.1");
    let text = std::fs::read_to_string(&path).expect("nmap's XML");
    let seen = xml::port_services(&text)
        .into_iter()
        .map(|(port, (state, svc))| {
            let svc = svc.unwrap_or_default();
            let [product, version, extrainfo] = matched.get(&port).cloned().unwrap_or_default();
            let seen = Seen {
                state,
                name: Some(svc.name).filter(|s| !s.is_empty()),
                method: svc.method,
                product,
                version,
                extrainfo,
            };
            (port, seen)
        })
        .collect();
    (seen, took)
}

/// The UDP engine, then the -sV stage, inside the namespace (on a thread of
/// its own, so the test thread never leaves its namespace). How long each
/// took.
fn prtip(
    d: &ServicesNetns,
    payloads: &str,
    probes: &str,
    services: &str,
) -> (HostResult, Duration, Duration) {
    let path = d.netns_path();
    let (payloads, probes, services) = (
        payloads.to_string(),
        probes.to_string(),
        services.to_string(),
    );
    std::thread::spawn(move || {
        let _ns = NetnsGuard::enter(&path);
        let started = Instant::now();
        let mut host = port_scan(&payloads);
        let scanned = started.elapsed();
        version_scan(&mut host, &probes, &services);
        (host, scanned, started.elapsed() - scanned)
    })
    .join()
    .expect("the scan thread panicked")
}

fn port_scan(payloads: &str) -> HostResult {
    let list = PortList::from_ranges(PORTS.map(|p| (p, p)));
    let setup = UdpSetup {
        timing: TimingTemplate::Normal.timing(),
        source: None,
        interface: None,
        seed: None,
        ports: Arc::new(list),
        payloads: Arc::new(PayloadDb::parse(payloads, "nmap-payloads").value),
        defeat_icmp_ratelimit: false,
        ping: Default::default(),
        shape: Default::default(),
    };
    let target = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let scanner = open_scanner(setup, Some(target), StopFlag::new()).expect("raw sockets");
    let plan = ScanPlan {
        discovery: false,
        port_scan: true,
        max_per_state: 1000,
        open_only: false,
    };
    let mut got = Vec::new();
    scanner
        .run_counted(
            &mut std::iter::once(HostJob {
                addr: target,
                hostname: None,
                scope_id: 0,
            }),
            plan,
            &mut |o| {
                got.push(o);
                Ok(())
            },
        )
        .expect("UDP scan");
    match got.pop() {
        Some(HostOutcome::Done(h)) => h,
        other => panic!("no result from the UDP engine: {other:?}"),
    }
}

fn version_scan(host: &mut HostResult, probes: &str, services: &str) {
    let list = PortList::from_ranges(PORTS.map(|p| (p, p)));
    let names = ServiceNames::load(services, SERVICES, Protocol::Udp, &list).value;
    let db = ServiceDb::parse(probes, SERVICE_PROBES);
    let scanner = VersionScanner::new(&db, VersionConfig::default(), StopFlag::new())
        .expect("version scanner");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let deadline = Some(Instant::now() + Duration::from_secs(300));
    assert!(detect_versions(&scanner, &rt, host, &names, deadline));
}

fn ours(host: &HostResult) -> BTreeMap<u16, Seen> {
    host.ports
        .shown
        .iter()
        .map(|p| {
            let svc = p.service.as_deref();
            let seen = Seen {
                state: p.state.as_str().to_string(),
                name: svc.map(|s| s.name.clone()),
                method: svc.map(|s| s.method.as_str().to_string()),
                product: svc.and_then(|s| s.product.clone()),
                version: svc.and_then(|s| s.version.clone()),
                extrainfo: svc.and_then(|s| s.extrainfo.clone()),
            };
            (p.port, seen)
        })
        .collect()
}

#[test]
fn udp_versions_equal_nmap_on_real_daemons() {
    if !require_tool("nmap") {
        return;
    }
    let (Some(payloads), Some(probes), Some(services)) = (
        require_text(&format!("{DATADIR}/nmap-payloads")),
        require_text(SERVICE_PROBES),
        require_text(SERVICES),
    ) else {
        return;
    };
    let Some(daemons) = ServicesNetns::up_set(NETNS, "udp") else {
        return;
    };
    let (theirs, nmap_took) = nmap(&daemons);
    let (host, scan_took, version_took) = prtip(&daemons, &payloads, &probes, &services);
    let prtip_took = scan_took + version_took;
    let mine = ours(&host);
    println!(
        "-sU -sV -p U:{} on dnsmasq, tftpd-hpa, chrony, snmpd: nmap {:.2} s, \
         prtip {:.2} s (UDP scan {:.2} s, -sV {:.2} s)",
        port_list(),
        nmap_took.as_secs_f64(),
        prtip_took.as_secs_f64(),
        scan_took.as_secs_f64(),
        version_took.as_secs_f64()
    );
    for port in PORTS {
        println!(
            "{port}: nmap  {:?}\n{port}: prtip {:?}",
            theirs.get(&port),
            mine.get(&port)
        );
    }
    assert_eq!(mine, theirs, "prtip and nmap disagree");
    // The daemons were really identified, not merely equally unknown.
    for (port, name) in [(53, "domain"), (123, "ntp"), (161, "snmp")] {
        let t = &theirs[&port];
        assert_eq!((t.state.as_str(), t.name.as_deref()), ("open", Some(name)));
        assert!(t.product.is_some(), "{port}: nmap named no product: {t:?}");
    }
    // Speed is measured by benchmarks/scripts/sv-vs-nmap.sh, not asserted.
}
