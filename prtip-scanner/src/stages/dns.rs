//! Reverse DNS of hosts that are up, bounded in time.
//!
//! getnameinfo has no timeout of its own and waits out every resolver in
//! resolv.conf, so a lookup runs on a short-lived thread and is abandoned
//! after [`REVERSE_TIMEOUT`]. Abandoned lookups finish in the background;
//! while [`MAX_ABANDONED`] of them are still stuck, further hosts get no
//! name rather than another stuck thread.

use crate::sys::names;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// How long one reverse lookup may take.
pub const REVERSE_TIMEOUT: Duration = Duration::from_secs(3);
/// Stuck lookups tolerated before lookups are skipped.
pub const MAX_ABANDONED: usize = 16;

/// Reverse lookups with a deadline, shared by the stage workers.
#[derive(Debug, Default)]
pub struct ReverseDns {
    /// Lookup threads still running, finished ones excluded.
    running: Arc<AtomicUsize>,
}

impl ReverseDns {
    pub fn new() -> Self {
        Self::default()
    }

    /// The PTR name of `addr`, or `None` when it has none, the lookup took
    /// longer than `timeout`, or too many earlier lookups are stuck.
    pub fn lookup(&self, addr: IpAddr, timeout: Duration) -> Option<String> {
        if self.running.load(Ordering::Relaxed) >= MAX_ABANDONED {
            return None;
        }
        let (tx, rx) = mpsc::sync_channel(1);
        let running = Arc::clone(&self.running);
        running.fetch_add(1, Ordering::Relaxed);
        let spawned = std::thread::Builder::new()
            .name("reverse-dns".into())
            .spawn(move || {
                let _phase = memprof::phase(memprof::Phase::ReverseDns);
                let name = names::reverse(addr);
                running.fetch_sub(1, Ordering::Relaxed);
                // The receiver is gone when the lookup was abandoned.
                let _ = tx.send(name);
            });
        if spawned.is_err() {
            self.running.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        rx.recv_timeout(timeout).ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_localhost_within_the_deadline() {
        let dns = ReverseDns::new();
        let name = dns.lookup(IpAddr::from([127, 0, 0, 1]), REVERSE_TIMEOUT);
        assert!(name.is_some_and(|n| !n.is_empty()));
    }

    #[test]
    fn gives_up_when_too_many_lookups_are_stuck() {
        let dns = ReverseDns::new();
        dns.running.store(MAX_ABANDONED, Ordering::Relaxed);
        assert_eq!(
            dns.lookup(IpAddr::from([127, 0, 0, 1]), REVERSE_TIMEOUT),
            None
        );
    }
}
