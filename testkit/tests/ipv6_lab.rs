//! The IPv6 side of the namespace labs ([`Lab`] and [`ScriptLab`]), checked
//! with the kernel's own sockets and with nmap: it comes up, answers on the
//! local /118 and the target's link address, drops the dead net silently,
//! answers closed ports with RST, gives both families the same truth, and
//! leaves nothing behind.
//!
//! Root only (namespaces): without root, `ip`, `python3` or nmap every test
//! skips loudly (fails under CI=true), as does a kernel without IPv6.
//!
//! Network safety: only 2001:db8::/32 and 198.18.0.0/15 inside the labs'
//! own namespaces, always with -n.

use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

use prtip_testkit::lab::{cidr_addresses6, Lab, Namespaces, ScriptLab, Side};
use prtip_testkit::netns::NetnsGuard;
use prtip_testkit::prereq::require_tool;
use prtip_testkit::process::{describe, run, run_timeout};
use prtip_testkit::xml;

/// Long enough for a loaded machine; each scan takes about a second.
const NMAP_TIMEOUT: Duration = Duration::from_secs(120);
/// Ample for an answer inside one machine; a dead address never answers.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Outcome of one TCP connect, as the tests tell them apart.
#[derive(Debug, PartialEq, Eq)]
enum Connect {
    Accepted,
    /// An RST came back.
    Refused,
    /// Nothing came back.
    TimedOut,
    Other(ErrorKind),
}

/// TCP connect from inside the namespace at `netns_path`, on a thread of
/// its own so the test thread's namespace never changes.
fn connect_from(netns_path: &str, addr: &str, port: u16) -> Connect {
    let ip: IpAddr = addr.parse().expect("an IP address");
    let path = netns_path.to_string();
    thread::spawn(move || {
        let _ns = NetnsGuard::enter(&path);
        match TcpStream::connect_timeout(&SocketAddr::new(ip, port), CONNECT_TIMEOUT) {
            Ok(_) => Connect::Accepted,
            // `scripts/lab`'s listener resets each connection as soon as it
            // accepts it, which may be before connect() reports: a reset
            // (unlike a refusal) comes after a completed handshake.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => Connect::Accepted,
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => Connect::Refused,
            Err(e) if e.kind() == ErrorKind::TimedOut => Connect::TimedOut,
            Err(e) => Connect::Other(e.kind()),
        }
    })
    .join()
    .expect("connect thread")
}

