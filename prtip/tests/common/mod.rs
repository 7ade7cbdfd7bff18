//! Helpers shared by the integration tests that run the real `prtip` binary:
//! a command builder, bounded process runs, prerequisite checks that skip
//! loudly (or fail under `CI=true`), tiny XML/ss parsers, and a
//! network-namespace lab fixture.
//!
//! Network safety: the lab only ever uses 198.18.0.0/15 inside namespaces it
//! created itself, and everything it creates is removed in `Drop`.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Longest time any single child process may run before it is killed.
pub const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

/// nmap's DTD, used to validate our XML.
pub const NMAP_DTD: &str = "/usr/share/nmap/nmap.dtd";

/// A `Command` for the binary under test.
pub fn prtip() -> Command {
    Command::new(env!("CARGO_BIN_EXE_prtip"))
}

/// Path of the binary under test (for `ip netns exec ... <prtip>`).
pub fn prtip_path() -> &'static str {
    env!("CARGO_BIN_EXE_prtip")
}

fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// A prerequisite is missing: fail under CI, otherwise print a loud skip line.
fn missing(what: &str) -> bool {
    assert!(
        !in_ci(),
        "CI=true but a prerequisite is missing: {what} (a skip is a failure under CI)"
    );
    // Written to the stderr handle, not with eprintln!, so that libtest's
    // output capture does not hide the skip in a passing run.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED (needs {what}): {}",
        thread::current().name().unwrap_or("?")
    );
    false
}

/// True when `tool` can be executed; otherwise skip loudly (panic under CI).
pub fn require(tool: &str) -> bool {
    let found = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let p = dir.join(tool);
            std::fs::metadata(&p).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
        })
    });
    if found {
        true
    } else {
        missing(tool)
    }
}

/// True when `path` exists; otherwise skip loudly (panic under CI).
pub fn require_file(path: &str) -> bool {
    if std::path::Path::new(path).exists() {
        true
    } else {
        missing(path)
    }
}

/// True when running as root (needed for namespaces and firewall rules).
pub fn require_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        true
    } else {
        missing("root")
    }
}

/// Spawn `cmd` with captured output and wait at most `timeout`; on timeout the
/// child is killed and the test panics.
pub fn run_timeout(cmd: &mut Command, timeout: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {cmd:?}: {e}"));
    wait_output(child, timeout, &format!("{cmd:?}"))
}

/// Run with the default timeout.
pub fn run(cmd: &mut Command) -> Output {
    run_timeout(cmd, CHILD_TIMEOUT)
}

/// Wait for a spawned child (stdout/stderr piped) with a bound; kill on timeout.
pub fn wait_output(mut child: Child, timeout: Duration, what: &str) -> Output {
    let out_reader = child.stdout.take().map(reader_thread);
    let err_reader = child.stderr.take().map(reader_thread);
    let status = wait_status(&mut child, timeout);
    let stdout = out_reader.map_or_else(Vec::new, |h| h.join().unwrap_or_default());
    let stderr = err_reader.map_or_else(Vec::new, |h| h.join().unwrap_or_default());
    match status {
        Some(status) => Output {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "{what} did not finish within {timeout:?} and was killed\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    }
}

/// Poll `child` until it exits or `timeout` passes (then kill it and return None).
pub fn wait_status(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

fn reader_thread<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// stdout and stderr as text, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A server on an ephemeral 127.0.0.1 port for tests that play a service:
/// its accept loop runs on a thread of its own until `stop` is set, and each
/// connection (made blocking again) goes to `handle` on a thread of its own.
/// Returns the port.
pub fn serve_loopback<F>(stop: Arc<AtomicBool>, handle: F) -> u16
where
    F: Fn(TcpStream) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    let handle = Arc::new(handle);
    thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((s, _)) => {
                    let _ = s.set_nonblocking(false);
                    let handle = Arc::clone(&handle);
                    thread::spawn(move || handle(s));
                }
                Err(_) => thread::sleep(Duration::from_millis(2)),
            }
        }
    });
    port
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("prtip-test-")
        .tempdir()
        .expect("create a temporary directory")
}

/// `xmllint --noout [--dtdvalid nmap.dtd] file`; panics with the file on failure.
pub fn xmllint(path: &std::path::Path, dtd: bool) {
    let mut cmd = Command::new("xmllint");
    cmd.arg("--noout");
    if dtd {
        cmd.args(["--dtdvalid", NMAP_DTD]);
    }
    let out = run(cmd.arg(path));
    assert!(
        out.status.success(),
        "xmllint (dtd: {dtd}) rejects {}:\n{}\n--- file ---\n{}",
        path.display(),
        describe(&out),
        std::fs::read_to_string(path).unwrap_or_default()
    );
}

/// Ports opened by bound listeners (kept) and ports that were bound then
/// released (most likely closed), all on 127.0.0.1.
pub struct LoopbackPorts {
    pub listeners: Vec<TcpListener>,
    pub open: Vec<u16>,
    pub closed: Vec<u16>,
}

