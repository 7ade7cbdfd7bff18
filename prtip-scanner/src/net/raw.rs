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

/// Accept IPv4 TCP (6) and ICMP (1); drop everything else in the kernel.
/// Offsets start at the IP header on a SOCK_DGRAM packet socket.
const TCP_ICMP_FILTER: [SockFilter; 5] = [
    SockFilter::new(0x30, 0, 0, 9),      // ldb [9]: protocol
    SockFilter::new(0x15, 2, 0, 6),      // jeq #6 -> accept
    SockFilter::new(0x15, 1, 0, 1),      // jeq #1 -> accept
    SockFilter::new(0x06, 0, 0, 0),      // drop
    SockFilter::new(0x06, 0, 0, 0xffff), // accept
];

/// Accept IPv4 UDP (17) and ICMP (1), for the UDP scan.
const UDP_ICMP_FILTER: [SockFilter; 5] = [
    SockFilter::new(0x30, 0, 0, 9),      // ldb [9]: protocol
    SockFilter::new(0x15, 2, 0, 17),     // jeq #17 -> accept
    SockFilter::new(0x15, 1, 0, 1),      // jeq #1 -> accept
    SockFilter::new(0x06, 0, 0, 0),      // drop
    SockFilter::new(0x06, 0, 0, 0xffff), // accept
];

/// Accept IPv4 TCP (6), UDP (17) and ICMP (1), for discovery with UDP pings.
const TCP_UDP_ICMP_FILTER: [SockFilter; 6] = [
    SockFilter::new(0x30, 0, 0, 9),      // ldb [9]: protocol
    SockFilter::new(0x15, 3, 0, 6),      // jeq #6 -> accept
    SockFilter::new(0x15, 2, 0, 17),     // jeq #17 -> accept
    SockFilter::new(0x15, 1, 0, 1),      // jeq #1 -> accept
    SockFilter::new(0x06, 0, 0, 0),      // drop
    SockFilter::new(0x06, 0, 0, 0xffff), // accept
];

/// Accept IPv6 TCP, UDP and ICMPv6, and extension headers first.
const TCP_UDP_ICMPV6_FILTER: [SockFilter; 11] = [
    SockFilter::new(0x30, 0, 0, 6),      // ldb [6]: next header
    SockFilter::new(0x15, 8, 0, 6),      // jeq #6 (TCP) -> accept
    SockFilter::new(0x15, 7, 0, 17),     // jeq #17 (UDP) -> accept
    SockFilter::new(0x15, 6, 0, 58),     // jeq #58 (ICMPv6) -> accept
    SockFilter::new(0x15, 5, 0, 0),      // jeq #0 (hop-by-hop) -> accept
    SockFilter::new(0x15, 4, 0, 43),     // jeq #43 (routing) -> accept
    SockFilter::new(0x15, 3, 0, 44),     // jeq #44 (fragment) -> accept
    SockFilter::new(0x15, 2, 0, 60),     // jeq #60 (destination options) -> accept
    SockFilter::new(0x15, 1, 0, 51),     // jeq #51 (authentication) -> accept
    SockFilter::new(0x06, 0, 0, 0),      // drop
    SockFilter::new(0x06, 0, 0, 0xffff), // accept
];

/// Accept IPv6 TCP (6) and ICMPv6 (58), and packets whose first next
/// header is an extension header (hop-by-hop 0, routing 43, fragment 44,
/// destination options 60, authentication 51). Offset 6 is the IPv6 header's
/// next-header byte.
const TCP_ICMPV6_FILTER: [SockFilter; 10] = [
    SockFilter::new(0x30, 0, 0, 6),      // ldb [6]: next header
    SockFilter::new(0x15, 7, 0, 6),      // jeq #6 (TCP) -> accept
    SockFilter::new(0x15, 6, 0, 58),     // jeq #58 (ICMPv6) -> accept
    SockFilter::new(0x15, 5, 0, 0),      // jeq #0 (hop-by-hop) -> accept
    SockFilter::new(0x15, 4, 0, 43),     // jeq #43 (routing) -> accept
    SockFilter::new(0x15, 3, 0, 44),     // jeq #44 (fragment) -> accept
    SockFilter::new(0x15, 2, 0, 60),     // jeq #60 (destination options) -> accept
    SockFilter::new(0x15, 1, 0, 51),     // jeq #51 (authentication) -> accept
    SockFilter::new(0x06, 0, 0, 0),      // drop
    SockFilter::new(0x06, 0, 0, 0xffff), // accept
];

/// Accept IPv6 UDP (17) and ICMPv6 (58), and extension headers first, for
/// the UDP scan.
const UDP_ICMPV6_FILTER: [SockFilter; 10] = [
    SockFilter::new(0x30, 0, 0, 6),      // ldb [6]: next header
    SockFilter::new(0x15, 7, 0, 17),     // jeq #17 (UDP) -> accept
    SockFilter::new(0x15, 6, 0, 58),     // jeq #58 (ICMPv6) -> accept
    SockFilter::new(0x15, 5, 0, 0),      // jeq #0 (hop-by-hop) -> accept
    SockFilter::new(0x15, 4, 0, 43),     // jeq #43 (routing) -> accept
    SockFilter::new(0x15, 3, 0, 44),     // jeq #44 (fragment) -> accept
    SockFilter::new(0x15, 2, 0, 60),     // jeq #60 (destination options) -> accept
    SockFilter::new(0x15, 1, 0, 51),     // jeq #51 (authentication) -> accept
    SockFilter::new(0x06, 0, 0, 0),      // drop
    SockFilter::new(0x06, 0, 0, 0xffff), // accept
];

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

fn filter(family: Family, transport: Transport) -> &'static [SockFilter] {
    match (family, transport) {
        (Family::V4, Transport::Tcp) => &TCP_ICMP_FILTER,
        (Family::V4, Transport::Udp) => &UDP_ICMP_FILTER,
        (Family::V6, Transport::Tcp) => &TCP_ICMPV6_FILTER,
        (Family::V6, Transport::Udp) => &UDP_ICMPV6_FILTER,
        (Family::V4, Transport::TcpUdp) => &TCP_UDP_ICMP_FILTER,
        (Family::V6, Transport::TcpUdp) => &TCP_UDP_ICMPV6_FILTER,
    }
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
            recv: PacketReceiver::open(interface, filter(family, transport), recv_buffer, v6)?,
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
