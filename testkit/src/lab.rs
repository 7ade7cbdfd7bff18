//! The namespace labs: a scanner namespace and a target namespace joined by
//! a veth pair, in two flavours that share everything but how they are built:
//!
//! - [`Lab`], built here with `ip` (two addresses, extra target addresses on
//!   request, a dead net);
//! - [`ScriptLab`], built by `scripts/lab` (see benchmarks/LAB.md), where every
//!   address of a routed prefix answers.
//!
//! Both remove everything they created on drop, also when the test fails,
//! and kill the child processes they adopted first. Names are unique per
//! process and lab, so labs of parallel tests never collide and the same
//! 198.18.x and 2001:db8:x addresses are reused in every lab.
//!
//! Both are dual-stack when the kernel has IPv6: beside the IPv4 plan, the
//! link carries 2001:db8::1 (scanner) and 2001:db8::2 (target), and the
//! target owns every address of 2001:db8:4::/118 (a `local` route on its
//! loopback). Listeners the labs start answer on the same ports on both
//! families, so a test's truth does not depend on the family. Without IPv6
//! the IPv4 side is built alone; IPv6 tests ask `require_ipv6` first.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use crate::netns;
use crate::prereq::{missing, require_root, require_tool};
use crate::process::{describe, kill, run, run_teardown, run_timeout};

/// Which end of a lab a command runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Scanner,
    Target,
}

/// What both lab flavours offer: commands in either namespace.
pub trait Namespaces {
    /// The namespace of `side`.
    fn ns(&self, side: Side) -> &str;

    /// `ip netns exec <ns> <program>`; add arguments to the returned command.
    fn cmd(&self, side: Side, program: &str) -> Command {
        netns::cmd(self.ns(side), program)
    }

    /// Run a command in a namespace (bounded) and assert success.
    fn ok(&self, side: Side, argv: &[&str]) -> Output {
        netns::ok(self.ns(side), argv)
    }

    /// Path of the namespace's handle, for [`netns::NetnsGuard`].
    fn netns_path(&self, side: Side) -> String {
        netns::path(self.ns(side))
    }
}

/// Child processes a lab keeps (listeners); killed when it is dropped.
#[derive(Debug, Default)]
struct Children(Mutex<Vec<Child>>);

impl Children {
    fn adopt(&self, child: Child) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(child);
    }

    fn kill_all(&self) {
        let children = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        children.into_iter().for_each(kill);
    }
}

static LAB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// The kernel has IPv6 (not booted with `ipv6.disable=1`).
pub fn kernel_has_ipv6() -> bool {
    std::path::Path::new("/proc/sys/net/ipv6").exists()
}

/// A command line split at spaces (lab names and addresses have none).
fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

/// `ip` arguments for the sysctls that make `iface` in `ns` an IPv6 host:
/// IPv6 on, no forwarding, no router advertisements or solicitations (the
/// link carries only what tests send), no duplicate address detection (a
/// tentative address is unusable for about a second).
fn ipv6_sysctls(ns: &str, iface: &str) -> Vec<String> {
    let conf = format!("net.ipv6.conf.{iface}");
    words(&format!(
        "netns exec {ns} sysctl -qw net.ipv6.conf.all.disable_ipv6=0 \
         net.ipv6.conf.default.disable_ipv6=0 net.ipv6.conf.all.forwarding=0 \
         {conf}.disable_ipv6=0 {conf}.forwarding=0 {conf}.accept_ra=0 \
         {conf}.router_solicitations=0 {conf}.accept_dad=0"
    ))
}

