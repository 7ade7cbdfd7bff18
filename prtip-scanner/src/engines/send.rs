//! The packet loops shared by the raw engines: probes are built into a
//! fixed batch and handed to the kernel with one `sendmmsg`, paced by
//! `--max-rate` and `--scan-delay`; replies are taken a batch at a time by
//! [`receive_until`].

use crate::cancel::StopFlag;
use crate::error::ScanError;
use crate::net::{PacketIo, RECV_SLOT};
use prtip_core::config::Timing;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Spaces probes to honour `--max-rate` and `--scan-delay` in a sending thread.
#[derive(Debug)]
pub struct RateGate {
    interval: Option<Duration>,
    start: Instant,
    sent: u64,
}

impl RateGate {
    pub fn new(timing: &Timing) -> Self {
        RateGate {
            interval: crate::pacer::probe_interval(timing.max_rate, timing.scan_delay),
            start: Instant::now(),
            sent: 0,
        }
    }

    /// How many probes may go now (at most `want`), sleeping until at least one may.
    pub fn allow(&mut self, want: usize) -> usize {
        let Some(iv) = self.interval else {
            return want;
        };
        loop {
            let due = (self.start.elapsed().as_secs_f64() / iv.as_secs_f64()) as u64 + 1;
            let room = due.saturating_sub(self.sent);
            if room > 0 {
                let n = room.min(want as u64) as usize;
                self.sent += n as u64;
                return n;
            }
            let next = self.start + iv.mul_f64((self.sent) as f64);
            std::thread::sleep(
                next.saturating_duration_since(Instant::now())
                    .max(Duration::from_micros(50)),
            );
        }
    }
}

/// Up to `N` probes of at most `SLOT` bytes collected for one `sendmmsg`.
/// Lives on the sending thread's stack.
pub struct Batch<const SLOT: usize, const N: usize> {
    bufs: [[u8; SLOT]; N],
    lens: [usize; N],
    dsts: [IpAddr; N],
    pub n: usize,
}

impl<const SLOT: usize, const N: usize> Batch<SLOT, N> {
    pub fn new() -> Self {
        Batch {
            bufs: [[0; SLOT]; N],
            lens: [0; N],
            dsts: [IpAddr::V4(Ipv4Addr::UNSPECIFIED); N],
            n: 0,
        }
    }

    /// The buffer of the next probe.
    pub fn slot(&mut self) -> &mut [u8; SLOT] {
        &mut self.bufs[self.n]
    }

    /// Keep the probe written into [`Batch::slot`] (`len` 0: it failed to build).
    pub fn commit(&mut self, len: usize, dst: IpAddr) {
        if len > 0 {
            self.lens[self.n] = len;
            self.dsts[self.n] = dst;
            self.n += 1;
        }
    }

    pub fn full(&self) -> bool {
        self.n == N
    }
}

impl<const SLOT: usize, const N: usize> std::fmt::Debug for Batch<SLOT, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch").field("n", &self.n).finish()
    }
}

impl<const SLOT: usize, const N: usize> Default for Batch<SLOT, N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Hands batches to the kernel for one sending thread.
pub struct Sender<'a> {
    pub io: &'a dyn PacketIo,
    pub stop: &'a StopFlag,
    /// The engine's count of probes sent (for progress).
    pub sent: &'a AtomicU64,
    pub gate: RateGate,
    /// `--badsum`: spoil each probe's TCP or UDP checksum before it goes.
    pub badsum: bool,
}

impl std::fmt::Debug for Sender<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").field("gate", &self.gate).finish()
    }
}

impl Sender<'_> {
    /// Send every probe of `batch`, waiting out a full queue, honouring the rate.
    pub fn flush<const SLOT: usize, const N: usize>(
        &mut self,
        batch: &mut Batch<SLOT, N>,
    ) -> Result<(), ScanError> {
        if self.badsum {
            for i in 0..batch.n {
                super::shape::spoil_checksum(&mut batch.bufs[i][..batch.lens[i]]);
            }
        }
        let mut done = 0;
        let mut idle_spins = 0u32;
        while done < batch.n {
            if self.stop.is_stopped() {
                break;
            }
            let allowed = self.gate.allow(batch.n - done);
            let mut refs: [&[u8]; N] = [&[]; N];
            for (slot, i) in refs.iter_mut().zip(done..done + allowed) {
                *slot = &batch.bufs[i][..batch.lens[i]];
            }
            let sent = self
                .io
                .send_batch(&refs[..allowed], &batch.dsts[done..done + allowed])
                .map_err(ScanError::Send)?;
            if sent == 0 {
                // Queue full: give the NIC (or the target's kernel) a moment.
                idle_spins += 1;
                if idle_spins > 200_000 {
                    return Err(ScanError::Send(io::Error::other(
                        "the network interface accepted no packet for a long time",
                    )));
                }
                std::thread::sleep(Duration::from_micros(50));
            } else {
                idle_spins = 0;
            }
            // Rate slots not used by a short send are lost, which only slows us down.
            done += sent;
            self.sent.fetch_add(sent as u64, Ordering::Relaxed);
        }
        batch.n = 0;
        Ok(())
    }
}

/// Datagrams taken from the kernel per call.
const RECV_BATCH: usize = 64;
/// How long the receiver blocks before it looks at `done` again.
const RECV_POLL: Duration = Duration::from_millis(20);

/// The receiver thread's loop: every datagram from `io` goes to `handle`
/// until `done` is set; a receive error ends it, kept in `error`.
pub fn receive_until(
    io: &dyn PacketIo,
    done: &AtomicBool,
    error: &Mutex<Option<io::Error>>,
    mut handle: impl FnMut(&[u8]),
) {
    // On this thread's stack, not the heap: 16 KiB.
    let mut bufs = [[0u8; RECV_SLOT]; RECV_BATCH];
    let mut lens = [0usize; RECV_BATCH];
    while !done.load(Ordering::Relaxed) {
        match io.recv_many(&mut bufs, &mut lens, RECV_POLL) {
            Ok(n) => {
                for i in 0..n {
                    handle(&bufs[i][..lens[i]]);
                }
            }
            Err(e) => {
                *error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                return;
            }
        }
    }
}
