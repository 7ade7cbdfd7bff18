//! The nmap-services table: port -> name, and port open-frequencies for
//! `--top-ports`, `-F` and the default scan.
//!
//! The caller reads the file (from `--datadir` or `/usr/share/nmap`) and hands
//! its content here; nothing in this module does I/O. Nothing here keeps the
//! ~27,000 entries either: each function streams over the text once and keeps
//! only what it returns.
//!
//! Line format: `name port/proto [frequency] [# comment]`. Lines nmap would
//! skip are skipped; lines that look broken are skipped *and* reported as
//! [`ServiceWarning`]s, which the caller may print.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;

use crate::error::{Error, Result};
use crate::ports::PortList;
use crate::result::Protocol;

/// A skipped line of a services file, printed as `file:line: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceWarning {
    /// File name as the caller gave it.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// Why the line was skipped.
    pub reason: String,
}

impl fmt::Display for ServiceWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// A value read from a services file, with the warnings about skipped lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<T> {
    /// What was asked for.
    pub value: T,
    /// Lines that were skipped because they are malformed.
    pub warnings: Vec<ServiceWarning>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Tcp,
    Udp,
    Sctp,
}

impl Proto {
    fn index(self) -> usize {
        self as usize
    }

    fn matches(self, p: Protocol) -> bool {
        matches!(
            (self, p),
            (Proto::Tcp, Protocol::Tcp) | (Proto::Udp, Protocol::Udp)
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry<'a> {
    name: &'a str,
    port: u16,
    proto: Proto,
    /// `None` when the line has no frequency (old `/etc/services` format).
    ratio: Option<f64>,
}

/// nmap reads the name with `%127s`; a longer name makes it skip the line.
const MAX_NAME: usize = 127;

/// `Ok(None)`: a line nmap skips silently (blank, comment, ddp/divert).
fn parse_line(line: &str) -> std::result::Result<Option<Entry<'_>>, String> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let mut tokens = trimmed.split_whitespace();
    let (Some(name), Some(port_proto)) = (tokens.next(), tokens.next()) else {
        return Err("expected \"name port/protocol [frequency]\"".to_owned());
    };
    if name.len() > MAX_NAME {
        return Err(format!("service name longer than {MAX_NAME} characters"));
    }
    let Some((port, proto)) = port_proto.split_once('/') else {
        return Err(format!("expected port/protocol, found \"{port_proto}\""));
    };
    let port = match port.parse::<u16>() {
        Ok(p) if port.bytes().all(|b| b.is_ascii_digit()) => p,
        _ => return Err(format!("bad port number \"{port}\"")),
    };
    // Compared without allocating: this runs for each of ~27,000 lines.
    let is = |name: &str| proto.eq_ignore_ascii_case(name);
    let starts = |prefix: &str| {
        proto
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    let proto = if is("tcp") {
        Proto::Tcp
    } else if is("udp") {
        Proto::Udp
    } else if is("sctp") {
        Proto::Sctp
    } else if starts("ddp") || starts("divert") || proto.starts_with('#') {
        // Found in system services files; nmap ignores them without a word.
        return Ok(None);
    } else {
        return Err(format!("unknown protocol \"{proto}\""));
    };
    let ratio = match tokens.next() {
        Some(t) => parse_ratio(t)?,
        None => None,
    };
    Ok(Some(Entry {
        name,
        port,
        proto,
        ratio,
    }))
}

/// nmap accepts `n/d` and `0.xxx`; any other third field (a comment, or an
/// alias in `/etc/services`) means "no frequency".
fn parse_ratio(token: &str) -> std::result::Result<Option<f64>, String> {
    if let Some((n, d)) = token.split_once('/') {
        let (Ok(n), Ok(d)) = (n.parse::<u64>(), d.parse::<u64>()) else {
            return Err(format!("bad frequency \"{token}\""));
        };
        if d == 0 {
            return Err(format!("frequency \"{token}\" divides by zero"));
        }
        if n > d {
            return Err(format!("frequency \"{token}\" is above 1"));
        }
        return Ok(Some(n as f64 / d as f64));
    }
    if token.starts_with("0.") {
        return match token.parse::<f64>() {
            Ok(r) if r.is_finite() => Ok(Some(r)),
            _ => Err(format!("bad frequency \"{token}\"")),
        };
    }
    Ok(None)
}

/// Entries of a services file in file order, without the (port, protocol)
/// duplicates nmap ignores (the first line wins).
struct Entries<'a> {
    lines: std::iter::Enumerate<std::str::Lines<'a>>,
    /// One bit per port and protocol: 3 x 8 KiB, instead of a map of every entry.
    seen: Vec<u64>,
    file: &'a str,
    warnings: Vec<ServiceWarning>,
    /// At least one line carried a frequency.
    has_ratios: bool,
}

impl<'a> Entries<'a> {
    fn new(content: &'a str, file: &'a str) -> Self {
        Entries {
            lines: content.lines().enumerate(),
            seen: vec![0; 3 * 1024],
            file,
            warnings: Vec::new(),
            has_ratios: false,
        }
    }