/// The MAC address of `iface` in namespace `ns`.
fn mac_of(ns: &str, iface: &str) -> String {
    let path = format!("/sys/class/net/{iface}/address");
    let out = netns::ok(ns, &["cat", &path]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Run `ip <step>` for each step; the first that fails is printed with its
/// output and returned as `ip ... failed`.
fn ip_steps(steps: &[Vec<String>]) -> Result<(), String> {
    for step in steps {
        let out = run(Command::new("ip").args(step));
        if !out.status.success() {
            eprintln!("{}", describe(&out));
            return Err(format!("ip {} failed", step.join(" ")));
        }
    }
    Ok(())
}

/// The listener of [`Lab::listen`]: python3 listening on every `(address,
/// port)` (IPv6 sockets are IPv6-only, so each family has its own), for at
/// most ten minutes.
fn listener_script(addrs: &[IpAddr], port: u16) -> String {
    let list = addrs
        .iter()
        .map(|a| match a {
            IpAddr::V4(_) => format!("(socket.AF_INET,'{a}')"),
            IpAddr::V6(_) => format!("(socket.AF_INET6,'{a}')"),
        })
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "import socket,time\n\
         keep=[]\n\
         for fam,a in [{list}]:\n\
         \x20 s=socket.socket(fam,socket.SOCK_STREAM)\n\
         \x20 s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         \x20 if fam==socket.AF_INET6:\n\
         \x20   s.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,1)\n\
         \x20 s.bind((a,{port}))\n\
         \x20 s.listen(128)\n\
         \x20 keep.append(s)\n\
         time.sleep(600)\n"
    )
}

/// Two network namespaces joined by a veth pair:
///
/// ```text
///   scanner ns  [SCANNER_ADDR/30]  veth ==== veth [TARGET_ADDR/30]   target ns
///               [SCANNER_ADDR6/64]                [TARGET_ADDR6/64]
///   routes: EXTRA_NET/24 and DEAD_NET/24 via TARGET_ADDR;
///           EXTRA_NET6, DEAD_NET6 and LOCAL_NET6 via TARGET_ADDR6
///   target: local LOCAL_NET6 dev lo; blackhole EXTRA_NET6, DEAD_NET6
/// ```
///
/// The target owns the addresses of `EXTRA_NET` and `EXTRA_NET6` it is
/// given with [`Lab::add_target_address`], and every address of
/// `LOCAL_NET6`; packets for any other address in those nets are dropped
/// silently by the target (it does not forward; for IPv6 a blackhole route
/// does it, as a host without a route would answer "no route" instead).
/// The IPv6 side exists when [`Lab::has_ipv6`].
#[derive(Debug)]
pub struct Lab {
    pub scanner_ns: String,
    pub target_ns: String,
    pub scanner_if: String,
    pub target_if: String,
    ipv6: bool,
    children: Children,
}

impl Lab {
    pub const SCANNER_ADDR: &'static str = "198.18.0.1";
    pub const TARGET_ADDR: &'static str = "198.18.0.2";
    /// Addresses the target can own (on its loopback device), routed via it.
    pub const EXTRA_NET: &'static str = "198.18.1.0/24";
    /// Routed via the target, owned by nobody: probes vanish without answer.
    pub const DEAD_NET: &'static str = "198.18.2.0/24";
    /// The scanner's IPv6 address on the link (2001:db8::/64).
    pub const SCANNER_ADDR6: &'static str = "2001:db8::1";
    /// The target's IPv6 address on the link, the scanner's gateway.
    pub const TARGET_ADDR6: &'static str = "2001:db8::2";
    /// The link between the two namespaces.
    pub const LINK_NET6: &'static str = "2001:db8::/64";
    /// IPv6 addresses the target can own ([`Lab::add_target_address`]).
    pub const EXTRA_NET6: &'static str = "2001:db8:1::/64";
    /// IPv6 twin of `DEAD_NET`: routed via the target, which drops it.
    pub const DEAD_NET6: &'static str = "2001:db8:2::/64";
    /// Every one of these 1,024 addresses is the target's own.
    pub const LOCAL_NET6: &'static str = "2001:db8:4::/118";

    /// Create the lab; None (after a loud skip, a failure under CI) without
    /// root or `ip`.
    pub fn new() -> Option<Lab> {
        if !require_root() || !require_tool("ip") {
            return None;
        }
        let n = LAB_COUNTER.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let lab = Lab {
            scanner_ns: format!("prtip-t-{pid}-{n}-s"),
            target_ns: format!("prtip-t-{pid}-{n}-t"),
            // Interface names are limited to 15 bytes: "pt" + pid (<= 7) + "-" + n + side.
            scanner_if: format!("pt{pid}-{n}s"),
            target_if: format!("pt{pid}-{n}t"),
            ipv6: kernel_has_ipv6(),
            children: Children::default(),
        };
        assert!(lab.scanner_if.len() <= 15 && lab.target_if.len() <= 15);
        let (s, t) = (lab.scanner_ns.clone(), lab.target_ns.clone());
        let (si, ti) = (lab.scanner_if.clone(), lab.target_if.clone());
        let (s, t, si, ti) = (s.as_str(), t.as_str(), si.as_str(), ti.as_str());
        let scanner_cidr = format!("{}/30", Lab::SCANNER_ADDR);
        let target_cidr = format!("{}/30", Lab::TARGET_ADDR);
        let via = Lab::TARGET_ADDR;
        let create: [&[&str]; 3] = [
            &["netns", "add", s],
            &["netns", "add", t],
            &[
                "link", "add", si, "netns", s, "type", "veth", "peer", "name", ti, "netns", t,
            ],
        ];
        let configure: [&[&str]; 8] = [
            &["-n", s, "addr", "add", &scanner_cidr, "dev", si],
            &["-n", t, "addr", "add", &target_cidr, "dev", ti],
            &["-n", s, "link", "set", "lo", "up"],
            &["-n", t, "link", "set", "lo", "up"],
            &["-n", s, "link", "set", si, "up"],
            &["-n", t, "link", "set", ti, "up"],
            &["-n", s, "route", "add", Lab::EXTRA_NET, "via", via],
            &["-n", s, "route", "add", Lab::DEAD_NET, "via", via],
        ];
        // The IPv6 sysctls go before the links are up, so that not even the
        // link-local addresses wait for duplicate address detection.
        let sysctls = if lab.ipv6 {
            vec![ipv6_sysctls(s, si), ipv6_sysctls(t, ti)]
        } else {
            Vec::new()
        };
        let owned = |steps: &[&[&str]]| -> Vec<Vec<String>> {
            steps
                .iter()
                .map(|step| step.iter().map(|a| a.to_string()).collect())
                .collect()
        };
        let steps = [owned(&create), sysctls, owned(&configure)].concat();
        // From here on Drop cleans up whatever was created.
        if let Err(failed) = ip_steps(&steps) {
            drop(lab);
            missing(&format!("network namespaces ({failed})"));
            return None;
        }
        // Make sure the target does not forward (silent drop of DEAD_NET).
        lab.ok(Side::Target, &["sysctl", "-qw", "net.ipv4.ip_forward=0"]);
        if lab.ipv6 {
            if let Err(failed) = ip_steps(&lab.ipv6_steps()) {
                drop(lab);
                missing(&format!("network namespaces, IPv6 side ({failed})"));
                return None;
            }
        }
        Some(lab)
    }

    /// The `ip` steps of the IPv6 side after its sysctls (see the type's
    /// picture).
    fn ipv6_steps(&self) -> Vec<Vec<String>> {
        let (s, t) = (self.scanner_ns.as_str(), self.target_ns.as_str());
        let (si, ti) = (self.scanner_if.as_str(), self.target_if.as_str());
        let (smac, tmac) = (mac_of(s, si), mac_of(t, ti));
        let (scanner, via) = (Lab::SCANNER_ADDR6, Lab::TARGET_ADDR6);
        let (extra, dead, local) = (Lab::EXTRA_NET6, Lab::DEAD_NET6, Lab::LOCAL_NET6);
        [
            format!("-n {s} -6 addr add {scanner}/64 dev {si} nodad"),
            format!("-n {t} -6 addr add {via}/64 dev {ti} nodad"),
            format!("-n {s} -6 route add {extra} via {via}"),
            format!("-n {s} -6 route add {dead} via {via}"),
            format!("-n {s} -6 route add {local} via {via}"),
            format!("-n {t} -6 route add local {local} dev lo"),
            format!("-n {t} -6 route add blackhole {extra}"),
            format!("-n {t} -6 route add blackhole {dead}"),
            // Static neighbours: no neighbour discovery in any test's path.
            format!("-n {s} -6 neigh replace {via} lladdr {tmac} dev {si} nud permanent"),
            format!("-n {t} -6 neigh replace {scanner} lladdr {smac} dev {ti} nud permanent"),
        ]
        .iter()
        .map(|line| words(line))
        .collect()
    }

    /// The lab has its IPv6 side (the kernel has IPv6).
    pub fn has_ipv6(&self) -> bool {
        self.ipv6
    }

    /// True when the lab has IPv6; otherwise skip loudly (panic under CI).
    pub fn require_ipv6(&self) -> bool {
        self.ipv6 || missing("IPv6 in the kernel")
    }

    /// Give the target one more address (on its loopback device): an IPv4
    /// address as a /32, an IPv6 address as a /128 (without duplicate
    /// address detection, so it is usable at once).
    pub fn add_target_address(&self, addr: &str) {
        match addr.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => {
                let cidr = format!("{addr}/128");
                let argv = ["ip", "-6", "addr", "add", &cidr, "dev", "lo", "nodad"];
                self.ok(Side::Target, &argv);
            }
            _ => {
                let cidr = format!("{addr}/32");
                self.ok(Side::Target, &["ip", "addr", "add", &cidr, "dev", "lo"]);
            }
        }
    }

    /// The IPv6 address that mirrors the IPv4 address `addr` in this lab:
    /// `0.0.0.0` -> `::`, `TARGET_ADDR` -> `TARGET_ADDR6`, `198.18.1.N`
    /// (`EXTRA_NET`) -> `2001:db8:1::N` (`EXTRA_NET6`); None for any other.
    pub fn twin6(addr: Ipv4Addr) -> Option<Ipv6Addr> {
        let [a, b, c, host] = addr.octets();
        if addr.is_unspecified() {
            Some(Ipv6Addr::UNSPECIFIED)
        } else if addr.to_string() == Lab::TARGET_ADDR {
            Lab::TARGET_ADDR6.parse().ok()
        } else if [a, b, c] == [198, 18, 1] {
            Some(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, host.into()))
        } else {
            None
        }
    }

    /// Keep a child process; it is killed when the lab is dropped.
    pub fn adopt(&self, child: Child) {
        self.children.adopt(child);
    }

    /// A TCP listener (python3) on `addr:port` in the target namespace, and
    /// on the IPv6 twin of `addr` ([`Lab::twin6`]) when the lab has IPv6, so
    /// both families see the same open ports; `addr` may be IPv6 itself.
    /// Ready on return; it lives until the lab is dropped (at most ten
    /// minutes).
    pub fn listen(&self, addr: &str, port: u16) {
        let ip: IpAddr = addr.parse().expect("an IP address to listen on");
        let twin = match ip {
            IpAddr::V4(v4) if self.ipv6 => Lab::twin6(v4).map(IpAddr::V6),
            _ => None,
        };
        // The twin first: once `addr` listens, every socket does.
        let addrs: Vec<IpAddr> = twin.into_iter().chain([ip]).collect();
        let script = listener_script(&addrs, port);
        let child = self
            .cmd(Side::Target, "python3")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn python3 listener");
        self.adopt(child);
        let filter = format!("sport = :{port}");
        let family = if ip.is_ipv4() { "-4" } else { "-6" };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = run(self
                .cmd(Side::Target, "ss")
                .args([family, "-Htln", &filter]));
            if !String::from_utf8_lossy(&out.stdout).trim().is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "listener on {addr}:{port} in {} never came up",
                self.target_ns
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Namespaces for Lab {
    fn ns(&self, side: Side) -> &str {
        match side {
            Side::Scanner => &self.scanner_ns,
            Side::Target => &self.target_ns,
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.children.kill_all();
        // Deleting a namespace also deletes the veth end inside it (and its peer).
        for ns in [&self.scanner_ns, &self.target_ns] {
            run_teardown(
                Command::new("ip").args(["netns", "del", ns]),
                Duration::from_secs(30),
                &format!("ip netns del {ns}"),
            );
        }
    }
}

/// Every address of an IPv4 CIDR block (small blocks only), in order.
pub fn cidr_addresses(cidr: &str) -> Vec<Ipv4Addr> {
    let (addr, len) = cidr.split_once('/').expect("a/len");
    let base = u32::from(addr.parse::<Ipv4Addr>().expect("IPv4 address"));
    let len: u32 = len.parse().expect("prefix length");
    assert!((16..=32).contains(&len), "{cidr}: too large for a test");
    let n = 1u32 << (32 - len);
    (0..n).map(|i| Ipv4Addr::from(base + i)).collect()
}

/// Every address of an IPv6 CIDR block (/112 or smaller), in order, e.g.
/// the 1,024 of `Lab::LOCAL_NET6`.
pub fn cidr_addresses6(cidr: &str) -> Vec<Ipv6Addr> {
    let (addr, len) = cidr.split_once('/').expect("a/len");
    let base = u128::from(addr.parse::<Ipv6Addr>().expect("IPv6 address"));
    let len: u32 = len.parse().expect("prefix length");
    assert!((112..=128).contains(&len), "{cidr}: too large for a test");
    let n = 1u128 << (128 - len);
    assert_eq!(base % n, 0, "{cidr}: host bits set");
    (0..n).map(|i| Ipv6Addr::from(base + i)).collect()
}

static SCRIPT_LAB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A lab built by `scripts/lab` (see benchmarks/LAB.md) under a `LAB_NAME`
/// unique to this process and call, so tests can run labs in parallel:
///
/// ```text
///   <name>-scan  [198.18.0.1/30] <name>-s0 ==== <name>-t0 [198.18.0.2/30]  <name>-target
///                [2001:db8::1/64]                        [2001:db8::2/64]
///   route <prefix> via 198.18.0.2                local <prefix> dev lo (every address answers)
///   route PREFIX6 via 2001:db8::2                local PREFIX6 dev lo
///                                                python listener on `ports` (0.0.0.0 and ::)
/// ```
///
/// Nothing else is routed in the scan namespace (no default route); see
/// [`ScriptLab::route_dead`]. The IPv6 side exists when `prefix6` is set
/// (the kernel has IPv6). `scripts/lab down` runs on drop.
#[derive(Debug)]
pub struct ScriptLab {
    pub name: String,
    pub scan_ns: String,
    pub target_ns: String,
    pub scan_if: String,
    pub target_if: String,
    pub prefix: String,
    /// [`ScriptLab::PREFIX6`], or None without IPv6.
    pub prefix6: Option<String>,
    pub ports: Vec<u16>,
    children: Children,
}

impl ScriptLab {
    /// The scanner's address on the lab link.
    pub const SCAN_ADDR: &'static str = "198.18.0.1";
    /// The target's address on the lab link (the gateway to the prefix).
    pub const TARGET_ADDR: &'static str = "198.18.0.2";
    /// The scanner's IPv6 address on the lab link (2001:db8::/64).
    pub const SCAN_ADDR6: &'static str = "2001:db8::1";
    /// The target's IPv6 address on the lab link (the gateway to `PREFIX6`).
    pub const TARGET_ADDR6: &'static str = "2001:db8::2";
    /// The IPv6 prefix every address of which answers (`scripts/lab`'s
    /// default `--prefix6`): 1,024 addresses.
    pub const PREFIX6: &'static str = "2001:db8:4::/118";
    /// An IPv6 net for [`ScriptLab::route_dead`] (not routed until then).
    pub const DEAD_NET6: &'static str = "2001:db8:2::/64";

    /// `scripts/lab` of this repository.
    pub fn script() -> std::path::PathBuf {
        crate::repo_path("scripts/lab")
    }

    /// `scripts/lab up --prefix <prefix> --ports <ports> --loss <loss>`;
    /// None (after a loud skip, a failure under CI) without root, `ip` or
    /// `python3`, or when the script fails.
    pub fn up(prefix: &str, ports: &[u16], loss: u32) -> Option<ScriptLab> {
        if !require_root() || !require_tool("ip") || !require_tool("python3") {
            return None;
        }
        let n = SCRIPT_LAB_COUNTER.fetch_add(1, Ordering::SeqCst);
        // At most 12 characters: "ps" + pid (<= 7 digits) + "-" + n (< 100).
        let name = format!("ps{}-{n}", std::process::id());
        assert!(name.len() <= 12, "lab name {name} too long");
        let lab = ScriptLab {
            scan_ns: format!("{name}-scan"),
            target_ns: format!("{name}-target"),
            scan_if: format!("{name}-s0"),
            target_if: format!("{name}-t0"),
            prefix: prefix.to_string(),
            prefix6: kernel_has_ipv6().then(|| Self::PREFIX6.to_string()),
            ports: ports.to_vec(),
            name,
            children: Children::default(),
        };
        let csv = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let loss = loss.to_string();
        // From here on Drop runs `scripts/lab down`, whatever happens.
        let out = run_timeout(
            Command::new(Self::script())
                .env("LAB_NAME", &lab.name)
                .args(["up", "--prefix", prefix, "--ports", &csv, "--loss", &loss]),
            Duration::from_secs(90),
        );
        if !out.status.success() {
            eprintln!("{}", describe(&out));
            drop(lab);
            missing("network namespaces (scripts/lab up failed)");
            return None;
        }
        Some(lab)
    }

    /// Route `cidr` (inside 198.18.0.0/15 or 2001:db8::/32, outside the lab
    /// prefixes) from the scan namespace to the target, which owns none of
    /// it and does not forward: probes to it vanish without an answer (a
    /// "down" host).
    pub fn route_dead(&self, cidr: &str) {
        if cidr.contains(':') {
            return self.route_dead6(cidr);
        }
        assert!(cidr.starts_with("198.18.") || cidr.starts_with("198.19."));
        self.ok(Side::Target, &["sysctl", "-qw", "net.ipv4.ip_forward=0"]);
        self.ok(
            Side::Scanner,
            &["ip", "route", "add", cidr, "via", Self::TARGET_ADDR],
        );
    }

    /// [`ScriptLab::route_dead`] for IPv6. An IPv6 host without a route
    /// answers "no route" (ICMPv6), so the target gets a blackhole route.
    fn route_dead6(&self, cidr: &str) {
        assert!(
            cidr.starts_with("2001:db8:"),
            "{cidr}: not in 2001:db8::/32"
        );
        assert!(
            self.prefix6.is_some(),
            "{}: the lab has no IPv6 side",
            self.name
        );
        self.ok(
            Side::Target,
            &["ip", "-6", "route", "add", "blackhole", cidr],
        );
        let via = Self::TARGET_ADDR6;
        self.ok(
            Side::Scanner,
            &["ip", "-6", "route", "add", cidr, "via", via],
        );
    }

    /// True when the lab has its IPv6 side; otherwise skip loudly (panic
    /// under CI).
    pub fn require_ipv6(&self) -> bool {
        self.prefix6.is_some() || missing("IPv6 in the kernel")
    }

    /// Keep a child process; it is killed when the lab is dropped.
    pub fn adopt(&self, child: Child) {
        self.children.adopt(child);
    }

    /// A UDP echo server on `ports` of every address of the prefix (see
    /// [`udp_echo`]), ready on return, killed with the lab.
    pub fn udp_echo(&self, ports: &[u16]) {
        udp_echo(self, ports, |c| self.adopt(c));
    }
}

/// A UDP echo server (python3) in the target namespace of `lab`, on `ports`
/// of every local address, IPv4 and (when the kernel has it) IPv6: each
/// datagram goes back to its sender, with the same bytes (so echoed IDs
/// match), from the address it was sent to. A server bound to 0.0.0.0 (or
/// ::) would answer from the namespace's primary address, which no scanner
/// accepts as the probed host's answer, so the reply's source is set from
/// IP_PKTINFO (IPV6_PKTINFO). The server goes to `keep` (which should make
/// sure it is killed, as [`Lab::adopt`] does); ready on return; lives at
/// most ten minutes.
pub fn udp_echo(lab: &impl Namespaces, ports: &[u16], keep: impl FnOnce(Child)) {
    udp_echo_for(lab, ports, Duration::from_secs(600), keep);
}

/// [`udp_echo`] that lives at most `lifetime` (benchmarks outlast a test).
pub fn udp_echo_for(
    lab: &impl Namespaces,
    ports: &[u16],
    lifetime: Duration,
    keep: impl FnOnce(Child),
) {
    let list = ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let secs = lifetime.as_secs();
    // The IPv6 sockets are IPv6-only and bound first, so that once the last
    // IPv4 socket is seen bound, all are. in_pktinfo is ifindex, local
    // address, destination (4 + 4 + 4 bytes); in6_pktinfo is address,
    // ifindex (16 + 4). IPv6 accepts a source in IPV6_PKTINFO only if it is
    // an interface address, which those of a `local` route are not, unless
    // the socket is "freebind".
    let script = format!(
        "import socket,select,time\n\
         IP_PKTINFO=8\n\
         V6=socket.IPPROTO_IPV6\n\
         socks=[]\n\
         IPV6_FREEBIND=78\n\
         for p in [{list}]:\n\
         \x20 try:\n\
         \x20   s=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM)\n\
         \x20   s.setsockopt(V6,socket.IPV6_V6ONLY,1)\n\
         \x20   s.setsockopt(V6,socket.IPV6_RECVPKTINFO,1)\n\
         \x20   s.setsockopt(V6,IPV6_FREEBIND,1)\n\
         \x20   s.bind(('::',p))\n\
         \x20   socks.append(s)\n\
         \x20 except OSError:\n\
         \x20   pass\n\
         for p in [{list}]:\n\
         \x20 s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
         \x20 s.setsockopt(socket.SOL_IP,IP_PKTINFO,1)\n\
         \x20 s.bind(('0.0.0.0',p))\n\
         \x20 socks.append(s)\n\
         end=time.time()+{secs}\n\
         while time.time()<end:\n\
         \x20 r,_,_=select.select(socks,[],[],1)\n\
         \x20 for s in r:\n\
         \x20   d,anc,_,a=s.recvmsg(4096,256)\n\
         \x20   info=[c for c in anc if c[0]==socket.SOL_IP and c[1]==IP_PKTINFO]\n\
         \x20   info6=[c for c in anc if c[0]==V6 and c[1]==socket.IPV6_PKTINFO]\n\
         \x20   if info:\n\
         \x20     dst=info[0][2][8:12]\n\
         \x20     reply=[(socket.SOL_IP,IP_PKTINFO,b'\\0\\0\\0\\0'+dst+dst)]\n\
         \x20     s.sendmsg([d],reply,0,a)\n\
         \x20   elif info6:\n\
         \x20     dst=info6[0][2][:16]\n\
         \x20     reply=[(V6,socket.IPV6_PKTINFO,dst+b'\\0\\0\\0\\0')]\n\
         \x20     s.sendmsg([d],reply,0,a)\n\
         \x20   else:\n\
         \x20     s.sendto(d,a)\n"
    );
    let child = lab
        .cmd(Side::Target, "python3")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the UDP echo server");
    keep(child);
    let last = ports.last().copied().unwrap_or(0);
    let filter = format!("sport = :{last}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = run(lab.cmd(Side::Target, "ss").args(["-4", "-Huln", &filter]));
        if !String::from_utf8_lossy(&out.stdout).trim().is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the UDP echo server on {list} never came up"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

impl Namespaces for ScriptLab {
    fn ns(&self, side: Side) -> &str {
        match side {
            Side::Scanner => &self.scan_ns,
            Side::Target => &self.target_ns,
        }
    }
}

impl Drop for ScriptLab {
    fn drop(&mut self) {
        self.children.kill_all();
        run_teardown(
            Command::new(Self::script())
                .env("LAB_NAME", &self.name)
                .arg("down"),
            Duration::from_secs(60),
            &format!("scripts/lab down for {}", self.name),
        );
    }
}
