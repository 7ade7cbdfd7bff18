//! One probe on its own connection: connect (and TLS handshake), send the
//! payload, read until the answer matches, the peer closes, the wait ends
//! or the response is big enough. UDP probes have their own exchange
//! (`udp.rs`); [`run_probe`] picks by the endpoint's protocol.
//!
//! Progress is published through [`Progress`] so that the port driver can
//! judge a probe that is still running (how long it has been silent, what
//! it has received so far) without waiting for it to end.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prtip_core::result::Protocol;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_rustls::TlsConnector;

use crate::sys::errno;

use rustls::pki_types::ServerName;

/// nmap stops reading a response once it holds this many bytes: enough to
/// match any rule, and a hostile service cannot make it grow.
pub const RESPONSE_CAP: usize = 4096;

/// After a match, how long to keep listening for the rest of a response
/// that arrived in pieces: a rule that matches the first piece may be a
/// vaguer one than the rule the whole response matches (memcached's `stats`
/// reply matched without its version when read in two parts).
const LINGER: Duration = Duration::from_millis(30);

/// Re-matching a response after every read made a service that trickles
/// one byte at a time cost up to [`RESPONSE_CAP`] full passes of the matcher
/// per probe. A response is matched again only once it has doubled or grown
/// by this much, or when the service pauses (see [`QUIET_FIRST`]), and
/// always when the read ends: at most a few dozen passes per probe.
const REMATCH_GROWTH: usize = 512;

/// A pause in the response that is worth a pass over the bytes still
/// unmatched: a service that sends its banner in pieces has sent the whole
/// of it by then. Each pause that brings no match doubles the next one, up
/// to [`QUIET_MAX`], so a trickle slower than the pause cannot force a pass
/// per byte for long.
const QUIET_FIRST: Duration = Duration::from_millis(4);
const QUIET_MAX: Duration = Duration::from_millis(64);

/// Bytes asked of the socket per read once the service has said
/// something; with [`RESPONSE_CAP`] this bounds a response at under 8 KiB.
/// Until then a read asks for a few bytes only: a probe of a silent
/// service waits in its read for seconds, and a thousand silent ports keep
/// hundreds of probes waiting at once (see [`converse`]).
pub(crate) const READ_CHUNK: usize = 4096;

/// How a probe's connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The matcher recognised the response; reading stopped early.
    Matched,
    /// The wait ran out.
    TimedOut,
    /// The peer closed (FIN) or reset the connection; over UDP, an empty
    /// datagram (nmap's socket layer reads it as end of file).
    Closed,
    /// UDP: the probe drew an ICMP error (port unreachable, or one of the
    /// errors nmap takes as a refusal of this one probe). Like a reset, it
    /// says nothing against "tcpwrapped".
    Refused,
    /// [`RESPONSE_CAP`] reached.
    Full,
    /// No connection (refused, unreachable, or the connect timed out); over
    /// UDP, no socket or the host or network unreachable.
    NoConnection,
    /// The TLS handshake failed.
    TlsFailed,
}

/// What a running probe has seen so far; shared with the port driver.
#[derive(Debug)]
pub(crate) struct Progress {
    pub(crate) data: Vec<u8>,
    /// When the connection was established, then when data last arrived.
    pub(crate) last_activity: Option<Instant>,
    /// When the connection was established.
    pub(crate) connected_at: Option<Instant>,
    /// When the port driver started the probe, and when it saw it end.
    /// Kept here rather than in the driver's slot for every probe of the
    /// sequence, of which a port has about a hundred and starts a few.
    pub(crate) launched: Option<Instant>,
    pub(crate) ended: Option<Instant>,
}

pub(crate) type Shared = Arc<Mutex<Progress>>;

pub(crate) fn shared() -> Shared {
    Arc::new(Mutex::new(Progress {
        data: Vec::new(),
        last_activity: None,
        connected_at: None,
        launched: None,
        ended: None,
    }))
}

