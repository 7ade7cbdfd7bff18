//! Hand-built scan results shared by the format tests; the values mirror
//! real nmap 7.93 runs against listeners on 127.0.0.1.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prtip_core::result::{
    ExtraPorts, ExtraReason, HostResult, HostStatus, PortResult, PortState, PortTable, Protocol,
    Reason, RunInfo, RunStats, ScanInfo, ServiceInfo, ServiceMethod,
};

pub(crate) const T0: u64 = 1_795_611_224;

pub(crate) fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0)
}

pub(crate) fn run_info() -> RunInfo {
    RunInfo {
        args: "prtip -sT -Pn -p 18000-18100 localhost".into(),
        start: t0(),
        scans: vec![ScanInfo {
            scan_type: "connect",
            protocol: Protocol::Tcp,
            num_services: 101,
            services: "18000-18100".into(),
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

pub(crate) fn stats(up: u64, down: u64) -> RunStats {
    RunStats {
        end: t0(),
        elapsed: Duration::from_millis(50),
        hosts_up: up,
        hosts_down: down,
        interrupted: false,
    }
}

fn host(addr: [u8; 4], name: Option<&str>, reason: Reason, latency_us: Option<u64>) -> HostResult {
    HostResult {
        addr: IpAddr::V4(Ipv4Addr::from(addr)),
        hostname: name.map(str::to_owned),
        status: HostStatus::Up,
        reason,
        latency: latency_us.map(Duration::from_micros),
        start: t0(),
        end: t0(),
        ports: PortTable::default(),
        os: None,
        scripts: None,
    }
}

fn open(port: u16) -> PortResult {
    PortResult::new(port, Protocol::Tcp, PortState::Open, Reason::SynAck)
}

fn probed(name: &str) -> ServiceInfo {
    ServiceInfo {
        method: ServiceMethod::Probed,
        conf: 10,
        ..ServiceInfo::from_table(name)
    }
}

fn extra(state: PortState, reasons: &[(Reason, u32)]) -> ExtraPorts {
    let tcp: Vec<_> = reasons
        .iter()
        .map(|&(r, n)| (Protocol::Tcp, r, n))
        .collect();
    extra_of(state, &tcp)
}

/// A collapsed group whose reasons name their protocol (first ports do
/// not matter here: the reasons are given in nmap's order).
fn extra_of(state: PortState, reasons: &[(Protocol, Reason, u32)]) -> ExtraPorts {
    ExtraPorts {
        state,
        count: reasons.iter().map(|r| r.2).sum(),
        reasons: reasons
            .iter()
            .map(|&(p, r, n)| ExtraReason::new(p, r, n, 1))
            .collect(),
    }
}

/// `nmap -sT -Pn -p 18000-18100 localhost`: two open ports, one of them
/// without any nmap-services entry, 99 closed collapsed.
pub(crate) fn two_open_host() -> HostResult {
    let mut h = host(
        [127, 0, 0, 1],
        Some("localhost"),
        Reason::UserSet,
        Some(262),
    );
    let mut web = open(18080);
    web.service = Some(Box::new(ServiceInfo::from_table("http")));
    h.ports.shown = vec![open(18022), web];
    h.ports.extra = vec![extra(PortState::Closed, &[(Reason::ConnRefused, 99)])];
    h
}

/// `nmap -sT -Pn -sV --reason -p 18022,18080,18081 localhost`.
pub(crate) fn version_host() -> HostResult {
    let mut h = host(
        [127, 0, 0, 1],
        Some("localhost"),
        Reason::UserSet,
        Some(225),
    );
    let mut wrapped = open(18022);
    wrapped.service = Some(Box::new(ServiceInfo {
        conf: 8,
        ..probed("tcpwrapped")
    }));
    let mut web = open(18080);
    web.service = Some(Box::new(ServiceInfo {
        product: Some("SimpleHTTPServer".into()),
        version: Some("0.6".into()),
        extrainfo: Some("Python 3.11.7".into()),
        cpe: vec!["cpe:/a:python:simplehttpserver:0.6".into()],
        ..probed("http")
    }));
    let closed = PortResult::new(18081, Protocol::Tcp, PortState::Closed, Reason::ConnRefused);
    h.ports.shown = vec![wrapped, web, closed];
    h
}

/// `nmap -sT -Pn -n -p 18100-18199 127.0.0.1`: nothing listening.
pub(crate) fn all_closed_host() -> HostResult {
    let mut h = host([127, 0, 0, 1], None, Reason::UserSet, Some(175));
    h.ports.extra = vec![extra(PortState::Closed, &[(Reason::ConnRefused, 100)])];
    h
}

/// Two collapsed states, as nmap prints for a partly firewalled host.
pub(crate) fn two_states_host() -> HostResult {
    let mut h = host([127, 0, 0, 1], None, Reason::UserSet, Some(100));
    h.ports.shown = vec![open(22), open(80)];
    h.ports.extra = vec![
        extra(PortState::Closed, &[(Reason::Reset, 995)]),
        extra(PortState::Filtered, &[(Reason::NoResponse, 3)]),
    ];
    h
}

/// One collapsed state reached by two different reasons.
pub(crate) fn multi_reason_host() -> HostResult {
    let mut h = host([127, 0, 0, 1], None, Reason::UserSet, None);
    let mut ssh = open(22);
    ssh.service = Some(Box::new(ServiceInfo::from_table("ssh")));
    h.ports.shown = vec![ssh];
    h.ports.extra = vec![extra(
        PortState::Filtered,
        &[(Reason::NoResponse, 40), (Reason::AdminProhibited, 2)],
    )];
    h
}

/// TLS services: one identified, one only guessed from the port table.
pub(crate) fn ssl_host() -> HostResult {
    let mut h = host([127, 0, 0, 1], None, Reason::UserSet, Some(50));
    let mut https = open(443);
    https.service = Some(Box::new(ServiceInfo {
        product: Some("nginx".into()),
        version: Some("1.22.1".into()),
        ostype: Some("Linux".into()),
        tunnel: Some("ssl".into()),
        cpe: vec![
            "cpe:/a:igor_sysoev:nginx:1.22.1".into(),
            "cpe:/o:linux:linux_kernel".into(),
        ],
        ..probed("https")
    }));
    let mut guessed = open(8443);
    guessed.service = Some(Box::new(ServiceInfo {
        tunnel: Some("ssl".into()),
        ..ServiceInfo::from_table("http")
    }));
    h.ports.shown = vec![https, guessed];
    h
}

/// `nmap -sn 127.0.0.1`.
pub(crate) fn ping_host() -> HostResult {
    host([127, 0, 0, 1], Some("localhost"), Reason::Localhost, None)
}

pub(crate) fn down_host() -> HostResult {
    let mut h = host([127, 0, 0, 2], None, Reason::NoResponse, None);
    h.status = HostStatus::Down;
    h
}

/// Strings a hostile service could send back, in every text field.
pub(crate) fn hostile_host() -> HostResult {
    let evil = "<script>&\"'\x1b[31m";
    let mut h = host(
        [127, 0, 0, 1],
        Some("evil\nHost: 10.0.0.1\tStatus: Up"),
        Reason::UserSet,
        Some(10),
    );
    let mut p = open(666);
    p.service = Some(Box::new(ServiceInfo {
        product: Some(evil.into()),
        version: Some("1.0\0\r\nprtip scan report for forged".into()),
        extrainfo: Some("--> <!-- ]]>".into()),
        hostname: Some("a\u{7}b".into()),
        cpe: vec!["cpe:/a:evil:<x>".into()],
        ..probed("ht/tp\t")
    }));
    h.ports.shown = vec![p];
    h
}

/// `nmap -sS -sU` run: a SYN scan of T:22,80 and a UDP scan of U:53,161.
pub(crate) fn mixed_run_info() -> RunInfo {
    RunInfo {
        args: "prtip -sS -sU -p T:1-40,U:1-30 127.0.0.1".into(),
        scans: vec![
            ScanInfo {
                scan_type: "syn",
                protocol: Protocol::Tcp,
                num_services: 40,
                services: "1-40".into(),
                tcp_flags: None,
            },
            ScanInfo {
                scan_type: "udp",
                protocol: Protocol::Udp,
                num_services: 30,
                services: "1-30".into(),
                tcp_flags: None,
            },
        ],
        ..run_info()
    }
}

fn udp(port: u16, state: PortState, reason: Reason, name: Option<&str>) -> PortResult {
    let mut p = PortResult::new(port, Protocol::Udp, state, reason);
    p.reason_ttl = 64;
    p.service = name.map(|n| Box::new(ServiceInfo::from_table(n)));
    p
}

/// A TCP and a UDP scan of one host: ports of both protocols shown, the
/// UDP states nmap reports, and one state collapsed over both protocols.
pub(crate) fn mixed_host() -> HostResult {
    let mut h = host([127, 0, 0, 1], None, Reason::UserSet, Some(40));
    let mut ssh = open(22);
    ssh.service = Some(Box::new(ServiceInfo::from_table("ssh")));
    h.ports.shown = vec![
        ssh,
        udp(7, PortState::OpenFiltered, Reason::NoResponse, Some("echo")),
        udp(53, PortState::Open, Reason::UdpResponse, Some("domain")),
        udp(
            161,
            PortState::ClosedFiltered,
            Reason::NoResponse,
            Some("snmp"),
        ),
    ];
    h.ports.extra = vec![extra_of(
        PortState::Closed,
        &[
            (Protocol::Tcp, Reason::Reset, 39),
            (Protocol::Udp, Reason::PortUnreach, 27),
        ],
    )];
    h
}
