//! `--packet-trace`: every packet the raw engines send and receive, and
//! every `connect` of the connect scan, as lines in nmap's format on
//! standard output:
//!
//! ```text
//! SENT (0.0265s) TCP 127.0.0.1:53053 > 127.0.0.1:22 S ttl=64 id=1 iplen=44  seq=2885441379 win=1024 <mss 1460>
//! RCVD (0.0266s) TCP 127.0.0.1:22 > 127.0.0.1:53053 RA ttl=64 id=0 iplen=40  seq=0 win=0
//! ```
//!
//! The trace wraps the engines' [`PacketIo`], so the probe loops do not
//! know about it. Its output is rate-limited ([`LINES_PER_SECOND`]): lines
//! past the limit are counted, not formatted, and one line says how many
//! were left out, so a trace can never slow a scan to a crawl unnoticed.
//!
//! The tracer is installed for the length of one scan ([`install`]); the
//! raw engines wrap their sockets with [`wrap`] when one is installed.

use crate::net::{PacketIo, RECV_SLOT};
use prtip_core::wire::{
    IcmpView, Ipv4View, Ipv6View, TcpFlags, TcpOptions, TcpView, UdpView, IPPROTO_ICMP,
    IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, TCP_OPT_MSS,
};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Lines printed per second at most; the rest are counted.
pub const LINES_PER_SECOND: u32 = 1000;

/// Where trace lines go, and how many may.
pub struct Tracer {
    start: Instant,
    out: Mutex<Output>,
}

struct Output {
    sink: Box<dyn Write + Send>,
    window: Instant,
    printed: u32,
    left_out: u64,
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer")
            .field("start", &self.start)
            .finish()
    }
}

static CURRENT: RwLock<Option<Arc<Tracer>>> = RwLock::new(None);
/// Whether a tracer is installed: the connect scan asks for every probe,
/// so asking must cost one load.
static ON: AtomicBool = AtomicBool::new(false);

/// Traces into `sink` until the returned guard is dropped.
pub fn install(sink: Box<dyn Write + Send>) -> Installed {
    let now = Instant::now();
    let tracer = Arc::new(Tracer {
        start: now,
        out: Mutex::new(Output {
            sink,
            window: now,
            printed: 0,
            left_out: 0,
        }),
    });
    *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&tracer));
    ON.store(true, Ordering::Relaxed);
    Installed(tracer)
}

/// The installed tracer; dropping it says what was left out and stops tracing.
#[derive(Debug)]
pub struct Installed(Arc<Tracer>);

impl Drop for Installed {
    fn drop(&mut self) {
        ON.store(false, Ordering::Relaxed);
        *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = None;
        let mut out = self.0.out.lock().unwrap_or_else(|e| e.into_inner());
        out.say_left_out();
        let _ = out.sink.flush();
    }
}

/// `io`, traced when a tracer is installed.
pub fn wrap(io: Arc<dyn PacketIo>) -> Arc<dyn PacketIo> {
    match CURRENT.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        Some(t) => Arc::new(Traced {
            inner: io,
            tracer: Arc::clone(t),
        }),
        None => io,
    }
}

impl Output {
    /// Whether one more line may be printed now.
    fn allow(&mut self, now: Instant) -> bool {
        if now.duration_since(self.window) >= Duration::from_secs(1) {
            self.say_left_out();
            self.window = now;
            self.printed = 0;
        }
        if self.printed < LINES_PER_SECOND {
            self.printed += 1;
            return true;
        }
        self.left_out += 1;
        false
    }

    fn say_left_out(&mut self) {
        if self.left_out > 0 {
            let _ = writeln!(
                self.sink,
                "prtip: packet trace: {} lines left out (at most {LINES_PER_SECOND} a second)",
                self.left_out
            );
            self.left_out = 0;
        }
    }
}

impl Tracer {
    fn trace(&self, dir: &str, packet: &[u8]) {
        self.line(|at| describe(dir, at, packet));
    }

    /// Prints the line `make` writes for the time since the start, if the
    /// limit allows one now.
    fn line(&self, make: impl FnOnce(Duration) -> String) {
        let now = Instant::now();
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if !out.allow(now) {
            return;
        }
        let line = make(now.duration_since(self.start));
        let _ = out.sink.write_all(line.as_bytes());
    }
}

