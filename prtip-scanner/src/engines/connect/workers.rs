//! One host's port scan by a few long-lived worker tasks.
//!
//! A task, a JoinSet entry and two semaphore permits per probe cost more CPU
//! than a loopback connect costs the kernel, so workers pull ports from a
//! shared cursor and probe them one after another. Each worker holds one
//! socket permit for its life. A scan starts with one worker per runtime
//! thread, which is all a target answering inside the `connect` call needs,
//! and adds a worker whenever an attempt has to wait for the network, up to
//! the socket budget, so a remote host still gets a full window in flight.

use super::{ConnectScanner, HostCtx};
use crate::error::ScanError;
use memprof::Phase;
use prtip_core::ports::PortList;
use prtip_core::result::{PortTable, PortTableBuilder};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinError, JoinSet};

/// A position in a port list that borrows nothing, so workers can share it.
#[derive(Debug, Default)]
struct Cursor {
    range: usize,
    next: u32,
}

impl Cursor {
    fn next(&mut self, ports: &PortList) -> Option<u16> {
        let ranges = ports.ranges();
        while let Some(&(lo, hi)) = ranges.get(self.range) {
            let port = self.next.max(u32::from(lo));
            if port <= u32::from(hi) {
                self.next = port + 1;
                return u16::try_from(port).ok();
            }
            self.range += 1;
            self.next = 0;
        }
        None
    }

    fn exhausted(&self, ports: &PortList) -> bool {
        self.range >= ports.ranges().len()
    }
}

/// What the workers of one host share.
#[derive(Debug)]
struct HostPorts {
    ctx: Arc<HostCtx>,
    ports: Arc<PortList>,
    cursor: Mutex<Cursor>,
    table: Mutex<PortTableBuilder>,
    /// One permit per attempt that had to wait for the network: a request
    /// for another worker.
    waiting: Semaphore,
}

/// A worker panicking while holding a lock cannot leave the cursor or the
/// table half-updated in a way that matters more than losing the scan.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl HostPorts {
    fn next_port(&self) -> Option<u16> {
        lock(&self.cursor).next(&self.ports)
    }

    fn exhausted(&self) -> bool {
        lock(&self.cursor).exhausted(&self.ports)
    }
}

type Socket = Result<OwnedSemaphorePermit, AcquireError>;

/// Probe ports until none are left. `false` means the scan was stopped.
async fn work(
    scanner: Arc<ConnectScanner>,
    host: Arc<HostPorts>,
    _socket: Socket,
) -> Result<bool, ScanError> {
    for _ in 0..host.ports.len() {
        let Some(port) = host.next_port() else { break };
        match scanner
            .probe_port(&host.ctx, port, Some(&host.waiting))
            .await?
        {
            Some(p) => lock(&host.table).add(p),
            None => return Ok(false),
        }
        // A loopback probe never waits, so hand the thread back now and then:
        // timers (--host-timeout), aborts and other hosts need their turn.
        tokio::task::consume_budget().await;
    }
    Ok(true)
}

/// `Ok(false)` when the worker saw the scan stopped, or was aborted.
fn worker_done(
    joined: Option<Result<Result<bool, ScanError>, JoinError>>,
) -> Result<bool, ScanError> {
    match joined {
        Some(Ok(r)) => r,
        // A worker cannot panic on data; a join error means it was aborted.
        Some(Err(_)) => Ok(false),
        None => Ok(true),
    }
}

impl ConnectScanner {
    /// A socket permit for one more worker; past the first `free` workers,
    /// only once some attempt has waited for the network.
    async fn worker_permit(&self, host: &HostPorts, free: bool) -> Socket {
        let wanted = if free {
            None
        } else {
            host.waiting.acquire().await.ok()
        };
        let socket = Arc::clone(&self.sockets).acquire_owned().await;
        // Consumed only now: were this future dropped while waiting for a
        // socket, the request would stay for the next try.
        if let Some(w) = wanted {
            w.forget();
        }
        socket
    }

    /// Scan every port of one host. `None` means the scan was stopped.
    pub(super) async fn scan_ports(
        self: &Arc<Self>,
        ctx: &Arc<HostCtx>,
        table: PortTableBuilder,
    ) -> Result<Option<PortTable>, ScanError> {
        let ports = Arc::clone(&self.cfg.ports);
        let most = ports.len().min(self.cfg.parallelism.max(1));
        let threads = tokio::runtime::Handle::current().metrics().num_workers();
        let first = most.min(threads.max(1));
        let host = Arc::new(HostPorts {
            ctx: Arc::clone(ctx),
            ports,
            cursor: Mutex::new(Cursor::default()),
            table: Mutex::new(table),
            waiting: Semaphore::new(0),
        });
        let mut workers = JoinSet::new();
        // Bounded: each turn starts a worker (at most `most`) or ends one.
        for _ in 0..2 * most + 1 {
            let more = workers.len() < most && !host.exhausted();
            if workers.is_empty() && !more {
                break;
            }
            let free = workers.len() < first;
            tokio::select! {
                biased;
                _ = self.stop.stopped() => return Ok(None),
                joined = workers.join_next(), if !workers.is_empty() => {
                    if !worker_done(joined)? {
                        return Ok(None);
                    }
                }
                socket = self.worker_permit(&host, free), if more => {
                    let (me, h) = (Arc::clone(self), Arc::clone(&host));
                    workers.spawn(memprof::in_phase(Phase::Sending, work(me, h, socket)));
                }
            }
        }
        let done = std::mem::replace(&mut *lock(&host.table), PortTableBuilder::new(0, false));
        Ok(Some(done.finish()))
    }
}
