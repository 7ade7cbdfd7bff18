//! Normal (-oN) and grepable (-oG) output compared line by line with what
//! nmap 7.93 writes for the same ports on 127.0.0.1.
//!
//! Only what must differ is masked: the `#` comment lines (our name, times),
//! the measured latency, and "Nmap" where nmap names itself.
//! Needs nmap; without it the test prints a loud SKIPPED line, except under
//! CI=true where that is a failure.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::{Duration, SystemTime};

use prtip_testkit::{
    loopback::{self, LoopbackPorts},
    nmapdata,
    prereq::{require_root, require_tool},
    process::{run_ok, tempdir},
};

use prtip::output::{GrepableSink, NormalFlavor, NormalSink};
use prtip_core::result::{
    ExtraPorts, ExtraReason, HostResult, HostStatus, PortResult, PortState, PortTable, Protocol,
    Reason, ResultSink, RunInfo, RunStats, ScanInfo, ServiceInfo,
};

/// The report body: comment lines dropped, latency and our name masked.
fn body(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            if let (Some(a), Some(b)) = (l.find(" ("), l.find("s latency)")) {
                // Keep "Host is up, received user-set", drop the measured RTT.
                format!("{}{}", &l[..a], &l[b + "s latency)".len()..])
            } else {
                l.replacen("Nmap scan report", "prtip scan report", 1)
            }
        })
        .collect()
}

fn render<S: ResultSink>(mut sink: S, run: &RunInfo, host: &HostResult) -> S {
    sink.begin(run).expect("begin");
    sink.host(host).expect("host");
    sink.end(&RunStats {
        end: SystemTime::now(),
        elapsed: Duration::from_millis(50),
        hosts_up: 1,
        hosts_down: 0,
        interrupted: false,
    })
    .expect("end");
    sink
}

/// Scans `open_count` listeners plus `closed_count` just-closed ports with
/// nmap and with our sinks (given the same facts), and compares.
fn compare(open_count: usize, closed_count: usize, reason: bool) {
    // The tests take turns: one test's closed port is not another's listener.
    let _g = loopback::lock();
    let listeners = LoopbackPorts::new(open_count, closed_count);
    let mut open = listeners.open.clone();
    let closed = listeners.closed.clone();
    open.sort_unstable();
    let mut all: Vec<u16> = open.iter().chain(&closed).copied().collect();
    all.sort_unstable();
    let port_list = all.iter().map(u16::to_string).collect::<Vec<_>>().join(",");

    let dir = tempdir();
    let base = dir.path().join("nmap");
    let mut cmd = Command::new("nmap");
    cmd.args(["-sT", "-Pn", "-n", "-p", &port_list]);
    if reason {
        cmd.arg("--reason");
    }
    run_ok(cmd.arg("-oA").arg(&base).arg("127.0.0.1"));
    drop(listeners);
    let nmap_normal = std::fs::read_to_string(base.with_extension("nmap")).expect("read");
    let nmap_grep = std::fs::read_to_string(base.with_extension("gnmap")).expect("read");

    let table = nmapdata::tcp_service_names();
    let mut host = HostResult {
        addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
        hostname: None,
        status: HostStatus::Up,
        reason: Reason::UserSet,
        latency: Some(Duration::from_micros(42)),
        start: SystemTime::now(),
        end: SystemTime::now(),
        ports: PortTable::default(),
        os: None,
        scripts: None,
    };
    let svc = |p: u16| {
        table
            .get(&p)
            .map(|n| Box::new(ServiceInfo::from_table(n.clone())))
    };
    let mut shown: Vec<PortResult> = open
        .iter()
        .map(|&p| {
            let mut r = PortResult::new(p, Protocol::Tcp, PortState::Open, Reason::SynAck);
            r.service = svc(p);
            r
        })
        .collect();
    // nmap lists a state's ports until there are more than 25 of them.
    if closed.len() > 25 {
        let n = u32::try_from(closed.len()).expect("count");
        host.ports.extra = vec![ExtraPorts {
            state: PortState::Closed,
            count: n,
            reasons: vec![ExtraReason::new(
                Protocol::Tcp,
                Reason::ConnRefused,
                n,
                closed[0],
            )],
        }];
    } else {
        shown.extend(closed.iter().map(|&p| {
            let mut r = PortResult::new(p, Protocol::Tcp, PortState::Closed, Reason::ConnRefused);
            r.service = svc(p);
            r
        }));
    }
    shown.sort_by_key(|p| p.port);
    host.ports.shown = shown;
    let run = RunInfo {
        args: format!("prtip -sT -Pn -n -p {port_list} 127.0.0.1"),
        start: SystemTime::now(),
        scans: vec![ScanInfo {
            scan_type: "connect",
            protocol: Protocol::Tcp,
            num_services: u32::try_from(all.len()).expect("count"),
            services: port_list.clone(),
            tcp_flags: None,
        }],
        verbose: 0,
        debug: 0,
        reason,
        port_scan: true,
        version_scan: false,
        os_scan: false,
        os_guess: false,
    };

    let normal = render(NormalSink::new(Vec::new(), NormalFlavor::File), &run, &host);
    let ours = String::from_utf8(normal.into_inner()).expect("utf8");
    assert_eq!(
        body(&ours),
        body(&nmap_normal),
        "ours:\n{ours}\nnmap:\n{nmap_normal}"
    );
    let grep = render(GrepableSink::new(Vec::new()), &run, &host);
    let ours = String::from_utf8(grep.into_inner()).expect("utf8");
    assert_eq!(
        body(&ours),
        body(&nmap_grep),
        "ours:\n{ours}\nnmap:\n{nmap_grep}"
    );
    // The comment lines keep nmap's shape with our name.
    let first = ours.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("# prtip ") && first.contains(" scan initiated "),
        "{first}"
    );
    let last = ours.lines().last().unwrap_or_default();
    assert!(
        last.contains(" -- 1 IP address (1 host up) scanned in "),
        "{last}"
    );
}

