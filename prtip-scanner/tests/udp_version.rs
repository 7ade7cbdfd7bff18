//! -sV over UDP with nmap's own nmap-service-probes and nmap-services,
//! against services played on 127.0.0.1 (UDP sockets on ports the kernel
//! picks, started and stopped by each test): the per-host stage
//! (`stages::version::detect_versions`) as the scan runs it after `-sU`.
//!
//! What nmap 7.93 does with such ports was checked by running it against
//! the same kinds of services (`nmap -sU -sV --reason`): a port that answers
//! any probe becomes `open` with reason `udp-response` and TTL 0, and when
//! nothing matches it keeps its nmap-services name (printed with a `?`); a
//! silent port stays `open|filtered`; a port whose every probe draws ICMP
//! port unreachable is reported `tcpwrapped` and stays `open|filtered`.
//!
//! Needs nmap's data files; without them it prints `SKIPPED (needs ...)`,
//! and under `CI=true` it fails instead.

use prtip_core::ports::PortList;
use prtip_core::result::{
    HostResult, HostStatus, PortResult, PortState, PortTable, Protocol, Reason, ServiceInfo,
    ServiceMethod,
};
use prtip_core::service_db::ServiceDb;
use prtip_core::services::ServiceNames;
use prtip_scanner::cancel::StopFlag;
use prtip_scanner::service::{VersionConfig, VersionScanner};
use prtip_scanner::stages::version::detect_versions;
use prtip_testkit::loopback::{closed_udp_port, Replies, UdpService};
use prtip_testkit::nmapdata::{SERVICES, SERVICE_PROBES};
use prtip_testkit::prereq::require_text;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant, SystemTime};

const DNSMASQ: &str = "dnsmasq-2.90";

/// A DNS server's answer to a CHAOS TXT query for `version.bind` (nmap's
/// DNSVersionBindReq probe), as dnsmasq gives it; anything else is ignored.
fn dns_version(request: &[u8]) -> Replies {
    let question = b"\x07version\x04bind\x00\x00\x10\x00\x03";
    if request.len() != 12 + question.len() || &request[12..] != question {
        return Vec::new();
    }
    let mut reply = request[..2].to_vec(); // the query's ID
    reply.extend_from_slice(b"\x85\x80\x00\x01\x00\x01\x00\x00\x00\x00");
    reply.extend_from_slice(question);
    reply.extend_from_slice(b"\xc0\x0c\x00\x10\x00\x03\x00\x00\x00\x00");
    let text = DNSMASQ.as_bytes();
    reply.extend_from_slice(&u16::try_from(text.len() + 1).unwrap().to_be_bytes());
    reply.push(u8::try_from(text.len()).unwrap());
    reply.extend_from_slice(text);
    vec![(Duration::ZERO, reply)]
}

fn garbage(_: &[u8]) -> Replies {
    vec![(
        Duration::ZERO,
        b"\x99\x98 not a protocol anyone knows \x00\x01".to_vec(),
    )]
}

/// Twenty datagrams of 60,000 bytes in answer to anything.
fn flood(_: &[u8]) -> Replies {
    (0..20)
        .map(|_| (Duration::ZERO, vec![b'z'; 60_000]))
        .collect()
}

fn udp_port(port: u16) -> PortResult {
    PortResult::new(
        port,
        Protocol::Udp,
        PortState::OpenFiltered,
        Reason::NoResponse,
    )
}

fn host(ports: &[u16]) -> HostResult {
    let mut shown: Vec<PortResult> = ports.iter().map(|&p| udp_port(p)).collect();
    shown.sort_by_key(|p| p.port);
    HostResult {
        addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
        hostname: None,
        status: HostStatus::Up,
        reason: Reason::Localhost,
        latency: None,
        start: SystemTime::now(),
        end: SystemTime::now(),
        ports: PortTable {
            shown,
            ..PortTable::default()
        },
        os: None,
        scripts: None,
    }
}

fn port(host: &HostResult, port: u16) -> &PortResult {
    host.ports
        .shown
        .iter()
        .find(|p| p.port == port)
        .expect("port in the table")
}

/// Runs the stage on `host` with nmap's files; how long it took.
fn run_stage(host: &mut HostResult, probes: &str, names: &ServiceNames) -> Duration {
    let db = ServiceDb::parse(probes, SERVICE_PROBES);
    let scanner = VersionScanner::new(&db, VersionConfig::default(), StopFlag::new())
        .expect("version scanner");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    let deadline = Some(Instant::now() + Duration::from_secs(120));
    assert!(
        detect_versions(&scanner, &rt, host, names, deadline),
        "the stage ran out of time"
    );
    started.elapsed()
}

fn table(names: &ServiceNames, port: u16) -> Option<ServiceInfo> {
    names.name(port, Protocol::Udp).map(ServiceInfo::from_table)
}