    fn warn(&mut self, line: usize, reason: String) {
        self.warnings.push(ServiceWarning {
            file: self.file.to_owned(),
            line,
            reason,
        });
    }

    /// Marks (port, proto) as seen; false if it already was.
    fn first_sighting(&mut self, e: &Entry<'_>) -> bool {
        let bit = e.proto.index() * 65_536 + usize::from(e.port);
        let (word, mask) = (bit / 64, 1u64 << (bit % 64));
        match self.seen.get_mut(word) {
            Some(w) if *w & mask == 0 => {
                *w |= mask;
                true
            }
            _ => false,
        }
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        loop {
            let (idx, line) = self.lines.next()?;
            let lineno = idx + 1;
            match parse_line(line) {
                Ok(None) => {}
                Err(reason) => self.warn(lineno, reason),
                Ok(Some(e)) => {
                    if !self.first_sighting(&e) {
                        let proto = match e.proto {
                            Proto::Tcp => "tcp",
                            Proto::Udp => "udp",
                            Proto::Sctp => "sctp",
                        };
                        self.warn(
                            lineno,
                            format!(
                                "duplicate entry for {}/{proto}; the first one is used",
                                e.port
                            ),
                        );
                        continue;
                    }
                    self.has_ratios |= e.ratio.is_some();
                    return Some(e);
                }
            }
        }
    }
}

/// Calls `f(name, port)` for every entry of `proto` (ports.rs resolves `-p` names with it).
pub(crate) fn for_each_name(content: &str, proto: Protocol, mut f: impl FnMut(&str, u16)) {
    for e in Entries::new(content, "") {
        if e.proto.matches(proto) {
            f(e.name, e.port);
        }
    }
}

/// Heap key: a higher frequency ranks higher; on a tie the earlier line does,
/// because nmap stable-sorts the entries by frequency in file order.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rank {
    ratio: f64,
    seq: u32,
    port: u16,
}

impl Eq for Rank {}