#[test]
fn normal_and_grepable_match_nmap_with_collapsed_closed_ports() {
    if require_tool("nmap") {
        compare(3, 30, false);
    }
}

#[test]
fn normal_and_grepable_match_nmap_with_listed_closed_ports_and_reasons() {
    if require_tool("nmap") {
        compare(2, 3, true);
    }
}

#[test]
fn all_ports_ignored_matches_nmap() {
    if require_tool("nmap") {
        compare(0, 27, true);
    }
}

/// `-sS -sU`: TCP and UDP ports in one table, a closed state collapsed over
/// both protocols ("Not shown: 30 closed udp ports (port-unreach), 30
/// closed tcp ports (reset)", nmap's order for equal counts), open|filtered.
#[test]
fn tcp_and_udp_in_one_report_match_nmap() {
    if !require_root() || !require_tool("nmap") {
        return;
    }
    let _g = loopback::lock();
    let ports = common::mixed::MixedPorts::new(30, 30);
    let dir = tempdir();
    let base = dir.path().join("nmap");
    ports.run_nmap(&base);
    let nmap_normal = std::fs::read_to_string(base.with_extension("nmap")).expect("read");
    let nmap_grep = std::fs::read_to_string(base.with_extension("gnmap")).expect("read");
    assert!(nmap_normal.contains("/udp "), "{nmap_normal}");
    let (run, host) = (ports.run_info(), ports.host());
    let normal = render(NormalSink::new(Vec::new(), NormalFlavor::File), &run, &host);
    let ours = String::from_utf8(normal.into_inner()).expect("utf8");
    assert_eq!(
        body(&ours),
        body(&nmap_normal),
        "ours:\n{ours}\nnmap:\n{nmap_normal}"
    );
    let grep = render(GrepableSink::new(Vec::new()), &run, &host);
    let ours = String::from_utf8(grep.into_inner()).expect("utf8");
    assert_eq!(
        body(&ours),
        body(&nmap_grep),
        "ours:\n{ours}\nnmap:\n{nmap_grep}"
    );
}