impl LoopbackPorts {
    pub fn new(n_open: usize, n_closed: usize) -> LoopbackPorts {
        let bind = || TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        let listeners: Vec<TcpListener> = (0..n_open).map(|_| bind()).collect();
        let open = listeners
            .iter()
            .map(|l| l.local_addr().expect("local addr").port())
            .collect();
        let closed = (0..n_closed)
            .map(|_| bind().local_addr().expect("local addr").port())
            .collect();
        LoopbackPorts {
            listeners,
            open,
            closed,
        }
    }

    /// Every port, comma-separated, for `-p`.
    pub fn spec(&self) -> String {
        self.open
            .iter()
            .chain(&self.closed)
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The expected (port, state) pairs.
    pub fn expected(&self) -> BTreeMap<u16, String> {
        self.open
            .iter()
            .map(|&p| (p, "open".to_string()))
            .chain(self.closed.iter().map(|&p| (p, "closed".to_string())))
            .collect()
    }
}

/// One `<host>` of an nmap-format XML file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlHost {
    pub addr: String,
    pub status: String,
    pub status_reason: String,
    /// port -> state
    pub ports: BTreeMap<u16, String>,
    /// port -> reason
    pub reasons: BTreeMap<u16, String>,
}

/// Value of attribute `name` in the first tag of `s`.
pub fn attr(s: &str, name: &str) -> Option<String> {
    let end = s.find('>').unwrap_or(s.len());
    let tag = &s[..end];
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let len = tag[start..].find('"')?;
    Some(tag[start..start + len].to_string())
}

/// The hosts of an nmap-format XML document (a tiny, purpose-built extraction:
/// enough for files written by nmap and prtip).
pub fn xml_hosts(xml: &str) -> Vec<XmlHost> {
    let mut hosts = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<host") {
        let after = &rest[i + 5..];
        // Skip <hostnames>, <hostname>, <hosthint>, <hosts .../>.
        if !(after.starts_with(' ') || after.starts_with('>')) {
            rest = after;
            continue;
        }
        let end = after.find("</host>").unwrap_or(after.len());
        let body = &after[..end];
        rest = &after[end..];
        let mut h = XmlHost::default();
        if let Some(j) = body.find("<status ") {
            h.status = attr(&body[j..], "state").unwrap_or_default();
            h.status_reason = attr(&body[j..], "reason").unwrap_or_default();
        }
        if let Some(j) = body.find("<address ") {
            h.addr = attr(&body[j..], "addr").unwrap_or_default();
        }
        let mut ports = body;
        while let Some(j) = ports.find("<port ") {
            let p = &ports[j..];
            let id: u16 = attr(p, "portid")
                .and_then(|v| v.parse().ok())
                .expect("portid attribute");
            let end = p.find("</port>").unwrap_or(p.len());
            if let Some(k) = p[..end].find("<state ") {
                let st = &p[k..];
                h.ports.insert(id, attr(st, "state").unwrap_or_default());
                h.reasons.insert(id, attr(st, "reason").unwrap_or_default());
            }
            ports = &p[end..];
        }
        hosts.push(h);
    }
    hosts
}

/// Read and parse an XML file, panicking with its path on error.
pub fn xml_file_hosts(path: &std::path::Path) -> (String, Vec<XmlHost>) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let hosts = xml_hosts(&text);
    (text, hosts)
}

/// `<hosts up=".." down=".." total=".."/>` of runstats.
pub fn xml_runstats_hosts(xml: &str) -> Option<(u64, u64, u64)> {
    let i = xml.find("<hosts ")?;
    let t = &xml[i..];
    let n = |k| attr(t, k).and_then(|v| v.parse().ok());
    Some((n("up")?, n("down")?, n("total")?))
}

/// `ndiff a b`: assert exit 0 and no line about a port.
pub fn ndiff_no_port_differences(a: &std::path::Path, b: &std::path::Path) {
    let out = run(Command::new("ndiff").arg(a).arg(b));
    let text = String::from_utf8_lossy(&out.stdout);
    let port_lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.trim_start_matches(['+', '-', ' '])
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
                && l.contains("/tcp")
        })
        .collect();
    assert!(
        out.status.code() == Some(0) && port_lines.is_empty(),
        "ndiff {} {} reports differences {port_lines:?}\n{}",
        a.display(),
        b.display(),
        describe(&out)
    );
}

/// TCP ports with a listener that accepts connections to 127.0.0.1, per
/// `ss -Htln` (wildcard and loopback IPv4 addresses, and dual-stack `[::]`/`*`).
pub fn ss_loopback_listeners() -> BTreeSet<u16> {
    let out = run(Command::new("ss").arg("-Htln"));
    assert!(out.status.success(), "ss failed: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let local = l.split_whitespace().nth(3)?;
            let (addr, port) = local.rsplit_once(':')?;
            let addr = addr.split('%').next().unwrap_or(addr);
            let accepts_loopback = matches!(addr, "0.0.0.0" | "*" | "[::]" | "[::ffff:0.0.0.0]")
                || addr.starts_with("127.")
                || addr.starts_with("[::ffff:127.");
            accepts_loopback.then(|| port.parse().ok()).flatten()
        })
        .collect()
}

static LAB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// `ip netns exec <ns> <program>`: shared by both lab fixtures.
fn netns_cmd(ns: &str, program: &str) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns, program]);
    c
}