/// Names of the network namespaces that exist now.
fn namespaces() -> BTreeSet<String> {
    let out = run(Command::new("ip").args(["netns", "list"]));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// The interface `iface` exists in the root namespace or in namespace `ns`.
fn interface_exists(ns: Option<&str>, iface: &str) -> bool {
    let mut cmd = Command::new("ip");
    if let Some(ns) = ns {
        cmd.args(["-n", ns]);
    }
    run(cmd.args(["link", "show", "dev", iface]))
        .status
        .success()
}

/// The global IPv6 addresses (with prefix length) on `iface` in `ns`.
fn ipv6_addresses(lab: &impl Namespaces, side: Side, iface: &str) -> Vec<String> {
    let out = lab.ok(
        side,
        &[
            "ip", "-6", "-o", "addr", "show", "dev", iface, "scope", "global",
        ],
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
        .collect()
}

fn nmap_in(lab: &impl Namespaces, args: &[&str]) -> Output {
    let out = run_timeout(lab.cmd(Side::Scanner, "nmap").args(args), NMAP_TIMEOUT);
    assert!(out.status.success(), "nmap {args:?}\n{}", describe(&out));
    out
}

/// Per host of nmap's XML on stdout: port -> state.
fn nmap_tables(out: &Output) -> BTreeMap<String, BTreeMap<u16, String>> {
    let text = String::from_utf8_lossy(&out.stdout);
    xml::hosts(&text)
        .into_iter()
        .map(|h| (h.addr, h.ports))
        .collect()
}

/// The truth of a lab host: `open` ports open, the rest of `scanned` closed.
fn truth(open: &[u16], scanned: &[u16]) -> BTreeMap<u16, String> {
    scanned
        .iter()
        .map(|p| {
            let state = if open.contains(p) { "open" } else { "closed" };
            (*p, state.to_string())
        })
        .collect()
}

#[test]
fn lab_ipv6_side_comes_up_and_leaves_nothing_behind() {
    let Some(lab) = Lab::new() else { return };
    if !lab.require_ipv6() {
        return;
    }
    let (s, t) = (lab.scanner_ns.clone(), lab.target_ns.clone());
    let (si, ti) = (lab.scanner_if.clone(), lab.target_if.clone());
    assert_eq!(
        ipv6_addresses(&lab, Side::Scanner, &si),
        [format!("{}/64", Lab::SCANNER_ADDR6)]
    );
    assert_eq!(
        ipv6_addresses(&lab, Side::Target, &ti),
        [format!("{}/64", Lab::TARGET_ADDR6)]
    );
    // Usable at once (nodad): not tentative.
    let flags = lab.ok(
        Side::Scanner,
        &["ip", "-6", "addr", "show", "dev", &si, "tentative"],
    );
    assert!(flags.stdout.is_empty(), "{}", describe(&flags));
    let local = lab.ok(
        Side::Target,
        &[
            "ip", "-6", "route", "show", "table", "local", "type", "local",
        ],
    );
    let local = String::from_utf8_lossy(&local.stdout);
    assert!(local.contains(Lab::LOCAL_NET6), "{local}");
    for sysctl in [
        "net.ipv6.conf.all.forwarding",
        &format!("net.ipv6.conf.{ti}.forwarding"),
    ] {
        let out = lab.ok(Side::Target, &["sysctl", "-n", sysctl]);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0", "{sysctl}");
    }
    assert!(namespaces().contains(&s) && namespaces().contains(&t));
    drop(lab);
    let left = namespaces();
    assert!(
        !left.contains(&s) && !left.contains(&t),
        "left behind: {left:?}"
    );
    assert!(!interface_exists(None, &si) && !interface_exists(None, &ti));
}

#[test]
fn lab_tcp_over_ipv6_reaches_local_net_and_target_drops_dead_net() {
    let Some(lab) = Lab::new() else { return };
    if !lab.require_ipv6() || !require_tool("python3") {
        return;
    }
    // On 0.0.0.0: its twin :: makes every address of LOCAL_NET6 answer.
    lab.listen("0.0.0.0", 80);
    let ns = lab.netns_path(Side::Scanner);
    let local = cidr_addresses6(Lab::LOCAL_NET6);
    assert_eq!(local.len(), 1024);
    let (first, last) = (local[1].to_string(), local[1023].to_string());
    for addr in [first.as_str(), last.as_str(), Lab::TARGET_ADDR6] {
        assert_eq!(
            connect_from(&ns, addr, 80),
            Connect::Accepted,
            "[{addr}]:80"
        );
        assert_eq!(connect_from(&ns, addr, 81), Connect::Refused, "[{addr}]:81");
    }
    // The IPv4 side is as before.
    assert_eq!(connect_from(&ns, Lab::TARGET_ADDR, 80), Connect::Accepted);
    // Routed to the target, which owns none of it: silence, not "no route".
    assert_eq!(connect_from(&ns, "2001:db8:2::9", 80), Connect::TimedOut);
    // EXTRA_NET6 answers only at the addresses the target is given.
    assert_eq!(connect_from(&ns, "2001:db8:1::7", 80), Connect::TimedOut);
    lab.add_target_address("2001:db8:1::7");
    assert_eq!(connect_from(&ns, "2001:db8:1::7", 80), Connect::Accepted);
}

#[test]
fn lab_listener_on_one_address_opens_its_ipv6_twin_only() {
    let Some(lab) = Lab::new() else { return };
    if !lab.require_ipv6() || !require_tool("python3") {
        return;
    }
    lab.add_target_address("198.18.1.5");
    lab.add_target_address("2001:db8:1::5");
    lab.listen(Lab::TARGET_ADDR, 8080);
    lab.listen("198.18.1.5", 8081);
    let ns = lab.netns_path(Side::Scanner);
    assert_eq!(
        connect_from(&ns, Lab::TARGET_ADDR6, 8080),
        Connect::Accepted
    );
    assert_eq!(connect_from(&ns, "2001:db8:4::1", 8080), Connect::Refused);
    assert_eq!(connect_from(&ns, "2001:db8:1::5", 8081), Connect::Accepted);
    assert_eq!(connect_from(&ns, Lab::TARGET_ADDR6, 8081), Connect::Refused);
}

#[test]
fn lab_udp_echo_answers_over_ipv6_from_the_probed_address() {
    let Some(lab) = Lab::new() else { return };
    if !lab.require_ipv6() || !require_tool("python3") {
        return;
    }
    prtip_testkit::lab::udp_echo(&lab, &[5353, 7777], |c| lab.adopt(c));
    let path = lab.netns_path(Side::Scanner);
    let (reply, from) = thread::spawn(move || {
        let _ns = NetnsGuard::enter(&path);
        let sock = UdpSocket::bind("[::]:0").expect("bind");
        sock.set_read_timeout(Some(CONNECT_TIMEOUT))
            .expect("timeout");
        let to: SocketAddr = "[2001:db8:4::2a]:7777".parse().expect("address");
        sock.send_to(b"prtip-v6-echo", to).expect("send");
        let mut buf = [0u8; 64];
        let (n, from) = sock.recv_from(&mut buf).expect("an echo within 2 s");
        (buf[..n].to_vec(), from)
    })
    .join()
    .expect("echo thread");
    assert_eq!(reply, b"prtip-v6-echo");
    assert_eq!(from, "[2001:db8:4::2a]:7777".parse().expect("address"));
}

#[test]
fn script_lab_ipv6_agrees_with_nmap_and_with_its_ipv4_side() {
    const LISTEN: [u16; 2] = [22, 80];
    const SCANNED: [u16; 4] = [22, 80, 443, 1000];
    if !require_tool("nmap") {
        return;
    }
    let Some(lab) = ScriptLab::up("198.18.4.0/24", &LISTEN, 0) else {
        return;
    };
    if !lab.require_ipv6() {
        return;
    }
    lab.route_dead(ScriptLab::DEAD_NET6);
    let ports = "22,80,443,1000";
    let args = ["-n", "-sT", "-Pn", "-T4", "-oX", "-", "-p", ports];
    // 2001:db8:4::8 - ::f, the target's link address, and a dead address.
    let v6 = nmap_in(
        &lab,
        &[
            &["-6"],
            &args[..],
            &["2001:db8:4::8/125", ScriptLab::TARGET_ADDR6],
        ]
        .concat(),
    );
    let mut tables = nmap_tables(&v6);
    let expected = truth(&LISTEN, &SCANNED);
    let mut want: Vec<String> = cidr_addresses6("2001:db8:4::8/125")
        .iter()
        .map(ToString::to_string)
        .collect();
    want.push(ScriptLab::TARGET_ADDR6.to_string());
    for addr in &want {
        let table = tables.remove(addr);
        assert_eq!(table.as_ref(), Some(&expected), "{addr}\n{}", describe(&v6));
    }
    assert!(tables.is_empty(), "unexpected hosts {tables:?}");
    // The same ports over IPv4 give the same table.
    let v4 = nmap_in(&lab, &[&args[..], &["198.18.4.8"]].concat());
    assert_eq!(nmap_tables(&v4).get("198.18.4.8"), Some(&expected));
    // The dead net: every port filtered.
    let dead = nmap_in(
        &lab,
        &[
            "-6",
            "-n",
            "-sT",
            "-Pn",
            "-T4",
            "--max-retries",
            "1",
            "-oX",
            "-",
            "-p",
            "80,443",
            "2001:db8:2::9",
        ],
    );
    let filtered = BTreeMap::from([80, 443].map(|p| (p, "filtered".to_string())));
    assert_eq!(nmap_tables(&dead).get("2001:db8:2::9"), Some(&filtered));
}

#[test]
fn script_lab_ipv6_side_leaves_nothing_behind() {
    let Some(lab) = ScriptLab::up("198.18.4.0/30", &[22], 0) else {
        return;
    };
    if !lab.require_ipv6() {
        return;
    }
    let (s, t) = (lab.scan_ns.clone(), lab.target_ns.clone());
    let (si, ti) = (lab.scan_if.clone(), lab.target_if.clone());
    assert_eq!(
        ipv6_addresses(&lab, Side::Scanner, &si),
        [format!("{}/64", ScriptLab::SCAN_ADDR6)]
    );
    assert_eq!(
        ipv6_addresses(&lab, Side::Target, &ti),
        [format!("{}/64", ScriptLab::TARGET_ADDR6)]
    );
    assert!(interface_exists(Some(&s), &si) && interface_exists(Some(&t), &ti));
    let ns = lab.netns_path(Side::Scanner);
    assert_eq!(connect_from(&ns, "2001:db8:4::3ff", 22), Connect::Accepted);
    drop(lab);
    let left = namespaces();
    assert!(
        !left.contains(&s) && !left.contains(&t),
        "left behind: {left:?}"
    );
    assert!(!interface_exists(None, &si) && !interface_exists(None, &ti));
}
