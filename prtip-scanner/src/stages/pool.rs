//! The stage workers: a few threads that process hosts, with the results
//! handed on in the order the hosts were submitted.
//!
//! Version detection waits on services, OS detection on probe timeouts and
//! reverse DNS on resolvers;
//! done inline, one host at a time, a /24 with `-sV` would take minutes of
//! mostly idle waiting. The scan engines deliver hosts in target order to a
//! synchronous callback, so that callback submits each host here and emits
//! whatever has finished, in order; a bounded queue pushes back on the scan
//! when the workers fall behind, so memory stays bounded by the number of
//! hosts in flight. A host the workers gave up on (its `--host-timeout`
//! ran out) keeps its place in the order, so its skip line comes out where
//! its report would have.

use crate::plan::HostOutcome;
use prtip_core::result::HostResult;
use std::collections::BTreeMap;
use std::io;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::Scope;

type Job = (u64, HostResult);
/// `None` when the worker panicked on the host.
type Finished = (u64, Option<HostOutcome>);

/// Receives each finished host, in submission order.
pub type Deliver<'a> = dyn FnMut(HostOutcome) -> io::Result<()> + 'a;

/// The submitting side of the worker pool.
#[derive(Debug)]
pub struct Ordered {
    work: Option<SyncSender<Job>>,
    done: Receiver<Finished>,
    waiting: BTreeMap<u64, Option<HostOutcome>>,
    submitted: u64,
    emitted: u64,
}

impl Ordered {
    /// Starts one thread per element of `workers` inside `scope`; each
    /// thread runs `process` on the hosts it takes with its own state.
    pub fn start<'scope, 'env, W, F>(
        scope: &'scope Scope<'scope, 'env>,
        workers: Vec<W>,
        process: &'env F,
    ) -> Ordered
    where
        W: Send + 'scope,
        F: Fn(&mut W, HostResult) -> HostOutcome + Sync + 'env,
    {
        let (work_tx, work_rx) = sync_channel::<Job>(workers.len().max(1) * 2);
        let work_rx = Arc::new(Mutex::new(work_rx));
        let (done_tx, done_rx) = channel::<Finished>();
        for mut state in workers {
            let work_rx = Arc::clone(&work_rx);
            let done_tx = done_tx.clone();
            scope.spawn(move || loop {
                let job = work_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                let Ok((seq, host)) = job else {
                    break;
                };
                let processed = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    crate::inject::panic_point(crate::inject::place::STAGE);
                    process(&mut state, host)
                }));
                // After a panic (already reported by the panic hook, which
                // stops the scan) the host's place is still filled, so the
                // hosts behind it are not waited for forever; the host itself
                // is lost, and the worker's state may be broken, so it takes
                // no more hosts.
                let panicked = processed.is_err();
                if done_tx.send((seq, processed.ok())).is_err() || panicked {
                    break;
                }
            });
        }
        Ordered {
            work: Some(work_tx),
            done: done_rx,
            waiting: BTreeMap::new(),
            submitted: 0,
            emitted: 0,
        }
    }

    /// Queues `host` (blocking while the queue is full) and emits every
    /// host that is finished and next in order.
    pub fn submit(&mut self, host: HostResult, emit: &mut Deliver<'_>) -> io::Result<()> {
        let work = self
            .work
            .as_ref()
            .ok_or_else(|| io::Error::other("host submitted after the end"))?;
        work.send((self.submitted, host))
            .map_err(|_| io::Error::other("the per-host workers stopped"))?;
        self.submitted += 1;
        self.drain(false, emit)
    }

    /// Waits for every submitted host and emits the rest, in order.
    pub fn finish(&mut self, emit: &mut Deliver<'_>) -> io::Result<()> {
        // Closing the queue ends each worker after its last host.
        self.work = None;
        self.drain(true, emit)
    }

    fn drain(&mut self, wait: bool, emit: &mut Deliver<'_>) -> io::Result<()> {
        loop {
            while let Ok((seq, outcome)) = self.done.try_recv() {
                self.waiting.insert(seq, outcome);
            }
            while let Some(outcome) = self.waiting.remove(&self.emitted) {
                self.emitted += 1;
                if let Some(outcome) = outcome {
                    emit(outcome)?;
                }
            }
            if !wait || self.emitted == self.submitted {
                return Ok(());
            }
            match self.done.recv() {
                Ok((seq, outcome)) => {
                    self.waiting.insert(seq, outcome);
                }
                // Every worker is gone (one panicked): nothing more will come.
                Err(_) => return Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prtip_core::result::{HostStatus, PortTable, Reason};
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::{Duration, SystemTime};

    fn host(n: u8) -> HostResult {
        HostResult {
            addr: IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)),
            hostname: None,
            status: HostStatus::Up,
            reason: Reason::UserSet,
            latency: None,
            start: SystemTime::UNIX_EPOCH,
            end: SystemTime::UNIX_EPOCH,
            ports: PortTable::default(),
            os: None,
            scripts: None,
        }
    }

    #[test]
    fn results_come_out_in_submission_order_whatever_the_workers_take() {
        // Later hosts finish first: worker time shrinks with the address.
        let process = |_: &mut (), mut h: HostResult| {
            if let IpAddr::V4(a) = h.addr {
                std::thread::sleep(Duration::from_millis(u64::from(40 - a.octets()[3])));
            }
            h.hostname = Some("done".into());
            HostOutcome::Done(h)
        };
        let mut out = Vec::new();
        std::thread::scope(|scope| {
            let mut ordered = Ordered::start(scope, vec![(); 4], &process);
            let mut emit = |o: HostOutcome| {
                if let HostOutcome::Done(h) = o {
                    out.push(h);
                }
                Ok(())
            };
            for n in 1..=20 {
                ordered.submit(host(n), &mut emit).expect("submit");
            }
            ordered.finish(&mut emit).expect("finish");
        });
        let order: Vec<IpAddr> = out.iter().map(|h| h.addr).collect();
        let expected: Vec<IpAddr> = (1..=20).map(|n| host(n).addr).collect();
        assert_eq!(order, expected);
        assert!(out.iter().all(|h| h.hostname.as_deref() == Some("done")));
    }
}
