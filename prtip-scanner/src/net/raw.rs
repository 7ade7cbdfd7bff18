//! Raw packet I/O on Linux: a raw IP socket (IP_HDRINCL) sends with
//! `sendmmsg`; an AF_PACKET socket bound to the interface receives, with a
//! classic BPF filter so only TCP and ICMP reach user space. One `RawIo` is
//! of one family ([`Family`]), as one scan is.
//!
//! The IPv6 filters cannot walk extension headers (classic BPF has no
//! loops), so a packet whose first next header is an extension header is
//! let through and `parse_reply` walks the chain; such packets are rare
//! enough that the filter stays a handful of comparisons.
//!
//! Sending through the IP layer lets the kernel route and resolve next-hop
//! MAC addresses itself, which also makes loopback targets work; the packet
//! socket sees replies before any local socket logic and marks our own
//! outgoing packets (PACKET_OUTGOING), so loopback echoes are dropped.

use super::PacketIo;
use crate::sys::errno;
use crate::sys::packet::{PacketReceiver, RawSender};
use socket2::SockFilter;
use std::io;
use std::net::IpAddr;
use std::time::Duration;

pub use crate::sys::packet::MAX_BATCH;

/// Receive buffer the SYN engine asks for: a burst of replies from a fast
/// scan must not overflow it.
pub const SCAN_RCVBUF_BYTES: usize = 64 << 20;
/// Receive buffer of an OS-detection socket. It is bound to every interface
/// and drained only while a host is fingerprinted, so between hosts
/// unrelated traffic fills it; with the scan's 64 MiB, eight idle workers
/// could pin 512 MiB of kernel memory. 16 probes draw a few dozen replies
/// of a few hundred bytes (about 2 KiB each as the kernel counts them), so
/// 256 KiB (which the kernel doubles for its bookkeeping) leaves ample room.
pub const OS_RCVBUF_BYTES: usize = 256 << 10;
const SNDBUF_BYTES: usize = 8 << 20;

/// IPv6 extension headers that may come before the transport header:
/// hop-by-hop (0), routing (43), fragment (44), destination options (60)
/// and authentication (51). The filter lets them through to user space,
/// which walks the chain.
const V6_EXTENSION_HEADERS: [u8; 5] = [0, 43, 44, 60, 51];

/// One classic BPF instruction: opcode, jump if true, jump if false, k.
type Insn = (u16, u8, u8, u32);

/// A classic BPF program that accepts a packet whose protocol byte, at
/// `offset` from the IP header (a SOCK_DGRAM packet socket starts there),
/// is one of `accepted`, and drops every other packet in the kernel.
fn protocol_program(offset: u32, accepted: &[u8]) -> Vec<Insn> {
    let n = accepted.len();
    let mut prog = Vec::with_capacity(n + 3);
    prog.push((0x30, 0, 0, offset)); // ldb [offset]
    for (i, &proto) in accepted.iter().enumerate() {
        // jeq #proto: past the remaining tests and the drop, to accept.
        let to_accept = u8::try_from(n - i).expect("a short program");
        prog.push((0x15, to_accept, 0, u32::from(proto)));
    }
    prog.push((0x06, 0, 0, 0)); // drop
    prog.push((0x06, 0, 0, 0xffff)); // accept
    prog
}

/// The receive filter of a family and transport: the transport's
/// protocols and the family's ICMP (1 or 58), and for IPv6 the extension
/// headers, since the transport header may come after them.
fn filter_program(family: Family, transport: Transport) -> Vec<Insn> {
    let transports: &[u8] = match transport {
        Transport::Tcp => &[6],
        Transport::Udp => &[17],
        Transport::TcpUdp => &[6, 17],
    };
    match family {
        Family::V4 => protocol_program(9, &[transports, &[1]].concat()),
        Family::V6 => protocol_program(6, &[transports, &[58], &V6_EXTENSION_HEADERS].concat()),
    }
}

/// The IP version of a scan's packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    /// The family of `addr`.
    pub fn of(addr: IpAddr) -> Family {
        if addr.is_ipv6() {
            Family::V6
        } else {
            Family::V4
        }
    }
}

/// What the receive socket lets through besides ICMP / ICMPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
    /// TCP and UDP: SYN-engine discovery with UDP pings (`-PU`).
    TcpUdp,
}

fn filter(family: Family, transport: Transport) -> Vec<SockFilter> {
    filter_program(family, transport)
        .into_iter()
        .map(|(code, jt, jf, k)| SockFilter::new(code, jt, jf, k))
        .collect()
}

/// Raw sockets for one interface.
#[derive(Debug)]
pub struct RawIo {
    send: RawSender,
    recv: PacketReceiver,
}

