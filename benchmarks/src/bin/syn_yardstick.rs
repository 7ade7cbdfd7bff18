//! Yardstick for SYN scans: the lab's limit for sending SYNs and counting answers.
//!
//! Writes prebuilt Ethernet/IPv4/TCP SYN frames to an `AF_PACKET` socket with
//! `sendmmsg`, as fast as the kernel takes them, from one or more sender
//! threads that each cover a contiguous share of (hosts × ports). A receiver
//! thread on a second `AF_PACKET` socket, behind a hand-compiled classic BPF
//! filter (`tcp and dst portrange SPORT-SPORT+255`), only counts SYN-ACK and
//! RST replies whose acknowledgement number matches the probe's sequence
//! number. There is no scheduling, retransmission or result handling, so its
//! time is what the kernel (here: the lab's two namespaces) needs per probe;
//! a SYN scanner is judged by its ratio to it.
//!
//! Usage (inside the lab's scanning namespace, see `benchmarks/LAB.md`):
//!
//! `syn_yardstick --iface prtip-s0 --src 198.18.0.1 [--dst-mac MAC] --prefix 198.18.4.0/22 --ports 1-1000`
//! `[--wait-ms 500] [--threads 2] [--batch 128] [--sport 40000] [--qdisc-bypass] [--no-prebuild] [--rx-blocking]`
//!
//! Without `--dst-mac` the MAC of `--gateway` (default `198.18.0.2`) is read
//! from the namespace's neighbour table (`/proc/net/arp`). Destinations and
//! the source address must lie inside 198.18.0.0/15, the benchmarking range
//! the lab uses; anything else is refused.
//!
//! Output is one line of `key=value` pairs: probes, send seconds, packets per
//! second, SYN-ACK and RST counts, fraction answered, time to the last reply
//! and the receive socket's drop counter.

use std::io;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const ETH_LEN: usize = 14;
const IP_LEN: usize = 20;
const TCP_LEN: usize = 20;
const FRAME_LEN: usize = ETH_LEN + IP_LEN + TCP_LEN;
/// Number of source ports used (and accepted by the receive filter).
const SPORT_SPAN: u16 = 256;
/// Bytes of each reply the filter passes up: enough for Ethernet + IP + TCP.
const SNAPLEN: u32 = 96;
/// Probes above this are built on the fly instead of up front (memory).
const PREBUILD_LIMIT: u64 = 8_000_000;
/// Consecutive failed `sendmmsg` calls before giving up (keeps loops bounded).
const MAX_SEND_ERRORS: u32 = 1_000_000;

/// The benchmarking range 198.18.0.0/15 (RFC 2544).
const BENCH_NET: u32 = 0xC612_0000;
const BENCH_MASK: u32 = 0xFFFE_0000;

#[derive(Debug, Clone)]
struct Args {
    iface: String,
    src: Ipv4Addr,
    dst_mac: Option<[u8; 6]>,
    gateway: Ipv4Addr,
    net: u32,
    prefix_len: u8,
    ports: Vec<u16>,
    wait_ms: u64,
    threads: usize,
    batch: usize,
    sport: u16,
    qdisc_bypass: bool,
    prebuild: bool,
    rx_blocking: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: syn_yardstick --iface IF --src ADDR [--dst-mac MAC | --gateway ADDR] \
         --prefix NET/LEN --ports LIST [--wait-ms MS] [--threads N] [--batch N] \
         [--sport PORT] [--qdisc-bypass] [--no-prebuild] [--rx-blocking]"
    );
    std::process::exit(2)
}

fn fail(msg: &str) -> ! {
    eprintln!("syn_yardstick: {msg}");
    std::process::exit(2)
}

