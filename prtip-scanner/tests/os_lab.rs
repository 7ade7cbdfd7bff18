//! OS probing against a real Linux stack, checked against nmap itself.
//!
//! The test builds its own lab: two network namespaces joined by a veth
//! pair, 198.18.200.1/30 (scanner) and 198.18.200.2/30 (target, a listener on
//! port 80). For each of several target sysctl settings it runs our engine
//! inside the scanner namespace and `nmap -O -d --max-os-tries 1` against the
//! same target, and requires every test line to agree except the values
//! that depend on random ISNs and the send clock (SEQ's SP, GCD, ISR, and TS
//! when the target randomises timestamps per connection).
//!
//! Needs root, `ip`, `nmap` and `python3`; without them it prints
//! `SKIPPED (needs ...)`, and under `CI=true` it fails instead. Network
//! safety: packets go only to addresses inside the namespaces created here,
//! and `Drop` removes everything (listener, namespaces) even on failure.

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use prtip_core::os_db::Fingerprint;
use prtip_scanner::net::raw::RawIo;
use prtip_scanner::os::{fingerprint, OsOptions};

const SCANNER: Ipv4Addr = Ipv4Addr::new(198, 18, 200, 1);
const TARGET: Ipv4Addr = Ipv4Addr::new(198, 18, 200, 2);
const OPEN: u16 = 80;
const CLOSED: u16 = 81;
const CLOSED_UDP: u16 = 40125;
const CHILD_TIMEOUT: Duration = Duration::from_secs(90);

fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// A missing prerequisite: a failure under CI, a loud skip otherwise.
fn missing(what: &str) -> bool {
    assert!(!in_ci(), "CI=true but a prerequisite is missing: {what}");
    // Straight to stderr so libtest's capture cannot hide the skip.
    let _ = writeln!(std::io::stderr(), "SKIPPED (needs {what}): os_lab");
    false
}

fn have_tool(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

fn prerequisites() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return missing("root");
    }
    ["ip", "nmap", "python3"]
        .iter()
        .all(|t| have_tool(t) || missing(t))
}

/// Waits for `child` at most `timeout`, killing it after that.
fn wait_output(mut child: Child, timeout: Duration, what: &str) -> Output {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not finish within {timeout:?}");
            }
        }
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

fn run(argv: &[&str]) -> Output {
    let child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {argv:?}: {e}"));
    wait_output(child, CHILD_TIMEOUT, &format!("{argv:?}"))
}

