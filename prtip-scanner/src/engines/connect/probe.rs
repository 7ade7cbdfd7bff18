//! One TCP connect attempt and the mapping of its outcome to nmap's states.

use crate::error::ScanError;
use prtip_core::result::{PortState, Reason};
use socket2::{Domain, Protocol as SockProtocol, SockAddr, Socket, Type};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::time::Instant;

/// What one connect attempt told us.
#[derive(Debug)]
pub enum Attempt {
    /// The target answered (SYN-ACK, RST or an ICMP error).
    Answered {
        state: PortState,
        reason: Reason,
        rtt: Duration,
    },
    /// No answer within the timeout.
    Silent,
    /// A local shortage (descriptors, buffers, ephemeral ports): try again later,
    /// it says nothing about the target.
    Resource(io::Error),
}

/// Local settings applied to every probe socket.
#[derive(Debug, Clone, Default)]
pub struct SocketOptions {
    /// `-S`: source address to bind.
    pub source: Option<IpAddr>,
    /// `-e`: interface to bind with SO_BINDTODEVICE.
    pub interface: Option<String>,
}

fn is_resource_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EMFILE
                | libc::ENFILE
                | libc::ENOBUFS
                | libc::ENOMEM
                | libc::EADDRNOTAVAIL
                | libc::EAGAIN
        )
    )
}

/// Map a failed connect to a state, as nmap's connect scan does.
fn classify(e: &io::Error) -> Option<(PortState, Reason)> {
    Some(match e.raw_os_error()? {
        libc::ECONNREFUSED => (PortState::Closed, Reason::ConnRefused),
        libc::EHOSTUNREACH | libc::EHOSTDOWN => (PortState::Filtered, Reason::HostUnreach),
        libc::ENETUNREACH | libc::ENETDOWN => (PortState::Filtered, Reason::NetUnreach),
        libc::EACCES | libc::EPERM => (PortState::Filtered, Reason::AdminProhibited),
        // A reset can only end a connection the peer accepted (a refused SYN
        // is ECONNREFUSED): the port is open, its service hung up at once.
        libc::ECONNRESET => (PortState::Open, Reason::SynAck),
        _ => return None,
    })
}

fn new_socket(target: &SocketAddr, opts: &SocketOptions) -> Result<io::Result<Socket>, ScanError> {
    let ty = Type::STREAM.nonblocking().cloexec();
    let sock = match Socket::new(Domain::for_address(*target), ty, Some(SockProtocol::TCP)) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    if let Some(src) = opts.source {
        sock.bind(&SocketAddr::new(src, 0).into())
            .map_err(|source| ScanError::SourceAddress { addr: src, source })?;
    }
    if let Some(iface) = &opts.interface {
        sock.bind_device(Some(iface.as_bytes()))
            .map_err(|source| ScanError::Interface {
                iface: iface.clone(),
                source,
            })?;
    }
    Ok(Ok(sock))
}

/// Result of a connect that has finished, one way or the other.
fn finished(sock: &Socket, outcome: io::Result<()>, rtt: Duration) -> Attempt {
    match outcome {
        Ok(()) => {
            // An abortive close (RST) leaves no TIME_WAIT behind, so scanning
            // many open ports does not pin thousands of local ports.
            let _ = sock.set_linger(Some(Duration::ZERO));
            // Scanning our own ephemeral range can make the kernel connect the
            // socket to itself (simultaneous open). Nothing listens there.
            let self_connect = matches!(
                (sock.local_addr(), sock.peer_addr()),
                (Ok(l), Ok(p)) if l == p
            );
            let (state, reason) = if self_connect {
                (PortState::Closed, Reason::ConnRefused)
            } else {
                (PortState::Open, Reason::SynAck)
            };
            Attempt::Answered { state, reason, rtt }
        }
        Err(e) => match classify(&e) {
            Some((state, reason)) => Attempt::Answered { state, reason, rtt },
            None if e.raw_os_error() == Some(libc::ETIMEDOUT) => Attempt::Silent,
            None if is_resource_error(&e) => Attempt::Resource(e),
            // Anything else is unexpected; treat it as no answer rather than guess a state.
            None => Attempt::Silent,
        },
    }
}

