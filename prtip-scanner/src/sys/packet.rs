//! Raw IPv4 and IPv6 sending and AF_PACKET receiving for the raw engines:
//! sockets, options and the BPF filter through socket2; the batch calls
//! (sendmmsg, recvmmsg), SO_RCVBUFFORCE, the `sockaddr_ll` bind and the
//! packet type of what was received through libc, since socket2 has none of
//! those.
//!
//! IPv6 sends through `socket(AF_INET6, SOCK_RAW, IPPROTO_RAW)`: Linux sets
//! the header-included flag for that protocol itself (`inet6_create`), as
//! it does for IPv4, so the caller's 40-byte header (flow label and hop
//! limit included) goes out as written while the kernel routes the packet
//! and resolves the next hop by neighbour discovery. `raw_v6_header_is_ours`
//! in the tests checks that on loopback.

use socket2::{Domain, Protocol, SockFilter, Socket, Type};
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// Most packets handed to one `sendmmsg` call.
pub const MAX_BATCH: usize = 256;
/// Most packets taken from one `recvmmsg` call.
const MAX_RECV: usize = 64;

const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// A raw IP socket of one family; the caller writes the IP header
/// (IPPROTO_RAW implies it for both families), and the kernel routes and
/// resolves next hops.
#[derive(Debug)]
pub struct RawSender {
    sock: Socket,
    v6: bool,
    /// Interface index for link-local destinations (the `-e` interface;
    /// 0 without one, and the kernel refuses a link-local without scope).
    scope: u32,
}

impl RawSender {
    /// Needs CAP_NET_RAW. With `interface`, sending is bound to it (`-e`).
    /// `v6` opens an AF_INET6 socket, for IPv6 packets only.
    pub fn open(interface: Option<&str>, send_buffer: usize, v6: bool) -> io::Result<RawSender> {
        let raw = Protocol::from(libc::IPPROTO_RAW);
        let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
        let sock = Socket::new(domain, Type::RAW, Some(raw))?;
        // A smaller buffer only means more ENOBUFS, which callers retry.
        let _ = sock.set_send_buffer_size(send_buffer);
        let mut scope = 0;
        if let Some(name) = interface {
            sock.bind_device(Some(name.as_bytes()))?;
            scope = ifindex(name)? as u32;
        }
        Ok(RawSender { sock, v6, scope })
    }

    /// Send up to [`MAX_BATCH`] packets in one call; returns how many left.
    /// Every destination must be of the socket's family: the batch stops
    /// before the first that is not (an error if it is the first).
    pub fn send_many(&self, packets: &[&[u8]], dsts: &[IpAddr]) -> io::Result<usize> {
        let n = packets.len().min(dsts.len()).min(MAX_BATCH);
        let same = dsts[..n]
            .iter()
            .take_while(|d| d.is_ipv6() == self.v6)
            .count();
        if n > 0 && same == 0 {
            return Err(io::Error::from_raw_os_error(libc::EAFNOSUPPORT));
        }
        let (packets, dsts) = (&packets[..same], &dsts[..same]);
        let fd = self.sock.as_raw_fd();
        if self.v6 {
            send_mmsg(fd, packets, |i| sockaddr6(dsts[i], self.scope))
        } else {
            send_mmsg(fd, packets, |i| sockaddr4(dsts[i]))
        }
    }
}

/// A socket address type `send_mmsg` can fill: plain C data, valid zeroed.
trait SockAddr: Copy {}
impl SockAddr for libc::sockaddr_in {}
impl SockAddr for libc::sockaddr_in6 {}

fn sockaddr4(dst: IpAddr) -> libc::sockaddr_in {
    // SAFETY: plain data; zero is a valid value.
    let mut a: libc::sockaddr_in = unsafe { zeroed() };
    a.sin_family = libc::AF_INET as libc::sa_family_t;
    if let IpAddr::V4(d) = dst {
        a.sin_addr.s_addr = u32::from(d).to_be();
    }
    a
}

fn sockaddr6(dst: IpAddr, scope: u32) -> libc::sockaddr_in6 {
    // SAFETY: plain data; zero is a valid value.
    let mut a: libc::sockaddr_in6 = unsafe { zeroed() };
    a.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    if let IpAddr::V6(d) = dst {
        a.sin6_addr.s6_addr = d.octets();
        // Only a link-local destination needs (and accepts) a scope.
        if is_link_local(d) {
            a.sin6_scope_id = scope;
        }
    }
    a
}

fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// One `sendmmsg` of `packets`, packet `i` to `addr(i)`. The address
/// arrays are of the family's own type, so the IPv4 path fills and zeroes
/// exactly what it always did.
fn send_mmsg<A: SockAddr>(
    fd: libc::c_int,
    packets: &[&[u8]],
    addr: impl Fn(usize) -> A,
) -> io::Result<usize> {
    let n = packets.len().min(MAX_BATCH);
    if n == 0 {
        return Ok(0);
    }
    // SAFETY: plain data arrays (`A` is a C socket address, see SockAddr);
    // every entry used is filled below.
    let mut addrs: [A; MAX_BATCH] = unsafe { zeroed() };
    // SAFETY: as above.
    let mut iovs: [libc::iovec; MAX_BATCH] = unsafe { zeroed() };
    // SAFETY: as above.
    let mut msgs: [libc::mmsghdr; MAX_BATCH] = unsafe { zeroed() };
    for i in 0..n {
        addrs[i] = addr(i);
        iovs[i].iov_base = packets[i].as_ptr().cast_mut().cast();
        iovs[i].iov_len = packets[i].len();
        msgs[i].msg_hdr.msg_name = std::ptr::from_mut(&mut addrs[i]).cast();
        msgs[i].msg_hdr.msg_namelen = size_of::<A>() as libc::socklen_t;
        msgs[i].msg_hdr.msg_iov = std::ptr::from_mut(&mut iovs[i]);
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: `msgs[..n]` point into `addrs`, `iovs` and `packets`, all
    // alive for the call; the kernel only reads the packet bytes.
    let sent = check(unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), n as libc::c_uint, 0) })?;
    Ok(sent as usize)
}

/// An AF_PACKET socket receiving IPv4 or IPv6 packets from the IP header
/// on. Packets of our own on their way out (loopback shows both
/// directions) are skipped.
#[derive(Debug)]
pub struct PacketReceiver(Socket);

impl PacketReceiver {
    /// Needs CAP_NET_RAW. Only `interface`'s packets when given, else all;
    /// `filter` runs in the kernel, offsets starting at the IP header.
    /// `v6`: IPv6 packets (ETH_P_IPV6) instead of IPv4 ones.
    pub fn open(
        interface: Option<&str>,
        filter: &[SockFilter],
        recv_buffer: usize,
        v6: bool,
    ) -> io::Result<PacketReceiver> {
        let ethertype = if v6 { ETH_P_IPV6 } else { ETH_P_IP };
        let ip = Protocol::from(libc::c_int::from(ethertype.to_be()));
        let sock = Socket::new(Domain::PACKET, Type::DGRAM, Some(ip))?;
        sock.attach_filter(filter)?;
        // SO_RCVBUFFORCE passes rmem_max (root); plain SO_RCVBUF is the fallback.
        if force_recv_buffer(&sock, recv_buffer).is_err() {
            let _ = sock.set_recv_buffer_size(recv_buffer);
        }
        let index = match interface {
            Some(name) => ifindex(name)?,
            None => 0,
        };
        bind_packet(&sock, index, ethertype)?;
        Ok(PacketReceiver(sock))
    }

    /// `SO_RCVBUF`: the kernel's receive limit for this socket, in bytes.
    pub fn buffer_size(&self) -> io::Result<usize> {
        self.0.recv_buffer_size()
    }