pub(crate) fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Progress> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where and how to connect.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub(crate) addr: SocketAddr,
    /// TCP or UDP (no TLS over UDP: nmap tunnels only TCP).
    pub(crate) protocol: Protocol,
    pub(crate) tls: Option<(TlsConnector, ServerName<'static>)>,
    pub(crate) connect_timeout: Duration,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("addr", &self.addr)
            .field("protocol", &self.protocol)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// Runs one probe over the endpoint's protocol.
pub(crate) async fn run_probe(
    ep: &Endpoint,
    payload: &[u8],
    wait: Duration,
    progress: &Shared,
    recognised: &(dyn Fn(&[u8]) -> bool + Sync),
) -> Ending {
    match ep.protocol {
        // Boxed: a UDP probe holds a whole datagram's buffer while it
        // waits, and inline it would make every TCP probe's future that
        // large too (see `a_waiting_probe_is_small`).
        Protocol::Udp => {
            Box::pin(super::udp::exchange(
                ep.addr, payload, wait, progress, recognised,
            ))
            .await
        }
        Protocol::Tcp => exchange(ep, payload, wait, progress, recognised).await,
    }
}

/// How long a probe waits for this machine to free a descriptor before it
/// tries to connect again.
pub(crate) const SHORTAGE_BACKOFF: Duration = Duration::from_millis(10);

/// Connects by `deadline`. Running out of descriptors or buffers here is
/// this machine's shortage, not the service's answer: it is waited out
/// until the deadline rather than reported as a port that would not connect.
async fn connect(addr: SocketAddr, deadline: Instant) -> Option<TcpStream> {
    loop {
        match timeout_at(deadline, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => return Some(s),
            Ok(Err(e))
                if errno::is_local_shortage(&e) && Instant::now() + SHORTAGE_BACKOFF < deadline =>
            {
                tokio::time::sleep(SHORTAGE_BACKOFF).await;
            }
            _ => return None,
        }
    }
}

/// Runs one probe. `recognised` is asked after every read whether the bytes
/// so far are a final answer.
pub(crate) async fn exchange(
    ep: &Endpoint,
    payload: &[u8],
    wait: Duration,
    progress: &Shared,
    recognised: &(dyn Fn(&[u8]) -> bool + Sync),
) -> Ending {
    let start = Instant::now();
    let connect_deadline = start + ep.connect_timeout.min(wait);
    let Some(tcp) = connect(ep.addr, connect_deadline).await else {
        return Ending::NoConnection;
    };
    let _ = tcp.set_nodelay(true);
    match &ep.tls {
        None => converse(tcp, payload, start + wait, progress, recognised).await,
        // Boxed: a TLS session is large, and held inline it made every
        // probe's future (plain ones too, which wait in a box of that size
        // for as long as the service is silent) about 3.7 KiB.
        Some((connector, name)) => {
            Box::pin(async move {
                let handshake = connector.connect(name.clone(), tcp);
                match timeout_at(start + wait, handshake).await {
                    Ok(Ok(tls)) => converse(tls, payload, start + wait, progress, recognised).await,
                    _ => Ending::TlsFailed,
                }
            })
            .await
        }
    }
}

async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    payload: &[u8],
    deadline: Instant,
    progress: &Shared,
    recognised: &(dyn Fn(&[u8]) -> bool + Sync),
) -> Ending {
    {
        let now = Instant::now();
        let mut p = lock(progress);
        p.connected_at = Some(now);
        p.last_activity = Some(now);
    }
    if !payload.is_empty() {
        match timeout_at(deadline, stream.write_all(payload)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Ending::Closed,
            Err(_) => return Ending::TimedOut,
        }
    }
    // On the heap, and empty until the first byte: a buffer in the future
    // itself (which lives in a box for the whole probe) cost every waiting
    // probe 4 KiB, 2 MiB for the probes of 32 silent ports. `read_buf`
    // gives an empty Vec a few bytes of room to read into.
    let mut chunk: Vec<u8> = Vec::new();
    let mut matched = false;
    let mut rematch = Rematch::new();
    loop {
        let (until, quiet_check) = rematch.wait_until(matched, deadline, progress);
        chunk.clear();
        let n = match timeout_at(until, stream.read_buf(&mut chunk)).await {
            Err(_) if matched => return Ending::Matched,
            Err(_) if quiet_check => {
                matched = rematch.pass(progress, recognised);
                rematch.lengthen_quiet();
                continue;
            }
            Err(_) => return rematch.last_pass(Ending::TimedOut, progress, recognised),
            Ok(Ok(0)) | Ok(Err(_)) if matched => return Ending::Matched,
            Ok(Ok(0)) | Ok(Err(_)) => {
                return rematch.last_pass(Ending::Closed, progress, recognised)
            }
            Ok(Ok(n)) => n,
        };
        // The service talks: read the rest in full-sized pieces.
        chunk.reserve(READ_CHUNK);
        let len = {
            let mut p = lock(progress);
            p.data.extend_from_slice(&chunk[..n]);
            p.last_activity = Some(Instant::now());
            p.data.len()
        };
        if len >= RESPONSE_CAP {
            return if matched || rematch.pass(progress, recognised) {
                Ending::Matched
            } else {
                Ending::Full
            };
        }
        if !matched && rematch.grown_enough(len) {
            matched = rematch.pass(progress, recognised);
        }
    }
}

/// When the bytes read so far get another pass of the matcher.
#[derive(Debug)]
struct Rematch {
    /// Length of the response at the last pass.
    checked: usize,
    quiet: Duration,
}

impl Rematch {
    fn new() -> Rematch {
        Rematch {
            checked: 0,
            quiet: QUIET_FIRST,
        }
    }