/// Whether `--packet-trace` is on (one load), for callers that must do
/// work to describe what they trace.
pub fn is_on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// A connect scan's `connect` to `target` and what it gave, as nmap's
/// `CONN` line: "Operation now in progress", then "Connected" or the error.
pub fn connect(target: SocketAddr, result: &io::Result<()>) {
    if !is_on() {
        return;
    }
    let Some(tracer) = CURRENT.read().unwrap_or_else(|e| e.into_inner()).clone() else {
        return;
    };
    tracer.line(|at| connect_line(at, target, result));
}

/// `CONN (0.0334s) TCP localhost > 127.0.0.1:22 => Connection refused`
fn connect_line(at: Duration, target: SocketAddr, result: &io::Result<()>) -> String {
    let what = match result {
        Ok(()) => "Connected".to_string(),
        // The C library's text, without Rust's "(os error N)".
        Err(e) => {
            let text = e.to_string();
            match text.rfind(" (os error ") {
                Some(i) => text[..i].to_string(),
                None => text,
            }
        }
    };
    format!(
        "CONN ({:.4}s) TCP localhost > {target} => {what}\n",
        at.as_secs_f64()
    )
}

/// A [`PacketIo`] whose traffic is traced.
struct Traced {
    inner: Arc<dyn PacketIo>,
    tracer: Arc<Tracer>,
}

impl PacketIo for Traced {
    fn send_batch(&self, packets: &[&[u8]], dsts: &[IpAddr]) -> io::Result<usize> {
        let sent = self.inner.send_batch(packets, dsts)?;
        for p in packets.iter().take(sent) {
            self.tracer.trace("SENT", p);
        }
        Ok(sent)
    }

