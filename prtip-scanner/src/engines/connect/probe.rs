//! One TCP connect attempt and the mapping of its outcome to nmap's states.

use crate::error::ScanError;
use crate::sys::errno;
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

/// Map a failed connect to a state, as nmap's connect scan does.
fn classify(e: &io::Error) -> Option<(PortState, Reason)> {
    Some(match e.raw_os_error()? {
        errno::ECONNREFUSED => (PortState::Closed, Reason::ConnRefused),
        errno::EHOSTUNREACH | errno::EHOSTDOWN => (PortState::Filtered, Reason::HostUnreach),
        errno::ENETUNREACH | errno::ENETDOWN => (PortState::Filtered, Reason::NetUnreach),
        errno::EACCES | errno::EPERM => (PortState::Filtered, Reason::AdminProhibited),
        // A reset can only end a connection the peer accepted (a refused SYN
        // is ECONNREFUSED): the port is open, its service hung up at once.
        errno::ECONNRESET => (PortState::Open, Reason::SynAck),
        _ => return None,
    })
}

/// Applies `-S` and `-e` to one socket before the scan starts. They are
/// applied to every probe's socket, but a source address that is not one
/// of ours or an interface that does not exist would otherwise only show
/// at the first probe, once the outputs had begun ("0 IP addresses
/// scanned", then the error). A socket that cannot be made at all is
/// left for the probes to report.
pub(crate) fn check_options(opts: &SocketOptions) -> Result<(), ScanError> {
    if opts.source.is_none() && opts.interface.is_none() {
        return Ok(());
    }
    let local = opts
        .source
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    new_socket(&SocketAddr::new(local, 0), opts).map(drop)
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

/// Result of a connect that has finished, one way or the other. `peer` is
/// the connected peer's address when the caller already asked for it.
fn finished(
    sock: &Socket,
    outcome: io::Result<()>,
    peer: Option<SockAddr>,
    rtt: Duration,
) -> Attempt {
    match outcome {
        Ok(()) => {
            // An abortive close (RST) leaves no TIME_WAIT behind, so scanning
            // many open ports does not pin thousands of local ports.
            let _ = sock.set_linger(Some(Duration::ZERO));
            // Scanning our own ephemeral range can make the kernel connect the
            // socket to itself (simultaneous open). Nothing listens there.
            let peer = peer.map_or_else(|| sock.peer_addr(), Ok);
            let self_connect = matches!(
                (sock.local_addr(), peer),
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
            None if e.raw_os_error() == Some(errno::ETIMEDOUT) => Attempt::Silent,
            None if errno::is_local_shortage(&e) => Attempt::Resource(e),
            // Anything else is unexpected; treat it as no answer rather than guess a state.
            None => Attempt::Silent,
        },
    }
}

/// Where a connect in progress stands, without a second `connect` call:
/// SO_ERROR holds a refusal or an ICMP error, a peer address means the
/// handshake is done, neither means it is still waiting for the target.
fn progress(sock: &Socket, rtt: Duration) -> Option<Attempt> {
    match sock.take_error() {
        Ok(Some(e)) | Err(e) => Some(finished(sock, Err(e), None, rtt)),
        Ok(None) => match sock.peer_addr() {
            Ok(peer) => Some(finished(sock, Ok(()), Some(peer), rtt)),
            Err(_) => None,
        },
    }
}

/// A connect the target has not answered yet.
#[derive(Debug)]
pub struct Pending {
    sock: Socket,
    start: Instant,
}

/// How a connect attempt started.
#[derive(Debug)]
pub enum Started {
    /// Answered (or failed locally) inside the `connect` call, as local and
    /// LAN targets usually do: the socket never touched the reactor.
    Done(Attempt),
    /// Waiting for the network; finish with [`Pending::wait`].
    Pending(Pending),
}

/// Start one connect to `target`.
pub fn start(target: SocketAddr, opts: &SocketOptions) -> Result<Started, ScanError> {
    let sock = match new_socket(&target, opts)? {
        Ok(s) => s,
        Err(e) => return Ok(Started::Done(Attempt::Resource(e))),
    };
    let start = Instant::now();
    Ok(Started::Done(match sock.connect(&SockAddr::from(target)) {
        Ok(()) => finished(&sock, Ok(()), None, start.elapsed()),
        Err(e) if e.raw_os_error() == Some(errno::EINPROGRESS) => {
            crate::trace::connect(target, &Err(e));
            match progress(&sock, start.elapsed()) {
                Some(done) => done,
                None => return Ok(Started::Pending(Pending { sock, start })),
            }
        }
        Err(e) => finished(&sock, Err(e), None, start.elapsed()),
    }))
}

impl Pending {
    /// Wait at most `timeout` for the target's answer.
    pub async fn wait(self, timeout: Duration) -> Attempt {
        let stream = match tokio::net::TcpStream::from_std(std::net::TcpStream::from(self.sock)) {
            Ok(s) => s,
            Err(e) => return Attempt::Resource(e),
        };
        let waited = tokio::time::timeout(timeout, stream.writable()).await;
        let rtt = self.start.elapsed();
        let sock = match stream.into_std() {
            Ok(s) => Socket::from(s),
            Err(e) => return Attempt::Resource(e),
        };
        match waited {
            Err(_) => Attempt::Silent,
            Ok(Err(e)) => finished(&sock, Err(e), None, rtt),
            // Writable yet neither connected nor failed should not happen;
            // it says nothing about the port.
            Ok(Ok(())) => progress(&sock, rtt).unwrap_or(Attempt::Silent),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn connect_once(
        target: SocketAddr,
        timeout: Duration,
        opts: &SocketOptions,
    ) -> Result<Attempt, ScanError> {
        Ok(match start(target, opts)? {
            Started::Done(a) => a,
            Started::Pending(p) => p.wait(timeout).await,
        })
    }

    fn err(code: i32) -> io::Error {
        io::Error::from_raw_os_error(code)
    }

    #[test]
    fn errno_mapping_follows_nmap() {
        assert_eq!(
            classify(&err(errno::ECONNREFUSED)),
            Some((PortState::Closed, Reason::ConnRefused))
        );
        assert_eq!(
            classify(&err(errno::EHOSTUNREACH)),
            Some((PortState::Filtered, Reason::HostUnreach))
        );
        assert_eq!(
            classify(&err(errno::ENETUNREACH)),
            Some((PortState::Filtered, Reason::NetUnreach))
        );
        assert_eq!(
            classify(&err(errno::ECONNRESET)),
            Some((PortState::Open, Reason::SynAck))
        );
        assert_eq!(classify(&err(errno::EMFILE)), None);
        assert!(errno::is_local_shortage(&err(errno::EMFILE)));
        assert!(errno::is_local_shortage(&err(errno::EADDRNOTAVAIL)));
        assert!(!errno::is_local_shortage(&err(errno::ECONNREFUSED)));
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

    #[test]
    fn options_are_checked_before_the_scan() {
        let bad_source = SocketOptions {
            source: Some("203.0.113.7".parse().expect("ip")),
            interface: None,
        };
        let e = check_options(&bad_source).expect_err("not ours");
        assert!(e.to_string().contains("203.0.113.7"), "{e}");
        let bad_interface = SocketOptions {
            source: None,
            interface: Some("nosuchif0".to_string()),
        };
        let e = check_options(&bad_interface).expect_err("no such interface");
        assert!(e.to_string().contains("nosuchif0"), "{e}");
        let fine = SocketOptions {
            source: Some("127.0.0.1".parse().expect("ip")),
            interface: Some("lo".to_string()),
        };
        check_options(&fine).expect("loopback");
        check_options(&SocketOptions::default()).expect("nothing to check");
    }
}
