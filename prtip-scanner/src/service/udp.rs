//! One UDP probe: a socket of its own connected to the port, the payload
//! sent once, and every datagram that comes back within the wait appended
//! to the response. nmap reads a UDP answer the same way: its rules are
//! matched against the datagrams together, after each one arrives.
//!
//! The socket is connected for two reasons: the kernel then hands the
//! target's ICMP port unreachable to this socket (as `ECONNREFUSED` on the
//! next receive), and it drops datagrams from any other address or port.
//! No privileges are needed.
//!
//! A hostile service cannot grow memory: the response stops at
//! [`RESPONSE_CAP`], a datagram longer than [`READ_CHUNK`] is cut to it, and
//! the matcher runs a bounded number of times however many datagrams come.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::{timeout_at, Instant};

use super::exchange::{lock, Ending, Shared, READ_CHUNK, RESPONSE_CAP, SHORTAGE_BACKOFF};
use crate::sys::errno;

/// Datagrams matched one by one, as nmap does after each read. A service
/// that floods tiny datagrams would otherwise cost a matcher pass per
/// datagram up to the cap; past this many, a response is matched again
/// only once it has doubled or grown by [`REMATCH_GROWTH`], and at the end.
const EACH_DATAGRAM: usize = 16;
const REMATCH_GROWTH: usize = 512;

/// Runs one probe to `addr`. `recognised` says whether the bytes so far are
/// a final answer (a hard match); the first datagram that completes one
/// ends the probe, since nmap stops reading there too.
pub(crate) async fn exchange(
    addr: SocketAddr,
    payload: &[u8],
    wait: Duration,
    progress: &Shared,
    recognised: &(dyn Fn(&[u8]) -> bool + Sync),
) -> Ending {
    let deadline = Instant::now() + wait;
    let socket = match open(addr, deadline).await {
        Ok(s) => s,
        Err(e) => return after_error(&e),
    };
    sent_at(progress, Instant::now());
    match timeout_at(deadline, socket.send(payload)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return after_error(&e),
        Err(_) => return Ending::TimedOut,
    }
    receive(&socket, deadline, progress, recognised).await
}

/// A socket connected to `addr`. Running out of descriptors or buffers is
/// this machine's shortage, not the port's answer: waited out until the
/// deadline, as the TCP connect does.
async fn open(addr: SocketAddr, deadline: Instant) -> io::Result<UdpSocket> {
    let any = match addr.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    loop {
        let attempt = async {
            let socket = UdpSocket::bind(SocketAddr::new(any, 0)).await?;
            socket.connect(addr).await?;
            Ok::<_, io::Error>(socket)
        };
        match attempt.await {
            Err(e)
                if errno::is_local_shortage(&e) && Instant::now() + SHORTAGE_BACKOFF < deadline =>
            {
                tokio::time::sleep(SHORTAGE_BACKOFF).await;
            }
            other => return other,
        }
    }
}

/// The probe's clock starts when its datagram leaves: the port driver
/// measures silence from here.
fn sent_at(progress: &Shared, now: Instant) {
    let mut p = lock(progress);
    p.connected_at = Some(now);
    p.last_activity = Some(now);
}

/// What nmap does with a socket error on a UDP probe: the errors an ICMP
/// message or a refusing peer cause end this probe only (the next one is
/// tried, and "tcpwrapped" stays possible); unreachable hosts and networks,
/// and anything else, end it as if no connection was made.
fn after_error(e: &io::Error) -> Ending {
    let refusal = [
        errno::ECONNREFUSED,
        errno::ECONNRESET,
        errno::ECONNABORTED,
        errno::EMSGSIZE,
        errno::EOPNOTSUPP,
        errno::ENOPROTOOPT,
        errno::EPROTO,
        errno::EPIPE,
        errno::ENETRESET,
        errno::EIO,
    ];
    match e.raw_os_error() {
        Some(code) if refusal.contains(&code) => Ending::Refused,
        _ => Ending::NoConnection,
    }
}

async fn receive(
    socket: &UdpSocket,
    deadline: Instant,
    progress: &Shared,
    recognised: &(dyn Fn(&[u8]) -> bool + Sync),
) -> Ending {
    let mut datagram = [0u8; READ_CHUNK];
    let mut passes = Passes::default();
    loop {
        let n = match timeout_at(deadline, socket.recv(&mut datagram)).await {
            Err(_) => return passes.last(Ending::TimedOut, progress, recognised),
            Ok(Err(e)) => return passes.last(after_error(&e), progress, recognised),
            Ok(Ok(0)) => return passes.last(Ending::Closed, progress, recognised),
            Ok(Ok(n)) => n,
        };
        let len = append(progress, &datagram[..n]);
        if len >= RESPONSE_CAP {
            return if passes.run(progress, recognised) {
                Ending::Matched
            } else {
                Ending::Full
            };
        }
        if passes.due(len) && passes.run(progress, recognised) {
            return Ending::Matched;
        }
    }
}

