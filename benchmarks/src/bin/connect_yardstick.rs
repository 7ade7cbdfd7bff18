//! Yardstick for connect scans: the machine's limit for TCP connects.
//!
//! Does nothing but plain blocking `connect()` to every port of one address
//! from one thread per core, and counts open and closed ports as prtip does.
//! There is no timeout (a `connect_timeout` adds a poll per port and would
//! understate the limit), no scheduling, no result handling and no output
//! beyond the totals, so its time is what the kernel needs per connect; a
//! scanner is judged by its ratio to it.
//!
//! Usage: `connect_yardstick [ADDR] [FIRST-LAST] [THREADS]`
//! Only loopback addresses are accepted.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let addr: IpAddr = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    if !addr.is_loopback() {
        eprintln!("connect_yardstick: only loopback targets are allowed");
        std::process::exit(2);
    }
    let (first, last) = args
        .next()
        .and_then(|r| {
            let (a, b) = r.split_once('-')?;
            Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?))
        })
        .unwrap_or((1, 65535));
    let threads = args
        .next()
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let next = AtomicU32::new(first);
    let open = AtomicU64::new(0);
    let closed = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let port = next.fetch_add(1, Ordering::Relaxed);
                if port > last {
                    break;
                }
                let Ok(port) = u16::try_from(port) else { break };
                let target = SocketAddr::new(addr, port);
                let count = match TcpStream::connect(target) {
                    Ok(stream) => {
                        // Abortive close: no TIME_WAIT, like the scanner under test.
                        zero_linger(&stream);
                        // Our own ephemeral port connected to itself: nothing
                        // listens there, and prtip reports it closed.
                        let own = matches!(
                            (stream.local_addr(), stream.peer_addr()),
                            (Ok(l), Ok(p)) if l == p
                        );
                        if own {
                            &closed
                        } else {
                            &open
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => &closed,
                    Err(_) => continue,
                };
                count.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let n = u64::from(last - first + 1);
    println!(
        "ports={n} open={} closed={} threads={threads} seconds={secs:.3} connects_per_second={:.0}",
        open.load(Ordering::Relaxed),
        closed.load(Ordering::Relaxed),
        n as f64 / secs
    );
}

fn zero_linger(stream: &TcpStream) {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: valid descriptor owned by `stream`; `l` outlives the call and
    // the length matches its type.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::from_ref(&l).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}
