//! The XML sink against nmap's own tooling: the DTD (xmllint) and ndiff
//! comparing our file with one nmap wrote for the same ports.
//!
//! Needs nmap, xmllint and ndiff; without them the tests print a loud
//! SKIPPED line, except under CI=true where a missing tool is a failure.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use prtip_testkit::{
    loopback::{self, LoopbackPorts},
    nmapdata,
    prereq::{require_file, require_root, require_tool},
    process::{run_ok, tempdir},
    xml,
};

use prtip::output::XmlSink;
use prtip_core::result::{
    ExtraPorts, ExtraReason, HostResult, HostStatus, PortResult, PortState, PortTable, Protocol,
    Reason, ResultSink, RunInfo, RunStats, ScanInfo, ServiceInfo, ServiceMethod,
};

/// True when every tool and nmap's DTD are there; otherwise skip loudly
/// (fail under CI).
fn have_tools(tools: &[&str]) -> bool {
    tools.iter().all(|t| require_tool(t)) && require_file(xml::NMAP_DTD)
}

fn write_xml(path: &Path, run: &RunInfo, hosts: &[HostResult], stats: &RunStats) {
    let file = std::fs::File::create(path).expect("create xml");
    let mut sink = XmlSink::new(std::io::BufWriter::new(file));
    sink.begin(run).expect("begin");
    for h in hosts {
        sink.host(h).expect("host");
    }
    sink.end(stats).expect("end");
}

fn run_info(args: &str, services: String, num: u32) -> RunInfo {
    RunInfo {
        args: args.to_owned(),
        start: SystemTime::now(),
        scans: vec![ScanInfo {
            scan_type: "connect",
            protocol: Protocol::Tcp,
            num_services: num,
            services,
            tcp_flags: None,
        }],
        verbose: 0,
        debug: 0,
        reason: false,
        port_scan: true,
        version_scan: false,
        os_scan: false,
        os_guess: false,
    }
}

fn stats(up: u64, down: u64, interrupted: bool) -> RunStats {
    RunStats {
        end: SystemTime::now(),
        elapsed: Duration::from_millis(1234),
        hosts_up: up,
        hosts_down: down,
        interrupted,
    }
}

fn up_host(name: Option<&str>) -> HostResult {
    HostResult {
        addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
        hostname: name.map(str::to_owned),
        status: HostStatus::Up,
        reason: Reason::UserSet,
        latency: Some(Duration::from_micros(120)),
        start: SystemTime::now(),
        end: SystemTime::now(),
        ports: PortTable::default(),
        os: None,
        scripts: None,
    }
}

/// Collapsed TCP ports of one reason (the first port only orders reasons).
fn tcp(reason: Reason, count: u32) -> ExtraReason {
    ExtraReason::new(Protocol::Tcp, reason, count, 1)
}

/// Everything the format can carry, including what a hostile server could
/// put in a banner.
fn rich_hosts() -> Vec<HostResult> {
    let mut h = up_host(Some("localhost"));
    let mut ssh = PortResult::new(22, Protocol::Tcp, PortState::Open, Reason::SynAck);
    ssh.reason_ttl = 64;
    ssh.service = Some(Box::new(ServiceInfo {
        product: Some("OpenSSH".into()),
        version: Some("9.2p1 Debian 2".into()),
        extrainfo: Some("protocol 2.0".into()),
        ostype: Some("Linux".into()),
        cpe: vec![
            "cpe:/a:openbsd:openssh:9.2p1".into(),
            "cpe:/o:linux:linux_kernel".into(),
        ],
        method: ServiceMethod::Probed,
        conf: 10,
        ..ServiceInfo::from_table("ssh")
    }));
    let mut evil = PortResult::new(666, Protocol::Tcp, PortState::Open, Reason::SynAck);
    evil.service = Some(Box::new(ServiceInfo {
        product: Some("<script>alert('x')</script> & \"quotes\"".into()),
        version: Some("1.0\0\x01\x08\x0b\x0c\x1b[2J\u{7f}\u{fffe}\u{ffff}".into()),
        extrainfo: Some("--> <!-- ]]> <![CDATA[ -".into()),
        hostname: Some("tab\there\r\nnewline".into()),
        devicetype: Some("é ü 漢字 \u{85}".into()),
        tunnel: Some("ssl".into()),
        cpe: vec!["cpe:/a:evil:<x>&".into()],
        method: ServiceMethod::Probed,
        conf: 200,
        ..ServiceInfo::from_table("ht<tp>")
    }));
    let mut weird_tunnel =
        PortResult::new(990, Protocol::Tcp, PortState::Filtered, Reason::NoResponse);
    weird_tunnel.service = Some(Box::new(ServiceInfo {
        tunnel: Some("dtls".into()),
        ..ServiceInfo::from_table("ftps")
    }));
    let closed = PortResult::new(23, Protocol::Tcp, PortState::Closed, Reason::ConnRefused);
    h.ports.shown = vec![ssh, closed, evil, weird_tunnel];
    h.ports.extra = vec![
        ExtraPorts {
            state: PortState::Closed,
            count: 990,
            reasons: vec![tcp(Reason::ConnRefused, 990)],
        },
        ExtraPorts {
            state: PortState::Filtered,
            count: 6,
            reasons: vec![tcp(Reason::NoResponse, 4), tcp(Reason::AdminProhibited, 2)],
        },
    ];
    let mut all_ignored = up_host(Some("bad\"name<&>\x01"));
    all_ignored.ports.extra = vec![ExtraPorts {
        state: PortState::OpenFiltered,
        count: 1000,
        reasons: vec![ExtraReason::new(Protocol::Udp, Reason::NoResponse, 1000, 1)],
    }];
    let mut down = up_host(None);
    down.status = HostStatus::Down;
    down.reason = Reason::NoResponse;
    down.addr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    vec![h, all_ignored, down]
}