    /// Take up to `bufs.len()` (at most 64) waiting packets without blocking.
    pub fn recv_many<const N: usize>(
        &self,
        bufs: &mut [[u8; N]],
        lens: &mut [usize],
    ) -> io::Result<usize> {
        let want = bufs.len().min(lens.len()).min(MAX_RECV);
        // SAFETY: plain data arrays, filled below for the first `want` entries.
        let mut iovs: [libc::iovec; MAX_RECV] = unsafe { zeroed() };
        // SAFETY: as above.
        let mut froms: [libc::sockaddr_ll; MAX_RECV] = unsafe { zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; MAX_RECV] = unsafe { zeroed() };
        for i in 0..want {
            iovs[i].iov_base = bufs[i].as_mut_ptr().cast();
            iovs[i].iov_len = N;
            msgs[i].msg_hdr.msg_name = std::ptr::from_mut(&mut froms[i]).cast();
            msgs[i].msg_hdr.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            msgs[i].msg_hdr.msg_iov = std::ptr::from_mut(&mut iovs[i]);
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `msgs[..want]` point into `iovs`, `froms` and `bufs`, all
        // alive and writable for the call.
        let n = match check(unsafe {
            libc::recvmmsg(
                self.0.as_raw_fd(),
                msgs.as_mut_ptr(),
                want as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        }) {
            Ok(n) => n as usize,
            Err(e) => return nothing_waiting(e),
        };
        // Compact: keep only packets that were not ours on the way out.
        let mut kept = 0;
        for i in 0..n {
            if froms[i].sll_pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            if kept != i {
                bufs.copy_within(i..i + 1, kept);
            }
            lens[kept] = (msgs[i].msg_len as usize).min(N);
            kept += 1;
        }
        Ok(kept)
    }

    /// Wait at most `timeout` for one packet. The timeout is a deadline for
    /// the whole call: what is skipped on the way (our own outgoing packets,
    /// a wake-up with nothing to read) does not restart it.
    pub fn recv_one(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>> {
        recv_by(
            Instant::now() + timeout,
            |left| self.wait_readable(left),
            || self.read_one(buf),
        )
    }

    /// One datagram without blocking; `None` when there was nothing to read
    /// or it was our own on its way out.
    fn read_one(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        // SAFETY: plain data.
        let mut from: libc::sockaddr_ll = unsafe { zeroed() };
        let mut len = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `buf` is writable for its length; `from`/`len` describe a valid sockaddr buffer.
        let n = check(unsafe {
            libc::recvfrom(
                self.0.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
                std::ptr::from_mut(&mut from).cast(),
                &mut len,
            ) as libc::c_int
        });
        match n {
            Ok(n) if from.sll_pkttype != libc::PACKET_OUTGOING => Ok(Some(n as usize)),
            Ok(_) => Ok(None),
            Err(e) => nothing_waiting(e).map(|_| None),
        }
    }

    /// `false` when `timeout` passed first; an interrupted wait counts as ready.
    /// Rounded up to whole milliseconds, so a sub-millisecond rest of a
    /// deadline waits instead of spinning on `poll(0)`.
    fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        let ms = timeout.as_micros().div_ceil(1000);
        let ms = libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX);
        let mut pfd = libc::pollfd {
            fd: self.0.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        match check(unsafe { libc::poll(&mut pfd, 1, ms) }) {
            Ok(ready) => Ok(ready > 0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(true),
            Err(e) => Err(e),
        }
    }
}

/// The receive loop of [`PacketReceiver::recv_one`] apart from the socket:
/// `wait(left)` says whether something became readable within `left`,
/// `read()` takes one packet (`None`: skipped). Every wait is for what is left
/// until `deadline`, so a stream of skipped packets cannot keep the call
/// past it.
fn recv_by(
    deadline: Instant,
    mut wait: impl FnMut(Duration) -> io::Result<bool>,
    mut read: impl FnMut() -> io::Result<Option<usize>>,
) -> io::Result<Option<usize>> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if !wait(left)? {
            return Ok(None);
        }
        if let Some(n) = read()? {
            return Ok(Some(n));
        }
        if left.is_zero() {
            return Ok(None);
        }
    }
}

/// An empty queue or an interrupted call is no packet, not an error.
fn nothing_waiting(e: io::Error) -> io::Result<usize> {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
        _ => Err(e),
    }
}

fn force_recv_buffer(sock: &Socket, bytes: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: `value` lives across the call and its size is passed.
    check(unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            std::ptr::from_ref(&value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
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

/// Bind to `ethertype` packets of interface `index` (0: all interfaces).
fn bind_packet(sock: &Socket, index: libc::c_int, ethertype: u16) -> io::Result<()> {
    // SAFETY: sockaddr_ll is plain data; zero is a valid starting value.
    let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = ethertype.to_be();
    sll.sll_ifindex = index;
    // SAFETY: `sll` is a valid sockaddr_ll of the size passed.
    check(unsafe {
        libc::bind(
            sock.as_raw_fd(),
            std::ptr::from_ref(&sll).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A source that is readable again as soon as it is waited on and whose
    /// every packet is skipped (our own outgoing ones, in the real socket):
    /// each of them used to restart the full poll timeout, so the call never
    /// ended while they kept coming. A 200 ms receive must end within 400 ms.
    #[test]
    fn skipped_packets_do_not_extend_the_timeout() {
        let (done, finished) = mpsc::channel();
        let started = Instant::now();
        // On a thread of its own: without a deadline the loop never returns.
        std::thread::spawn(move || {
            let mut skipped = 0u64;
            let got = recv_by(
                Instant::now() + Duration::from_millis(200),
                |_left| {
                    std::thread::sleep(Duration::from_micros(100));
                    Ok(true)
                },
                || {
                    skipped += 1;
                    Ok(None)
                },
            );
            let _ = done.send((got.ok(), skipped));
        });
        let (got, skipped) = finished
            .recv_timeout(Duration::from_secs(2))
            .expect("recv with a 200 ms timeout still running after 2 s");
        let elapsed = started.elapsed();
        assert_eq!(got, Some(None));
        assert!(skipped > 100, "{skipped}");
        assert!(
            elapsed >= Duration::from_millis(200) && elapsed < Duration::from_millis(400),
            "{elapsed:?}"
        );
    }

    /// A packet that is not skipped is returned at once; silence ends at the
    /// deadline.
    #[test]
    fn packet_returned_and_silence_times_out() {
        let deadline = Instant::now() + Duration::from_secs(5);
        let got = recv_by(deadline, |_| Ok(true), || Ok(Some(7)));
        assert_eq!(got.unwrap(), Some(7));
        let mut waited = Duration::ZERO;
        let got = recv_by(
            Instant::now() + Duration::from_millis(50),
            |left| {
                waited = left;
                Ok(false)
            },
            || Ok(Some(7)),
        );
        assert_eq!(got.unwrap(), None);
        assert!(waited <= Duration::from_millis(50) && waited > Duration::from_millis(40));
    }
}
