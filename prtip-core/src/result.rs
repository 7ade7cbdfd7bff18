//! Scan results and the sink interface every output format implements.
//!
//! Memory rule: a host's result holds only the ports that will be *shown*.
//! States that nmap would collapse into a "Not shown: N closed tcp ports"
//! line are kept as counters, so a 65,535-port scan of a host with three open
//! ports costs three `PortResult`s, not 65,535.

use std::io;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

/// Transport protocol of a scanned port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    /// Lower-case name as nmap prints it (`tcp`, `udp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// Port state with nmap's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PortState {
    Open,
    Closed,
    Filtered,
    Unfiltered,
    OpenFiltered,
    ClosedFiltered,
}

impl PortState {
    /// All states, in the order nmap lists "Not shown" groups.
    pub const ALL: [PortState; 6] = [
        PortState::Open,
        PortState::Closed,
        PortState::Filtered,
        PortState::Unfiltered,
        PortState::OpenFiltered,
        PortState::ClosedFiltered,
    ];

    /// Name as nmap prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            PortState::Open => "open",
            PortState::Closed => "closed",
            PortState::Filtered => "filtered",
            PortState::Unfiltered => "unfiltered",
            PortState::OpenFiltered => "open|filtered",
            PortState::ClosedFiltered => "closed|filtered",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// States that `--open` keeps: those where "open" is still possible.
    pub fn maybe_open(self) -> bool {
        matches!(
            self,
            PortState::Open | PortState::OpenFiltered | PortState::Unfiltered
        )
    }
}

/// Why a port or host got its state (`--reason`), with nmap's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    SynAck,
    Reset,
    ConnRefused,
    NoResponse,
    HostUnreach,
    NetUnreach,
    ProtoUnreach,
    PortUnreach,
    AdminProhibited,
    HostProhibited,
    NetProhibited,
    EchoReply,
    TimestampReply,
    Localhost,
    UserSet,
    TimeExceeded,
    /// A UDP probe was answered with a UDP datagram.
    UdpResponse,
}

impl Reason {
    /// Name as nmap prints it in `--reason` columns and XML `reason=` attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SynAck => "syn-ack",
            Reason::Reset => "reset",
            Reason::ConnRefused => "conn-refused",
            Reason::NoResponse => "no-response",
            Reason::HostUnreach => "host-unreach",
            Reason::NetUnreach => "net-unreach",
            Reason::ProtoUnreach => "proto-unreach",
            Reason::PortUnreach => "port-unreach",
            Reason::AdminProhibited => "admin-prohibited",
            Reason::HostProhibited => "host-prohibited",
            Reason::NetProhibited => "net-prohibited",
            Reason::EchoReply => "echo-reply",
            Reason::TimestampReply => "timestamp-reply",
            Reason::Localhost => "localhost-response",
            Reason::UserSet => "user-set",
            Reason::TimeExceeded => "time-exceeded",
            Reason::UdpResponse => "udp-response",
        }
    }
}

/// How a service name was obtained (XML `method=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceMethod {
    /// Looked up by port number in nmap-services.
    Table,
    /// Identified by probing (-sV).
    Probed,
}

impl ServiceMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceMethod::Table => "table",
            ServiceMethod::Probed => "probed",
        }
    }
}

/// What is known about the service on a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    pub name: String,
    pub product: Option<String>,
    pub version: Option<String>,
    pub extrainfo: Option<String>,
    pub hostname: Option<String>,
    pub ostype: Option<String>,
    pub devicetype: Option<String>,
    /// `Some("ssl")` when the service was detected through TLS.
    pub tunnel: Option<String>,
    pub cpe: Vec<String>,
    pub method: ServiceMethod,
    /// Confidence 0..=10 as in nmap's XML `conf=`.
    pub conf: u8,
}

impl ServiceInfo {
    /// A name from the nmap-services table (nmap uses confidence 3 for these).
    pub fn from_table(name: impl Into<String>) -> Self {
        ServiceInfo {
            name: name.into(),
            product: None,
            version: None,
            extrainfo: None,
            hostname: None,
            ostype: None,
            devicetype: None,
            tunnel: None,
            cpe: Vec::new(),
            method: ServiceMethod::Table,
            conf: 3,
        }
    }

    /// The "VERSION" column of nmap's normal output: product, version and
    /// extra info joined the way nmap joins them.
    pub fn version_line(&self) -> String {
        let mut out = String::new();
        for part in [&self.product, &self.version].into_iter().flatten() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(part);
        }
        if let Some(extra) = &self.extrainfo {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push('(');
            out.push_str(extra);
            out.push(')');
        }
        out
    }
}