#[test]
fn hand_built_scan_validates_against_nmap_dtd() {
    if !have_tools(&["xmllint"]) {
        return;
    }
    let dir = tempdir();
    let args = "prtip -sT -sV -v --reason -p- localhost 127.0.0.2 --script-args 'a=<b>&c'";
    let mut run = run_info(args, "1-1000".into(), 1000);
    run.verbose = 1;
    run.version_scan = true;
    run.reason = true;
    for (name, interrupted) in [("complete.xml", false), ("interrupted.xml", true)] {
        let path = dir.path().join(name);
        write_xml(&path, &run, &rich_hosts(), &stats(2, 1, interrupted));
        xml::xmllint(&path, true);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.contains("<address addr=\"127.0.0.2\""),
            "verbose run lists the down host"
        );
        assert_eq!(text.contains("exit=\"error\""), interrupted);
    }
    // A ping scan (no scaninfo, no ports) and an empty run are documents too.
    run.port_scan = false;
    run.scans.clear();
    let path = dir.path().join("ping.xml");
    write_xml(&path, &run, &[up_host(None)], &stats(1, 0, false));
    xml::xmllint(&path, true);
    let path = dir.path().join("empty.xml");
    write_xml(&path, &run, &[], &stats(0, 0, true));
    xml::xmllint(&path, true);
}

#[test]
fn ndiff_finds_no_difference_with_nmap_on_localhost() {
    if !have_tools(&["nmap", "xmllint", "ndiff"]) {
        return;
    }
    // Bind many ports, keep a few listening and close the rest, so nmap sees
    // open ports and more closed ones than it lists (an <extraports> group).
    let _g = loopback::lock();
    let listeners = LoopbackPorts::new(3, 29);
    let open_ports = listeners.open.clone();
    let closed_ports = listeners.closed.clone();
    let mut all: Vec<u16> = open_ports.iter().chain(&closed_ports).copied().collect();
    all.sort_unstable();
    let port_list = all.iter().map(u16::to_string).collect::<Vec<_>>().join(",");

    let dir = tempdir();
    let nmap_xml = dir.path().join("nmap.xml");
    run_ok(
        Command::new("nmap")
            .args(["-sT", "-Pn", "-n", "-p", &port_list, "-oX"])
            .arg(&nmap_xml)
            .arg("127.0.0.1"),
    );
    let nmap_text = std::fs::read_to_string(&nmap_xml).expect("read nmap.xml");
    for p in &open_ports {
        assert!(
            nmap_text.contains(&format!("portid=\"{p}\"><state state=\"open\"")),
            "nmap did not see listener {p} open:\n{nmap_text}"
        );
    }
    drop(listeners);

    // The same facts, as the scanner would hand them to the sink.
    let table = nmapdata::tcp_service_names();
    let mut host = up_host(None);
    host.ports.shown = open_ports
        .iter()
        .map(|&p| {
            let mut r = PortResult::new(p, Protocol::Tcp, PortState::Open, Reason::SynAck);
            r.service = table
                .get(&p)
                .map(|n| Box::new(ServiceInfo::from_table(n.clone())));
            r
        })
        .collect();
    host.ports.shown.sort_by_key(|p| p.port);
    let closed = u32::try_from(closed_ports.len()).expect("count");
    host.ports.extra = vec![ExtraPorts {
        state: PortState::Closed,
        count: closed,
        reasons: vec![tcp(Reason::ConnRefused, closed)],
    }];
    let args = format!("prtip -sT -Pn -n -p {port_list} 127.0.0.1");
    let run = run_info(
        &args,
        port_list.clone(),
        u32::try_from(all.len()).expect("count"),
    );
    let ours = dir.path().join("prtip.xml");
    write_xml(&ours, &run, &[host], &stats(1, 0, false));
    xml::xmllint(&ours, true);

    // Only the banner lines (scanner version, arguments) may differ.
    xml::ndiff_no_port_differences(&nmap_xml, &ours);
}

