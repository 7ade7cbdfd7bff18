//! Both raw engines over IPv6 across a veth pair between two network
//! namespaces this test creates (root, `ip`, `ip6tables`): the kernel
//! resolves the target by neighbour discovery (prtip never supplies a
//! MAC), and the target's own firewall answers with ICMPv6 errors of
//! several codes (rate-limited as Linux does for a /64 route). Each scan is
//! compared with the truth and with nmap (`-6 -sS`, `-6 -sU`, when
//! installed) run in the same namespace on the same ports.
//!
//! Network safety: the only addresses are 2001:db8:76::1 (scanner) and
//! 2001:db8:76::2 (target), inside the namespaces, which are deleted (with
//! their veth pair) when the test ends, failed or not.

use std::collections::BTreeMap;
use std::net::{IpAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use prtip_core::config::TimingTemplate;
use prtip_core::payloads::PayloadDb;
use prtip_core::ports::PortList;
use prtip_core::result::{HostResult, HostStatus};
use prtip_scanner::cancel::StopFlag;
use prtip_scanner::engines::{syn, udp};
use prtip_scanner::plan::{HostJob, HostOutcome, ScanPlan};
use prtip_testkit::netns::{self, NetnsGuard};
use prtip_testkit::prereq::{require_root, require_tool};
use prtip_testkit::process::{run, run_ok_timeout};
use prtip_testkit::xml;

const SCANNER: &str = "2001:db8:76::1";
const TARGET: &str = "2001:db8:76::2";

/// port -> (state, reason)
type Table = BTreeMap<u16, (String, String)>;

/// Two namespaces joined by a veth pair; deleted on drop.
struct Lab {
    scanner: String,
    target: String,
}

impl Lab {
    /// `tag` tells the labs of one test process apart.
    fn new(tag: &str) -> Lab {
        let id = std::process::id();
        let lab = Lab {
            scanner: format!("prtip6s{tag}{id}"),
            target: format!("prtip6t{tag}{id}"),
        };
        for ns in [&lab.scanner, &lab.target] {
            run_ok_timeout(
                std::process::Command::new("ip").args(["netns", "add", ns]),
                Duration::from_secs(20),
            );
            netns::ok(ns, &["ip", "link", "set", "lo", "up"]);
        }
        let (s, t) = (&lab.scanner, &lab.target);
        netns::ok(
            s,
            &[
                "ip", "link", "add", "v6s", "type", "veth", "peer", "name", "v6t",
            ],
        );
        netns::ok(s, &["ip", "link", "set", "v6t", "netns", t]);
        for (ns, dev, addr) in [(s, "v6s", SCANNER), (t, "v6t", TARGET)] {
            let cidr = format!("{addr}/64");
            netns::ok(ns, &["ip", "-6", "addr", "add", &cidr, "dev", dev, "nodad"]);
            netns::ok(ns, &["ip", "link", "set", dev, "up"]);
        }
        lab
    }

    /// A firewall rule in the target: `proto`/`port` answered by `action`
    /// (`DROP`, or `REJECT --reject-with <what>`).
    fn reject(&self, proto: &str, port: u16, action: &[&str]) {
        let port = port.to_string();
        let mut argv = vec![
            "ip6tables",
            "-A",
            "INPUT",
            "-p",
            proto,
            "--dport",
            &port,
            "-j",
        ];
        argv.extend_from_slice(action);
        netns::ok(&self.target, &argv);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in [&self.scanner, &self.target] {
            let _ = run(std::process::Command::new("ip").args(["netns", "del", ns]));
        }
    }
}

fn target() -> IpAddr {
    TARGET.parse().expect("address")
}

/// Runs `f` with the calling thread in namespace `ns`.
fn inside<T>(ns: &str, f: impl FnOnce() -> T) -> T {
    let _guard = NetnsGuard::enter(&netns::path(ns));
    f()
}

fn plan() -> ScanPlan {
    ScanPlan {
        discovery: false,
        port_scan: true,
        max_per_state: 100,
        open_only: false,
    }
}

fn only(out: Vec<HostResult>) -> HostResult {
    assert_eq!(out.len(), 1);
    out.into_iter().next().expect("one host")
}

fn job() -> HostJob {
    HostJob {
        addr: target(),
        hostname: None,
        scope_id: 0,
    }
}

fn syn_scan(lab: &Lab, ports: &[u16]) -> HostResult {
    let jobs = [job()];
    only(syn_run(lab, ports, &jobs, plan()))
}

/// The SYN engine in the scanner namespace over `jobs`.
fn syn_run(lab: &Lab, ports: &[u16], jobs: &[HostJob], plan: ScanPlan) -> Vec<HostResult> {
    inside(&lab.scanner, || {
        let setup = syn::SynSetup {
            timing: TimingTemplate::Aggressive.timing(),
            source: None,
            interface: None,
            seed: Some(7),
            shard: None,
            ports: Arc::new(PortList::from_ranges(ports.iter().map(|&p| (p, p)))),
            probe: syn::TcpProbe::SYN,
            ping: Default::default(),
            shape: Default::default(),
        };
        let s = syn::open(setup, Some(target()), StopFlag::new()).expect("SYN engine");
        let mut out = Vec::new();
        s.run_counted(jobs.iter().cloned(), plan, &mut |o| {
            if let HostOutcome::Done(h) = o {
                out.push(h);
            }
            Ok(())
        })
        .expect("scan");
        out
    })
}

fn udp_scan(lab: &Lab, ports: &[u16]) -> HostResult {
    inside(&lab.scanner, || {
        let setup = udp::UdpSetup {
            timing: TimingTemplate::Aggressive.timing(),
            source: None,
            interface: None,
            seed: Some(7),
            ports: Arc::new(PortList::from_ranges(ports.iter().map(|&p| (p, p)))),
            payloads: Arc::new(PayloadDb::default()),
            defeat_icmp_ratelimit: false,
            ping: Default::default(),
            shape: Default::default(),
        };
        let s = udp::open_scanner(setup, Some(target()), StopFlag::new()).expect("UDP engine");
        let mut out = Vec::new();
        s.run_counted(&mut std::iter::once(job()), plan(), &mut |o| {
            if let HostOutcome::Done(h) = o {
                out.push(h);
            }
            Ok(())
        })
        .expect("scan");
        only(out)
    })
}

fn table(h: &HostResult) -> Table {
    assert_eq!((h.addr, h.status), (target(), HostStatus::Up));
    h.ports
        .shown
        .iter()
        .map(|p| (p.port, (p.state.as_str().into(), p.reason.as_str().into())))
        .collect()
}

/// nmap's table for the same ports, run in the scanner namespace.
fn nmap(lab: &Lab, scan: &str, ports: &[u16]) -> Table {
    let spec = ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let args = [
        "-6", scan, "-n", "-Pn", "--reason", "-p", &spec, "-oX", "-", TARGET,
    ];
    let out = run_ok_timeout(
        netns::cmd(&lab.scanner, "nmap").args(args),
        Duration::from_secs(180),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let hosts = xml::hosts(&text);
    assert_eq!(hosts.len(), 1, "{text}");
    let h = &hosts[0];
    h.ports
        .iter()
        .map(|(p, s)| (*p, (s.clone(), h.reasons[p].clone())))
        .collect()
}

fn expect(t: &Table, want: &[(u16, &str, &str)]) {
    for &(port, state, reason) in want {
        let want = (state.to_string(), reason.to_string());
        assert_eq!(t.get(&port), Some(&want), "port {port}: {t:?}");
    }
}

/// Lets the target's ICMPv6 bucket (six, one back every 250 ms for a /64)
/// fill again between scans, so each scanner meets the same target.
fn let_the_bucket_refill() {
    thread::sleep(Duration::from_millis(1600));
}

#[test]
fn syn_and_udp_over_ipv6_across_a_veth_match_nmap() {
    if !require_root() || !require_tool("ip") || !require_tool("ip6tables") {
        return;
    }
    let lab = Lab::new("p");
    // TCP: 80 listens; 81 closed; the rest filtered by the target's firewall.
    let _listener = inside(&lab.target, || {
        TcpListener::bind(format!("[{TARGET}]:80")).expect("listen in the target")
    });
    lab.reject(
        "tcp",
        82,
        &["REJECT", "--reject-with", "icmp6-adm-prohibited"],
    );
    lab.reject("tcp", 83, &["REJECT", "--reject-with", "icmp6-no-route"]);
    lab.reject(
        "tcp",
        84,
        &["REJECT", "--reject-with", "icmp6-addr-unreachable"],
    );
    lab.reject(
        "tcp",
        85,
        &["REJECT", "--reject-with", "icmp6-port-unreachable"],
    );
    lab.reject("tcp", 86, &["DROP"]);
    let tcp_ports: Vec<u16> = (80..=86).collect();
    let ours = table(&syn_scan(&lab, &tcp_ports));
    expect(
        &ours,
        &[
            (80, "open", "syn-ack"),
            (81, "closed", "reset"),
            (82, "filtered", "admin-prohibited"),
            (83, "filtered", "no-route"),
            (84, "filtered", "host-unreach"),
            (85, "filtered", "port-unreach"),
            (86, "filtered", "no-response"),
        ],
    );
    let nmap_ok = require_tool("nmap");
    if nmap_ok {
        let_the_bucket_refill();
        assert_eq!(ours, nmap(&lab, "-sS", &tcp_ports), "prtip vs nmap -6 -sS");
    }

    // UDP: 53 echoes; 54-65 closed, twice the target's burst of errors, so
    // its rate limit shows; 70 prohibited; 71 dropped.
    let stop = Arc::new(AtomicBool::new(false));
    let sock = inside(&lab.target, || {
        UdpSocket::bind(format!("[{TARGET}]:53")).expect("bind in the target")
    });
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let echo_stop = Arc::clone(&stop);
    let echo = thread::spawn(move || {
        let mut buf = [0u8; 2048];
        // Bounded: at most four minutes of 50 ms waits.
        for _ in 0..4800 {
            if echo_stop.load(Ordering::Relaxed) {
                return;
            }
            if let Ok((n, from)) = sock.recv_from(&mut buf) {
                let _ = sock.send_to(&buf[..n], from);
            }
        }
    });
    lab.reject(
        "udp",
        70,
        &["REJECT", "--reject-with", "icmp6-adm-prohibited"],
    );
    lab.reject("udp", 71, &["DROP"]);
    let udp_ports: Vec<u16> = (53..=65).chain([70, 71]).collect();
    let_the_bucket_refill();
    let ours = table(&udp_scan(&lab, &udp_ports));
    expect(
        &ours,
        &[
            (53, "open", "udp-response"),
            (70, "filtered", "admin-prohibited"),
            (71, "open|filtered", "no-response"),
        ],
    );
    for port in 54..=65 {
        expect(&ours, &[(port, "closed", "port-unreach")]);
    }
    if nmap_ok {
        let_the_bucket_refill();
        assert_eq!(ours, nmap(&lab, "-sU", &udp_ports), "prtip vs nmap -6 -sU");
    }
    stop.store(true, Ordering::Relaxed);
    let _ = echo.join();
    // Keep the test honest about where it ran: the scanner namespace saw
    // the target by neighbour discovery, never a MAC we gave it.
    let neigh = netns::ok(&lab.scanner, &["ip", "-6", "neigh", "show", TARGET]);
    let text = String::from_utf8_lossy(&neigh.stdout);
    assert!(
        text.contains("lladdr"),
        "no neighbour entry for the target: {text}"
    );
}

/// Raw discovery over IPv6 (nmap's `-6` probes) finds the target and
/// reports an address of the lab's /64 that nobody holds as down: its
/// probes wait for neighbour discovery in the kernel and are dropped there.
#[test]
fn ipv6_discovery_across_a_veth() {
    if !require_root() || !require_tool("ip") {
        return;
    }
    let lab = Lab::new("d");
    let absent: IpAddr = "2001:db8:76::99".parse().expect("address");
    let jobs = [
        job(),
        HostJob {
            addr: absent,
            hostname: None,
            scope_id: 0,
        },
    ];
    let plan = ScanPlan {
        discovery: true,
        port_scan: false,
        ..plan()
    };
    let out = syn_run(&lab, &[], &jobs, plan);
    assert_eq!(out.len(), 2);
    assert_eq!((out[0].addr, out[0].status), (target(), HostStatus::Up));
    // Whichever of the three probes' answers came first.
    let why = out[0].reason.as_str();
    assert!(["echo-reply", "reset"].contains(&why), "{why}");
    assert_eq!((out[1].addr, out[1].status), (absent, HostStatus::Down));
    assert_eq!(out[1].reason.as_str(), "no-response");
}