/// Run `argv` in namespace `ns` and assert success.
fn netns_ok(ns: &str, argv: &[&str]) -> Output {
    let out = run(netns_cmd(ns, argv[0]).args(&argv[1..]));
    assert!(
        out.status.success(),
        "{argv:?} in {ns} failed:\n{}",
        describe(&out)
    );
    out
}

/// Which end of the lab a command runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Scanner,
    Target,
}

/// Two network namespaces joined by a veth pair:
///
/// ```text
///   scanner ns  [SCANNER_ADDR/30] veth ==== veth [TARGET_ADDR/30]  target ns
///   routes: EXTRA_NET/24 and DEAD_NET/24 via TARGET_ADDR
/// ```
///
/// The target owns the addresses of `EXTRA_NET` it is given with
/// [`Lab::add_target_address`]; packets for any other address in those /24s
/// are dropped silently by the target (it does not forward). Every name is
/// unique per process and lab, so labs of parallel tests never collide, and
/// the same 198.18.x addresses can be reused in every lab.
#[derive(Debug)]
pub struct Lab {
    pub scanner_ns: String,
    pub target_ns: String,
    pub scanner_if: String,
    pub target_if: String,
    children: Mutex<Vec<Child>>,
}

impl Lab {
    pub const SCANNER_ADDR: &'static str = "198.18.0.1";
    pub const TARGET_ADDR: &'static str = "198.18.0.2";
    /// Addresses the target can own (on its loopback device), routed via it.
    pub const EXTRA_NET: &'static str = "198.18.1.0/24";
    /// Routed via the target, owned by nobody: probes vanish without answer.
    pub const DEAD_NET: &'static str = "198.18.2.0/24";