    /// The first read always qualifies: `checked` is 0.
    fn grown_enough(&self, len: usize) -> bool {
        len >= self.checked.saturating_mul(2) || len - self.checked.min(len) >= REMATCH_GROWTH
    }

    /// How long the next read may wait, and whether its running out is a
    /// pause to match on rather than the end of the wait.
    fn wait_until(&self, matched: bool, deadline: Instant, progress: &Shared) -> (Instant, bool) {
        if matched {
            return (deadline.min(Instant::now() + LINGER), false);
        }
        let p = lock(progress);
        let pending = p.data.len() > self.checked;
        match p.last_activity {
            Some(at) if pending && at + self.quiet < deadline => (at + self.quiet, true),
            _ => (deadline, false),
        }
    }

    fn pass(&mut self, progress: &Shared, recognised: &(dyn Fn(&[u8]) -> bool + Sync)) -> bool {
        let p = lock(progress);
        self.checked = p.data.len();
        recognised(&p.data)
    }

    fn lengthen_quiet(&mut self) {
        self.quiet = (self.quiet * 2).min(QUIET_MAX);
    }

    /// The read ended before a match: bytes that came after the last pass
    /// may still complete one.
    fn last_pass(
        &mut self,
        ending: Ending,
        progress: &Shared,
        recognised: &(dyn Fn(&[u8]) -> bool + Sync),
    ) -> Ending {
        let pending = lock(progress).data.len() > self.checked;
        if pending && self.pass(progress, recognised) {
            Ending::Matched
        } else {
            ending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Serves one connection on loopback: `pieces` written in turn, each
    /// after its delay, then the connection is closed.
    fn serve(pieces: Vec<(Duration, Vec<u8>)>) -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            let _ = conn.set_nodelay(true);
            for (delay, bytes) in pieces {
                std::thread::sleep(delay);
                if conn.write_all(&bytes).is_err() {
                    return;
                }
            }
        });
        addr
    }

    /// Runs one probe with no payload; returns how it ended and how many
    /// times the matcher was asked.
    fn run(addr: SocketAddr, wait: Duration, recognised: fn(&[u8]) -> bool) -> (Ending, usize) {
        let ep = Endpoint {
            addr,
            protocol: Protocol::Tcp,
            tls: None,
            connect_timeout: Duration::from_secs(2),
        };
        let passes = AtomicUsize::new(0);
        let counted = |data: &[u8]| {
            passes.fetch_add(1, Ordering::Relaxed);
            recognised(data)
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let ending = rt.block_on(exchange(&ep, b"", wait, &shared(), &counted));
        (ending, passes.into_inner())
    }

    #[test]
    fn a_waiting_probe_is_small() {
        // Hundreds of probes of silent ports wait at once, each boxed for
        // its whole wait: neither a read buffer nor a TLS session may be
        // part of the future (they made it 3.8 KiB, plus 4 KiB read).
        let ep = Endpoint {
            addr: "127.0.0.1:9".parse().expect("addr"),
            protocol: Protocol::Tcp,
            tls: None,
            connect_timeout: Duration::from_secs(1),
        };
        let progress = shared();
        let recognised = |_: &[u8]| false;
        let probe = run_probe(&ep, b"", Duration::from_secs(1), &progress, &recognised);
        let size = std::mem::size_of_val(&probe);
        assert!(size <= 1024, "a probe's future takes {size} bytes");
    }

    #[test]
    fn a_trickling_service_costs_a_bounded_number_of_matcher_passes() {
        // One byte every 2 ms for longer than the wait: 750 reads.
        let trickle = (0..1000)
            .map(|_| (Duration::from_millis(2), b"x".to_vec()))
            .collect();
        let (ending, passes) = run(serve(trickle), Duration::from_millis(1500), |_| false);
        assert_eq!(ending, Ending::TimedOut);
        assert!(passes <= 40, "{passes} matcher passes for one probe");
    }

    #[test]
    fn a_response_in_pieces_is_still_matched_when_it_completes() {
        let pieces = vec![
            (Duration::ZERO, vec![b'a'; 300]),
            (Duration::from_millis(30), b"\r\n".to_vec()),
            (Duration::from_secs(5), Vec::new()),
        ];
        let started = std::time::Instant::now();
        let (ending, _) = run(serve(pieces), Duration::from_secs(3), |d| {
            d.ends_with(b"\r\n")
        });
        assert_eq!(ending, Ending::Matched);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn bytes_just_before_the_close_get_a_last_pass() {
        let pieces = vec![
            (Duration::ZERO, vec![b'a'; 300]),
            (Duration::from_millis(30), b"\r\n".to_vec()),
        ];
        let (ending, _) = run(serve(pieces), Duration::from_secs(3), |d| {
            d.ends_with(b"\r\n")
        });
        assert_eq!(ending, Ending::Matched);
    }
}