fn in_bench_range(a: u32) -> bool {
    a & BENCH_MASK == BENCH_NET
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

fn parse_prefix(s: &str) -> Option<(u32, u8)> {
    let (a, l) = s.split_once('/')?;
    let addr: Ipv4Addr = a.parse().ok()?;
    let len: u8 = l.parse().ok()?;
    if len > 32 {
        return None;
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let net = u32::from(addr);
    (net & !mask == 0).then_some((net, len))
}

fn parse_ports(s: &str) -> Option<Vec<u16>> {
    let mut out = Vec::new();
    for item in s.split(',') {
        let (a, b) = match item.split_once('-') {
            Some((a, b)) => (a.parse::<u16>().ok()?, b.parse::<u16>().ok()?),
            None => {
                let p = item.parse::<u16>().ok()?;
                (p, p)
            }
        };
        if a == 0 || a > b {
            return None;
        }
        out.extend(a..=b);
    }
    out.sort_unstable();
    out.dedup();
    (!out.is_empty()).then_some(out)
}

fn parse_args() -> Args {
    let mut iface = None;
    let mut src = None;
    let mut dst_mac = None;
    let mut gateway = Ipv4Addr::new(198, 18, 0, 2);
    let mut prefix = None;
    let mut ports = None;
    let mut wait_ms = 500;
    let mut threads = 2;
    let mut batch = 128;
    let mut sport = 40000u16;
    let mut qdisc_bypass = false;
    let mut no_prebuild = false;
    let mut rx_blocking = false;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--iface" => iface = Some(val()),
            "--src" => src = Some(val().parse().unwrap_or_else(|_| fail("bad --src"))),
            "--dst-mac" => {
                dst_mac = Some(parse_mac(&val()).unwrap_or_else(|| fail("bad --dst-mac")))
            }
            "--gateway" => gateway = val().parse().unwrap_or_else(|_| fail("bad --gateway")),
            "--prefix" => {
                prefix = Some(parse_prefix(&val()).unwrap_or_else(|| fail("bad --prefix")))
            }
            "--ports" => ports = Some(parse_ports(&val()).unwrap_or_else(|| fail("bad --ports"))),
            "--wait-ms" => wait_ms = val().parse().unwrap_or_else(|_| fail("bad --wait-ms")),
            "--threads" => threads = val().parse().unwrap_or_else(|_| fail("bad --threads")),
            "--batch" => batch = val().parse().unwrap_or_else(|_| fail("bad --batch")),
            "--sport" => sport = val().parse().unwrap_or_else(|_| fail("bad --sport")),
            "--qdisc-bypass" => qdisc_bypass = true,
            "--no-prebuild" => no_prebuild = true,
            "--rx-blocking" => rx_blocking = true,
            "-h" | "--help" => usage(),
            _ => usage(),
        }
    }
    let (Some(iface), Some(src), Some((net, prefix_len)), Some(ports)) =
        (iface, src, prefix, ports)
    else {
        usage()
    };
    if prefix_len < 15 || !in_bench_range(net) {
        fail("destinations must lie inside 198.18.0.0/15");
    }
    if !in_bench_range(u32::from(src)) {
        fail("--src must lie inside 198.18.0.0/15");
    }
    if !(1..=64).contains(&threads) || !(1..=1024).contains(&batch) {
        fail("--threads must be 1..64 and --batch 1..1024");
    }
    if !(1024..=u16::MAX - SPORT_SPAN).contains(&sport) {
        fail("--sport must be 1024..65279");
    }
    let probes = (1u64 << (32 - prefix_len)) * ports.len() as u64;
    Args {
        iface,
        src,
        dst_mac,
        gateway,
        net,
        prefix_len,
        ports,
        wait_ms,
        threads,
        batch,
        sport,
        qdisc_bypass,
        prebuild: !no_prebuild && probes <= PREBUILD_LIMIT,
        rx_blocking,
    }
}

/// MAC of `gw` on `iface` from the neighbour table of the current namespace.
fn neighbour_mac(iface: &str, gw: Ipv4Addr) -> Option<[u8; 6]> {
    let table = std::fs::read_to_string("/proc/net/arp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        // IP address, HW type, Flags, HW address, Mask, Device
        if f.len() >= 6 && f[5] == iface && f[0].parse() == Ok(gw) && f[2] != "0x0" {
            parse_mac(f[3])
        } else {
            None
        }
    })
}

fn iface_mac(iface: &str) -> Option<[u8; 6]> {
    let s = std::fs::read_to_string(format!("/sys/class/net/{iface}/address")).ok()?;
    parse_mac(s.trim())
}