/// The result for one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortResult {
    pub port: u16,
    pub protocol: Protocol,
    pub state: PortState,
    pub reason: Reason,
    /// TTL of the packet that decided the state (0 for connect scans, as nmap).
    pub reason_ttl: u8,
    /// Boxed: most ports have no service record beyond a name, and a
    /// `PortResult` is buffered per port while tables are built.
    pub service: Option<Box<ServiceInfo>>,
}

impl PortResult {
    pub fn new(port: u16, protocol: Protocol, state: PortState, reason: Reason) -> Self {
        PortResult {
            port,
            protocol,
            state,
            reason,
            reason_ttl: 0,
            service: None,
        }
    }
}

/// Ports collapsed into one "Not shown" line / XML `<extraports>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraPorts {
    pub state: PortState,
    pub count: u32,
    /// Count per reason, most frequent first (XML `<extrareasons>`).
    pub reasons: Vec<(Reason, u32)>,
}

/// The ports of one host: shown ports (sorted by protocol, then port) and collapsed groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortTable {
    pub shown: Vec<PortResult>,
    pub extra: Vec<ExtraPorts>,
}

impl PortTable {
    /// Number of ports scanned on this host (shown plus collapsed).
    pub fn total(&self) -> u64 {
        self.shown.len() as u64 + self.extra.iter().map(|e| u64::from(e.count)).sum::<u64>()
    }

    /// Number of ports in `state`, shown or collapsed.
    pub fn count(&self, state: PortState) -> u64 {
        self.shown.iter().filter(|p| p.state == state).count() as u64
            + self
                .extra
                .iter()
                .filter(|e| e.state == state)
                .map(|e| u64::from(e.count))
                .sum::<u64>()
    }
}

impl PortTable {
    /// TEMPORARY until the mixed-protocol tables land: both tables side by side.
    pub fn merge(mut self, other: PortTable, _max_per_state: u32, _open_only: bool) -> PortTable {
        self.shown.extend(other.shown);
        self.shown.sort_by_key(|p| (p.protocol, p.port));
        self.extra.extend(other.extra);
        self
    }
}

/// Collects port results for one host with memory bounded by the display rule.
///
/// nmap hides a non-open state when more than `max_per_state` ports share it
/// (25, times `verbose + 1 + 20 * debug` when verbosity or debugging is on).
/// Once a state passes that threshold its buffered entries are dropped and
/// only counted, so the builder never holds more than
/// `max_per_state + 1` results per non-open state.
#[derive(Debug)]
pub struct PortTableBuilder {
    max_per_state: u32,
    open_only: bool,
    kept: Vec<PortResult>,
    counts: [u32; 6],
    reasons: Vec<(PortState, Reason, u32)>,
}

impl PortTableBuilder {
    /// `open_only` is `--open`: every state where "open" is impossible is collapsed.
    pub fn new(max_per_state: u32, open_only: bool) -> Self {
        PortTableBuilder {
            max_per_state,
            open_only,
            kept: Vec::new(),
            counts: [0; 6],
            reasons: Vec::new(),
        }
    }

    /// nmap's threshold for the given `-v` and `-d` levels.
    pub fn nmap_threshold(verbose: u8, debug: u8) -> u32 {
        let base = 25u32;
        if verbose > 0 || debug > 0 {
            base * (u32::from(verbose) + 1 + 20 * u32::from(debug))
        } else {
            base
        }
    }

    fn collapsible(&self, state: PortState) -> bool {
        state != PortState::Open
    }

    fn collapsed(&self, state: PortState) -> bool {
        if !self.collapsible(state) {
            return false;
        }
        (self.open_only && !state.maybe_open()) || self.counts[state.index()] > self.max_per_state
    }

    /// Record one port's result.
    pub fn add(&mut self, result: PortResult) {
        let state = result.state;
        self.counts[state.index()] = self.counts[state.index()].saturating_add(1);
        match self
            .reasons
            .iter_mut()
            .find(|(s, r, _)| *s == state && *r == result.reason)
        {
            Some(entry) => entry.2 = entry.2.saturating_add(1),
            None => self.reasons.push((state, result.reason, 1)),
        }
        if self.collapsed(state) {
            // Crossing the threshold: drop what was buffered for this state.
            if self.counts[state.index()] == self.max_per_state.saturating_add(1) {
                self.kept.retain(|p| p.state != state);
                self.kept.shrink_to_fit();
            }
        } else {
            self.kept.push(result);
        }
    }

