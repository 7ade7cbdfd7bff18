//! The UDP engine against a real Linux stack, judged against what the lab
//! knows: which ports have a server, which ones nft drops, which ones nft
//! rejects, and that every other port is closed.
//!
//! Two namespaces on a veth pair (`prtip_testkit::lab::Lab`). In the target
//! namespace a python3 server answers datagrams on the open ports (bound to
//! the probed address itself, so replies come from it), and nft drops or
//! rejects others. With the target's default ICMP rate limit (one error a
//! second after a burst of six) every closed port must still be reported
//! closed; with the limit lifted (`icmp_ratemask=0`) the states must equal
//! both the truth and nmap's.
//!
//! Needs root, `ip`, `nft`, `python3` (and `nmap` for the second test);
//! without them it prints `SKIPPED (needs ...)`, and under `CI=true` it
//! fails instead. Packets go only to the lab's namespaces, which are
//! removed on drop.

use prtip_core::config::TimingTemplate;
use prtip_core::payloads::PayloadDb;
use prtip_core::ports::PortList;
use prtip_core::result::{HostResult, PortState};
use prtip_scanner::cancel::StopFlag;
use prtip_scanner::engines::udp::{open_scanner, UdpSetup, UdpStats};
use prtip_scanner::plan::{HostJob, HostOutcome, ScanPlan};
use prtip_testkit::lab::{Lab, Namespaces, Side};
use prtip_testkit::netns::NetnsGuard;
use prtip_testkit::prereq::require_tool;
use prtip_testkit::process::run_ok_timeout;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An echo server answers these; 53 gets a DNS payload whose keyed ID the
/// echo carries back, as a DNS server would.
const OPEN: [u16; 3] = [53, 5000, 7777];
const DROPPED: [u16; 3] = [161, 5001, 5002];
const REJECTED: [u16; 2] = [5003, 5004];
/// Closed ports: enough to drain the ICMP burst several times over.
const CLOSED: std::ops::Range<u16> = 6000..6016;

fn truth() -> BTreeMap<u16, PortState> {
    let mut t = BTreeMap::new();
    t.extend(OPEN.map(|p| (p, PortState::Open)));
    t.extend(DROPPED.map(|p| (p, PortState::OpenFiltered)));
    t.extend(REJECTED.map(|p| (p, PortState::Filtered)));
    t.extend(CLOSED.map(|p| (p, PortState::Closed)));
    t
}