/// Adds a datagram to the response, up to [`RESPONSE_CAP`]; the new length.
fn append(progress: &Shared, datagram: &[u8]) -> usize {
    let mut p = lock(progress);
    let room = RESPONSE_CAP.saturating_sub(p.data.len());
    let take = datagram.len().min(room);
    p.data.extend_from_slice(&datagram[..take]);
    p.last_activity = Some(Instant::now());
    p.data.len()
}

/// When the response gets another pass of the matcher.
#[derive(Debug, Default)]
struct Passes {
    /// Passes so far.
    count: usize,
    /// Length of the response at the last pass.
    checked: usize,
}

impl Passes {
    fn due(&self, len: usize) -> bool {
        self.count < EACH_DATAGRAM
            || len >= self.checked.saturating_mul(2)
            || len - self.checked.min(len) >= REMATCH_GROWTH
    }

    fn run(&mut self, progress: &Shared, recognised: &(dyn Fn(&[u8]) -> bool + Sync)) -> bool {
        let p = lock(progress);
        self.count += 1;
        self.checked = p.data.len();
        recognised(&p.data)
    }

    /// The probe ended before a match: datagrams that arrived after the
    /// last pass may still complete one.
    fn last(
        &mut self,
        ending: Ending,
        progress: &Shared,
        recognised: &(dyn Fn(&[u8]) -> bool + Sync),
    ) -> Ending {
        let pending = lock(progress).data.len() > self.checked;
        if pending && self.run(progress, recognised) {
            Ending::Matched
        } else {
            ending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::exchange::shared;
    use super::*;
    use prtip_testkit::loopback::{closed_udp_port, UdpService};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn now(d: &[u8]) -> (Duration, Vec<u8>) {
        (Duration::ZERO, d.to_vec())
    }

    /// Runs one probe with payload `probe`; how it ended, what it kept, and
    /// how many times the matcher was asked.
    fn run(
        addr: SocketAddr,
        wait: Duration,
        recognised: fn(&[u8]) -> bool,
    ) -> (Ending, Vec<u8>, usize) {
        let passes = AtomicUsize::new(0);
        let counted = |d: &[u8]| {
            passes.fetch_add(1, Ordering::Relaxed);
            recognised(d)
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let progress = shared();
        let ending = rt.block_on(exchange(addr, b"probe", wait, &progress, &counted));
        let data = lock(&progress).data.clone();
        (ending, data, passes.into_inner())
    }

    #[test]
    fn a_matching_datagram_ends_the_probe_at_once() {
        let svc = UdpService::start(|d| vec![now(&[b"re:", d].concat())]);
        let started = std::time::Instant::now();
        let (ending, data, _) = run(svc.addr(), Duration::from_secs(5), |d| {
            d.starts_with(b"re:")
        });
        assert_eq!(
            (ending, data.as_slice()),
            (Ending::Matched, &b"re:probe"[..])
        );
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn datagrams_are_joined_and_matched_together() {
        let svc = UdpService::start(|_| vec![now(b"one,"), now(b"two")]);
        let (ending, data, _) = run(svc.addr(), Duration::from_secs(5), |d| d == b"one,two");
        assert_eq!(
            (ending, data.as_slice()),
            (Ending::Matched, &b"one,two"[..])
        );
    }

    #[test]
    fn silence_times_out_and_unmatched_data_is_kept() {
        let silent = UdpService::silent();
        let chatty = UdpService::start(|_| vec![now(b"garbage")]);
        let wait = Duration::from_millis(300);
        let (ending, data, _) = run(silent.addr(), wait, |_| true);
        assert_eq!((ending, data.len()), (Ending::TimedOut, 0));
        let (ending, data, _) = run(chatty.addr(), wait, |_| false);
        assert_eq!(
            (ending, data.as_slice()),
            (Ending::TimedOut, &b"garbage"[..])
        );
    }

    #[test]
    fn port_unreachable_is_a_refusal() {
        let started = std::time::Instant::now();
        let (ending, data, _) = run(closed_udp_port(), Duration::from_secs(5), |_| true);
        assert_eq!((ending, data.len()), (Ending::Refused, 0));
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn an_empty_datagram_ends_the_probe_like_a_close() {
        let svc = UdpService::start(|_| vec![now(b"")]);
        let (ending, _, _) = run(svc.addr(), Duration::from_secs(5), |_| true);
        assert_eq!(ending, Ending::Closed);
    }

    #[test]
    fn a_flood_is_capped_and_matched_a_bounded_number_of_times() {
        // 3,000 one-byte datagrams, then 60 of 60,000 bytes each.
        let svc = UdpService::start(|_| {
            let small = (0..3000).map(|_| now(b"x"));
            small.chain((0..60).map(|_| now(&[b'y'; 60_000]))).collect()
        });
        let (ending, data, passes) = run(svc.addr(), Duration::from_secs(3), |_| false);
        assert!(
            matches!(ending, Ending::Full | Ending::TimedOut),
            "{ending:?}"
        );
        assert!(data.len() <= RESPONSE_CAP, "{} bytes kept", data.len());
        assert!(passes <= 40, "{passes} matcher passes for one probe");
    }
}