impl Ord for Rank {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.ratio
            .total_cmp(&other.ratio)
            .then(other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for Rank {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The `n` ports of `proto` with the highest open-frequency, selected exactly
/// as nmap's `--top-ports n` (the default scan is `n = 1000`, `-F` is 100).
///
/// Keeps a min-heap of at most `n` entries while streaming over `content`.
/// Fails when no line has a frequency (nmap refuses `--top-ports` then too).
pub fn top_ports(content: &str, file: &str, proto: Protocol, n: usize) -> Result<Loaded<PortList>> {
    select_top(content, file, proto, n, None)
}

/// Like [`top_ports`], but only among the ports in `within`: nmap's
/// `--top-ports n` combined with `-p`.
pub fn top_ports_within(
    content: &str,
    file: &str,
    proto: Protocol,
    n: usize,
    within: &PortList,
) -> Result<Loaded<PortList>> {
    select_top(content, file, proto, n, Some(within))
}

fn select_top(
    content: &str,
    file: &str,
    proto: Protocol,
    n: usize,
    within: Option<&PortList>,
) -> Result<Loaded<PortList>> {
    let n = n.min(65_536);
    let mut heap: BinaryHeap<Reverse<Rank>> = BinaryHeap::with_capacity(n.min(4096) + 1);
    let mut entries = Entries::new(content, file);
    let mut seq: u32 = 0;
    for e in entries.by_ref() {
        seq = seq.saturating_add(1);
        if !e.proto.matches(proto) || within.is_some_and(|w| !w.contains(e.port)) || n == 0 {
            continue;
        }
        let rank = Rank {
            ratio: e.ratio.unwrap_or(0.0),
            seq,
            port: e.port,
        };
        if heap.len() < n {
            heap.push(Reverse(rank));
        } else if heap.peek().is_some_and(|Reverse(worst)| rank > *worst) {
            heap.pop();
            heap.push(Reverse(rank));
        }
    }
    if !entries.has_ratios {
        return Err(Error::NoFrequencies {
            file: file.to_owned(),
        });
    }
    let ports = heap.into_iter().map(|Reverse(r)| r.port).collect();
    Ok(Loaded {
        value: ports,
        warnings: entries.warnings,
    })
}

/// Service names for the ports of one scan, looked up by port and protocol.
///
/// Only the scanned ports' names are kept: one string arena plus a sorted
/// index of (protocol, port, offset, length), 8 bytes per port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceNames {
    arena: String,
    index: Vec<(Protocol, u16, u32, u8)>,
}

impl ServiceNames {
    /// Reads the names of `ports` for `proto` from nmap-services `content`.
    ///
    /// Entries named `unknown` are kept: nmap reports them as a service named
    /// "unknown" (XML `<service name="unknown" method="table">`), while a port
    /// missing from the table gets no service element at all.
    pub fn load(
        content: &str,
        file: &str,
        proto: Protocol,
        ports: &PortList,
    ) -> Loaded<ServiceNames> {
        Self::load_all(content, file, &[(proto, ports)])
    }

    /// As [`ServiceNames::load`], for the ports of several protocols in one
    /// pass over the file (a TCP and a UDP scan).
    pub fn load_all(
        content: &str,
        file: &str,
        wanted: &[(Protocol, &PortList)],
    ) -> Loaded<ServiceNames> {
        let mut names = ServiceNames::default();
        let mut entries = Entries::new(content, file);
        for e in entries.by_ref() {
            let scanned = |&&(p, ports): &&(Protocol, &PortList)| {
                e.proto.matches(p) && ports.contains(e.port)
            };
            if let Some(&(p, _)) = wanted.iter().find(scanned) {
                names.push(p, e.port, e.name);
            }
        }
        names.finish();
        Loaded {
            value: names,
            warnings: entries.warnings,
        }
    }

    /// Names of `ports` from prtip's own built-in table (used when
    /// nmap-services is not installed).
    pub fn builtin(proto: Protocol, ports: &PortList) -> ServiceNames {
        Self::builtin_all(&[(proto, ports)])
    }

    /// As [`ServiceNames::builtin`], for the ports of several protocols.
    pub fn builtin_all(wanted: &[(Protocol, &PortList)]) -> ServiceNames {
        let mut names = ServiceNames::default();
        for &(proto, ports) in wanted {
            builtin_names(proto, |name, port| {
                if ports.contains(port) {
                    names.push(proto, port, name);
                }
            });
        }
        names.finish();
        names
    }

    fn push(&mut self, proto: Protocol, port: u16, name: &str) {
        if name.is_empty() {
            return;
        }
        let (Ok(offset), Ok(len)) = (u32::try_from(self.arena.len()), u8::try_from(name.len()))
        else {
            return; // longer than MAX_NAME or a >4 GiB arena: cannot come from parse_line
        };
        self.arena.push_str(name);
        self.index.push((proto, port, offset, len));
    }

    fn finish(&mut self) {
        // Entries arrive in file order, which is not quite port order
        // (tcp/udp interleave). The built-in table may name a port twice;
        // the first name wins, as the first line does in a file.
        self.index.sort_by_key(|&(proto, port, _, _)| (proto, port));
        self.index
            .dedup_by_key(|&mut (proto, port, _, _)| (proto, port));
        self.index.shrink_to_fit();
        self.arena.shrink_to_fit();
    }

    /// The name of `port`/`proto`, or `None` when the table has none (nmap
    /// then prints "unknown" in normal output and no service in XML).
    pub fn name(&self, port: u16, proto: Protocol) -> Option<&str> {
        let i = self
            .index
            .binary_search_by_key(&(proto, port), |&(p, n, _, _)| (p, n))
            .ok()?;
        let (_, _, offset, len) = self.index[i];
        let start = offset as usize;
        self.arena.get(start..start + usize::from(len))
    }

    /// Number of ports with a name.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when no port has a name.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

/// prtip's own list of commonly used TCP service ports, most important first,
/// with the names prtip prints for them when nmap-services is absent.
///
/// Why not nmap's top-1000? Those frequencies are nmap's measured data and are
/// not ours to copy (DESIGN.md: data we do not own is read at run time, never
/// embedded). This list is hand-picked from well-known, IANA-registered or
/// widely deployed services; [`builtin_top_ports`] pads it with the lowest
/// port numbers to reach the requested size.
const BUILTIN_TCP: &[(u16, &str)] = &[
    (80, "http"),
    (443, "https"),
    (22, "ssh"),
    (21, "ftp"),
    (23, "telnet"),
    (25, "smtp"),
    (53, "domain"),
    (3389, "ms-wbt-server"),
    (445, "microsoft-ds"),
    (139, "netbios-ssn"),
    (135, "msrpc"),
    (8080, "http-proxy"),
    (110, "pop3"),
    (143, "imap"),
    (993, "imaps"),
    (995, "pop3s"),
    (587, "submission"),
    (465, "smtps"),
    (3306, "mysql"),
    (5432, "postgresql"),
    (1433, "ms-sql-s"),
    (1521, "oracle"),
    (27017, "mongodb"),
    (6379, "redis"),
    (11211, "memcache"),
    (9200, "elasticsearch"),
    (5900, "vnc"),
    (5901, "vnc-1"),
    (8443, "https-alt"),
    (8000, "http-alt"),
    (8008, "http"),
    (8888, "http-alt"),
    (8081, "http-alt"),
    (9090, "http-alt"),
    (3128, "squid-http"),
    (1080, "socks"),
    (111, "rpcbind"),
    (2049, "nfs"),
    (389, "ldap"),
    (636, "ldaps"),
    (3268, "globalcatLDAP"),
    (88, "kerberos-sec"),
    (464, "kpasswd5"),
    (113, "ident"),
    (119, "nntp"),
    (179, "bgp"),
    (194, "irc"),
    (6667, "irc"),
    (427, "svrloc"),
    (513, "login"),
    (514, "shell"),
    (515, "printer"),
    (631, "ipp"),
    (9100, "jetdirect"),
    (548, "afp"),
    (554, "rtsp"),
    (873, "rsync"),
    (990, "ftps"),
    (992, "telnets"),
    (1194, "openvpn"),
    (1723, "pptp"),
    (1883, "mqtt"),
    (8883, "secure-mqtt"),
    (5672, "amqp"),
    (2181, "zookeeper"),
    (9092, "kafka"),
    (2375, "docker"),
    (2376, "docker-s"),
    (6443, "kubernetes"),
    (10250, "kubelet"),
    (4369, "epmd"),
    (5060, "sip"),
    (5061, "sip-tls"),
    (5985, "wsman"),
    (5986, "wsmans"),
    (6000, "X11"),
    (3690, "svn"),
    (9418, "git"),
    (5000, "upnp"),
    (7001, "afs3-callback"),
];

/// prtip's own list of well-known UDP services, in the order prtip ranks
/// them, with the names it prints for them when nmap-services is absent.
///
/// Hand-picked for the same reason as [`BUILTIN_TCP`]: nmap's UDP
/// frequencies are nmap's measurements. It holds the UDP services a network
/// commonly runs (name resolution, time, management, LAN discovery, VPN and
/// authentication, voice, tunnels, industrial and game protocols, and the
/// classic small services), 112 of them: enough for `-F`. Ranking a
/// thousand UDP ports would need measured data this project does not have,
/// so beyond this list [`builtin_top_ports`] pads with the lowest port
/// numbers, as it does for TCP.
const BUILTIN_UDP: &[(u16, &str)] = &[
    (53, "domain"),
    (123, "ntp"),
    (161, "snmp"),
    (67, "dhcps"),
    (68, "dhcpc"),
    (137, "netbios-ns"),
    (138, "netbios-dgm"),
    (500, "isakmp"),
    (4500, "nat-t-ike"),
    (514, "syslog"),
    (1900, "upnp"),
    (5353, "zeroconf"),
    (69, "tftp"),
    (162, "snmptrap"),
    (111, "rpcbind"),
    (2049, "nfs"),
    (135, "msrpc"),
    (445, "microsoft-ds"),
    (139, "netbios-ssn"),
    (5355, "llmnr"),
    (3702, "ws-discovery"),
    (1812, "radius"),
    (1813, "radacct"),
    (1645, "radius"),
    (1646, "radacct"),
    (88, "kerberos-sec"),
    (464, "kpasswd5"),
    (389, "ldap"),
    (443, "https"),
    (80, "http"),
    (5060, "sip"),
    (1194, "openvpn"),
    (1701, "L2TP"),
    (51820, "wireguard"),
    (3478, "stun"),
    (520, "route"),
    (1434, "ms-sql-m"),
    (1433, "ms-sql-s"),
    (631, "ipp"),
    (427, "svrloc"),
    (623, "asf-rmcp"),
    (177, "xdmcp"),
    (3389, "ms-wbt-server"),
    (5632, "pcanywherestat"),
    (3283, "netassistant"),
    (5351, "nat-pmp"),
    (5000, "upnp"),
    (546, "dhcpv6-client"),
    (547, "dhcpv6-server"),
    (11211, "memcache"),
    (7, "echo"),
    (9, "discard"),
    (13, "daytime"),
    (17, "qotd"),
    (19, "chargen"),
    (37, "time"),
    (49, "tacacs"),
    (593, "http-rpc-epmap"),
    (2000, "cisco-sccp"),
    (1985, "hsrp"),
    (3784, "bfd-control"),
    (3785, "bfd-echo"),
    (6343, "sflow"),
    (4739, "ipfix"),
    (4789, "vxlan"),
    (8472, "otv"),
    (5004, "avt-profile-1"),
    (5005, "avt-profile-2"),
    (4569, "iax"),
    (2427, "mgcp-gateway"),
    (2727, "mgcp-callagent"),
    (1718, "h225gatedisc"),
    (1719, "h323gatestat"),
    (2123, "gtp-control"),
    (2152, "gtp-user"),
    (3386, "gprs-sig"),
    (5246, "capwap-control"),
    (5247, "capwap-data"),
    (1604, "icabrowser"),
    (4172, "pcoip"),
    (2746, "cpudpencap"),
    (3544, "teredo"),
    (10161, "snmpdtls"),
    (6514, "syslog-tls"),
    (636, "ldaps"),
    (853, "domain-s"),
    (750, "kerberos"),
    (7000, "afs3-fileserver"),
    (7001, "afs3-callback"),
    (3130, "squid-ipc"),
    (10080, "amanda"),
    (5683, "coap"),
    (5684, "coaps"),
    (47808, "bacnet"),
    (20000, "dnp"),
    (44818, "EtherNetIP-2"),
    (3671, "efcp"),
    (17185, "wdbrpc"),
    (9200, "wap-wsp"),
    (3074, "xbox"),
    (27015, "halflife"),
    (26000, "quake"),
    (27960, "quake3"),
    (6881, "bittorrent"),
    (33434, "traceroute"),
    (31337, "BackOrifice"),
    (32768, "omad"),
    (515, "printer"),
    (518, "ntalk"),
    (2535, "madcap"),
    (6481, "servicetags"),
    (4444, "krb524"),
];

fn builtin_table(proto: Protocol) -> &'static [(u16, &'static str)] {
    match proto {
        Protocol::Tcp => BUILTIN_TCP,
        Protocol::Udp => BUILTIN_UDP,
    }
}

/// prtip's own fallback for `--top-ports n` when nmap-services is absent:
/// the hand-picked list of `proto` (first `n` of it), then ports 1, 2, 3,
/// ... that are not already in it, until there are `n` ports. Ports in
/// `except` (`--exclude-ports`) are never chosen, so the list still has `n`
/// ports when that many remain, as nmap's choice has.
pub fn builtin_top_ports(proto: Protocol, n: usize, except: &PortList) -> PortList {
    let table = builtin_table(proto);
    let listed = |p: u16| table.iter().any(|&(h, _)| h == p);
    let hand = table
        .iter()
        .map(|&(p, _)| p)
        .filter(|p| !except.contains(*p))
        .take(n);
    let chosen: Vec<u16> = hand.collect();
    let fill = (1..=u16::MAX)
        .filter(|&p| !listed(p) && !except.contains(p))
        .take(n.saturating_sub(chosen.len()));
    chosen.iter().copied().chain(fill).collect()
}

/// Calls `f(name, port)` for each entry of the built-in table.
pub(crate) fn builtin_names(proto: Protocol, mut f: impl FnMut(&str, u16)) {
    for &(port, name) in builtin_table(proto) {
        f(name, port);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# comment line
   # indented comment

tcpmux\t1/tcp\t0.001995\t# TCP Port Service Multiplexer
tcpmux\t1/udp\t0.001236
ftp\t21/tcp\t0.197667
ssh\t22/tcp\t0.182286\t# Secure Shell
unknown\t24/tcp\t0.5
http\t80/tcp\t0.484143
alpha\t1000/tcp\t0.01
beta\t1001/tcp\t0.01
gamma\t999/tcp\t0.01
dup\t22/tcp\t0.9
frac\t2000/tcp\t1/2
appletalk\t3/ddp
rare\t3000/TCP\t0.000001
sc\t4000/sctp\t0.9
";

    fn ports(l: &PortList) -> String {
        l.to_nmap_string()
    }

    #[test]
    fn top_ports_ranks_by_frequency_then_file_order() {
        let top = |n| ports(&top_ports(SAMPLE, "s", Protocol::Tcp, n).unwrap().value);
        assert_eq!(top(0), "");
        // 24 and 2000 tie at 0.5: the earlier line wins, as in nmap.
        assert_eq!(top(1), "24");
        assert_eq!(top(2), "24,2000");
        assert_eq!(top(3), "24,80,2000");
        assert_eq!(top(5), "21-22,24,80,2000");
        // Three entries tie at 0.01: again file order decides.
        assert_eq!(top(6), "21-22,24,80,1000,2000");
        assert_eq!(top(7), "21-22,24,80,1000-1001,2000");
        assert_eq!(top(8), "21-22,24,80,999-1001,2000");
        assert_eq!(top(100), "1,21-22,24,80,999-1001,2000,3000");
        let udp = top_ports(SAMPLE, "s", Protocol::Udp, 10).unwrap();
        assert_eq!(ports(&udp.value), "1");
    }

    #[test]
    fn top_ports_within_a_port_list() {
        let within = PortList::from_ranges([(20, 100)]);
        let t = top_ports_within(SAMPLE, "s", Protocol::Tcp, 2, &within).unwrap();
        assert_eq!(ports(&t.value), "24,80");
    }

    #[test]
    fn duplicates_are_warned_and_first_wins() {
        let t = top_ports(SAMPLE, "nmap-services", Protocol::Tcp, 100).unwrap();
        let w: Vec<String> = t.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            w,
            vec!["nmap-services:13: duplicate entry for 22/tcp; the first one is used"]
        );
        let names = ServiceNames::load(SAMPLE, "x", Protocol::Tcp, &PortList::all()).value;
        assert_eq!(names.name(22, Protocol::Tcp), Some("ssh"));
    }

    #[test]
    fn malformed_lines_are_reported_with_file_and_line() {
        let content = "\
ok\t1/tcp\t0.5
lonely
bad\t70000/tcp\t0.1
bad\tx/tcp\t0.1
bad\t5
bad\t6/icmp\t0.1
bad\t7/tcp\t2/1
bad\t8/tcp\t1/0
bad\t9/tcp\t0.x
bad\t10/tcp\t-1/2
alias\t11/tcp\tmail\t# /etc/services style alias: no frequency
";
        let t = top_ports(content, "f", Protocol::Tcp, 10).unwrap();
        assert_eq!(ports(&t.value), "1,11");
        let w: Vec<String> = t.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            w,
            vec![
                "f:2: expected \"name port/protocol [frequency]\"",
                "f:3: bad port number \"70000\"",
                "f:4: bad port number \"x\"",
                "f:5: expected port/protocol, found \"5\"",
                "f:6: unknown protocol \"icmp\"",
                "f:7: frequency \"2/1\" is above 1",
                "f:8: frequency \"1/0\" divides by zero",
                "f:9: bad frequency \"0.x\"",
                "f:10: bad frequency \"-1/2\"",
            ]
        );
    }