#[test]
fn udp_ports_end_as_nmap_reports_them() {
    let (Some(probes), Some(services)) = (require_text(SERVICE_PROBES), require_text(SERVICES))
    else {
        return;
    };
    let dns = UdpService::start(dns_version);
    let chatty = UdpService::start(garbage);
    let silent = UdpService::silent();
    let hostile = UdpService::start(flood);
    let closed = closed_udp_port().port();
    let all = [
        dns.port(),
        chatty.port(),
        silent.port(),
        hostile.port(),
        closed,
    ];
    let list = PortList::from_ranges(all.iter().map(|&p| (p, p)));
    let names = ServiceNames::load(&services, SERVICES, Protocol::Udp, &list).value;
    let mut h = host(&all);
    let took = run_stage(&mut h, &probes, &names);

    let d = port(&h, dns.port());
    assert_eq!(
        (d.state, d.reason, d.reason_ttl),
        (PortState::Open, Reason::UdpResponse, 0)
    );
    let svc = d.service.as_deref().expect("a service");
    assert_eq!(
        (
            svc.name.as_str(),
            svc.product.as_deref(),
            svc.version.as_deref()
        ),
        ("domain", Some("dnsmasq"), Some("2.90"))
    );
    assert_eq!((svc.method, svc.conf), (ServiceMethod::Probed, 10));
    assert_eq!(svc.cpe, ["cpe:/a:thekelleys:dnsmasq:2.90"]);

    for answered in [chatty.port(), hostile.port()] {
        let p = port(&h, answered);
        assert_eq!((p.state, p.reason), (PortState::Open, Reason::UdpResponse));
        assert_eq!(p.service.as_deref().cloned(), table(&names, answered));
    }

    let s = port(&h, silent.port());
    assert_eq!(
        (s.state, s.reason),
        (PortState::OpenFiltered, Reason::NoResponse)
    );
    assert_eq!(s.service.as_deref().cloned(), table(&names, silent.port()));

    let c = port(&h, closed);
    assert_eq!(c.state, PortState::OpenFiltered);
    let wrapped = c.service.as_deref().expect("a service");
    assert_eq!(
        (wrapped.name.as_str(), wrapped.method, wrapped.conf),
        ("tcpwrapped", ServiceMethod::Probed, 8)
    );

    // The silent port has 19 probes to wait out (SIPOptions 7.5 s, the rest
    // 5 s): nmap, one after another, took 100 s on the same kind of port.
    eprintln!(
        "UDP -sV of {} ports: {:.1} s",
        all.len(),
        took.as_secs_f64()
    );
    assert!(took < Duration::from_secs(25), "took {took:?}");
    // Every probe to the silent port went out once, each its own datagram.
    assert_eq!(silent.received().len(), 19);
}

#[test]
fn host_timeout_ends_udp_probing_on_time() {
    let (Some(probes), Some(services)) = (require_text(SERVICE_PROBES), require_text(SERVICES))
    else {
        return;
    };
    let silent = UdpService::silent();
    let list = PortList::from_ranges([(silent.port(), silent.port())]);
    let names = ServiceNames::load(&services, SERVICES, Protocol::Udp, &list).value;
    let db = ServiceDb::parse(&probes, SERVICE_PROBES);
    let scanner = VersionScanner::new(&db, VersionConfig::default(), StopFlag::new())
        .expect("version scanner");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut h = host(&[silent.port()]);
    let started = Instant::now();
    let deadline = Some(started + Duration::from_millis(700));
    assert!(!detect_versions(&scanner, &rt, &mut h, &names, deadline));
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1500), "took {took:?}");
}

/// 53/tcp and 53/udp are different services: each verdict goes to its own
/// protocol's port.
#[test]
fn tcp_and_udp_ports_of_one_number_keep_their_own_verdicts() {
    let (Some(probes), Some(services)) = (require_text(SERVICE_PROBES), require_text(SERVICES))
    else {
        return;
    };
    let dns = UdpService::start(dns_version);
    // A TCP service on the same number that hangs up at once: tcpwrapped.
    let Ok(listener) = std::net::TcpListener::bind(("127.0.0.1", dns.port())) else {
        eprintln!("TCP port {} is taken; nothing to compare", dns.port());
        return;
    };
    listener.set_nonblocking(true).expect("nonblocking");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&stop);
    let hangup = std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(60);
        while !flag.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < end {
            match listener.accept() {
                Ok((conn, _)) => drop(conn),
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    });
    let list = PortList::from_ranges([(dns.port(), dns.port())]);
    let names = ServiceNames::load_all(
        &services,
        SERVICES,
        &[(Protocol::Tcp, &list), (Protocol::Udp, &list)],
    )
    .value;
    let mut h = host(&[dns.port()]);
    let tcp = PortResult::new(dns.port(), Protocol::Tcp, PortState::Open, Reason::SynAck);
    h.ports.shown.insert(0, tcp);
    run_stage(&mut h, &probes, &names);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = hangup.join();
    let name = |proto: Protocol| {
        let p = h.ports.shown.iter().find(|p| p.protocol == proto);
        p.and_then(|p| p.service.as_deref()).map(|s| s.name.clone())
    };
    assert_eq!(name(Protocol::Tcp).as_deref(), Some("tcpwrapped"));
    assert_eq!(name(Protocol::Udp).as_deref(), Some("domain"));
}
