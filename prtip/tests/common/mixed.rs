//! A TCP and a UDP scan of 127.0.0.1 by nmap (`-sS -sU --reason`, which
//! needs root), and the same facts as prtip's engines would hand them to
//! the sinks: one table per protocol, joined with `PortTable::merge`.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use prtip_core::result::{
    HostResult, HostStatus, PortResult, PortState, PortTable, PortTableBuilder, Protocol, Reason,
    RunInfo, ScanInfo, ServiceInfo,
};
use prtip_testkit::{loopback::LoopbackPorts, nmapdata, process::run_ok};

/// One TCP listener and closed TCP ports; one silent UDP socket (nmap's
/// open|filtered) and closed UDP ports; all on 127.0.0.1.
#[derive(Debug)]
pub struct MixedPorts {
    tcp: LoopbackPorts,
    silent: UdpSocket,
    udp_closed: Vec<u16>,
}

impl MixedPorts {
    pub fn new(tcp_closed: usize, udp_closed: usize) -> MixedPorts {
        let bind = || UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind udp 127.0.0.1:0");
        let silent = bind();
        // Held until all are picked, so no port is handed out twice.
        let released: Vec<UdpSocket> = (0..udp_closed).map(|_| bind()).collect();
        let udp_closed = released
            .iter()
            .map(|s| s.local_addr().expect("local addr").port())
            .collect();
        MixedPorts {
            tcp: LoopbackPorts::new(1, tcp_closed),
            silent,
            udp_closed,
        }
    }

    fn silent_port(&self) -> u16 {
        self.silent.local_addr().expect("local addr").port()
    }

    fn udp_ports(&self) -> Vec<u16> {
        let mut all = self.udp_closed.clone();
        all.push(self.silent_port());
        all.sort_unstable();
        all
    }

    fn tcp_ports(&self) -> Vec<u16> {
        let mut all: Vec<u16> = self
            .tcp
            .open
            .iter()
            .chain(&self.tcp.closed)
            .copied()
            .collect();
        all.sort_unstable();
        all
    }

    /// `-p` for both scans.
    pub fn spec(&self) -> String {
        format!(
            "T:{},U:{}",
            join(&self.tcp_ports()),
            join(&self.udp_ports())
        )
    }

    /// nmap's `-oA base` of these ports (`-sS -sU --reason`).
    pub fn run_nmap(&self, base: &Path) {
        run_ok(
            Command::new("nmap")
                .args([
                    "-sS",
                    "-sU",
                    "--reason",
                    "-Pn",
                    "-n",
                    "-p",
                    &self.spec(),
                    "-oA",
                ])
                .arg(base)
                .arg("127.0.0.1"),
        );
    }

    /// The run as prtip describes the same scan.
    pub fn run_info(&self) -> RunInfo {
        let scan = |scan_type, protocol, ports: &[u16]| ScanInfo {
            scan_type,
            protocol,
            num_services: u32::try_from(ports.len()).expect("count"),
            services: ports
                .iter()
                .copied()
                .collect::<prtip_core::ports::PortList>()
                .to_nmap_string(),
            tcp_flags: None,
        };
        RunInfo {
            args: format!("prtip -sS -sU --reason -Pn -n -p {} 127.0.0.1", self.spec()),
            start: SystemTime::now(),
            scans: vec![
                scan("syn", Protocol::Tcp, &self.tcp_ports()),
                scan("udp", Protocol::Udp, &self.udp_ports()),
            ],
            verbose: 0,
            debug: 0,
            reason: true,
            port_scan: true,
            version_scan: false,
            os_scan: false,
            os_guess: false,
        }
    }

    /// The host as the engines report it: a table per protocol, merged.
    pub fn host(&self) -> HostResult {
        let threshold = PortTableBuilder::nmap_threshold(0, 0);
        let (tcp_names, udp_names) = (nmapdata::tcp_service_names(), nmapdata::udp_service_names());
        let result = |port, protocol, state, reason, ttl| {
            let names = match protocol {
                Protocol::Tcp => &tcp_names,
                Protocol::Udp => &udp_names,
            };
            let mut r = PortResult::new(port, protocol, state, reason);
            r.reason_ttl = ttl;
            r.service = names
                .get(&port)
                .map(|n| Box::new(ServiceInfo::from_table(n.clone())));
            r
        };
        let mut tcp = PortTableBuilder::new(threshold, false);
        for &p in &self.tcp.open {
            tcp.add(result(
                p,
                Protocol::Tcp,
                PortState::Open,
                Reason::SynAck,
                64,
            ));
        }
        for &p in &self.tcp.closed {
            tcp.add(result(
                p,
                Protocol::Tcp,
                PortState::Closed,
                Reason::Reset,
                64,
            ));
        }
        let mut udp = PortTableBuilder::new(threshold, false);
        let silent = self.silent_port();
        udp.add(result(
            silent,
            Protocol::Udp,
            PortState::OpenFiltered,
            Reason::NoResponse,
            0,
        ));
        for &p in &self.udp_closed {
            udp.add(result(
                p,
                Protocol::Udp,
                PortState::Closed,
                Reason::PortUnreach,
                64,
            ));
        }
        HostResult {
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            hostname: None,
            status: HostStatus::Up,
            reason: Reason::UserSet,
            latency: Some(Duration::from_micros(30)),
            start: SystemTime::now(),
            end: SystemTime::now(),
            ports: PortTable::merge(tcp.finish(), udp.finish(), threshold, false),
            os: None,
            scripts: None,
        }
    }
}

fn join(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