fn iface_counter(iface: &str, name: &str) -> u64 {
    std::fs::read_to_string(format!("/sys/class/net/{iface}/statistics/{name}"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

// ---------------------------------------------------------------- packets

/// Ones'-complement sum of `data` added to `acc` (not folded).
fn sum16(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        acc += u32::from(*b) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The sequence number of a probe, checked against the reply's ack - 1.
fn cookie(dst: u32, dport: u16, sport: u16) -> u32 {
    let mut x = (u64::from(dst) << 32) | (u64::from(dport) << 16) | u64::from(sport);
    x ^= 0x9E37_79B9_7F4A_7C15;
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (x ^ (x >> 31)) as u32
}

#[derive(Debug, Clone, Copy)]
struct Template {
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: u32,
}

/// Writes one complete SYN frame (Ethernet + IPv4 + TCP, both checksums).
fn build_frame(f: &mut [u8], t: &Template, dst: u32, dport: u16, sport: u16, id: u16) {
    let f = &mut f[..FRAME_LEN];
    f[0..6].copy_from_slice(&t.dst_mac);
    f[6..12].copy_from_slice(&t.src_mac);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = &mut f[ETH_LEN..ETH_LEN + IP_LEN];
    ip[0] = 0x45;
    ip[1] = 0;
    ip[2..4].copy_from_slice(&((IP_LEN + TCP_LEN) as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&id.to_be_bytes());
    ip[6..8].copy_from_slice(&[0, 0]);
    ip[8] = 64;
    ip[9] = 6;
    ip[10..12].copy_from_slice(&[0, 0]);
    ip[12..16].copy_from_slice(&t.src.to_be_bytes());
    ip[16..20].copy_from_slice(&dst.to_be_bytes());
    let csum = fold(sum16(0, ip));
    ip[10..12].copy_from_slice(&csum.to_be_bytes());
    let tcp = &mut f[ETH_LEN + IP_LEN..];
    tcp[0..2].copy_from_slice(&sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&dport.to_be_bytes());
    tcp[4..8].copy_from_slice(&cookie(dst, dport, sport).to_be_bytes());
    tcp[8..12].copy_from_slice(&[0; 4]);
    tcp[12] = ((TCP_LEN / 4) as u8) << 4;
    tcp[13] = 0x02; // SYN
    tcp[14..16].copy_from_slice(&1024u16.to_be_bytes());
    tcp[16..20].copy_from_slice(&[0; 4]);
    // Pseudo header: src, dst, zero + protocol, TCP length.
    let mut acc = sum16(0, &t.src.to_be_bytes());
    acc = sum16(acc, &dst.to_be_bytes());
    acc += 6 + TCP_LEN as u32;
    let csum = fold(sum16(acc, tcp));
    tcp[16..18].copy_from_slice(&csum.to_be_bytes());
}

/// Probe `i` of the scan: hosts vary fastest, so consecutive probes go to
/// different addresses (as scanners interleave them).
#[derive(Debug, Clone)]
struct Plan {
    net: u32,
    hosts: u64,
    ports: Vec<u16>,
    sport: u16,
}

impl Plan {
    fn probes(&self) -> u64 {
        self.hosts * self.ports.len() as u64
    }
    fn probe(&self, i: u64) -> (u32, u16, u16) {
        let host = (i % self.hosts) as u32;
        let port = self.ports[(i / self.hosts) as usize];
        let sport = self.sport + (i % u64::from(SPORT_SPAN)) as u16;
        (self.net + host, port, sport)
    }
}

// ---------------------------------------------------------------- sockets

fn check(ret: libc::c_int, what: &str) -> io::Result<libc::c_int> {
    if ret < 0 {
        let e = io::Error::last_os_error();
        Err(io::Error::new(e.kind(), format!("{what}: {e}")))
    } else {
        Ok(ret)
    }
}

/// An owned file descriptor that closes on drop.
#[derive(Debug)]
struct Fd(libc::c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor and close it exactly once.
        unsafe { libc::close(self.0) };
    }
}

fn setsockopt<T>(
    fd: &Fd,
    level: libc::c_int,
    name: libc::c_int,
    val: &T,
    what: &str,
) -> io::Result<()> {
    // SAFETY: `val` points to a live T of the given size for the call.
    let r = unsafe {
        libc::setsockopt(
            fd.0,
            level,
            name,
            (val as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    check(r, what).map(|_| ())
}

fn ifindex(iface: &str) -> io::Result<libc::c_int> {
    let name = std::ffi::CString::new(iface).map_err(|_| io::Error::other("bad interface name"))?;
    // SAFETY: `name` is a valid NUL-terminated string.
    let idx = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if idx == 0 {
        return Err(io::Error::other(format!(
            "no interface {iface}: {}",
            io::Error::last_os_error()
        )));
    }
    Ok(idx as libc::c_int)
}

fn sockaddr_ll(ifindex: libc::c_int) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sa.sll_family = libc::AF_PACKET as u16;
    sa.sll_protocol = (libc::ETH_P_IP as u16).to_be();
    sa.sll_ifindex = ifindex;
    sa
}

fn packet_socket() -> io::Result<Fd> {
    // Protocol 0: the socket receives nothing until bound with a protocol.
    // SAFETY: plain socket(2) call.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    check(fd, "socket(AF_PACKET)").map(Fd)
}

fn bind_ll(fd: &Fd, sa: &libc::sockaddr_ll) -> io::Result<()> {
    // SAFETY: `sa` is a valid sockaddr_ll for the duration of the call.
    let r = unsafe {
        libc::bind(
            fd.0,
            (sa as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    check(r, "bind(AF_PACKET)").map(|_| ())
}

/// Classic BPF for `tcp and dst portrange lo-hi` on Ethernet, IPv4 only,
/// first fragments only, passing `SNAPLEN` bytes; the same program as
/// `tcpdump -dd 'tcp and dst portrange lo-hi'` minus its IPv6 half.
fn reply_filter(lo: u16, hi: u16) -> [libc::sock_filter; 12] {
    let ins = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    // Jump offsets count instructions skipped; every "drop" lands on 11.
    [
        ins(0x28, 0, 0, 12),            //  0 ldh [12]            ethertype
        ins(0x15, 0, 9, 0x0800),        //  1 jeq #0x800          else drop
        ins(0x30, 0, 0, 23),            //  2 ldb [23]            IP protocol
        ins(0x15, 0, 7, 6),             //  3 jeq #6 (TCP)        else drop
        ins(0x28, 0, 0, 20),            //  4 ldh [20]            flags + fragment offset
        ins(0x45, 5, 0, 0x1fff),        //  5 jset #0x1fff        later fragment: drop
        ins(0xb1, 0, 0, 14),            //  6 ldxb 4*([14]&0xf)   IP header length
        ins(0x48, 0, 0, 16),            //  7 ldh [x + 16]        TCP destination port
        ins(0x35, 0, 2, u32::from(lo)), //  8 jge #lo             else drop
        ins(0x25, 1, 0, u32::from(hi)), //  9 jgt #hi             drop
        ins(0x06, 0, 0, SNAPLEN),       // 10 ret #SNAPLEN        accept
        ins(0x06, 0, 0, 0),             // 11 ret #0              drop
    ]
}

fn attach_filter(fd: &Fd, lo: u16, hi: u16) -> io::Result<()> {
    let mut prog = reply_filter(lo, hi);
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_mut_ptr(),
    };
    setsockopt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_ATTACH_FILTER,
        &fprog,
        "SO_ATTACH_FILTER",
    )
}

// ---------------------------------------------------------------- sender

#[derive(Debug, Default, Clone, Copy)]
struct SendStats {
    sent: u64,
    calls: u64,
    retries: u64,
}

fn sender(
    args: &Args,
    plan: &Plan,
    tmpl: &Template,
    range: std::ops::Range<u64>,
    go: &AtomicBool,
    ready: &AtomicU64,
) -> io::Result<SendStats> {
    let idx = ifindex(&args.iface)?;
    let fd = packet_socket()?;
    let sa = sockaddr_ll(idx);
    bind_ll(&fd, &sockaddr_ll_proto0(idx))?;
    if args.qdisc_bypass {
        setsockopt(
            &fd,
            libc::SOL_PACKET,
            libc::PACKET_QDISC_BYPASS,
            &1i32,
            "PACKET_QDISC_BYPASS",
        )?;
    }
    setsockopt(
        &fd,
        libc::SOL_SOCKET,
        libc::SO_SNDBUF,
        &(8i32 << 20),
        "SO_SNDBUF",
    )?;

    let n = (range.end - range.start) as usize;
    let batch = args.batch;
    // Prebuilt frames (the whole share) or one batch rebuilt each round.
    let mut frames = vec![0u8; FRAME_LEN * if args.prebuild { n } else { batch }];
    if args.prebuild {
        for (k, f) in frames.chunks_exact_mut(FRAME_LEN).enumerate() {
            let i = range.start + k as u64;
            let (dst, dport, sport) = plan.probe(i);
            build_frame(f, tmpl, dst, dport, sport, i as u16);
        }
    }
    // SAFETY: iovec and mmsghdr are plain old data; zero is valid.
    let mut iov: Vec<libc::iovec> = vec![unsafe { std::mem::zeroed() }; batch];
    let mut msgs: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; batch];

    ready.fetch_add(1, Ordering::SeqCst);
    let mut spins = 0u64;
    while !go.load(Ordering::Acquire) {
        spins += 1;
        if spins > 10_000_000 {
            return Err(io::Error::other("start signal never came"));
        }
        std::hint::spin_loop();
    }

    let mut st = SendStats::default();
    let mut done = 0usize;
    while done < n {
        let m = batch.min(n - done);
        let base: *mut u8 = if args.prebuild {
            // SAFETY: done + m <= n frames lie inside `frames`.
            unsafe { frames.as_mut_ptr().add(done * FRAME_LEN) }
        } else {
            for (k, f) in frames.chunks_exact_mut(FRAME_LEN).take(m).enumerate() {
                let i = range.start + (done + k) as u64;
                let (dst, dport, sport) = plan.probe(i);
                build_frame(f, tmpl, dst, dport, sport, i as u16);
            }
            frames.as_mut_ptr()
        };
        for k in 0..m {
            // SAFETY: frame k of this batch lies inside `frames`.
            iov[k].iov_base = unsafe { base.add(k * FRAME_LEN) }.cast();
            iov[k].iov_len = FRAME_LEN;
            let h = &mut msgs[k].msg_hdr;
            h.msg_name = (&sa as *const libc::sockaddr_ll).cast_mut().cast();
            h.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            h.msg_iov = &mut iov[k];
            h.msg_iovlen = 1;
        }
        let mut off = 0usize;
        let mut errors = 0u32;
        while off < m {
            // SAFETY: msgs[off..m] are initialised headers pointing at live buffers.
            let r =
                unsafe { libc::sendmmsg(fd.0, msgs.as_mut_ptr().add(off), (m - off) as u32, 0) };
            st.calls += 1;
            if r < 0 {
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::ENOBUFS | libc::EAGAIN | libc::EINTR) => {
                        st.retries += 1;
                        errors += 1;
                        if errors > MAX_SEND_ERRORS {
                            return Err(io::Error::other(format!("sendmmsg keeps failing: {e}")));
                        }
                        std::thread::yield_now();
                        continue;
                    }
                    _ => return Err(io::Error::new(e.kind(), format!("sendmmsg: {e}"))),
                }
            }
            errors = 0;
            off += r as usize;
        }
        st.sent += m as u64;
        done += m;
    }
    Ok(st)
}

/// Bound to the interface but with protocol 0, so the send socket never
/// receives (and never copies) any traffic.
fn sockaddr_ll_proto0(ifindex: libc::c_int) -> libc::sockaddr_ll {
    let mut sa = sockaddr_ll(ifindex);
    sa.sll_protocol = 0;
    sa
}

// ---------------------------------------------------------------- receiver

#[derive(Debug, Default)]
struct RecvCounts {
    syn_ack: AtomicU64,
    rst: AtomicU64,
    other: AtomicU64,
    bad_ack: AtomicU64,
    /// Nanoseconds from the epoch to the last counted reply.
    last_ns: AtomicU64,
}

impl RecvCounts {
    fn answered(&self) -> u64 {
        self.syn_ack.load(Ordering::Relaxed) + self.rst.load(Ordering::Relaxed)
    }
}

struct Receiver {
    fd: Fd,
    /// Block in `recvmmsg` (woken per reply) instead of drain-and-sleep.
    blocking: bool,
}

impl Receiver {
    fn open(iface: &str, sport: u16, blocking: bool) -> io::Result<Self> {
        let idx = ifindex(iface)?;
        let fd = packet_socket()?;
        attach_filter(&fd, sport, sport + SPORT_SPAN - 1)?;
        let big = 64i32 << 20;
        if setsockopt(
            &fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            &big,
            "SO_RCVBUFFORCE",
        )
        .is_err()
        {
            setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &big, "SO_RCVBUF")?;
        }
        // Our own SYNs never reach the filter (kernel >= 4.20; best effort).
        let _ = setsockopt(
            &fd,
            libc::SOL_PACKET,
            libc::PACKET_IGNORE_OUTGOING,
            &1i32,
            "PACKET_IGNORE_OUTGOING",
        );
        // Binding with a protocol starts delivery; the filter is already in place.
        bind_ll(&fd, &sockaddr_ll(idx))?;
        if blocking {
            let tv = libc::timeval {
                tv_sec: 0,
                tv_usec: 20_000,
            };
            setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv, "SO_RCVTIMEO")?;
        }
        Ok(Self { fd, blocking })
    }

    fn run(
        &self,
        plan: &Plan,
        epoch: Instant,
        stop: &AtomicBool,
        c: &RecvCounts,
    ) -> io::Result<()> {
        const BATCH: usize = 256;
        let slot = SNAPLEN as usize;
        let mut bufs = vec![0u8; BATCH * slot];
        // SAFETY: plain old data; zero is valid.
        let mut iov: Vec<libc::iovec> = vec![unsafe { std::mem::zeroed() }; BATCH];
        let mut msgs: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; BATCH];
        while !stop.load(Ordering::Acquire) {
            for k in 0..BATCH {
                // SAFETY: slot k lies inside `bufs`.
                iov[k].iov_base = unsafe { bufs.as_mut_ptr().add(k * slot) }.cast();
                iov[k].iov_len = slot;
                msgs[k].msg_hdr.msg_iov = &mut iov[k];
                msgs[k].msg_hdr.msg_iovlen = 1;
                msgs[k].msg_len = 0;
            }
            // Non-blocking drain, then a short sleep: a reader blocked in
            // recvmmsg is woken for every reply, which costs more than the reply.
            // SAFETY: msgs point at live buffers; timeout pointer may be null.
            let r = unsafe {
                libc::recvmmsg(
                    self.fd.0,
                    msgs.as_mut_ptr(),
                    BATCH as u32,
                    if self.blocking { 0 } else { libc::MSG_DONTWAIT },
                    std::ptr::null_mut(),
                )
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EAGAIN) if !self.blocking => {
                        std::thread::sleep(Duration::from_micros(500));
                        continue;
                    }
                    Some(libc::EAGAIN | libc::EINTR) => continue,
                    _ => return Err(io::Error::new(e.kind(), format!("recvmmsg: {e}"))),
                }
            }
            let mut got = false;
            for (k, m) in msgs.iter().take(r as usize).enumerate() {
                let len = (m.msg_len as usize).min(slot);
                let frame = &bufs[k * slot..k * slot + len];
                got |= count_reply(frame, plan, c);
            }
            if got {
                c.last_ns
                    .store(epoch.elapsed().as_nanos() as u64, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// (packets seen by the socket, packets dropped for lack of buffer space)
    fn stats(&self) -> (u32, u32) {
        let mut st = libc::tpacket_stats {
            tp_packets: 0,
            tp_drops: 0,
        };
        let mut len = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
        // SAFETY: `st` is a valid tpacket_stats of `len` bytes.
        let r = unsafe {
            libc::getsockopt(
                self.fd.0,
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut libc::tpacket_stats).cast(),
                &mut len,
            )
        };
        if r < 0 {
            (0, 0)
        } else {
            (st.tp_packets, st.tp_drops)
        }
    }
}

/// Counts one filtered frame; true if it answered one of our probes.
fn count_reply(f: &[u8], plan: &Plan, c: &RecvCounts) -> bool {
    if f.len() < ETH_LEN + IP_LEN {
        return false;
    }
    let ihl = usize::from(f[ETH_LEN] & 0x0f) * 4;
    let t = ETH_LEN + ihl;
    if ihl < IP_LEN || f.len() < t + 14 {
        return false;
    }
    let src = u32::from_be_bytes([
        f[ETH_LEN + 12],
        f[ETH_LEN + 13],
        f[ETH_LEN + 14],
        f[ETH_LEN + 15],
    ]);
    let sport = u16::from_be_bytes([f[t], f[t + 1]]);
    let dport = u16::from_be_bytes([f[t + 2], f[t + 3]]);
    let ack = u32::from_be_bytes([f[t + 8], f[t + 9], f[t + 10], f[t + 11]]);
    let flags = f[t + 13];
    if src.wrapping_sub(plan.net) as u64 >= plan.hosts {
        c.other.fetch_add(1, Ordering::Relaxed);
        return false;
    }
    if ack.wrapping_sub(1) != cookie(src, sport, dport) {
        c.bad_ack.fetch_add(1, Ordering::Relaxed);
        return false;
    }
    if flags & 0x12 == 0x12 {
        c.syn_ack.fetch_add(1, Ordering::Relaxed);
    } else if flags & 0x04 != 0 {
        c.rst.fetch_add(1, Ordering::Relaxed);
    } else {
        c.other.fetch_add(1, Ordering::Relaxed);
        return false;
    }
    true
}

// ---------------------------------------------------------------- main

fn main() {
    let args = parse_args();
    let dst_mac = args
        .dst_mac
        .or_else(|| neighbour_mac(&args.iface, args.gateway))
        .unwrap_or_else(|| {
            fail(&format!(
                "no neighbour entry for {} on {}; pass --dst-mac (ip neigh / scripts/lab env)",
                args.gateway, args.iface
            ))
        });
    let src_mac = iface_mac(&args.iface).unwrap_or_else(|| fail("cannot read the interface's MAC"));
    let tmpl = Template {
        dst_mac,
        src_mac,
        src: u32::from(args.src),
    };
    let plan = Plan {
        net: args.net,
        hosts: 1u64 << (32 - args.prefix_len),
        ports: args.ports.clone(),
        sport: args.sport,
    };
    let probes = plan.probes();
    let rx = Receiver::open(&args.iface, args.sport, args.rx_blocking)
        .unwrap_or_else(|e| fail(&e.to_string()));
    let tx_dropped0 = iface_counter(&args.iface, "tx_dropped");
    let rx_dropped0 = iface_counter(&args.iface, "rx_dropped");

    let counts = RecvCounts::default();
    let go = AtomicBool::new(false);
    let ready = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let mut send_secs = 0.0;
    let mut total = SendStats::default();
    // The receiver stamps replies relative to `epoch`; sending starts at `go_ns`.
    let epoch = Instant::now();
    let go_ns = AtomicU64::new(0);

    std::thread::scope(|s| {
        let receiver = s.spawn(|| rx.run(&plan, epoch, &stop, &counts));
        let per = probes.div_ceil(args.threads as u64);
        let senders: Vec<_> = (0..args.threads as u64)
            .map(|t| {
                let range = (t * per).min(probes)..((t + 1) * per).min(probes);
                let (args, plan, tmpl, go, ready) = (&args, &plan, &tmpl, &go, &ready);
                s.spawn(move || sender(args, plan, tmpl, range, go, ready))
            })
            .collect();
        // Wait (bounded) until every sender has built its frames.
        for _ in 0..600_000 {
            if ready.load(Ordering::SeqCst) == args.threads as u64 {
                break;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        let start = Instant::now();
        go_ns.store(epoch.elapsed().as_nanos() as u64, Ordering::Relaxed);
        go.store(true, Ordering::Release);
        for h in senders {
            match h.join() {
                Ok(Ok(st)) => {
                    total.sent += st.sent;
                    total.calls += st.calls;
                    total.retries += st.retries;
                }
                Ok(Err(e)) => {
                    stop.store(true, Ordering::Release);
                    fail(&format!("sender: {e}"));
                }
                Err(_) => fail("sender panicked"),
            }
        }
        send_secs = start.elapsed().as_secs_f64();
        // Wait for the stragglers: until every probe is answered or --wait-ms.
        let deadline = Instant::now() + Duration::from_millis(args.wait_ms);
        while Instant::now() < deadline && counts.answered() < probes {
            std::thread::sleep(Duration::from_millis(1));
        }
        stop.store(true, Ordering::Release);
        if let Ok(Err(e)) = receiver.join() {
            fail(&format!("receiver: {e}"));
        }
    });

    let (_, rx_drops) = rx.stats();
    let syn_ack = counts.syn_ack.load(Ordering::Relaxed);
    let rst = counts.rst.load(Ordering::Relaxed);
    let answered = syn_ack + rst;
    let last_reply = counts
        .last_ns
        .load(Ordering::Relaxed)
        .saturating_sub(go_ns.load(Ordering::Relaxed)) as f64
        / 1e9;
    println!(
        "probes={probes} threads={} batch={} prebuilt={} qdisc_bypass={} rx_blocking={} send_seconds={send_secs:.3} \
         pps={:.0} syn_ack={syn_ack} rst={rst} answered={:.4} last_reply_seconds={last_reply:.3} \
         bad_ack={} other={} rx_socket_drops={rx_drops} iface_tx_dropped={} iface_rx_dropped={} \
         sendmmsg_calls={} send_retries={}",
        args.threads,
        args.batch,
        args.prebuild,
        args.qdisc_bypass,
        args.rx_blocking,
        probes as f64 / send_secs,
        answered as f64 / probes as f64,
        counts.bad_ack.load(Ordering::Relaxed),
        counts.other.load(Ordering::Relaxed),
        iface_counter(&args.iface, "tx_dropped") - tx_dropped0,
        iface_counter(&args.iface, "rx_dropped") - rx_dropped0,
        total.calls,
        total.retries,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_verify() {
        let t = Template {
            dst_mac: [2; 6],
            src_mac: [4; 6],
            src: 0xC612_0001,
        };
        let mut f = [0u8; FRAME_LEN];
        build_frame(&mut f, &t, 0xC612_0407, 80, 40001, 7);
        assert_eq!(fold(sum16(0, &f[ETH_LEN..ETH_LEN + IP_LEN])), 0);
        let mut acc = sum16(0, &f[ETH_LEN + 12..ETH_LEN + 20]);
        acc += 6 + TCP_LEN as u32;
        assert_eq!(fold(sum16(acc, &f[ETH_LEN + IP_LEN..])), 0);
    }

    #[test]
    fn parsing() {
        assert_eq!(parse_ports("1-3,80,2"), Some(vec![1, 2, 3, 80]));
        assert_eq!(parse_ports("0-3"), None);
        assert_eq!(parse_prefix("198.18.4.0/22"), Some((0xC612_0400, 22)));
        assert_eq!(parse_prefix("198.18.4.1/22"), None);
        assert_eq!(
            parse_mac("4a:b5:77:35:de:d1"),
            Some([0x4a, 0xb5, 0x77, 0x35, 0xde, 0xd1])
        );
        assert!(in_bench_range(0xC613_FFFF));
        assert!(!in_bench_range(0xC614_0000));
    }

    #[test]
    fn plan_covers_every_probe_once() {
        let plan = Plan {
            net: 0xC612_0400,
            hosts: 4,
            ports: vec![22, 80],
            sport: 40000,
        };
        let mut seen: Vec<_> = (0..plan.probes())
            .map(|i| plan.probe(i))
            .map(|(d, p, _)| (d, p))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 8);
    }
}