/// Repeating `connect` on a non-blocking socket reports its progress without
/// the event loop: EISCONN when connected, EALREADY while pending, or the
/// pending error (ECONNREFUSED, ...).
fn poll_connect(sock: &Socket, target: &SockAddr) -> Option<io::Result<()>> {
    match sock.connect(target) {
        Ok(()) => Some(Ok(())),
        Err(e) => match e.raw_os_error() {
            Some(libc::EISCONN) => Some(Ok(())),
            Some(libc::EALREADY | libc::EINPROGRESS) => None,
            _ => Some(Err(e)),
        },
    }
}

/// Try one connect to `target`, waiting at most `timeout`.
///
/// Local and LAN targets usually answer before the `connect` call returns,
/// so the outcome is read with a second `connect` and the socket never
/// touches the reactor; only a pending connect is registered with tokio.
pub async fn connect_once(
    target: SocketAddr,
    timeout: Duration,
    opts: &SocketOptions,
) -> Result<Attempt, ScanError> {
    let sock = match new_socket(&target, opts)? {
        Ok(s) => s,
        Err(e) => return Ok(Attempt::Resource(e)),
    };
    let addr = SockAddr::from(target);
    let start = Instant::now();
    let first = match sock.connect(&addr) {
        Ok(()) => Some(Ok(())),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => poll_connect(&sock, &addr),
        Err(e) => Some(Err(e)),
    };
    if let Some(outcome) = first {
        return Ok(finished(&sock, outcome, start.elapsed()));
    }
    let stream = match tokio::net::TcpStream::from_std(std::net::TcpStream::from(sock)) {
        Ok(s) => s,
        Err(e) => return Ok(Attempt::Resource(e)),
    };
    let waited = tokio::time::timeout(timeout, stream.writable()).await;
    let rtt = start.elapsed();
    let sock = match stream.into_std() {
        Ok(s) => Socket::from(s),
        Err(e) => return Ok(Attempt::Resource(e)),
    };
    Ok(match waited {
        Err(_) => Attempt::Silent,
        Ok(Err(e)) => finished(&sock, Err(e), rtt),
        Ok(Ok(())) => match sock.take_error() {
            Ok(Some(e)) => finished(&sock, Err(e), rtt),
            Ok(None) => match poll_connect(&sock, &addr) {
                Some(outcome) => finished(&sock, outcome, rtt),
                None => Attempt::Silent,
            },
            Err(e) => finished(&sock, Err(e), rtt),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: i32) -> io::Error {
        io::Error::from_raw_os_error(code)
    }

    #[test]
    fn errno_mapping_follows_nmap() {
        assert_eq!(
            classify(&err(libc::ECONNREFUSED)),
            Some((PortState::Closed, Reason::ConnRefused))
        );
        assert_eq!(
            classify(&err(libc::EHOSTUNREACH)),
            Some((PortState::Filtered, Reason::HostUnreach))
        );
        assert_eq!(
            classify(&err(libc::ENETUNREACH)),
            Some((PortState::Filtered, Reason::NetUnreach))
        );
        assert_eq!(
            classify(&err(libc::ECONNRESET)),
            Some((PortState::Open, Reason::SynAck))
        );
        assert_eq!(classify(&err(libc::EMFILE)), None);
        assert!(is_resource_error(&err(libc::EMFILE)));
        assert!(is_resource_error(&err(libc::EADDRNOTAVAIL)));
        assert!(!is_resource_error(&err(libc::ECONNREFUSED)));
    }

    #[tokio::test]
    async fn open_and_closed_on_loopback() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let open = listener.local_addr().expect("addr");
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr")
        };
        let opts = SocketOptions::default();
        let t = Duration::from_secs(2);
        match connect_once(open, t, &opts).await.expect("probe") {
            Attempt::Answered { state, .. } => assert_eq!(state, PortState::Open),
            other => panic!("expected open, got {other:?}"),
        }
        match connect_once(closed, t, &opts).await.expect("probe") {
            Attempt::Answered { state, reason, .. } => {
                assert_eq!(state, PortState::Closed);
                assert_eq!(reason, Reason::ConnRefused);
            }
            other => panic!("expected closed, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn bad_source_address_is_a_clear_error() {
        let opts = SocketOptions {
            // TEST-NET-3: never assigned to a local interface.
            source: Some("203.0.113.7".parse().expect("ip")),
            interface: None,
        };
        let target: SocketAddr = "127.0.0.1:9".parse().expect("addr");
        let e = connect_once(target, Duration::from_millis(100), &opts)
            .await
            .expect_err("must fail");
        assert!(e.to_string().contains("203.0.113.7"), "{e}");
    }
}