/// `-sS -sU`: two `<scaninfo>`, `<extrareasons>` per protocol, UDP ports;
/// valid against the DTD and no port difference with nmap's own file.
#[test]
fn tcp_and_udp_scan_validates_and_ndiff_agrees_with_nmap() {
    if !require_root() || !have_tools(&["nmap", "xmllint", "ndiff"]) {
        return;
    }
    let _g = loopback::lock();
    let ports = common::mixed::MixedPorts::new(30, 30);
    let dir = tempdir();
    let base = dir.path().join("nmap");
    ports.run_nmap(&base);
    let nmap_xml = base.with_extension("xml");
    let nmap_text = std::fs::read_to_string(&nmap_xml).expect("read nmap.xml");
    let ours = dir.path().join("prtip.xml");
    write_xml(
        &ours,
        &ports.run_info(),
        &[ports.host()],
        &stats(1, 0, false),
    );
    xml::xmllint(&ours, true);
    let text = std::fs::read_to_string(&ours).expect("read ours");
    let scaninfo = |t: &str| {
        xml::elements(t, "scaninfo")
            .map(|e| ["type", "protocol", "numservices", "services"].map(|a| xml::attr(e, a)))
            .collect::<Vec<_>>()
    };
    assert_eq!(scaninfo(&text), scaninfo(&nmap_text));
    // nmap 7.93 adds `ports=` to each <extrareasons>; prtip keeps only counts.
    let reasons = |t: &str| {
        xml::elements(t, "extrareasons")
            .map(|e| {
                (
                    xml::attr(e, "reason"),
                    xml::attr(e, "count"),
                    xml::attr(e, "proto"),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(reasons(&text), reasons(&nmap_text), "{text}\n{nmap_text}");
    assert_eq!(reasons(&text).len(), 2, "{text}");
    xml::ndiff_no_port_differences(&nmap_xml, &ours);
}

/// The same `-sS -sU` scan run by prtip itself (its SYN and UDP engines,
/// joined by the pair engine): valid against the DTD, the same
/// `<scaninfo>` and `<extrareasons>` as nmap's, and no port difference.
#[test]
fn real_tcp_and_udp_scan_agrees_with_nmap() {
    if !require_root() || !have_tools(&["nmap", "xmllint", "ndiff"]) {
        return;
    }
    let _g = loopback::lock();
    let ports = common::mixed::MixedPorts::new(30, 30);
    let dir = tempdir();
    let base = dir.path().join("nmap");
    ports.run_nmap(&base);
    let nmap_xml = base.with_extension("xml");
    let nmap_text = std::fs::read_to_string(&nmap_xml).expect("read nmap.xml");
    let ours = dir.path().join("prtip.xml");
    let spec = ports.spec();
    let path = ours.to_str().expect("utf-8 path");
    common::prtip_ok(&[
        "-sS",
        "-sU",
        "--reason",
        "-Pn",
        "-n",
        "-p",
        &spec,
        "-oX",
        path,
        "127.0.0.1",
    ]);
    xml::xmllint(&ours, true);
    let text = std::fs::read_to_string(&ours).expect("read ours");
    let summary = |t: &str| {
        let scaninfo: Vec<_> = xml::elements(t, "scaninfo")
            .map(|e| ["type", "protocol", "numservices", "services"].map(|a| xml::attr(e, a)))
            .collect();
        let reasons: Vec<_> = xml::elements(t, "extrareasons")
            .map(|e| ["reason", "count", "proto"].map(|a| xml::attr(e, a)))
            .collect();
        (scaninfo, reasons)
    };
    assert_eq!(summary(&text), summary(&nmap_text), "{text}\n{nmap_text}");
    xml::ndiff_no_port_differences(&nmap_xml, &ours);
}