fn list(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Servers on the open ports and nft rules for the others.
fn furnish(lab: &Lab) {
    let script = format!(
        "import socket,select,time\n\
         socks=[]\n\
         for p in [{}]:\n\
         \x20 s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
         \x20 s.bind(('{}',p))\n\
         \x20 socks.append(s)\n\
         end=time.time()+600\n\
         while time.time()<end:\n\
         \x20 r,_,_=select.select(socks,[],[],1)\n\
         \x20 for s in r:\n\
         \x20   d,a=s.recvfrom(2048)\n\
         \x20   s.sendto(d,a)\n",
        list(&OPEN),
        Lab::TARGET_ADDR
    );
    let child = lab
        .cmd(Side::Target, "python3")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the UDP server");
    lab.adopt(child);
    let rules = format!(
        "table ip prtip_udp {{\n chain input {{\n type filter hook input priority 0;\n \
         udp dport {{ {} }} drop\n \
         udp dport {{ {} }} reject with icmp type admin-prohibited\n }}\n}}\n",
        list(&DROPPED),
        list(&REJECTED)
    );
    // One file per lab: the tests of this file run in parallel.
    let path = std::env::temp_dir().join(format!("{}.nft", lab.target_ns));
    std::fs::write(&path, rules).expect("write nft rules");
    lab.ok(
        Side::Target,
        &["nft", "-f", path.to_str().expect("utf-8 path")],
    );
    let _ = std::fs::remove_file(&path);
    wait_for_server(lab);
}

fn wait_for_server(lab: &Lab) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let filter = format!("sport = :{}", OPEN[2]);
    while Instant::now() < deadline {
        let out = lab.ok(Side::Target, &["ss", "-Huln", &filter]);
        if !String::from_utf8_lossy(&out.stdout).trim().is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the UDP server never came up");
}

fn ports() -> Vec<u16> {
    truth().keys().copied().collect()
}

fn scan(lab: &Lab) -> (HostResult, UdpStats, Duration) {
    let _ns = NetnsGuard::enter(&lab.netns_path(Side::Scanner));
    let list = PortList::from_ranges(ports().into_iter().map(|p| (p, p)));
    let setup = UdpSetup {
        timing: TimingTemplate::Normal.timing(),
        source: None,
        interface: None,
        seed: Some(11),
        ports: Arc::new(list),
        payloads: Arc::new(PayloadDb::builtin()),
        defeat_icmp_ratelimit: false,
        ping: Default::default(),
        shape: Default::default(),
    };
    let target: IpAddr = Lab::TARGET_ADDR.parse().expect("address");
    let scanner = open_scanner(setup, Some(target), StopFlag::new()).expect("raw sockets");
    let plan = ScanPlan {
        discovery: false,
        port_scan: true,
        max_per_state: 1000,
        open_only: false,
    };
    let mut got = Vec::new();
    let started = Instant::now();
    let stats = scanner
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
        .expect("scan");
    let Some(HostOutcome::Done(r)) = got.pop() else {
        panic!("no result")
    };
    (r, stats, started.elapsed())
}

fn states(r: &HostResult) -> BTreeMap<u16, PortState> {
    r.ports.shown.iter().map(|p| (p.port, p.state)).collect()
}

fn wrong(got: &BTreeMap<u16, PortState>, want: &BTreeMap<u16, PortState>) -> Vec<String> {
    want.iter()
        .filter(|(p, s)| got.get(p) != Some(s))
        .map(|(p, s)| format!("{p}: {:?}, truth {s:?}", got.get(p)))
        .collect()
}

#[test]
fn default_icmp_limits_every_state_is_true() {
    if !require_tool("nft") || !require_tool("python3") {
        return;
    }
    let Some(lab) = Lab::new() else { return };
    furnish(&lab);
    let (r, stats, took) = scan(&lab);
    let errors = CLOSED.len() + REJECTED.len();
    eprintln!(
        "default limits: {} ports, {errors} ICMP errors needed, {:.1} s (limit about {} s); {stats:?}",
        truth().len(),
        took.as_secs_f64(),
        errors.saturating_sub(6)
    );
    let bad = wrong(&states(&r), &truth());
    assert!(bad.is_empty(), "wrong states: {bad:#?}");
}

/// nmap's states from its XML: port -> state.
fn nmap_states(lab: &Lab) -> BTreeMap<u16, PortState> {
    let out = run_ok_timeout(
        lab.cmd(Side::Scanner, "nmap").args([
            "-sU",
            "-n",
            "-Pn",
            "-p",
            &list(&ports()),
            "-oX",
            "-",
            Lab::TARGET_ADDR,
        ]),
        Duration::from_secs(120),
    );
    let xml = String::from_utf8_lossy(&out.stdout);
    let mut got = BTreeMap::new();
    for chunk in xml.split("<port protocol=\"udp\" portid=\"").skip(1) {
        let port: u16 = chunk[..chunk.find('"').expect("quote")]
            .parse()
            .expect("port");
        let state = chunk
            .split_once("<state state=\"")
            .and_then(|(_, s)| s.split_once('"'))
            .map(|(s, _)| s)
            .expect("state");
        let state = match state {
            "open" => PortState::Open,
            "closed" => PortState::Closed,
            "filtered" => PortState::Filtered,
            "open|filtered" => PortState::OpenFiltered,
            other => panic!("nmap state {other}"),
        };
        got.insert(port, state);
    }
    got
}

#[test]
fn limits_lifted_states_equal_truth_and_nmap() {
    if !require_tool("nft") || !require_tool("python3") || !require_tool("nmap") {
        return;
    }
    let Some(lab) = Lab::new() else { return };
    furnish(&lab);
    lab.ok(Side::Target, &["sysctl", "-qw", "net.ipv4.icmp_ratemask=0"]);
    let (r, _, took) = scan(&lab);
    let ours = states(&r);
    let bad = wrong(&ours, &truth());
    assert!(bad.is_empty(), "ours, wrong states: {bad:#?}");
    let t = Instant::now();
    let theirs = nmap_states(&lab);
    eprintln!(
        "limits lifted: prtip {:.2} s, nmap {:.2} s",
        took.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    assert_eq!(ours, theirs, "prtip and nmap disagree");
}
