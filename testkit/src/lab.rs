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
//! 198.18.x addresses are reused in every lab.

use std::net::Ipv4Addr;
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

/// Two network namespaces joined by a veth pair:
///
/// ```text
///   scanner ns  [SCANNER_ADDR/30] veth ==== veth [TARGET_ADDR/30]  target ns
///   routes: EXTRA_NET/24 and DEAD_NET/24 via TARGET_ADDR
/// ```
///
/// The target owns the addresses of `EXTRA_NET` it is given with
/// [`Lab::add_target_address`]; packets for any other address in those /24s
/// are dropped silently by the target (it does not forward).
#[derive(Debug)]
pub struct Lab {
    pub scanner_ns: String,
    pub target_ns: String,
    pub scanner_if: String,
    pub target_if: String,
    children: Children,
}

impl Lab {
    pub const SCANNER_ADDR: &'static str = "198.18.0.1";
    pub const TARGET_ADDR: &'static str = "198.18.0.2";
    /// Addresses the target can own (on its loopback device), routed via it.
    pub const EXTRA_NET: &'static str = "198.18.1.0/24";
    /// Routed via the target, owned by nobody: probes vanish without answer.
    pub const DEAD_NET: &'static str = "198.18.2.0/24";

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
            children: Children::default(),
        };
        assert!(lab.scanner_if.len() <= 15 && lab.target_if.len() <= 15);
        let (s, t) = (lab.scanner_ns.clone(), lab.target_ns.clone());
        let (si, ti) = (lab.scanner_if.clone(), lab.target_if.clone());
        let (s, t, si, ti) = (s.as_str(), t.as_str(), si.as_str(), ti.as_str());
        let scanner_cidr = format!("{}/30", Lab::SCANNER_ADDR);
        let target_cidr = format!("{}/30", Lab::TARGET_ADDR);
        let via = Lab::TARGET_ADDR;
        let steps: [&[&str]; 11] = [
            &["netns", "add", s],
            &["netns", "add", t],
            &[
                "link", "add", si, "netns", s, "type", "veth", "peer", "name", ti, "netns", t,
            ],
            &["-n", s, "addr", "add", &scanner_cidr, "dev", si],
            &["-n", t, "addr", "add", &target_cidr, "dev", ti],
            &["-n", s, "link", "set", "lo", "up"],
            &["-n", t, "link", "set", "lo", "up"],
            &["-n", s, "link", "set", si, "up"],
            &["-n", t, "link", "set", ti, "up"],
            &["-n", s, "route", "add", Lab::EXTRA_NET, "via", via],
            &["-n", s, "route", "add", Lab::DEAD_NET, "via", via],
        ];
        // From here on Drop cleans up whatever was created.
        for step in steps {
            let out = run(Command::new("ip").args(step));
            if !out.status.success() {
                let what = format!("network namespaces (ip {} failed)", step.join(" "));
                eprintln!("{}", describe(&out));
                drop(lab);
                missing(&what);
                return None;
            }
        }
        // Make sure the target does not forward (silent drop of DEAD_NET).
        lab.ok(Side::Target, &["sysctl", "-qw", "net.ipv4.ip_forward=0"]);
        Some(lab)
    }

    /// Give the target one more address (on its loopback device).
    pub fn add_target_address(&self, addr: &str) {
        let cidr = format!("{addr}/32");
        self.ok(Side::Target, &["ip", "addr", "add", &cidr, "dev", "lo"]);
    }

    /// Keep a child process; it is killed when the lab is dropped.
    pub fn adopt(&self, child: Child) {
        self.children.adopt(child);
    }

    /// A TCP listener (python3) on `addr:port` in the target namespace, ready
    /// on return; it lives until the lab is dropped (at most ten minutes).
    pub fn listen(&self, addr: &str, port: u16) {
        let script = format!(
            "import socket,time\n\
             s=socket.socket(socket.AF_INET,socket.SOCK_STREAM)\n\
             s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
             s.bind(('{addr}',{port}))\n\
             s.listen(128)\n\
             time.sleep(600)\n"
        );
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
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = run(self.cmd(Side::Target, "ss").args(["-Htln", &filter]));
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

static SCRIPT_LAB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A lab built by `scripts/lab` (see benchmarks/LAB.md) under a `LAB_NAME`
/// unique to this process and call, so tests can run labs in parallel:
///
/// ```text
///   <name>-scan  [198.18.0.1/30] <name>-s0 ==== <name>-t0 [198.18.0.2/30]  <name>-target
///   route <prefix> via 198.18.0.2                local <prefix> dev lo (every address answers)
///                                                python listener on `ports` (0.0.0.0)
/// ```
///
/// Nothing else is routed in the scan namespace (no default route); see
/// [`ScriptLab::route_dead`]. `scripts/lab down` runs on drop.
#[derive(Debug)]
pub struct ScriptLab {
    pub name: String,
    pub scan_ns: String,
    pub target_ns: String,
    pub scan_if: String,
    pub target_if: String,
    pub prefix: String,
    pub ports: Vec<u16>,
    children: Children,
}

impl ScriptLab {
    /// The scanner's address on the lab link.
    pub const SCAN_ADDR: &'static str = "198.18.0.1";
    /// The target's address on the lab link (the gateway to the prefix).
    pub const TARGET_ADDR: &'static str = "198.18.0.2";

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

    /// Route `cidr` (inside 198.18.0.0/15, outside the lab prefix) from the
    /// scan namespace to the target, which owns none of it and does not
    /// forward: probes to it vanish without an answer (a "down" host).
    pub fn route_dead(&self, cidr: &str) {
        assert!(cidr.starts_with("198.18.") || cidr.starts_with("198.19."));
        self.ok(Side::Target, &["sysctl", "-qw", "net.ipv4.ip_forward=0"]);
        self.ok(
            Side::Scanner,
            &["ip", "route", "add", cidr, "via", Self::TARGET_ADDR],
        );
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
/// of every local address: each datagram goes back to its sender, with the
/// same bytes (so echoed IDs match), from the address it was sent to. A
/// server bound to 0.0.0.0 would answer from the namespace's primary
/// address, which no scanner accepts as the probed host's answer, so the
/// reply's source is set from IP_PKTINFO. The server goes to `keep` (which
/// should make sure it is killed, as [`Lab::adopt`] does); ready on
/// return; lives at most ten minutes.
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
    let script = format!(
        "import socket,select,time\n\
         IP_PKTINFO=8\n\
         socks=[]\n\
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
         \x20   if info:\n\
         \x20     ifindex=info[0][2][:4]\n\
         \x20     dst=info[0][2][8:12]\n\
         \x20     reply=[(socket.SOL_IP,IP_PKTINFO,b'\\0\\0\\0\\0'+dst+dst)]\n\
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
        let out = run(lab.cmd(Side::Target, "ss").args(["-Huln", &filter]));
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
