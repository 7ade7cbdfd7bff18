//! Services built to hurt a scanner's version detection (`-sV`): a banner
//! that trickles or never ends, a flood, silence, TLS that goes wrong.
//! The hostile-services suite (`prtip/tests/service_hostile.rs`) runs them
//! in-process; `benchmarks/scripts/hostile-services.sh` runs the same code
//! through this crate's `hostile-services` program to measure prtip
//! against them.
//!
//! Every server binds 127.0.0.1 in the network namespace of the thread that
//! starts it (a test enters a namespace of its own first, see
//! [`HostileNetns`]), and stops when its `stop` flag is set or, at the
//! latest, after [`MAX_LIFETIME`].

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::netns;
use crate::prereq::{missing, require_root, require_tool};
use crate::process::{describe, run, run_teardown};

/// No server outlives this, whatever happens to its owner.
pub const MAX_LIFETIME: Duration = Duration::from_secs(600);

/// How long [`Hostile::Trickle`] keeps trickling on one connection.
pub const TRICKLE_FOR: Duration = Duration::from_secs(60);
/// The pause between two bytes of [`Hostile::Trickle`].
pub const TRICKLE_EVERY: Duration = Duration::from_millis(10);
/// Bytes [`Hostile::Flood`] and [`Hostile::EndlessBanner`] send on one
/// connection before they give up.
pub const FLOOD_BYTES: usize = 100 << 20;

/// What a hostile service does with each connection it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostile {
    /// One byte every [`TRICKLE_EVERY`] for [`TRICKLE_FOR`]: never a
    /// complete banner, never quiet for long.
    Trickle,
    /// `220-` continuation lines, [`FLOOD_BYTES`] of them: a banner that
    /// never ends.
    EndlessBanner,
    /// [`FLOOD_BYTES`] in answer to anything, or to nothing.
    Flood,
    /// Accepts, reads what it is sent and never answers.
    Silent,
    /// A TLS alert record, then garbage: the matcher calls it ssl, so the
    /// probes are tried again through TLS, and every handshake fails.
    TlsGarbage,
    /// Answers a TLS ClientHello with the first bytes of a ServerHello
    /// (enough for the matcher to call it ssl), then closes the connection
    /// in the middle of the handshake; anything else is closed at once.
    TlsCut,
}

impl Hostile {
    /// Every service, in the order README lists them.
    pub const ALL: [Hostile; 6] = [
        Hostile::Trickle,
        Hostile::EndlessBanner,
        Hostile::Flood,
        Hostile::Silent,
        Hostile::TlsGarbage,
        Hostile::TlsCut,
    ];