    /// Ports recorded so far.
    pub fn len(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Final table: shown ports sorted, collapsed states as `ExtraPorts`.
    pub fn finish(mut self) -> PortTable {
        let mut extra = Vec::new();
        for state in PortState::ALL {
            if self.counts[state.index()] > 0 && self.collapsed(state) {
                let mut reasons: Vec<(Reason, u32)> = self
                    .reasons
                    .iter()
                    .filter(|(s, _, _)| *s == state)
                    .map(|&(_, r, c)| (r, c))
                    .collect();
                reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                extra.push(ExtraPorts {
                    state,
                    count: self.counts[state.index()],
                    reasons,
                });
            }
        }
        // nmap lists the largest collapsed group first.
        extra.sort_by_key(|e| std::cmp::Reverse(e.count));
        self.kept.sort_by_key(|p| (p.protocol, p.port));
        PortTable {
            shown: self.kept,
            extra,
        }
    }
}

/// Whether a host answered discovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostStatus {
    Up,
    Down,
}

impl HostStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HostStatus::Up => "up",
            HostStatus::Down => "down",
        }
    }
}

/// Everything reported about one host; handed to sinks once the host is done.
#[derive(Debug, Clone, PartialEq)]
pub struct HostResult {
    pub addr: IpAddr,
    /// Name the user typed, or the reverse-DNS name (absent with `-n`).
    pub hostname: Option<String>,
    pub status: HostStatus,
    pub reason: Reason,
    /// Round-trip time of the reply that proved the host up.
    pub latency: Option<Duration>,
    pub start: SystemTime,
    pub end: SystemTime,
    pub ports: PortTable,
    /// `-O`'s findings; `None` when OS detection was not run on this host.
    pub os: Option<Box<OsReport>>,
}

/// What OS detection concluded for a host, already in the shape nmap
/// reports it (the decisions about what to show are made once, not per
/// output format).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OsReport {
    /// Ports the probes used: (state, protocol, port), e.g. (`open`, Tcp, 80).
    pub ports_used: Vec<(PortState, Protocol, u16)>,
    /// The best references of nmap-os-db, best first (nmap keeps 36).
    /// Which of them are printed, and how, is the output formats' decision.
    pub candidates: Vec<OsGuess>,
    /// A closed TCP port answered; without one nmap warns that results may
    /// be unreliable.
    pub closed_port: bool,
    /// Why nmap would not trust this fingerprint enough to ask for it.
    pub not_ideal: Option<OsNotIdeal>,
    /// The subject fingerprint in nmap's wrapped `OS:` form.
    pub fingerprint: Option<String>,
    /// Hops to the host (0 for this machine).
    pub distance: Option<u8>,
    /// OS detection could not run for this host.
    pub failure: Option<OsFailure>,
}

/// nmap's reasons for a fingerprint taken under non-ideal conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OsNotIdeal {
    /// `-T5`.
    InsaneTiming,
    NoClosedPort,
    /// More than five hops away.
    Distance(u8),
    NoUdpResponse,
}

/// Why OS detection produced no fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OsFailure {
    /// The port scan found no open TCP port to probe.
    NoOpenPort,
    /// Probing failed (no route, a socket error), with the reason.
    Failed(String),
}

/// One reference fingerprint that matched.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OsGuess {
    pub name: String,
    /// Percent, rounded down as nmap prints it.
    pub accuracy: u8,
    /// Line of the entry in nmap-os-db.
    pub line: usize,
    /// Points the subject scored against this reference, out of `possible`.
    pub matched: u32,
    pub possible: u32,
    pub classes: Vec<OsGuessClass>,
}

impl OsGuess {
    /// Every comparable point matched.
    pub fn is_perfect(&self) -> bool {
        self.possible > 0 && self.matched == self.possible
    }

    /// `matched / possible`, 0 when nothing was comparable (as nmap).
    pub fn fraction(&self) -> f64 {
        if self.possible == 0 {
            0.0
        } else {
            f64::from(self.matched) / f64::from(self.possible)
        }
    }
}

/// One `Class` line of a matching entry, with the entry's CPEs for it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OsGuessClass {
    pub device_type: String,
    pub vendor: String,
    pub family: String,
    pub generation: Option<String>,
    pub accuracy: u8,
    pub cpe: Vec<String>,
}

/// Facts about the whole run, known before the first host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// The command line as typed.
    pub args: String,
    pub start: SystemTime,
    /// nmap's scan type name: "connect", "syn".
    pub scan_type: &'static str,
    pub protocol: Protocol,
    /// Number of ports per host.
    pub num_services: u32,
    /// Compact port list, e.g. "1-1000" or "22,80,443".
    pub services: String,
    pub verbose: u8,
    pub debug: u8,
    /// `--reason` was given.
    pub reason: bool,
    /// Port scanning was done (false for `-sn`).
    pub port_scan: bool,
    /// Version detection (-sV) was requested.
    pub version_scan: bool,
    /// OS detection (-O) was requested.
    pub os_scan: bool,
    /// `--osscan-guess`: print guesses even when conditions are ideal.
    pub os_guess: bool,
}

