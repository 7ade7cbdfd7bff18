//! Listeners and servers on 127.0.0.1 for tests that scan the loopback
//! interface (never 127.0.0.1:2024 or anything else they did not open):
//! TCP ([`serve`], [`LoopbackPorts`]) and UDP ([`UdpService`]). Each has a
//! twin that takes the address (`serve_on`, `LoopbackPorts::new_on`,
//! `UdpService::start_at`, `closed_udp_port_on`), for IPv6 tests on ::1.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

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
    serve_on(IpAddr::V4(Ipv4Addr::LOCALHOST), stop, handle)
}

/// [`serve`] on `addr` (`::1` for the IPv6 tests).
pub fn serve_on<F>(addr: IpAddr, stop: Arc<AtomicBool>, handle: F) -> u16
where
    F: Fn(TcpStream) + Send + Sync + 'static,
{
    let listener = TcpListener::bind((addr, 0)).expect("bind");
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
        LoopbackPorts::new_on(IpAddr::V4(Ipv4Addr::LOCALHOST), n_open, n_closed)
    }

    /// [`LoopbackPorts::new`] on `addr` (`::1` for the IPv6 tests).
    pub fn new_on(addr: IpAddr, n_open: usize, n_closed: usize) -> LoopbackPorts {
        let bind = || TcpListener::bind((addr, 0)).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
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

/// TCP ports with a listener that accepts connections to ::1, per `ss
/// -Htln` (the IPv6 wildcard, IPv6-only or dual-stack, and ::1 itself).
pub fn ss_listeners6() -> BTreeSet<u16> {
    let out = run(Command::new("ss").args(["-6", "-Htln"]));
    assert!(out.status.success(), "ss failed: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let local = l.split_whitespace().nth(3)?;
            let (addr, port) = local.rsplit_once(':')?;
            let addr = addr.split('%').next().unwrap_or(addr);
            let accepts = matches!(addr, "*" | "[::]" | "[::1]");
            accepts.then(|| port.parse().ok()).flatten()
        })
        .collect()
}

/// Datagrams to send back, each after its delay (counted from the request).
pub type Replies = Vec<(Duration, Vec<u8>)>;

/// The longest a [`UdpService`] lives, whatever the test does.
const LIFETIME: Duration = Duration::from_secs(60);
/// How often the thread looks at its stop flag.
const POLL: Duration = Duration::from_millis(20);

/// A UDP service on an ephemeral 127.0.0.1 port, for tests that play one
/// (see [`UdpService::start`]); stopped and joined on drop.
#[derive(Debug)]
pub struct UdpService {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpService {
    /// Starts a service answering each request with `answer(request)`.
    /// Delayed replies go out from a short-lived thread of their own, so a
    /// slow answer to one probe does not hold up the others.
    pub fn start(answer: impl Fn(&[u8]) -> Replies + Send + 'static) -> UdpService {
        Self::start_on(0, answer)
    }

    /// [`start`](Self::start) on a chosen port: only in a network namespace
    /// the test made, where no one else can hold it.
    pub fn start_on(port: u16, answer: impl Fn(&[u8]) -> Replies + Send + 'static) -> UdpService {
        Self::start_at(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port), answer)
    }

    /// [`start`](Self::start) at `at`: a loopback address, and port 0 or a
    /// port chosen in a network namespace the test made (e.g. `[::1]:0`).
    pub fn start_at(
        at: SocketAddr,
        answer: impl Fn(&[u8]) -> Replies + Send + 'static,
    ) -> UdpService {
        let sock = UdpSocket::bind(at).unwrap_or_else(|e| panic!("bind UDP {at}: {e}"));
        sock.set_read_timeout(Some(POLL)).expect("read timeout");
        let addr = sock.local_addr().expect("local address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, flag) = (Arc::clone(&received), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let end = Instant::now() + LIFETIME;
            let mut buf = vec![0u8; 65536];
            while !flag.load(Ordering::Relaxed) && Instant::now() < end {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let request = buf[..n].to_vec();
                let replies = answer(&request);
                log.lock().unwrap_or_else(|e| e.into_inner()).push(request);
                send(&sock, from, replies);
            }
        });
        UdpService {
            addr,
            received,
            stop,
            thread: Some(thread),
        }
    }

    /// A service that never answers.
    pub fn silent() -> UdpService {
        UdpService::start(|_| Vec::new())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Vec<u8>> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn send(sock: &UdpSocket, to: SocketAddr, replies: Replies) {
    if replies.iter().all(|(delay, _)| delay.is_zero()) {
        for (_, d) in replies {
            let _ = sock.send_to(&d, to);
        }
        return;
    }
    let Ok(sock) = sock.try_clone() else { return };
    std::thread::spawn(move || {
        let start = Instant::now();
        for (delay, d) in replies {
            std::thread::sleep((start + delay).saturating_duration_since(Instant::now()));
            let _ = sock.send_to(&d, to);
        }
    });
}

impl Drop for UdpService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A UDP port on 127.0.0.1 with nothing behind it (bound, then closed):
/// datagrams to it draw ICMP port unreachable.
pub fn closed_udp_port() -> SocketAddr {
    closed_udp_port_on(Ipv4Addr::LOCALHOST.into())
}

/// [`closed_udp_port`] on `ip` (for ::1: ICMPv6 port unreachable).
pub fn closed_udp_port_on(ip: IpAddr) -> SocketAddr {
    let sock = UdpSocket::bind((ip, 0)).unwrap_or_else(|e| panic!("bind a UDP port on {ip}: {e}"));
    sock.local_addr().expect("local address")
}