    /// Short name, as the `hostile-services` program takes it.
    pub fn name(self) -> &'static str {
        match self {
            Hostile::Trickle => "trickle",
            Hostile::EndlessBanner => "endless-banner",
            Hostile::Flood => "flood",
            Hostile::Silent => "silent",
            Hostile::TlsGarbage => "tls-garbage",
            Hostile::TlsCut => "tls-cut",
        }
    }

    /// The service named `name` (see [`Hostile::name`]).
    pub fn from_name(name: &str) -> Option<Hostile> {
        Hostile::ALL.into_iter().find(|h| h.name() == name)
    }

    /// Serves this behaviour on 127.0.0.1:`port` (0: any free port) of the
    /// calling thread's namespace until `stop`; returns the port.
    /// [`Hostile::Silent`] is [`hang`] on one port.
    pub fn serve(self, port: u16, stop: Arc<AtomicBool>) -> u16 {
        if self == Hostile::Silent {
            return hang(&[port], stop)[0];
        }
        let listener = bind(port);
        let port = listener.local_addr().expect("local address").port();
        let flag = Arc::clone(&stop);
        accept_loop(listener, stop, move |s| self.handle(s, &flag));
        port
    }

    fn handle(self, mut s: TcpStream, stop: &AtomicBool) {
        // A client that stops reading must not hold the thread forever.
        let _ = s.set_write_timeout(Some(Duration::from_secs(30)));
        match self {
            Hostile::Trickle => {
                let started = Instant::now();
                while !stop.load(Ordering::Relaxed) && started.elapsed() < TRICKLE_FOR {
                    if s.write_all(b"x").is_err() {
                        return;
                    }
                    thread::sleep(TRICKLE_EVERY);
                }
            }
            Hostile::EndlessBanner => {
                repeat(
                    &mut s,
                    b"220-welcome to the service that never stops talking\r\n",
                    stop,
                );
            }
            Hostile::Flood => repeat(&mut s, &[b'x'; 64 << 10], stop),
            Hostile::Silent => {}
            Hostile::TlsGarbage => {
                let mut buf = [0u8; 1024];
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = s.read(&mut buf);
                // An alert (handshake failure), then bytes that are no record.
                let mut reply = b"\x15\x03\x03\x00\x02\x02\x28".to_vec();
                reply.extend((0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
                let _ = s.write_all(&reply);
                thread::sleep(Duration::from_millis(200));
            }
            Hostile::TlsCut => {
                let mut buf = [0u8; 2048];
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                if matches!(s.read(&mut buf), Ok(n) if n > 0 && buf[0] == 0x16) {
                    // A handshake record of 74 bytes announcing a ServerHello
                    // (TLS 1.2) of 70, of which only the version and part of
                    // the random value are sent.
                    let mut hello = b"\x16\x03\x03\x00\x4a\x02\x00\x00\x46\x03\x03".to_vec();
                    hello.extend_from_slice(&[0x5a; 12]);
                    let _ = s.write_all(&hello);
                }
                // Dropping the stream closes it: mid-handshake, or at once.
            }
        }
    }
}

/// Writes `chunk` again and again, up to [`FLOOD_BYTES`], until the peer
/// goes away or `stop` is set.
fn repeat(s: &mut TcpStream, chunk: &[u8], stop: &AtomicBool) {
    let mut sent = 0;
    while !stop.load(Ordering::Relaxed) && sent < FLOOD_BYTES {
        if s.write_all(chunk).is_err() {
            return;
        }
        sent += chunk.len();
    }
}

fn bind(port: u16) -> TcpListener {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .unwrap_or_else(|e| panic!("bind 127.0.0.1:{port}: {e}"))
}

/// Accepts on `listener` until `stop` (or [`MAX_LIFETIME`]); each
/// connection goes to `handle` on a thread of its own, which starts in the
/// listener's namespace.
fn accept_loop<F>(listener: TcpListener, stop: Arc<AtomicBool>, handle: F)
where
    F: Fn(TcpStream) + Send + Sync + 'static,
{
    listener.set_nonblocking(true).expect("nonblocking");
    let handle = Arc::new(handle);
    let started = Instant::now();
    thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) && started.elapsed() < MAX_LIFETIME {
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
}

/// Listeners on 127.0.0.1:`ports` (0: any free port, for each) that accept
/// every connection and never answer: what they are sent is read and
/// dropped, and a connection is closed only when its peer closes it. One
/// thread polls them all, so a thousand ports cost one thread. Returns the
/// ports, in the order given.
pub fn hang(ports: &[u16], stop: Arc<AtomicBool>) -> Vec<u16> {
    raise_nofile_limit();
    let listeners: Vec<TcpListener> = ports.iter().map(|&p| bind(p)).collect();
    let bound = listeners
        .iter()
        .map(|l| l.local_addr().expect("local address").port())
        .collect();
    for l in &listeners {
        l.set_nonblocking(true).expect("nonblocking");
    }
    let started = Instant::now();
    thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::Relaxed) && started.elapsed() < MAX_LIFETIME {
            let mut fds: Vec<libc::pollfd> = listeners
                .iter()
                .map(|l| l.as_raw_fd())
                .chain(held.iter().map(|s| s.as_raw_fd()))
                .map(|fd| libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            let nfds = libc::nfds_t::try_from(fds.len()).expect("descriptor count");
            // SAFETY: `fds` is a valid array of `nfds` pollfd entries.
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), nfds, 50) };
            if ready <= 0 {
                continue;
            }
            let (on_listeners, on_held) = fds.split_at(listeners.len());
            let mut closed = vec![false; held.len()];
            for (i, fd) in on_held.iter().enumerate() {
                if fd.revents == 0 {
                    continue;
                }
                match held[i].read(&mut buf) {
                    Ok(0) => closed[i] = true,
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => closed[i] = true,
                }
            }
            let mut i = 0;
            held.retain(|_| {
                i += 1;
                !closed[i - 1]
            });
            for (l, fd) in listeners.iter().zip(on_listeners) {
                if fd.revents == 0 {
                    continue;
                }
                while let Ok((s, _)) = l.accept() {
                    let _ = s.set_nonblocking(true);
                    held.push(s);
                }
            }
        }
    });
    bound
}

/// A thousand listeners and their connections need more descriptors than
/// the usual soft limit of 1,024.
fn raise_nofile_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit for getrlimit/setrlimit to read and write.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

static NETNS_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A network namespace of its own for hostile services, with only `lo`
/// (up): the services bind 127.0.0.1 there, so they can take a thousand
/// ports without touching the host's loopback, and prtip scans them with
/// `ip netns exec`. Unique per process and call, so parallel tests never
/// share one; deleted on drop, with everything left inside it.
#[derive(Debug)]
pub struct HostileNetns {
    pub name: String,
}

impl HostileNetns {
    /// None (after a loud skip, a failure under CI) without root or `ip`.
    pub fn new() -> Option<HostileNetns> {
        if !require_root() || !require_tool("ip") {
            return None;
        }
        let n = NETNS_COUNTER.fetch_add(1, Ordering::SeqCst);
        let ns = HostileNetns {
            name: format!("prtip-hostile-{}-{n}", std::process::id()),
        };
        let name = ns.name.clone();
        // From here on Drop deletes whatever was created.
        for step in [
            vec!["netns", "add", name.as_str()],
            vec!["-n", name.as_str(), "link", "set", "lo", "up"],
        ] {
            let out = run(Command::new("ip").args(&step));
            if !out.status.success() {
                eprintln!("{}", describe(&out));
                drop(ns);
                missing(&format!(
                    "network namespaces (ip {} failed)",
                    step.join(" ")
                ));
                return None;
            }
        }
        Some(ns)
    }

    /// Path of the namespace's handle, for [`netns::NetnsGuard`].
    pub fn path(&self) -> String {
        netns::path(&self.name)
    }

    /// `ip netns exec <name> <program>`.
    pub fn cmd(&self, program: &str) -> Command {
        netns::cmd(&self.name, program)
    }

    /// Starts `start` on a thread inside the namespace and returns what it
    /// returns (the ports): servers it starts bind there, and the threads
    /// they spawn stay there.
    pub fn serve<T: Send + 'static>(&self, start: impl FnOnce() -> T + Send + 'static) -> T {
        let path = self.path();
        thread::spawn(move || {
            let _inside = netns::NetnsGuard::enter(&path);
            start()
        })
        .join()
        .expect("start the hostile services")
    }
}

impl Drop for HostileNetns {
    fn drop(&mut self) {
        run_teardown(
            Command::new("ip").args(["netns", "del", &self.name]),
            Duration::from_secs(30),
            &format!("ip netns del {}", self.name),
        );
    }
}