/// Totals at the end of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunStats {
    pub end: SystemTime,
    pub elapsed: Duration,
    pub hosts_up: u64,
    pub hosts_down: u64,
    /// True when the scan was stopped early (Ctrl-C); outputs are still complete.
    pub interrupted: bool,
}

impl RunStats {
    pub fn hosts_total(&self) -> u64 {
        self.hosts_up + self.hosts_down
    }
}

/// An output format. `begin` once, `host` per finished host, `end` once,
/// also after an interruption, so every file is well-formed.
pub trait ResultSink {
    fn begin(&mut self, run: &RunInfo) -> io::Result<()>;
    fn host(&mut self, host: &HostResult) -> io::Result<()>;
    fn end(&mut self, stats: &RunStats) -> io::Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(p: u16, state: PortState, reason: Reason) -> PortResult {
        PortResult::new(p, Protocol::Tcp, state, reason)
    }

    #[test]
    fn threshold_follows_nmap() {
        assert_eq!(PortTableBuilder::nmap_threshold(0, 0), 25);
        assert_eq!(PortTableBuilder::nmap_threshold(1, 0), 50);
        assert_eq!(PortTableBuilder::nmap_threshold(2, 0), 75);
        assert_eq!(PortTableBuilder::nmap_threshold(0, 1), 525);
    }

    #[test]
    fn many_closed_are_collapsed_and_not_kept() {
        let mut b = PortTableBuilder::new(25, false);
        for p in 1..=1000u16 {
            let st = if p % 100 == 0 {
                PortState::Open
            } else {
                PortState::Closed
            };
            let reason = if st == PortState::Open {
                Reason::SynAck
            } else {
                Reason::ConnRefused
            };
            b.add(port(p, st, reason));
            assert!(
                b.kept.len() <= 26 + 10,
                "builder buffered {} results",
                b.kept.len()
            );
        }
        let t = b.finish();
        assert_eq!(t.shown.len(), 10);
        assert!(t.shown.iter().all(|p| p.state == PortState::Open));
        assert_eq!(
            t.extra,
            vec![ExtraPorts {
                state: PortState::Closed,
                count: 990,
                reasons: vec![(Reason::ConnRefused, 990)]
            }]
        );
        assert_eq!(t.total(), 1000);
        assert_eq!(t.count(PortState::Open), 10);
    }

    #[test]
    fn few_closed_are_shown_sorted() {
        let mut b = PortTableBuilder::new(25, false);
        for p in [80u16, 22, 443] {
            b.add(port(p, PortState::Closed, Reason::ConnRefused));
        }
        let t = b.finish();
        assert!(t.extra.is_empty());
        let ports: Vec<u16> = t.shown.iter().map(|p| p.port).collect();
        assert_eq!(ports, vec![22, 80, 443]);
    }

    #[test]
    fn exactly_threshold_is_shown_one_more_is_collapsed() {
        let mut b = PortTableBuilder::new(25, false);
        for p in 1..=25u16 {
            b.add(port(p, PortState::Filtered, Reason::NoResponse));
        }
        let t = b.finish();
        assert_eq!(t.shown.len(), 25);
        let mut b = PortTableBuilder::new(25, false);
        for p in 1..=26u16 {
            b.add(port(p, PortState::Filtered, Reason::NoResponse));
        }
        let t = b.finish();
        assert!(t.shown.is_empty());
        assert_eq!(t.extra[0].count, 26);
    }

    #[test]
    fn open_only_collapses_closed_even_when_few() {
        let mut b = PortTableBuilder::new(25, true);
        b.add(port(22, PortState::Open, Reason::SynAck));
        b.add(port(23, PortState::Closed, Reason::ConnRefused));
        b.add(port(24, PortState::Filtered, Reason::NoResponse));
        let t = b.finish();
        assert_eq!(t.shown.len(), 1);
        assert_eq!(t.extra.len(), 2);
        assert_eq!(t.total(), 3);
    }

    #[test]
    fn mixed_reasons_are_counted_most_frequent_first() {
        let mut b = PortTableBuilder::new(2, false);
        b.add(port(1, PortState::Filtered, Reason::NoResponse));
        b.add(port(2, PortState::Filtered, Reason::AdminProhibited));
        b.add(port(3, PortState::Filtered, Reason::NoResponse));
        let t = b.finish();
        assert_eq!(
            t.extra[0].reasons,
            vec![(Reason::NoResponse, 2), (Reason::AdminProhibited, 1)]
        );
    }

    #[test]
    fn version_line_joins_like_nmap() {
        let mut s = ServiceInfo::from_table("ssh");
        assert_eq!(s.version_line(), "");
        s.product = Some("OpenSSH".into());
        s.version = Some("9.2p1 Debian 2".into());
        s.extrainfo = Some("protocol 2.0".into());
        assert_eq!(s.version_line(), "OpenSSH 9.2p1 Debian 2 (protocol 2.0)");
    }
}
