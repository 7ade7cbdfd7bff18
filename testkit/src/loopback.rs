//! Listeners and servers on 127.0.0.1 for tests that scan the loopback
//! interface (never 127.0.0.1:2024 or anything else they did not open).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use crate::process::{describe, run};

static LOOPBACK: Mutex<()> = Mutex::new(());

/// Tests of one binary that bind and release loopback ports take turns with
/// this lock, so one test's "closed" port is not another test's listener.
pub fn lock() -> MutexGuard<'static, ()> {
    LOOPBACK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A server on an ephemeral 127.0.0.1 port for tests that play a service:
/// its accept loop runs on a thread of its own until `stop` is set, and each
/// connection (made blocking again) goes to `handle` on a thread of its own.
/// Returns the port.
pub fn serve<F>(stop: Arc<AtomicBool>, handle: F) -> u16
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

/// Ports opened by bound listeners (kept) and ports that were bound then
/// released (most likely closed), all on 127.0.0.1.
#[derive(Debug)]
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
        // Held until all are picked, so the kernel cannot hand out one port
        // twice (nmap then warns about a duplicate and counts it once).
        let released: Vec<TcpListener> = (0..n_closed).map(|_| bind()).collect();
        let closed = released
            .iter()
            .map(|l| l.local_addr().expect("local addr").port())
            .collect();
        drop(released);
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

/// TCP ports with a listener that accepts connections to 127.0.0.1, per
/// `ss -Htln` (wildcard and loopback IPv4 addresses, and dual-stack `[::]`/`*`).
pub fn ss_listeners() -> BTreeSet<u16> {
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
