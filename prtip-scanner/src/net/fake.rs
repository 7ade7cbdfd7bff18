//! An in-memory network for engine tests: every sent packet is handed to a
//! responder closure whose replies are queued for `recv`.

use super::PacketIo;
use std::collections::VecDeque;
use std::io;
use std::net::IpAddr;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Maps one sent datagram to the datagrams the "network" answers with.
pub type Responder = Box<dyn Fn(&[u8]) -> Vec<Vec<u8>> + Send + Sync>;

/// A fake network; cheap to share behind an `Arc`.
pub struct FakeNet {
    responder: Responder,
    queue: Mutex<VecDeque<Vec<u8>>>,
    ready: Condvar,
    sent: Mutex<Vec<Vec<u8>>>,
}

impl std::fmt::Debug for FakeNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeNet").finish_non_exhaustive()
    }
}

impl FakeNet {
    pub fn new(responder: Responder) -> Self {
        FakeNet {
            responder,
            queue: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            sent: Mutex::new(Vec::new()),
        }
    }

    /// Every packet sent so far, in order.
    pub fn sent(&self) -> Vec<Vec<u8>> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Queue a datagram as if it arrived from the network.
    pub fn inject(&self, packet: Vec<u8>) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(packet);
        self.ready.notify_all();
    }
}

impl PacketIo for FakeNet {
    fn send_batch(&self, packets: &[&[u8]], _dsts: &[IpAddr]) -> io::Result<usize> {
        for p in packets {
            self.sent
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(p.to_vec());
            for reply in (self.responder)(p) {
                self.inject(reply);
            }
        }
        Ok(packets.len())
    }

    fn recv(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>> {
        let queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let (mut queue, _) = self
            .ready
            .wait_timeout_while(queue, timeout, |q| q.is_empty())
            .unwrap_or_else(|e| e.into_inner());
        Ok(queue.pop_front().map(|p| {
            let n = p.len().min(buf.len());
            buf[..n].copy_from_slice(&p[..n]);
            n
        }))
    }
}