    #[test]
    fn old_format_without_frequencies_is_refused() {
        let etc = "ssh 22/tcp\nsmtp 25/tcp mail\n";
        let e = top_ports(etc, "/etc/services", Protocol::Tcp, 10).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/etc/services: no port frequencies in this services file; cannot select top ports"
        );
        let n = ServiceNames::load(etc, "/etc/services", Protocol::Tcp, &PortList::all()).value;
        assert_eq!(n.name(25, Protocol::Tcp), Some("smtp"));
    }

    #[test]
    fn service_names_keep_only_scanned_ports() {
        let wanted = PortList::from_ranges([(1, 1), (22, 24), (80, 80)]);
        let loaded = ServiceNames::load(SAMPLE, "s", Protocol::Tcp, &wanted);
        let n = loaded.value;
        assert_eq!(n.len(), 4, "{n:?}");
        assert_eq!(n.name(1, Protocol::Tcp), Some("tcpmux"));
        assert_eq!(n.name(22, Protocol::Tcp), Some("ssh"));
        assert_eq!(n.name(80, Protocol::Tcp), Some("http"));
        // nmap reports table entries named "unknown" as such (XML included).
        assert_eq!(n.name(24, Protocol::Tcp), Some("unknown"));
        assert_eq!(n.name(21, Protocol::Tcp), None, "not scanned");
        assert_eq!(n.name(1, Protocol::Udp), None);
        assert_eq!(n.arena, "tcpmuxsshunknownhttp");
    }

    #[test]
    fn builtin_list_is_ours_and_has_the_requested_size() {
        let mut seen = std::collections::HashSet::new();
        for &(p, name) in BUILTIN_TCP {
            assert!(seen.insert(p), "port {p} listed twice");
            assert!(!name.is_empty() && name.len() <= MAX_NAME);
        }
        let none = PortList::new();
        let top = |n| builtin_top_ports(Protocol::Tcp, n, &none);
        for n in [0, 1, 10, 50, 100, 1000, 5000] {
            assert_eq!(top(n).len(), n, "n={n}");
        }
        assert_eq!(top(65_535), PortList::all());
        assert_eq!(top(usize::MAX).len(), 65_535);
        assert_eq!(top(3).to_nmap_string(), "22,80,443");
        let top100 = top(100);
        for &(p, _) in BUILTIN_TCP {
            assert!(top100.contains(p));
        }
        assert!(top100.contains(1) && !top100.contains(0));
        let names = ServiceNames::builtin(Protocol::Tcp, &top100);
        assert_eq!(names.name(22, Protocol::Tcp), Some("ssh"));
        assert_eq!(names.name(1, Protocol::Tcp), None);
    }

    #[test]
    fn builtin_udp_list_is_enough_for_fast_mode_and_pads_beyond() {
        let mut seen = std::collections::HashSet::new();
        for &(p, name) in BUILTIN_UDP {
            assert!(seen.insert(p), "port {p} listed twice");
            assert!(
                !name.is_empty() && name.len() <= MAX_NAME && !name.contains(char::is_whitespace)
            );
        }
        assert!(BUILTIN_UDP.len() >= 100, "-F needs 100 named ports");
        let none = PortList::new();
        let top = |n| builtin_top_ports(Protocol::Udp, n, &none);
        assert_eq!(top(3).to_nmap_string(), "53,123,161");
        let fast = top(100);
        assert_eq!(fast.len(), 100);
        let named = ServiceNames::builtin(Protocol::Udp, &fast);
        assert_eq!(named.len(), 100, "every -F port has a name");
        assert_eq!(named.name(53, Protocol::Udp), Some("domain"));
        assert_eq!(named.name(53, Protocol::Tcp), None);
        // Past the hand-picked list: the lowest unlisted ports, so the size holds.
        let thousand = top(1000);
        assert_eq!(thousand.len(), 1000);
        assert!(thousand.contains(1) && thousand.contains(51820));
        assert_eq!(top(65_535), PortList::all());
    }

    #[test]
    fn builtin_top_ports_skip_excluded_ports_and_keep_the_count() {
        let except = PortList::from_ranges([(53, 53), (1, 3)]);
        let t = builtin_top_ports(Protocol::Udp, 3, &except);
        assert_eq!(t.to_nmap_string(), "67,123,161");
        let t = builtin_top_ports(Protocol::Tcp, 1000, &except);
        assert_eq!(t.len(), 1000);
        assert!(!t.contains(53) && !t.contains(1) && !t.contains(3) && t.contains(4));
    }

    #[test]
    fn names_of_two_protocols_in_one_table() {
        let tcp = PortList::from_ranges([(1, 1), (22, 22)]);
        let udp = PortList::from_ranges([(1, 1), (53, 53)]);
        let sample = format!("{SAMPLE}domain\t53/udp\t0.2\n");
        let n = ServiceNames::load_all(
            &sample,
            "s",
            &[(Protocol::Tcp, &tcp), (Protocol::Udp, &udp)],
        )
        .value;
        assert_eq!(n.name(1, Protocol::Tcp), Some("tcpmux"));
        assert_eq!(n.name(1, Protocol::Udp), Some("tcpmux"));
        assert_eq!(n.name(22, Protocol::Tcp), Some("ssh"));
        assert_eq!(n.name(22, Protocol::Udp), None);
        assert_eq!(n.name(53, Protocol::Udp), Some("domain"));
        assert_eq!(n.name(53, Protocol::Tcp), None);
        assert_eq!(n.len(), 4);
        let b = ServiceNames::builtin_all(&[(Protocol::Tcp, &tcp), (Protocol::Udp, &udp)]);
        assert_eq!(b.name(22, Protocol::Tcp), Some("ssh"));
        assert_eq!(b.name(53, Protocol::Udp), Some("domain"));
        assert_eq!(b.name(53, Protocol::Tcp), None);
    }

    #[test]
    fn parse_line_never_panics_on_odd_input() {
        for line in [
            "",
            "#",
            "a",
            "a b",
            "a /",
            "a 1/",
            "a /tcp",
            "a 1/tcp 0.",
            "a 1/tcp 0.1e999",
            "a 1/tcp 18446744073709551616/1",
            "é 1/tcp 0.1",
            "a 65535/tcp 0/1",
        ] {
            let _ = parse_line(line);
        }
        assert!(parse_line("a 1/tcp 0.1e999").is_err());
        assert_eq!(parse_line("é 1/tcp 0.5").unwrap().unwrap().ratio, Some(0.5));
    }
}