    fn recv(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>> {
        let got = self.inner.recv(buf, timeout)?;
        if let Some(n) = got {
            self.tracer.trace("RCVD", &buf[..n]);
        }
        Ok(got)
    }

    fn recv_many(
        &self,
        bufs: &mut [[u8; RECV_SLOT]],
        lens: &mut [usize],
        timeout: Duration,
    ) -> io::Result<usize> {
        let n = self.inner.recv_many(bufs, lens, timeout)?;
        for (buf, &len) in bufs.iter().zip(lens.iter()).take(n) {
            self.tracer.trace("RCVD", &buf[..len]);
        }
        Ok(n)
    }
}

/// One packet as nmap's trace line, newline included.
pub fn describe(dir: &str, at: Duration, packet: &[u8]) -> String {
    let mut s = format!("{dir} ({:.4}s) ", at.as_secs_f64());
    if let Some(ip) = Ipv4View::parse(packet) {
        let head = format!("ttl={} id={} iplen={}", ip.ttl(), ip.id(), ip.total_len());
        let (src, dst) = (IpAddr::V4(ip.src()), IpAddr::V4(ip.dst()));
        upper(&mut s, ip.proto(), ip.payload(), (src, dst), &head);
    } else if let Some(ip) = Ipv6View::parse(packet) {
        let head = format!("hlim={} iplen={}", ip.hop_limit(), packet.len());
        let (src, dst) = (IpAddr::V6(ip.src()), IpAddr::V6(ip.dst()));
        match ip.upper_layer() {
            Some(u) => upper(&mut s, u.proto, u.data, (src, dst), &head),
            None => unknown(&mut s, (src, dst), &head),
        }
    } else {
        let _ = write!(s, "unknown packet of {} bytes", packet.len());
    }
    s.push('\n');
    s
}

type Ends = (IpAddr, IpAddr);

fn upper(s: &mut String, proto: u8, data: &[u8], ends: Ends, head: &str) {
    match proto {
        IPPROTO_TCP => match TcpView::parse(data) {
            Some(t) => tcp(s, &t, ends, head),
            None => unknown(s, ends, head),
        },
        IPPROTO_UDP => match UdpView::parse(data) {
            Some(u) => {
                let (src, dst) = (at(ends.0, u.sport()), at(ends.1, u.dport()));
                let _ = write!(s, "UDP {src} > {dst} {head} ");
            }
            None => unknown(s, ends, head),
        },
        IPPROTO_ICMP | IPPROTO_ICMPV6 => match IcmpView::parse(data) {
            Some(i) => icmp(s, &i, proto == IPPROTO_ICMPV6, ends, head),
            None => unknown(s, ends, head),
        },
        _ => unknown(s, ends, head),
    }
}

/// `addr:port`, IPv6 in brackets.
fn at(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

fn tcp(s: &mut String, t: &TcpView<'_>, ends: Ends, head: &str) {
    let (src, dst) = (at(ends.0, t.sport()), at(ends.1, t.dport()));
    let _ = write!(
        s,
        "TCP {src} > {dst} {} {head}  seq={} win={} ",
        flag_letters(t.flags()),
        t.seq(),
        t.window()
    );
    let mss = TcpOptions::new(t.options())
        .find(|o| o.kind == TCP_OPT_MSS)
        .and_then(|o| <[u8; 2]>::try_from(o.data).ok());
    if let Some(m) = mss {
        let _ = write!(s, "<mss {}>", u16::from_be_bytes(m));
    }
}

/// nmap's letters for the control bits, in nmap's order.
fn flag_letters(f: TcpFlags) -> String {
    [
        (TcpFlags::SYN, 'S'),
        (TcpFlags::FIN, 'F'),
        (TcpFlags::RST, 'R'),
        (TcpFlags::PSH, 'P'),
        (TcpFlags::ACK, 'A'),
        (TcpFlags::URG, 'U'),
        (TcpFlags(0x40), 'E'),
        (TcpFlags(0x80), 'C'),
    ]
    .into_iter()
    .filter(|(bit, _)| f.contains(*bit))
    .map(|(_, c)| c)
    .collect()
}

fn icmp(s: &mut String, i: &IcmpView<'_>, v6: bool, (src, dst): Ends, head: &str) {
    let (t, c) = (i.icmp_type(), i.code());
    let what = match (v6, t, c) {
        (false, 8, _) | (true, 128, _) => format!(
            "Echo request (type={t}/code={c}) id={} seq={}",
            i.id(),
            i.seq()
        ),
        (false, 0, _) | (true, 129, _) => format!(
            "Echo reply (type={t}/code={c}) id={} seq={}",
            i.id(),
            i.seq()
        ),
        (false, 13, _) => format!(
            "Timestamp request (type={t}/code={c}) id={} seq={}",
            i.id(),
            i.seq()
        ),
        (false, 14, _) => format!(
            "Timestamp reply (type={t}/code={c}) id={} seq={}",
            i.id(),
            i.seq()
        ),
        (false, 3, 3) | (true, 1, 4) => match quoted_dport(i.body(), v6) {
            Some(p) => format!("Port {p} unreachable (type={t}/code={c}) "),
            None => format!("Port unreachable (type={t}/code={c}) "),
        },
        _ => format!("type={t}/code={c} "),
    };
    let name = if v6 { "ICMPv6" } else { "ICMP" };
    let _ = write!(s, "{name} [{src} > {dst} {what}] IP [{head} ]");
}

/// The destination port of the UDP or TCP header an ICMP error quotes.
fn quoted_dport(body: &[u8], v6: bool) -> Option<u16> {
    let transport = if v6 {
        Ipv6View::parse_quoted(body)?.upper_layer()?.data
    } else {
        Ipv4View::parse_quoted(body)?.payload()
    };
    let b = transport.get(2..4)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn unknown(s: &mut String, (src, dst): Ends, head: &str) {
    let _ = write!(s, "IP {src} > {dst} {head}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use prtip_core::wire::{
        build_icmp_echo, build_ipv4_icmp, build_ipv4_udp, build_syn_probe, build_tcp, IcmpMessage,
        Ipv4Fields, Ipv6Header, ProbeIp, TcpFields, UdpHeader,
    };
    use std::net::{Ipv4Addr, Ipv6Addr};

    const US: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const THEM: Ipv4Addr = Ipv4Addr::new(198, 18, 4, 7);
    const AT: Duration = Duration::from_micros(26_500);

    fn fields(src: Ipv4Addr, dst: Ipv4Addr, ip_id: u16) -> Ipv4Fields {
        Ipv4Fields {
            src,
            dst,
            ip_id,
            ttl: 64,
        }
    }

    fn line(packet: &[u8]) -> String {
        describe("SENT", AT, packet)
    }

    #[test]
    fn tcp_lines_read_as_nmaps() {
        let mut buf = [0u8; 80];
        let ip = ProbeIp::V4(fields(US, THEM, 48886));
        let n = build_syn_probe(&mut buf, &ip, 53053, 22, 2_885_441_379).expect("room");
        assert_eq!(
            line(&buf[..n]),
            "SENT (0.0265s) TCP 198.18.0.1:53053 > 198.18.4.7:22 S ttl=64 id=48886 iplen=44  seq=2885441379 win=1024 <mss 1460>\n"
        );
        let rst = TcpFields {
            sport: 22,
            dport: 53053,
            seq: 0,
            ack: 2_885_441_380,
            flags: TcpFlags::RST_ACK,
            window: 0,
            mss: None,
        };
        let n = build_tcp(&mut buf, &fields(THEM, US, 0), &rst).expect("room");
        assert_eq!(
            describe("RCVD", AT, &buf[..n]),
            "RCVD (0.0265s) TCP 198.18.4.7:22 > 198.18.0.1:53053 RA ttl=64 id=0 iplen=40  seq=0 win=0 \n"
        );
        let xmas = TcpFields {
            flags: TcpFlags(0x29),
            ..rst
        };
        let n = build_tcp(&mut buf, &fields(US, THEM, 1), &xmas).expect("room");
        assert!(
            line(&buf[..n]).contains(" FPU ttl=64 "),
            "{}",
            line(&buf[..n])
        );
    }

    #[test]
    fn udp_and_icmp_lines_read_as_nmaps() {
        let mut buf = [0u8; 128];
        let udp = UdpHeader {
            sport: 37327,
            dport: 53,
        };
        let ip = fields(US, THEM, 46313);
        let n = build_ipv4_udp(&mut buf, &ip.header(), &udp, &[]).expect("room");
        let probe = buf[..n].to_vec();
        assert_eq!(
            line(&probe),
            "SENT (0.0265s) UDP 198.18.0.1:37327 > 198.18.4.7:53 ttl=64 id=46313 iplen=28 \n"
        );
        let error = IcmpMessage {
            icmp_type: 3,
            code: 3,
            rest: 0,
            body: &probe,
        };
        let n = build_ipv4_icmp(&mut buf, &fields(THEM, US, 26542).header(), &error).expect("room");
        assert_eq!(
            describe("RCVD", AT, &buf[..n]),
            "RCVD (0.0265s) ICMP [198.18.4.7 > 198.18.0.1 Port 53 unreachable (type=3/code=3) ] IP [ttl=64 id=26542 iplen=56 ]\n"
        );
        let n = build_icmp_echo(&mut buf, &fields(US, THEM, 7), 41337, 0).expect("room");
        assert_eq!(
            line(&buf[..n]),
            "SENT (0.0265s) ICMP [198.18.0.1 > 198.18.4.7 Echo request (type=8/code=0) id=41337 seq=0] IP [ttl=64 id=7 iplen=28 ]\n"
        );
    }

    #[test]
    fn ipv6_and_garbage_never_fail() {
        let mut buf = [0u8; 96];
        let ip = ProbeIp::V6(Ipv6Header {
            src: Ipv6Addr::LOCALHOST,
            dst: Ipv6Addr::LOCALHOST,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
        });
        let n = build_syn_probe(&mut buf, &ip, 40000, 22, 7).expect("room");
        assert_eq!(
            line(&buf[..n]),
            "SENT (0.0265s) TCP [::1]:40000 > [::1]:22 S hlim=64 iplen=64  seq=7 win=1024 <mss 1460>\n"
        );
        assert_eq!(
            line(&[0x45, 0]),
            "SENT (0.0265s) unknown packet of 2 bytes\n"
        );
        assert_eq!(line(&[]), "SENT (0.0265s) unknown packet of 0 bytes\n");
    }

    #[test]
    fn connect_lines_read_as_nmaps() {
        let target: SocketAddr = "127.0.0.1:22".parse().expect("address");
        let refused = io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(
            connect_line(AT, target, &Err(refused)),
            "CONN (0.0265s) TCP localhost > 127.0.0.1:22 => Connection refused\n"
        );
        let waiting = io::Error::from_raw_os_error(libc::EINPROGRESS);
        assert_eq!(
            connect_line(AT, target, &Err(waiting)),
            "CONN (0.0265s) TCP localhost > 127.0.0.1:22 => Operation now in progress\n"
        );
        let six: SocketAddr = "[::1]:80".parse().expect("address");
        assert_eq!(
            connect_line(AT, six, &Ok(())),
            "CONN (0.0265s) TCP localhost > [::1]:80 => Connected\n"
        );
    }

    #[test]
    fn lines_past_the_limit_are_counted_and_said() {
        let now = Instant::now();
        let mut out = Output {
            sink: Box::new(Vec::new()),
            window: now,
            printed: 0,
            left_out: 0,
        };
        let allowed = (0..LINES_PER_SECOND + 5).filter(|_| out.allow(now)).count();
        assert_eq!(allowed as u32, LINES_PER_SECOND);
        assert_eq!(out.left_out, 5);
        // A new second: the count is said, and lines flow again.
        assert!(out.allow(now + Duration::from_secs(1)));
        assert_eq!(out.left_out, 0);
    }
}