    /// Create the lab; None (after a loud skip) without root or `ip`.
    pub fn new() -> Option<Lab> {
        if !require_root() || !require("ip") {
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
            children: Mutex::new(Vec::new()),
        };
        assert!(lab.scanner_if.len() <= 15 && lab.target_if.len() <= 15);
        let (s, t) = (lab.scanner_ns.clone(), lab.target_ns.clone());
        let (si, ti) = (lab.scanner_if.clone(), lab.target_if.clone());
        let scanner_cidr = format!("{}/30", Lab::SCANNER_ADDR);
        let target_cidr = format!("{}/30", Lab::TARGET_ADDR);
        let steps: Vec<Vec<&str>> = vec![
            vec!["netns", "add", &s],
            vec!["netns", "add", &t],
            vec![
                "link", "add", &si, "netns", &s, "type", "veth", "peer", "name", &ti, "netns", &t,
            ],
            vec!["-n", &s, "addr", "add", &scanner_cidr, "dev", &si],
            vec!["-n", &t, "addr", "add", &target_cidr, "dev", &ti],
            vec!["-n", &s, "link", "set", "lo", "up"],
            vec!["-n", &t, "link", "set", "lo", "up"],
            vec!["-n", &s, "link", "set", &si, "up"],
            vec!["-n", &t, "link", "set", &ti, "up"],
            vec![
                "-n",
                &s,
                "route",
                "add",
                Lab::EXTRA_NET,
                "via",
                Lab::TARGET_ADDR,
            ],
            vec![
                "-n",
                &s,
                "route",
                "add",
                Lab::DEAD_NET,
                "via",
                Lab::TARGET_ADDR,
            ],
        ];
        // From here on Drop cleans up whatever was created.
        for step in steps {
            let out = run(Command::new("ip").args(&step));
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

    /// `ip netns exec <ns> <program>`; add arguments to the returned command.
    pub fn cmd(&self, side: Side, program: &str) -> Command {
        netns_cmd(self.ns(side), program)
    }

    /// `prtip` inside the scanner namespace.
    pub fn prtip(&self) -> Command {
        self.cmd(Side::Scanner, prtip_path())
    }

    /// Run a command in a namespace and assert success.
    pub fn ok(&self, side: Side, argv: &[&str]) -> Output {
        netns_ok(self.ns(side), argv)
    }

    fn ns(&self, side: Side) -> &str {
        match side {
            Side::Scanner => &self.scanner_ns,
            Side::Target => &self.target_ns,
        }
    }

    /// Give the target one more address (on its loopback device).
    pub fn add_target_address(&self, addr: &str) {
        let cidr = format!("{addr}/32");
        self.ok(
            Side::Target,
            &["ip", "addr", "add", cidr.as_str(), "dev", "lo"],
        );
    }

    /// Keep a child process; it is killed when the lab is dropped.
    pub fn adopt(&self, child: Child) {
        self.children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(child);
    }

    /// A TCP listener on `addr:port` in the target namespace, ready on return.
    pub fn listen(&self, addr: &str, port: u16) {
        let script = format!(
            "import socket,time\n\
             s=socket.socket(socket.AF_INET,socket.SOCK_STREAM)\n\
             s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
             s.bind(('{addr}',{port}))\n\
             s.listen(128)\n\
             time.sleep(120)\n"
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

impl Drop for Lab {
    fn drop(&mut self) {
        let children =
            std::mem::take(&mut *self.children.lock().unwrap_or_else(|e| e.into_inner()));
        for mut c in children {
            let _ = c.kill();
            let _ = wait_status(&mut c, Duration::from_secs(5));
        }
        // Deleting a namespace also deletes the veth end inside it (and its peer).
        for ns in [&self.scanner_ns, &self.target_ns] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Per host address: state -> number of ports, counting both the listed
/// `<port>` elements and the collapsed `<extraports count="..">` of an
/// nmap-format XML document. Hosts without ports map to an empty table.
pub fn xml_state_counts(xml: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<host") {
        let after = &rest[i + 5..];
        if !(after.starts_with(' ') || after.starts_with('>')) {
            rest = after;
            continue;
        }
        let end = after.find("</host>").unwrap_or(after.len());
        let body = &after[..end];
        rest = &after[end..];
        let addr = body
            .find("<address ")
            .and_then(|j| attr(&body[j..], "addr"))
            .unwrap_or_default();
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut ports = body;
        while let Some(j) = ports.find("<state ") {
            let st = &ports[j..];
            // `<state>` of a `<port>`, not the host's `<status>`.
            if let Some(s) = attr(st, "state") {
                *counts.entry(s).or_default() += 1;
            }
            ports = &st[7..];
        }
        let mut extra = body;
        while let Some(j) = extra.find("<extraports ") {
            let e = &extra[j..];
            let state = attr(e, "state").unwrap_or_default();
            let n: u64 = attr(e, "count").and_then(|c| c.parse().ok()).unwrap_or(0);
            *counts.entry(state).or_default() += n;
            extra = &e[12..];
        }
        out.insert(addr, counts);
    }
    out
}

/// Per host address (hosts reported up only): the open ports of an XML document.
pub fn xml_open_ports(xml: &str) -> BTreeMap<String, BTreeSet<u16>> {
    xml_hosts(xml)
        .into_iter()
        .filter(|h| h.status == "up")
        .map(|h| {
            let open = h
                .ports
                .iter()
                .filter(|(_, s)| s.as_str() == "open")
                .map(|(p, _)| *p)
                .collect();
            (h.addr, open)
        })
        .collect()
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

/// `scripts/lab` of this repository.
pub const LAB_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/lab");

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
/// [`ScriptLab::route_dead`]. `scripts/lab down` runs on drop, also when the
/// test fails, and kills the children adopted by the lab first.
#[derive(Debug)]
pub struct ScriptLab {
    pub name: String,
    pub scan_ns: String,
    pub target_ns: String,
    pub scan_if: String,
    pub target_if: String,
    pub prefix: String,
    pub ports: Vec<u16>,
    children: Mutex<Vec<Child>>,
}

impl ScriptLab {
    /// The scanner's address on the lab link.
    pub const SCAN_ADDR: &'static str = "198.18.0.1";
    /// The target's address on the lab link (the gateway to the prefix).
    pub const TARGET_ADDR: &'static str = "198.18.0.2";

    /// `scripts/lab up --prefix <prefix> --ports <ports> --loss <loss>`;
    /// None (after a loud skip) without root, `ip` or `python3`.
    pub fn up(prefix: &str, ports: &[u16], loss: u32) -> Option<ScriptLab> {
        if !require_root() || !require("ip") || !require("python3") {
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
            children: Mutex::new(Vec::new()),
        };
        let csv = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let loss = loss.to_string();
        // From here on Drop runs `scripts/lab down`, whatever happens.
        let out = run_timeout(
            Command::new(LAB_SCRIPT)
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

    /// `ip netns exec <ns> <program>`; add arguments to the returned command.
    pub fn cmd(&self, side: Side, program: &str) -> Command {
        netns_cmd(self.ns(side), program)
    }

    /// `prtip` inside the scan namespace.
    pub fn prtip(&self) -> Command {
        self.cmd(Side::Scanner, prtip_path())
    }

    /// Run a command in a namespace and assert success.
    pub fn ok(&self, side: Side, argv: &[&str]) -> Output {
        netns_ok(self.ns(side), argv)
    }

    fn ns(&self, side: Side) -> &str {
        match side {
            Side::Scanner => &self.scan_ns,
            Side::Target => &self.target_ns,
        }
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
        self.children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(child);
    }

    /// Path of the scan namespace's handle, for `setns(2)`.
    pub fn scan_netns_path(&self) -> String {
        format!("/run/netns/{}", self.scan_ns)
    }
}

/// Runs a clean-up command from a `Drop`: output discarded, never a panic,
/// and at most `limit` (reported when exceeded).
fn run_teardown(cmd: &mut Command, limit: Duration, what: &str) {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Ok(mut child) = child {
        if wait_status(&mut child, limit).is_none() {
            eprintln!("{what} timed out");
        }
    }
}

impl Drop for ScriptLab {
    fn drop(&mut self) {
        let children =
            std::mem::take(&mut *self.children.lock().unwrap_or_else(|e| e.into_inner()));
        for mut c in children {
            let _ = c.kill();
            let _ = wait_status(&mut c, Duration::from_secs(5));
        }
        run_teardown(
            Command::new(LAB_SCRIPT)
                .env("LAB_NAME", &self.name)
                .arg("down"),
            Duration::from_secs(60),
            &format!("scripts/lab down for {}", self.name),
        );
    }
}

/// A `tcpdump` capture running in a namespace, printing one line per packet
/// to a file; [`Capture::stop`] ends it (SIGINT, by pid) and returns the lines.
#[derive(Debug)]
pub struct Capture {
    child: Option<Child>,
    out: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Capture {
    /// `tcpdump -i <iface> -n -l <filter>` inside `side` of `lab`; returns once
    /// tcpdump reports that it listens (bounded wait).
    pub fn start(lab: &ScriptLab, side: Side, iface: &str, filter: &str) -> Capture {
        let dir = tempdir();
        let out = dir.path().join("tcpdump.txt");
        let err = dir.path().join("tcpdump.err");
        let child = lab
            .cmd(side, "tcpdump")
            .args(["-i", iface, "-n", "-l", "-U", filter])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("create tcpdump output"))
            .stderr(std::fs::File::create(&err).expect("create tcpdump stderr"))
            .spawn()
            .expect("spawn tcpdump");
        let mut cap = Capture {
            child: Some(child),
            out,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&err).unwrap_or_default();
            if text.contains("listening on") {
                break;
            }
            let exited = cap
                .child
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_some());
            assert!(
                !exited && Instant::now() < deadline,
                "tcpdump did not start: {text}"
            );
            thread::sleep(Duration::from_millis(20));
        }
        cap
    }

    /// Stop the capture and return its packet lines.
    pub fn stop(mut self) -> Vec<String> {
        if let Some(mut child) = self.child.take() {
            // Give the last packets a moment to be printed, then SIGINT our child.
            thread::sleep(Duration::from_millis(300));
            if let Ok(pid) = libc::pid_t::try_from(child.id()) {
                // SAFETY: signalling a child we spawned and have not reaped yet.
                unsafe { libc::kill(pid, libc::SIGINT) };
            }
            let _ = wait_status(&mut child, Duration::from_secs(5));
        }
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = wait_status(&mut c, Duration::from_secs(5));
        }
    }
}

/// The calling thread inside another network namespace (`setns(2)`) until
/// dropped; threads it spawns meanwhile start in that namespace too.
#[derive(Debug)]
pub struct NetnsGuard {
    original: std::fs::File,
}

impl NetnsGuard {
    /// Enter the namespace whose handle is `path` (e.g. `/run/netns/<name>`).
    pub fn enter(path: &str) -> NetnsGuard {
        use std::os::fd::AsRawFd;
        let original =
            std::fs::File::open("/proc/thread-self/ns/net").expect("open own netns handle");
        let target = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        // SAFETY: a valid namespace descriptor; affects only the calling thread.
        let rc = unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns({path}): {}", std::io::Error::last_os_error());
        NetnsGuard { original }
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as in `enter`, with the handle of the thread's first namespace.
        let rc = unsafe { libc::setns(self.original.as_raw_fd(), libc::CLONE_NEWNET) };
        if rc != 0 {
            eprintln!(
                "setns back to the original namespace failed: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// Host lines of prtip's `-oJ` output: address -> (status, open ports,
/// number of ports accounted for, listed plus extraports).
pub fn json_hosts(text: &str) -> BTreeMap<String, (String, BTreeSet<u16>, u64)> {
    text.lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}"))
        })
        .filter(|v| v["type"] == "host")
        .map(|h| {
            let listed = h["ports"].as_array().cloned().unwrap_or_default();
            let open = listed
                .iter()
                .filter(|p| p["state"] == "open")
                .filter_map(|p| p["port"].as_u64().and_then(|n| u16::try_from(n).ok()))
                .collect();
            let extra: u64 = h["extraports"].as_array().map_or(0, |a| {
                a.iter().map(|e| e["count"].as_u64().unwrap_or(0)).sum()
            });
            (
                h["addr"].as_str().unwrap_or_default().to_string(),
                (
                    h["status"].as_str().unwrap_or_default().to_string(),
                    open,
                    listed.len() as u64 + extra,
                ),
            )
        })
        .collect()
}

/// Runs `prtip` in-process (argv includes the program name) under dhat's
/// testing profiler: exit code, heap statistics at the end, wall time.
#[cfg(feature = "dhat-heap")]
pub fn profile_app(
    argv: Vec<std::ffi::OsString>,
) -> (std::process::ExitCode, memprof::dhat::HeapStats, Duration) {
    let started = Instant::now();
    let profiler = memprof::dhat::Profiler::builder().testing().build();
    let code = prtip::app::run(argv);
    let stats = memprof::dhat::HeapStats::get();
    drop(profiler);
    (code, stats, started.elapsed())
}

/// A SYN scan of a lab prefix, run in-process inside the lab's scanning
/// namespace under dhat: checks that every address answered with exactly the
/// lab's listeners open and `ports_per_host` ports counted, then asserts the
/// peak heap against `budget`. Skips (or fails under CI) without root.
#[cfg(feature = "dhat-heap")]
pub fn syn_lab_heap_scenario(
    budget: &prtip::budgets::Budget,
    prefix: &str,
    ports: &str,
    ports_per_host: u64,
    hosts: usize,
) {
    const LISTEN: [u16; 3] = [22, 80, 443];
    let Some(lab) = ScriptLab::up(prefix, &LISTEN, 0) else {
        return;
    };
    let dir = tempdir();
    let json = dir.path().join("scan.json");
    let argv = [
        "prtip",
        "-sS",
        "-n",
        "-Pn",
        "-p",
        ports,
        "-oJ",
        json.to_str().expect("utf8 path"),
        prefix,
    ]
    .map(std::ffi::OsString::from)
    .to_vec();

    let netns = NetnsGuard::enter(&lab.scan_netns_path());
    let (code, stats, elapsed) = profile_app(argv);
    drop(netns);

    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let found = json_hosts(&std::fs::read_to_string(&json).expect("json output"));
    assert_eq!(found.len(), hosts, "one line per address of {prefix}");
    let want: BTreeSet<u16> = LISTEN.into_iter().collect();
    let wrong: Vec<_> = found
        .iter()
        .filter(|(_, (status, open, total))| {
            status != "up" || *open != want || *total != ports_per_host
        })
        .take(10)
        .collect();
    assert!(wrong.is_empty(), "hosts without every listener: {wrong:?}");
    assert_within_budget(budget, &stats, elapsed);
    drop(lab);
}

/// Print a heap test's figures and assert its peak against `budget`.
#[cfg(feature = "dhat-heap")]
pub fn assert_within_budget(
    budget: &prtip::budgets::Budget,
    stats: &memprof::dhat::HeapStats,
    elapsed: Duration,
) {
    eprintln!(
        "heap_{}: peak {} bytes in {} blocks (budget {}), {} allocations, {:.1} s",
        budget.name,
        stats.max_bytes,
        stats.max_blocks,
        budget.max_heap_bytes,
        stats.total_blocks,
        elapsed.as_secs_f64()
    );
    assert!(
        stats.max_bytes as u64 <= budget.max_heap_bytes,
        "peak heap {} B exceeds the budget of {} B",
        stats.max_bytes,
        budget.max_heap_bytes
    );
}

/// A real scan (`scan_flag`: `-sT` or `-sS`) of 1,000 ports of 127.0.0.1,
/// three of them held open by listeners of this test, run in-process under
/// dhat: checks every listener is reported open and 1,000 ports counted,
/// then asserts the peak heap against `budget`.
#[cfg(feature = "dhat-heap")]
pub fn loopback_heap_scenario(budget: &prtip::budgets::Budget, scan_flag: &str) {
    let listeners: Vec<TcpListener> = (0..3)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    let mut open: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect();
    open.sort_unstable();
    // 997 low ports plus the three listeners (ephemeral, so never 2024 or
    // below 998): 1,000 ports.
    assert!(open.iter().all(|&p| p > 997));
    let spec = format!("1-997,{},{},{}", open[0], open[1], open[2]);
    let dir = tempdir();
    let json = dir.path().join("scan.json");
    let argv = [
        "prtip",
        scan_flag,
        "-n",
        "-p",
        &spec,
        "-oJ",
        json.to_str().expect("utf8 path"),
        "127.0.0.1",
    ]
    .map(std::ffi::OsString::from)
    .to_vec();

    let (code, stats, elapsed) = profile_app(argv);

    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let text = std::fs::read_to_string(&json).expect("json output");
    let host = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json line"))
        .find(|v| v["type"] == "host")
        .expect("host line");
    assert_eq!(host["status"], "up", "{host}");
    let mut found: Vec<u16> = host["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .filter(|p| p["state"] == "open")
        .map(|p| p["port"].as_u64().expect("port") as u16)
        .filter(|p| open.contains(p))
        .collect();
    found.sort_unstable();
    assert_eq!(found, open, "every listener must be reported open");
    let scanned: u64 = host["ports"].as_array().map_or(0, |a| a.len() as u64)
        + host["extraports"].as_array().map_or(0, |a| {
            a.iter().map(|e| e["count"].as_u64().unwrap_or(0)).sum()
        });
    assert_eq!(scanned, 1000);
    assert_within_budget(budget, &stats, elapsed);
    drop(listeners);
}

/// `scripts/services` of this repository.
pub const SERVICES_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/services");

/// Real daemons (ssh 22, nginx http 80 + https 443, and the others of
/// `scripts/services`) in a network namespace of their own, without the veth
/// (`PRTIP_SVC_VETH=0`): they are reachable only at 127.0.0.1 inside it.
/// `scripts/services down` runs on drop, also when the test fails.
#[derive(Debug)]
pub struct ServicesNetns {
    pub name: String,
}

impl ServicesNetns {
    /// `scripts/services --netns <name> up`; None (after a loud skip, or a
    /// failure under CI) without root or `ip`, or when the daemons do not
    /// come up. `name`: at most 12 characters of `[a-z0-9_-]`.
    pub fn up(name: &str) -> Option<ServicesNetns> {
        if !require_root() || !require("ip") {
            return None;
        }
        // From here on Drop runs `scripts/services down`, whatever happens.
        let svc = ServicesNetns {
            name: name.to_string(),
        };
        let out = run_timeout(
            Command::new(SERVICES_SCRIPT)
                .args(["--netns", name, "up"])
                .env("PRTIP_SVC_VETH", "0"),
            Duration::from_secs(600),
        );
        if !out.status.success() {
            eprintln!("{}", describe(&out));
            drop(svc);
            missing("real daemons (scripts/services up failed)");
            return None;
        }
        Some(svc)
    }

    /// Path of the namespace's handle, for `setns(2)` ([`NetnsGuard`]).
    pub fn netns_path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }
}

impl Drop for ServicesNetns {
    fn drop(&mut self) {
        run_teardown(
            Command::new(SERVICES_SCRIPT).args(["--netns", &self.name, "down"]),
            Duration::from_secs(120),
            &format!("scripts/services down for {}", self.name),
        );
    }
}

/// The directories where prtip looks for nmap's data files (`NMAPDIR`,
/// /usr/local/share/nmap, /usr/share/nmap) hidden from the calling thread
/// (and the threads it starts) until dropped: the thread moves to a mount
/// namespace of its own (`unshare(2)`, every mount private, so nothing
/// propagates back) where an empty directory is bind-mounted over each.
/// prtip then falls back to its built-in databases.
#[derive(Debug)]
pub struct HiddenNmapData {
    original: std::fs::File,
    cwd: std::path::PathBuf,
    _empty: tempfile::TempDir,
}

impl HiddenNmapData {
    /// None (after a loud skip, or a failure under CI) when a mount
    /// namespace cannot be made.
    pub fn enter() -> Option<HiddenNmapData> {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let cwd = std::env::current_dir().expect("current directory");
        let original =
            std::fs::File::open("/proc/thread-self/ns/mnt").expect("open own mount ns handle");
        let empty = tempdir();
        // SAFETY: no pointers; affects only the calling thread, which gets a
        // file-system context (root, cwd) and mount namespace of its own.
        if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
            let e = std::io::Error::last_os_error();
            missing(&format!("a mount namespace (unshare: {e})"));
            return None;
        }
        // From here on Drop returns to the original namespace.
        let guard = HiddenNmapData {
            original,
            cwd,
            _empty: empty,
        };
        let c = |p: &std::path::Path| CString::new(p.as_os_str().as_bytes()).expect("no NUL");
        let root = c(std::path::Path::new("/"));
        // SAFETY: valid NUL-terminated strings; null type and data are allowed
        // for a propagation change.
        let rc = unsafe {
            libc::mount(
                std::ptr::null(),
                root.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "make / private: {}", std::io::Error::last_os_error());
        let mut dirs: Vec<std::path::PathBuf> = std::env::var_os("NMAPDIR")
            .map(std::path::PathBuf::from)
            .into_iter()
            .collect();
        dirs.push("/usr/local/share/nmap".into());
        dirs.push("/usr/share/nmap".into());
        let source = c(guard._empty.path());
        for dir in dirs.iter().filter(|d| d.is_dir()) {
            let target = c(dir);
            // SAFETY: valid NUL-terminated paths; a bind mount in our own namespace.
            let rc = unsafe {
                libc::mount(
                    source.as_ptr(),
                    target.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                )
            };
            assert_eq!(
                rc,
                0,
                "bind-mount over {}: {}",
                dir.display(),
                std::io::Error::last_os_error()
            );
        }
        for dir in &dirs {
            for file in ["nmap-service-probes", "nmap-services"] {
                assert!(!dir.join(file).exists(), "{file} still visible in {dir:?}");
            }
        }
        Some(guard)
    }
}

impl Drop for HiddenNmapData {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid mount namespace descriptor; this thread's
        // file-system context is its own since `unshare`.
        let rc = unsafe { libc::setns(self.original.as_raw_fd(), libc::CLONE_NEWNS) };
        if rc != 0 {
            eprintln!(
                "setns back to the original mount namespace failed: {}",
                std::io::Error::last_os_error()
            );
        }
        // setns(CLONE_NEWNS) moves the thread to the namespace's root directory.
        let _ = std::env::set_current_dir(&self.cwd);
    }
}

/// The `<service>` of one `<port>` of an nmap-format XML document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlService {
    pub name: String,
    pub tunnel: Option<String>,
    pub product: Option<String>,
    pub version: Option<String>,
    pub method: Option<String>,
}

/// Every `<tag ...>...</tag>` (or `<tag .../>` up to the next one) of an
/// XML document, from its `<` to before its closing tag.
pub fn xml_elements<'a>(xml: &'a str, tag: &str) -> impl Iterator<Item = &'a str> {
    let open = format!("<{tag} ");
    let close = format!("</{tag}>");
    let mut rest = xml;
    std::iter::from_fn(move || {
        let i = rest.find(&open)?;
        let element = &rest[i..];
        // Past the opening bracket, so an element never finds itself again.
        let end = element[1..]
            .find(&close)
            .or_else(|| element[1..].find(&open))
            .map_or(element.len(), |e| e + 1);
        rest = &element[end..];
        Some(&element[..end])
    })
}

/// port -> (state, service) of every `<port>` of an XML document.
pub fn xml_port_services(xml: &str) -> BTreeMap<u16, (String, Option<XmlService>)> {
    xml_elements(xml, "port")
        .map(|body| {
            let port: u16 = attr(body, "portid")
                .and_then(|v| v.parse().ok())
                .expect("portid attribute");
            let state = xml_elements(body, "state")
                .next()
                .and_then(|e| attr(e, "state"))
                .unwrap_or_default();
            let service = xml_elements(body, "service").next().map(|s| XmlService {
                name: attr(s, "name").unwrap_or_default(),
                tunnel: attr(s, "tunnel"),
                product: attr(s, "product"),
                version: attr(s, "version"),
                method: attr(s, "method"),
            });
            (port, (state, service))
        })
        .collect()
}

/// `prtip [-sV] -n -Pn -p 22,80,443 -oX <xml> 127.0.0.1` run in-process
/// under dhat inside the namespace at `netns_path` (entered with setns(2) on
/// this thread, so every thread of the scan lives there): peak heap bytes,
/// blocks at the peak, allocations, duration and the XML written.
#[cfg(feature = "dhat-heap")]
fn profiled_version_scan(
    netns_path: &str,
    version: bool,
    xml: &std::path::Path,
) -> (u64, usize, u64, Duration, String) {
    let xml_s = xml.to_str().expect("utf-8 path");
    let mut argv = vec!["prtip"];
    if version {
        argv.push("-sV");
    }
    argv.extend(["-n", "-Pn", "-p", "22,80,443", "-oX", xml_s, "127.0.0.1"]);
    let args: Vec<std::ffi::OsString> = argv.iter().map(std::ffi::OsString::from).collect();

    let netns = NetnsGuard::enter(netns_path);
    let (code, stats, elapsed) = profile_app(args);
    drop(netns);

    assert_eq!(code, std::process::ExitCode::SUCCESS, "{argv:?}");
    let text = std::fs::read_to_string(xml).expect("XML output written");
    (
        stats.max_bytes as u64,
        stats.max_blocks,
        stats.total_blocks,
        elapsed,
        text,
    )
}

/// The `-sV` heap scenario: real daemons (`scripts/services`) in network
/// namespace `netns`; in-process, inside it, under dhat, first
/// `prtip -n -Pn -p 22,80,443 127.0.0.1` (the baseline), then the same with
/// `-sV`. Checks both results (22, 80 and 443 open; -sV: ssh/OpenSSH,
/// http/nginx, ssl/http/nginx, all probed), prints both peaks and the
/// difference, and asserts that `-sV` adds less than 4 MiB (the goal) and
/// that its whole peak is within `budget`. With `builtin_db`, nmap's data
/// directories are hidden from the scans ([`HiddenNmapData`]), so prtip uses
/// its built-in databases. Skips (or fails under CI) without root.
#[cfg(feature = "dhat-heap")]
pub fn version_scan_heap_scenario(budget: &prtip::budgets::Budget, netns: &str, builtin_db: bool) {
    const OVERHEAD_GOAL: u64 = 4 * 1024 * 1024;
    let Some(daemons) = ServicesNetns::up(netns) else {
        return;
    };
    let hidden = if builtin_db {
        match HiddenNmapData::enter() {
            Some(h) => Some(h),
            None => return,
        }
    } else {
        None
    };
    let ns = daemons.netns_path();
    let dir = tempdir();

    let (base, base_blocks, base_allocs, base_t, base_xml) =
        profiled_version_scan(&ns, false, &dir.path().join("base.xml"));
    let states: Vec<(u16, String)> = xml_port_services(&base_xml)
        .into_iter()
        .map(|(port, (state, _))| (port, state))
        .collect();
    let want: Vec<(u16, String)> = [22, 80, 443]
        .into_iter()
        .map(|p| (p, "open".to_string()))
        .collect();
    assert_eq!(states, want, "scan without -sV:\n{base_xml}");

    let (peak, blocks, allocs, sv_t, sv_xml) =
        profiled_version_scan(&ns, true, &dir.path().join("sv.xml"));
    drop(hidden);
    let found = xml_port_services(&sv_xml);
    type Row<'a> = (u16, &'a str, &'a str, Option<&'a str>, Option<&'a str>);
    let summary: Vec<(Row, Option<&str>)> = found
        .iter()
        .map(|(port, (state, svc))| {
            let svc = svc.as_ref();
            (
                (
                    *port,
                    state.as_str(),
                    svc.map_or("", |s| s.name.as_str()),
                    svc.and_then(|s| s.tunnel.as_deref()),
                    svc.and_then(|s| s.product.as_deref()),
                ),
                svc.and_then(|s| s.method.as_deref()),
            )
        })
        .collect();
    let probed = Some("probed");
    assert_eq!(
        summary,
        vec![
            ((22, "open", "ssh", None, Some("OpenSSH")), probed),
            ((80, "open", "http", None, Some("nginx")), probed),
            ((443, "open", "http", Some("ssl"), Some("nginx")), probed),
        ],
        "-sV scan:\n{sv_xml}"
    );

    let overhead = peak.saturating_sub(base);
    eprintln!(
        "heap_{}: without -sV: peak {base} bytes in {base_blocks} blocks, {base_allocs} \
         allocations, {:.1} s; with -sV: peak {peak} bytes in {blocks} blocks, {allocs} \
         allocations, {:.1} s; -sV adds {overhead} bytes (goal < {OVERHEAD_GOAL}); budget {}",
        budget.name,
        base_t.as_secs_f64(),
        sv_t.as_secs_f64(),
        budget.max_heap_bytes,
    );
    assert!(
        overhead < OVERHEAD_GOAL,
        "-sV adds {overhead} B to the scan's peak heap, more than the goal of {OVERHEAD_GOAL} B"
    );
    assert!(
        peak <= budget.max_heap_bytes,
        "peak heap {peak} B with -sV exceeds the budget of {} B",
        budget.max_heap_bytes
    );
    drop(daemons);
}