impl RawIo {
    /// Open IPv4 sockets receiving TCP and ICMP (the SYN scan's and OS
    /// detection's; [`RawIo::open_for`] opens any other pair). Needs
    /// CAP_NET_RAW. With `interface`, sending is
    /// bound to it (`-e`) and only its packets are received; without, the
    /// kernel routes every probe and replies are taken from all interfaces,
    /// so targets behind different interfaces can share one scan.
    pub fn open(interface: Option<&str>) -> io::Result<RawIo> {
        RawIo::open_with_recv_buffer(interface, SCAN_RCVBUF_BYTES)
    }

    /// [`RawIo::open`] with a receive buffer of `recv_buffer` bytes (as
    /// asked; the kernel reports twice that).
    pub fn open_with_recv_buffer(interface: Option<&str>, recv_buffer: usize) -> io::Result<RawIo> {
        RawIo::open_for(interface, Family::V4, Transport::Tcp, recv_buffer)
    }

    /// Sockets for `family`'s packets, receiving `transport` and ICMP of
    /// that family, with a receive buffer of `recv_buffer` bytes.
    pub fn open_for(
        interface: Option<&str>,
        family: Family,
        transport: Transport,
        recv_buffer: usize,
    ) -> io::Result<RawIo> {
        let v6 = family == Family::V6;
        Ok(RawIo {
            send: RawSender::open(interface, SNDBUF_BYTES, v6)?,
            recv: PacketReceiver::open(interface, &filter(family, transport), recv_buffer, v6)?,
        })
    }

    /// The receive socket's buffer as the kernel reports it (`SO_RCVBUF`).
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        self.recv.buffer_size()
    }
}

/// Pause between empty polls of the receive queue. Sleeping instead of
/// blocking in poll(2) spares the kernel a wake-up per reply, which at
/// hundreds of thousands of replies per second costs more than the packets.
const IDLE_NAP: Duration = Duration::from_micros(500);

impl PacketIo for RawIo {
    fn recv_many(
        &self,
        bufs: &mut [[u8; super::RECV_SLOT]],
        lens: &mut [usize],
        timeout: Duration,
    ) -> io::Result<usize> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let n = self.recv.recv_many(bufs, lens)?;
            if n > 0 || std::time::Instant::now() >= deadline {
                return Ok(n);
            }
            std::thread::sleep(IDLE_NAP);
        }
    }

    fn send_batch(&self, packets: &[&[u8]], dsts: &[IpAddr]) -> io::Result<usize> {
        match self.send.send_many(packets, dsts) {
            Ok(sent) => Ok(sent),
            Err(e) => match e.raw_os_error() {
                Some(errno::ENOBUFS | errno::EAGAIN | errno::EINTR) => Ok(0),
                // This one destination cannot be reached from here (no route,
                // or a local firewall): its probe is lost like a dropped
                // packet, and the rest of the batch goes on.
                Some(errno::ENETUNREACH | errno::EHOSTUNREACH | errno::EACCES | errno::EPERM) => {
                    Ok(1)
                }
                _ => Err(e),
            },
        }
    }

    fn recv(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>> {
        self.recv.recv_one(buf, timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The programs, written out by hand as the kernel runs them.
    #[test]
    fn filters_accept_the_transport_icmp_and_ipv6_extension_headers() {
        assert_eq!(
            filter_program(Family::V4, Transport::Tcp),
            [
                (0x30, 0, 0, 9),
                (0x15, 2, 0, 6),
                (0x15, 1, 0, 1),
                (0x06, 0, 0, 0),
                (0x06, 0, 0, 0xffff)
            ]
        );
        assert_eq!(
            filter_program(Family::V4, Transport::TcpUdp),
            [
                (0x30, 0, 0, 9),
                (0x15, 3, 0, 6),
                (0x15, 2, 0, 17),
                (0x15, 1, 0, 1),
                (0x06, 0, 0, 0),
                (0x06, 0, 0, 0xffff)
            ]
        );
        assert_eq!(
            filter_program(Family::V6, Transport::Udp),
            [
                (0x30, 0, 0, 6),
                (0x15, 7, 0, 17),
                (0x15, 6, 0, 58),
                (0x15, 5, 0, 0),
                (0x15, 4, 0, 43),
                (0x15, 3, 0, 44),
                (0x15, 2, 0, 60),
                (0x15, 1, 0, 51),
                (0x06, 0, 0, 0),
                (0x06, 0, 0, 0xffff)
            ]
        );
        let v6_both = filter_program(Family::V6, Transport::TcpUdp);
        assert_eq!(v6_both.len(), 11);
        assert_eq!(v6_both[1], (0x15, 8, 0, 6));
        assert_eq!(v6_both[2], (0x15, 7, 0, 17));
    }
}
