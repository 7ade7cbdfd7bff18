//! Packet I/O for the raw scans, behind one trait so the engines can run on
//! a real interface or on an in-memory network in tests.

pub mod fake;
pub mod raw;
pub mod route;

use std::io;
use std::net::IpAddr;
use std::time::Duration;

/// Sends whole IP datagrams and receives IP datagrams addressed to us, of
/// one family (a real interface is opened for IPv4 or for IPv6).
pub trait PacketIo: Send + Sync {
    /// Send a batch of datagrams (headers included), datagram `i` to
    /// `dsts[i]`. Returns how many left; a short count means the kernel's
    /// queue is full for now.
    fn send_batch(&self, packets: &[&[u8]], dsts: &[IpAddr]) -> io::Result<usize>;

    /// Receive one datagram into `buf`, waiting at most `timeout`.
    /// `Ok(None)` on timeout. Packets we sent ourselves are not returned.
    fn recv(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>>;

    /// Receive up to `bufs.len()` datagrams, writing each length to `lens`.
    /// Returns how many arrived; 0 after about `timeout` without traffic.
    /// The default takes one datagram through [`PacketIo::recv`].
    fn recv_many(
        &self,
        bufs: &mut [[u8; RECV_SLOT]],
        lens: &mut [usize],
        timeout: Duration,
    ) -> io::Result<usize> {
        let (Some(buf), Some(len)) = (bufs.first_mut(), lens.first_mut()) else {
            return Ok(0);
        };
        Ok(match self.recv(buf, timeout)? {
            Some(n) => {
                *len = n;
                1
            }
            None => 0,
        })
    }
}

/// Bytes kept of each received datagram: replies to our probes are small
/// (a SYN-ACK with options is 60 bytes, an ICMP error quoting a probe 72).
pub const RECV_SLOT: usize = 256;
