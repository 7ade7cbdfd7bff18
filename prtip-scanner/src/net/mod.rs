//! Packet I/O for the raw scans, behind one trait so the engines can run on
//! a real interface or on an in-memory network in tests.

pub mod fake;
pub mod raw;
pub mod route;

use std::io;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Sends whole IPv4 datagrams and receives IPv4 datagrams addressed to us.
pub trait PacketIo: Send + Sync {
    /// Send a batch of IPv4 datagrams (headers included). Returns how many
    /// left; a short count means the kernel's queue is full for now.
    fn send_batch(&self, packets: &[&[u8]], dsts: &[Ipv4Addr]) -> io::Result<usize>;

    /// Receive one IPv4 datagram into `buf`, waiting at most `timeout`.
    /// `Ok(None)` on timeout. Packets we sent ourselves are not returned.
    fn recv(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>>;
}