fn ok(argv: &[&str]) -> Output {
    let out = run(argv);
    assert!(
        out.status.success(),
        "{argv:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The namespace pair; `Drop` kills the listener and deletes both
/// namespaces (which removes the veth pair with them).
struct Lab {
    scan_ns: String,
    target_ns: String,
    listener: Option<Child>,
}

impl Lab {
    fn up() -> Lab {
        let id = std::process::id();
        let mut lab = Lab {
            scan_ns: format!("prtip-osfp{id}-s"),
            target_ns: format!("prtip-osfp{id}-t"),
            listener: None,
        };
        // Interface names are limited to 15 characters.
        let (s_if, t_if) = (format!("ofs{id}"), format!("oft{id}"));
        let (s, t) = (lab.scan_ns.clone(), lab.target_ns.clone());
        ok(&["ip", "netns", "add", &s]);
        ok(&["ip", "netns", "add", &t]);
        ok(&[
            "ip", "link", "add", &s_if, "netns", &s, "type", "veth", "peer", "name", &t_if,
            "netns", &t,
        ]);
        ok(&[
            "ip",
            "-n",
            &s,
            "addr",
            "add",
            "198.18.200.1/30",
            "dev",
            &s_if,
        ]);
        ok(&[
            "ip",
            "-n",
            &t,
            "addr",
            "add",
            "198.18.200.2/30",
            "dev",
            &t_if,
        ]);
        for (ns, dev) in [(&s, &s_if), (&t, &t_if)] {
            ok(&["ip", "-n", ns, "link", "set", dev, "up"]);
            ok(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        lab.listen();
        lab
    }

    fn listen(&mut self) {
        let script = "import socket,time\n\
                      s=socket.socket()\n\
                      s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
                      s.bind(('198.18.200.2',80))\n\
                      s.listen(64)\n\
                      time.sleep(600)\n";
        let child = Command::new("ip")
            .args(["netns", "exec", &self.target_ns, "python3", "-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the listener");
        self.listener = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = run(&[
                "ip",
                "netns",
                "exec",
                &self.target_ns,
                "ss",
                "-Htln",
                "sport = :80",
            ]);
            if !String::from_utf8_lossy(&out.stdout).trim().is_empty() {
                return;
            }
            assert!(Instant::now() < deadline, "listener never came up");
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn sysctl(&self, setting: &str) {
        ok(&[
            "ip",
            "netns",
            "exec",
            &self.target_ns,
            "sysctl",
            "-qw",
            setting,
        ]);
    }

    fn nmap_fingerprint(&self) -> Fingerprint {
        let out = ok(&[
            "ip",
            "netns",
            "exec",
            &self.scan_ns,
            "nmap",
            "-O",
            "-d",
            "--max-os-tries",
            "1",
            "-n",
            "-Pn",
            "-p",
            "80,81",
            "198.18.200.2",
        ]);
        let text = String::from_utf8_lossy(&out.stdout);
        let block: String = text
            .split_once("TCP/IP fingerprint:\n")
            .map(|(_, rest)| rest)
            .unwrap_or_else(|| panic!("no fingerprint in nmap's output:\n{text}"))
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .map(|l| format!("{l}\n"))
            .collect();
        Fingerprint::parse(&block).unwrap_or_else(|e| panic!("{e}: {block}"))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut c) = self.listener.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.scan_ns, &self.target_ns] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// This thread inside another network namespace until dropped.
struct NetnsGuard {
    original: std::fs::File,
}

impl NetnsGuard {
    fn enter(name: &str) -> NetnsGuard {
        use std::os::fd::AsRawFd;
        let original = std::fs::File::open("/proc/thread-self/ns/net").expect("own netns");
        let path = format!("/run/netns/{name}");
        let target = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        // SAFETY: a valid namespace descriptor; affects the calling thread only.
        let rc = unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
        NetnsGuard { original }
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as in `enter`, back to the thread's first namespace.
        unsafe { libc::setns(self.original.as_raw_fd(), libc::CLONE_NEWNET) };
    }
}

/// Values that depend on random ISNs or per-connection timestamp offsets
/// and on the exact send clock, so two runs of nmap itself disagree.
fn volatile(test: &str, attr: &str, nmap_value: &str) -> bool {
    test == "SEQ"
        && (matches!(attr, "SP" | "GCD" | "ISR")
            || (attr == "TS" && !matches!(nmap_value, "U" | "0" | "1" | "7" | "8" | "A")))
}

/// `(test, attr, ours, nmap's)` for every differing comparable value.
fn differences(ours: &Fingerprint, nmap: &Fingerprint) -> Vec<String> {
    let mut out = Vec::new();
    for test in nmap.tests().filter(|t| t.name() != "SCAN") {
        let name = test.name();
        let Some(mine) = ours.test(name) else {
            out.push(format!("{name}: missing from ours"));
            continue;
        };
        for (attr, theirs) in test.attrs() {
            if volatile(name, attr, theirs) {
                continue;
            }
            let got = mine.get(attr).unwrap_or("<absent>");
            if got != theirs {
                out.push(format!("{name}.{attr}: ours {got}, nmap {theirs}"));
            }
        }
        for (attr, got) in mine.attrs() {
            if test.get(attr).is_none() && !volatile(name, attr, got) {
                out.push(format!("{name}.{attr}: ours {got}, nmap <absent>"));
            }
        }
    }
    out
}

const SETTINGS: [(&str, &[&str]); 7] = [
    ("defaults", &[]),
    ("tcp_timestamps=0", &["net.ipv4.tcp_timestamps=0"]),
    ("tcp_timestamps=2", &["net.ipv4.tcp_timestamps=2"]),
    ("tcp_sack=0", &["net.ipv4.tcp_sack=0"]),
    ("tcp_window_scaling=0", &["net.ipv4.tcp_window_scaling=0"]),
    ("tcp_ecn=0", &["net.ipv4.tcp_ecn=0"]),
    (
        "all four off",
        &[
            "net.ipv4.tcp_timestamps=0",
            "net.ipv4.tcp_sack=0",
            "net.ipv4.tcp_window_scaling=0",
            "net.ipv4.tcp_ecn=0",
        ],
    ),
];

const DEFAULTS: [&str; 4] = [
    "net.ipv4.tcp_timestamps=1",
    "net.ipv4.tcp_sack=1",
    "net.ipv4.tcp_window_scaling=1",
    "net.ipv4.tcp_ecn=2",
];

#[test]
fn fingerprint_lines_equal_nmaps() {
    if !prerequisites() {
        return;
    }
    let lab = Lab::up();
    let mut failures = Vec::new();
    for (label, settings) in SETTINGS {
        for s in DEFAULTS.iter().chain(settings) {
            lab.sysctl(s);
        }
        let started = Instant::now();
        let result = {
            let _ns = NetnsGuard::enter(&lab.scan_ns);
            let io = RawIo::open(None).expect("raw sockets in the scanner namespace");
            fingerprint(
                &io,
                SCANNER,
                TARGET,
                OPEN,
                CLOSED,
                CLOSED_UDP,
                &OsOptions::default(),
            )
            .expect("OS probing")
        };
        let elapsed = started.elapsed();
        let nmap = lab.nmap_fingerprint();
        let diffs = differences(&result.fingerprint, &nmap);
        eprintln!(
            "== {label}: {} tries, {} sent, {} answered, {:.2} s; {} difference(s)",
            result.tries,
            result.sent,
            result.answered,
            elapsed.as_secs_f64(),
            diffs.len()
        );
        let theirs = nmap.to_string();
        for (ours, theirs) in result
            .fingerprint
            .to_string()
            .lines()
            .zip(theirs.lines().filter(|l| !l.starts_with("SCAN(")))
        {
            let mark = if ours == theirs { "=" } else { "~" };
            eprintln!("  {mark} ours {ours}\n    nmap {theirs}");
        }
        failures.extend(diffs.into_iter().map(|d| format!("[{label}] {d}")));
    }
    for s in DEFAULTS {
        lab.sysctl(s);
    }
    assert!(
        failures.is_empty(),
        "fingerprints differ from nmap's:\n{}",
        failures.join("\n")
    );
}
