//! Raw packet I/O on Linux: a raw IP socket (IP_HDRINCL) sends with
//! `sendmmsg`; an AF_PACKET socket bound to the interface receives, with a
//! classic BPF filter so only TCP and ICMP reach user space.
//!
//! Sending through the IP layer lets the kernel route and resolve next-hop
//! MAC addresses itself, which also makes loopback targets work; the packet
//! socket sees replies before any local socket logic and marks our own
//! outgoing packets (PACKET_OUTGOING), so loopback echoes are dropped.

use super::PacketIo;
use std::io;
use std::mem::{size_of, zeroed};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// Receive buffer asked for: a burst of replies from a fast scan must not overflow it.
const RCVBUF_BYTES: libc::c_int = 64 << 20;
const SNDBUF_BYTES: libc::c_int = 8 << 20;
/// Most packets handed to one `sendmmsg` call.
pub const MAX_BATCH: usize = 256;

const ETH_P_IP: u16 = 0x0800;

/// Raw sockets for one interface.
#[derive(Debug)]
pub struct RawIo {
    send: OwnedFd,
    recv: OwnedFd,
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn setsockopt_int(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` lives across the call and its size is passed.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            std::ptr::from_ref(&value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

fn socket(domain: libc::c_int, ty: libc::c_int, proto: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the descriptor is owned right away.
    let fd = check(unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) })?;
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ifindex(name: &str) -> io::Result<libc::c_int> {
    let c = std::ffi::CString::new(name).map_err(|_| io::Error::other("bad interface name"))?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        return Err(io::Error::other(format!("no such interface: {name}")));
    }
    libc::c_int::try_from(idx).map_err(|_| io::Error::other("interface index out of range"))
}

/// Accept IPv4 TCP (6) and ICMP (1); drop everything else in the kernel.
/// Offsets start at the IP header on a SOCK_DGRAM packet socket.
fn attach_tcp_icmp_filter(fd: &OwnedFd) -> io::Result<()> {
    let mut code = [
        libc::sock_filter {
            code: 0x30,
            jt: 0,
            jf: 0,
            k: 9,
        }, // ldb [9]: protocol
        libc::sock_filter {
            code: 0x15,
            jt: 2,
            jf: 0,
            k: 6,
        }, // jeq #6 -> accept
        libc::sock_filter {
            code: 0x15,
            jt: 1,
            jf: 0,
            k: 1,
        }, // jeq #1 -> accept
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0,
        }, // drop
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0xffff,
        }, // accept
    ];
    let prog = libc::sock_fprog {
        len: code.len() as u16,
        filter: code.as_mut_ptr(),
    };
    // SAFETY: `prog` points at `code`, both alive for the call; the kernel copies them.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            std::ptr::from_ref(&prog).cast(),
            size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    })
    .map(drop)
}

impl RawIo {
    /// Open the sockets. Needs CAP_NET_RAW. With `interface`, sending is
    /// bound to it (`-e`) and only its packets are received; without, the
    /// kernel routes every probe and replies are taken from all interfaces,
    /// so targets behind different interfaces can share one scan.
    pub fn open(interface: Option<&str>) -> io::Result<RawIo> {
        let send = socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW)?;
        let _ = setsockopt_int(&send, libc::SOL_SOCKET, libc::SO_SNDBUF, SNDBUF_BYTES);
        if let Some(interface) = interface {
            let name = interface.as_bytes();
            // SAFETY: `name` is valid for its length, which is passed.
            check(unsafe {
                libc::setsockopt(
                    send.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_BINDTODEVICE,
                    name.as_ptr().cast(),
                    name.len() as libc::socklen_t,
                )
            })?;
        }
        let recv = socket(
            libc::AF_PACKET,
            libc::SOCK_DGRAM,
            libc::c_int::from(ETH_P_IP.to_be()),
        )?;
        attach_tcp_icmp_filter(&recv)?;
        // SO_RCVBUFFORCE passes rmem_max (root); plain SO_RCVBUF is the fallback.
        if setsockopt_int(&recv, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RCVBUF_BYTES).is_err() {
            let _ = setsockopt_int(&recv, libc::SOL_SOCKET, libc::SO_RCVBUF, RCVBUF_BYTES);
        }
        // SAFETY: sockaddr_ll is plain data; zero is a valid starting value.
        let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_IP.to_be();
        sll.sll_ifindex = match interface {
            Some(i) => ifindex(i)?,
            None => 0,
        };
        // SAFETY: `sll` is a valid sockaddr_ll of the size passed.
        check(unsafe {
            libc::bind(
                recv.as_raw_fd(),
                std::ptr::from_ref(&sll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        })?;
        Ok(RawIo { send, recv })
    }
}

/// Pause between empty polls of the receive queue. Sleeping instead of
/// blocking in poll(2) spares the kernel a wake-up per reply, which at
/// hundreds of thousands of replies per second costs more than the packets.
const IDLE_NAP: Duration = Duration::from_micros(500);

impl RawIo {
    /// Drain up to `bufs.len()` datagrams without blocking; skips our own.
    fn drain(&self, bufs: &mut [[u8; super::RECV_SLOT]], lens: &mut [usize]) -> io::Result<usize> {
        const MAX: usize = 64;
        let want = bufs.len().min(lens.len()).min(MAX);
        // SAFETY: plain data arrays, filled below for the first `want` entries.
        let mut iovs: [libc::iovec; MAX] = unsafe { zeroed() };
        // SAFETY: as above.
        let mut froms: [libc::sockaddr_ll; MAX] = unsafe { zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; MAX] = unsafe { zeroed() };
        for i in 0..want {
            iovs[i].iov_base = bufs[i].as_mut_ptr().cast();
            iovs[i].iov_len = bufs[i].len();
            msgs[i].msg_hdr.msg_name = std::ptr::from_mut(&mut froms[i]).cast();
            msgs[i].msg_hdr.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            msgs[i].msg_hdr.msg_iov = std::ptr::from_mut(&mut iovs[i]);
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `msgs[..want]` point into `iovs`, `froms` and `bufs`, all
        // alive and writable for the call.
        let n = unsafe {
            libc::recvmmsg(
                self.recv.as_raw_fd(),
                msgs.as_mut_ptr(),
                want as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e),
            };
        }
        // Compact: keep only packets that were not ours on the way out.
        let mut kept = 0;
        for i in 0..n as usize {
            if froms[i].sll_pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            let len = (msgs[i].msg_len as usize).min(super::RECV_SLOT);
            if kept != i {
                bufs.copy_within(i..i + 1, kept);
            }
            lens[kept] = len;
            kept += 1;
        }
        Ok(kept)
    }
}

impl PacketIo for RawIo {
    fn recv_many(
        &self,
        bufs: &mut [[u8; super::RECV_SLOT]],
        lens: &mut [usize],
        timeout: Duration,
    ) -> io::Result<usize> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let n = self.drain(bufs, lens)?;
            if n > 0 || std::time::Instant::now() >= deadline {
                return Ok(n);
            }
            std::thread::sleep(IDLE_NAP);
        }
    }

    fn send_batch(&self, packets: &[&[u8]], dsts: &[Ipv4Addr]) -> io::Result<usize> {
        let n = packets.len().min(dsts.len()).min(MAX_BATCH);
        if n == 0 {
            return Ok(0);
        }
        // SAFETY: plain data arrays; every entry used is filled below.
        let mut addrs: [libc::sockaddr_in; MAX_BATCH] = unsafe { zeroed() };
        // SAFETY: as above.
        let mut iovs: [libc::iovec; MAX_BATCH] = unsafe { zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; MAX_BATCH] = unsafe { zeroed() };
        for i in 0..n {
            addrs[i].sin_family = libc::AF_INET as libc::sa_family_t;
            addrs[i].sin_addr.s_addr = u32::from(dsts[i]).to_be();
            iovs[i].iov_base = packets[i].as_ptr().cast_mut().cast();
            iovs[i].iov_len = packets[i].len();
            msgs[i].msg_hdr.msg_name = std::ptr::from_mut(&mut addrs[i]).cast();
            msgs[i].msg_hdr.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            msgs[i].msg_hdr.msg_iov = std::ptr::from_mut(&mut iovs[i]);
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `msgs[..n]` point into `addrs`, `iovs` and `packets`, all
        // alive for the call; the kernel only reads the packet bytes.
        let sent = unsafe {
            libc::sendmmsg(
                self.send.as_raw_fd(),
                msgs.as_mut_ptr(),
                n as libc::c_uint,
                0,
            )
        };
        if sent < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::ENOBUFS | libc::EAGAIN | libc::EINTR) => Ok(0),
                // This one destination cannot be reached from here (no route,
                // or a local firewall): its probe is lost like a dropped
                // packet, and the rest of the batch goes on.
                Some(libc::ENETUNREACH | libc::EHOSTUNREACH | libc::EACCES | libc::EPERM) => Ok(1),
                _ => Err(e),
            };
        }
        Ok(sent as usize)
    }

    fn recv(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>> {
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        loop {
            let mut pfd = libc::pollfd {
                fd: self.recv.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
            if ready < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if ready == 0 {
                return Ok(None);
            }
            // SAFETY: plain data.
            let mut from: libc::sockaddr_ll = unsafe { zeroed() };
            let mut len = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            // SAFETY: `buf` is writable for its length; `from`/`len` describe a valid sockaddr buffer.
            let n = unsafe {
                libc::recvfrom(
                    self.recv.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                    std::ptr::from_mut(&mut from).cast(),
                    &mut len,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => continue,
                    _ => return Err(e),
                }
            }
            if from.sll_pkttype == libc::PACKET_OUTGOING {
                // Our own probe, seen on its way out (loopback shows both directions).
                continue;
            }
            return Ok(Some(n as usize));
        }
    }
}
