//! One probe on its own connection: connect (and TLS handshake), send the
//! payload, read until the answer matches, the peer closes, the wait ends
//! or the response is big enough.
//!
//! Progress is published through [`Progress`] so that the port driver can
//! judge a probe that is still running (how long it has been silent, what
//! it has received so far) without waiting for it to end.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_rustls::TlsConnector;

use rustls::pki_types::ServerName;

/// nmap stops reading a response once it holds this many bytes: enough to
/// match any rule, and a hostile service cannot make it grow.
pub const RESPONSE_CAP: usize = 4096;

/// After a match, how long to keep listening for the rest of a response
/// that arrived in pieces: a rule that matches the first piece may be a
/// vaguer one than the rule the whole response matches (memcached's `stats`
/// reply matched without its version when read in two parts).
const LINGER: Duration = Duration::from_millis(30);

/// Bytes asked of the socket per read; with [`RESPONSE_CAP`] this bounds a
/// response at under 8 KiB.
const READ_CHUNK: usize = 4096;

/// How a probe's connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The matcher recognised the response; reading stopped early.
    Matched,
    /// The wait ran out.
    TimedOut,
    /// The peer closed (FIN) or reset the connection.
    Closed,
    /// [`RESPONSE_CAP`] reached.
    Full,
    /// No connection (refused, unreachable, or the connect timed out).
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
}

pub(crate) type Shared = Arc<Mutex<Progress>>;

pub(crate) fn shared() -> Shared {
    Arc::new(Mutex::new(Progress {
        data: Vec::new(),
        last_activity: None,
        connected_at: None,
    }))
}

pub(crate) fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Progress> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where and how to connect.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub(crate) addr: SocketAddr,
    pub(crate) tls: Option<(TlsConnector, ServerName<'static>)>,
    pub(crate) connect_timeout: Duration,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("addr", &self.addr)
            .field("tls", &self.tls.is_some())
            .finish()
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
    let tcp = match timeout_at(connect_deadline, TcpStream::connect(ep.addr)).await {
        Ok(Ok(s)) => s,
        _ => return Ending::NoConnection,
    };
    let _ = tcp.set_nodelay(true);
    match &ep.tls {
        None => converse(tcp, payload, start + wait, progress, recognised).await,
        Some((connector, name)) => {
            let handshake = connector.connect(name.clone(), tcp);
            match timeout_at(start + wait, handshake).await {
                Ok(Ok(tls)) => converse(tls, payload, start + wait, progress, recognised).await,
                _ => Ending::TlsFailed,
            }
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
    let mut chunk = [0u8; READ_CHUNK];
    let mut matched = false;
    loop {
        let until = if matched {
            deadline.min(Instant::now() + LINGER)
        } else {
            deadline
        };
        let n = match timeout_at(until, stream.read(&mut chunk)).await {
            Err(_) if matched => return Ending::Matched,
            Err(_) => return Ending::TimedOut,
            Ok(Ok(0)) | Ok(Err(_)) if matched => return Ending::Matched,
            Ok(Ok(0)) | Ok(Err(_)) => return Ending::Closed,
            Ok(Ok(n)) => n,
        };
        let mut p = lock(progress);
        p.data.extend_from_slice(&chunk[..n]);
        p.last_activity = Some(Instant::now());
        if p.data.len() >= RESPONSE_CAP {
            return if matched || recognised(&p.data) {
                Ending::Matched
            } else {
                Ending::Full
            };
        }
        matched = matched || recognised(&p.data);
    }
}
