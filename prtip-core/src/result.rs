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
    /// A UDP probe got a UDP answer: the port is open.
    UdpResponse,
    /// ICMPv6 destination unreachable, code 0.
    NoRoute,
    /// ICMPv6 destination unreachable, code 2 (beyond the source's scope).
    BeyondScope,
    /// ICMPv6 destination unreachable, code 6.
    RejectRoute,
    /// ICMPv6 parameter problem.
    ParamProblem,
    /// ICMP address mask reply (`-PM`).
    AddressMaskReply,
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
            Reason::NoRoute => "no-route",
            Reason::BeyondScope => "beyond-scope",
            Reason::RejectRoute => "reject-route",
            Reason::ParamProblem => "param-problem",
            Reason::AddressMaskReply => "addressmask-reply",
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

/// Ports of one protocol collapsed for one reason: one item of a "Not
/// shown" line, one XML `<extrareasons>` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtraReason {
    pub protocol: Protocol,
    pub reason: Reason,
    pub count: u32,
    /// The lowest of these ports. nmap lists reasons of equal count in the
    /// order their first port comes in its port list (TCP before UDP, then
    /// by port), so this is kept to order them the same way, also when two
    /// tables are merged.
    pub first_port: u16,
}

impl ExtraReason {
    pub fn new(protocol: Protocol, reason: Reason, count: u32, first_port: u16) -> Self {
        ExtraReason {
            protocol,
            reason,
            count,
            first_port,
        }
    }

    fn same_kind(&self, other: &ExtraReason) -> bool {
        self.protocol == other.protocol && self.reason == other.reason
    }
}

/// Ports collapsed into one "Not shown" line / XML `<extraports>` element.
/// A state is collapsed by its total over every protocol, as nmap's; the
/// reasons then say how many of each protocol there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraPorts {
    pub state: PortState,
    pub count: u32,
    /// Count per protocol and reason, in nmap's order (most frequent first).
    pub reasons: Vec<ExtraReason>,
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

    /// One table of a host's ports from two scans of it (its TCP table and
    /// its UDP table), exactly as if every port had been added to one
    /// [`PortTableBuilder::new`]`(max_per_state, open_only)`: states are
    /// collapsed by their total over both, a state collapsed in either stays
    /// collapsed (its ports are only counted there), and the shown ports are
    /// sorted TCP first, then by port, as nmap lists them.
    pub fn merge(self, other: PortTable, max_per_state: u32, open_only: bool) -> PortTable {
        let mut builder = PortTableBuilder::new(max_per_state, open_only);
        for group in self.extra.iter().chain(&other.extra) {
            builder.add_collapsed(group);
        }
        for port in self.shown.into_iter().chain(other.shown) {
            builder.add(port);
        }
        builder.finish()
    }
}

/// Collects port results for one host with memory bounded by the display rule.
///
/// nmap hides a non-open state when more than `max_per_state` ports share it
/// (25, times `verbose + 1 + 20 * debug` when verbosity or debugging is on),
/// counting every protocol together. Once a state passes that threshold its
/// buffered entries are dropped and only counted, so the builder never holds
/// more than `max_per_state + 1` results per non-open state.
#[derive(Debug)]
pub struct PortTableBuilder {
    max_per_state: u32,
    open_only: bool,
    kept: Vec<PortResult>,
    counts: [u32; 6],
    /// States whose ports arrived already collapsed (see `add_collapsed`):
    /// they cannot be listed whatever their count.
    forced: [bool; 6],
    /// States whose buffered ports were dropped; collapsing is for good.
    dropped: [bool; 6],
    reasons: Vec<(PortState, ExtraReason)>,
}

impl PortTableBuilder {
    /// `open_only` is `--open`: every state where "open" is impossible is collapsed.
    pub fn new(max_per_state: u32, open_only: bool) -> Self {
        PortTableBuilder {
            max_per_state,
            open_only,
            kept: Vec::new(),
            counts: [0; 6],
            forced: [false; 6],
            dropped: [false; 6],
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

    fn collapsed(&self, state: PortState) -> bool {
        let i = state.index();
        if self.forced[i] {
            return true;
        }
        if state == PortState::Open {
            return false;
        }
        (self.open_only && !state.maybe_open()) || self.counts[i] > self.max_per_state
    }

    fn record(&mut self, state: PortState, r: ExtraReason) {
        match self
            .reasons
            .iter_mut()
            .find(|(s, e)| *s == state && e.same_kind(&r))
        {
            Some((_, e)) => {
                e.count = e.count.saturating_add(r.count);
                e.first_port = e.first_port.min(r.first_port);
            }
            None => self.reasons.push((state, r)),
        }
    }

    /// Keeps `state`'s ports out of the table from now on.
    fn drop_buffered(&mut self, state: PortState) {
        let i = state.index();
        if !self.dropped[i] {
            self.dropped[i] = true;
            self.kept.retain(|p| p.state != state);
            self.kept.shrink_to_fit();
        }
    }

    /// Record one port's result.
    pub fn add(&mut self, result: PortResult) {
        let state = result.state;
        self.counts[state.index()] = self.counts[state.index()].saturating_add(1);
        self.record(
            state,
            ExtraReason::new(result.protocol, result.reason, 1, result.port),
        );
        if self.collapsed(state) {
            self.drop_buffered(state);
        } else {
            self.kept.push(result);
        }
    }

    /// Record ports another table already collapsed: they are only counted,
    /// so their state stays collapsed here too.
    pub fn add_collapsed(&mut self, group: &ExtraPorts) {
        let i = group.state.index();
        self.counts[i] = self.counts[i].saturating_add(group.count);
        for r in &group.reasons {
            self.record(group.state, *r);
        }
        if group.count > 0 {
            self.forced[i] = true;
            self.drop_buffered(group.state);
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
                let reasons = self
                    .reasons
                    .iter()
                    .filter(|(s, _)| *s == state)
                    .map(|&(_, r)| r)
                    .collect();
                extra.push(ExtraPorts {
                    state,
                    count: self.counts[state.index()],
                    reasons: nmap_reason_order(reasons),
                });
            }
        }
        // nmap lists the largest collapsed group first; equal groups keep
        // nmap's state order, which PortState::ALL follows.
        extra.sort_by_key(|e| std::cmp::Reverse(e.count));
        self.kept.sort_by_key(|p| (p.protocol, p.port));
        PortTable {
            shown: self.kept,
            extra,
        }
    }
}

/// The reasons of one collapsed state in the order nmap prints them.
///
/// nmap gathers them in a linked list, in the order it meets them walking
/// its port list (TCP, then UDP, by port) behind an empty head entry, and
/// sorts that list with a bottom-up merge sort that puts larger counts first
/// but, on equal counts, takes the entry of the later run first. The same
/// sort is done here so that ties (30 closed TCP and 30 closed UDP ports)
/// come out as nmap prints them.
fn nmap_reason_order(mut found: Vec<ExtraReason>) -> Vec<ExtraReason> {
    found.sort_by_key(|r| (r.protocol, r.first_port));
    let mut list: Vec<Option<ExtraReason>> = std::iter::once(None)
        .chain(found.into_iter().map(Some))
        .collect();
    let count = |r: &Option<ExtraReason>| r.map_or(0, |r| r.count);
    let mut run = 1;
    while run < list.len() {
        let mut merged = Vec::with_capacity(list.len());
        for pair in list.chunks(2 * run) {
            let (left, right) = pair.split_at(run.min(pair.len()));
            let (mut i, mut j) = (0, 0);
            while i < left.len() || j < right.len() {
                let left_first =
                    j == right.len() || (i < left.len() && count(&right[j]) < count(&left[i]));
                if left_first {
                    merged.push(left[i]);
                    i += 1;
                } else {
                    merged.push(right[j]);
                    j += 1;
                }
            }
        }
        list = merged;
        run *= 2;
    }
    list.into_iter().flatten().filter(|r| r.count > 0).collect()
}

/// Whether a host answered discovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostStatus {
    Up,
    Down,
    /// Never probed: a list scan (`-sL`).
    Unknown,
}

impl HostStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HostStatus::Up => "up",
            HostStatus::Down => "down",
            HostStatus::Unknown => "unknown",
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
    /// NSE script results (`-sC`, `--script`); `None` when no script ran.
    pub scripts: Option<Box<ScriptResults>>,
}

/// One script's result as nmap records it: the text (`output`) and, when
/// the script returned a table, its structure (XML `<elem>`/`<table>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOutput {
    pub id: String,
    pub output: String,
    /// `None` when the script returned only a string.
    pub structured: Option<Vec<ScriptElem>>,
}

/// A node of a script's structured result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptElem {
    Elem {
        key: Option<String>,
        value: String,
    },
    Table {
        key: Option<String>,
        children: Vec<ScriptElem>,
    },
}

/// The script results of one host: per port, and host scripts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScriptResults {
    /// (protocol, port, results in id order).
    pub ports: Vec<(Protocol, u16, Vec<ScriptOutput>)>,
    pub host: Vec<ScriptOutput>,
}

impl ScriptResults {
    /// The results of one port (empty when none ran or printed).
    pub fn of_port(&self, protocol: Protocol, port: u16) -> &[ScriptOutput] {
        self.ports
            .iter()
            .find(|(p, n, _)| *p == protocol && *n == port)
            .map_or(&[], |(_, _, v)| v.as_slice())
    }
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

/// One port scan of the run, as XML `<scaninfo>` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanInfo {
    /// nmap's scan type name: "connect", "syn", "ack", "window", "maimon",
    /// "null", "fin", "xmas", "udp".
    pub scan_type: &'static str,
    pub protocol: Protocol,
    /// Number of ports per host.
    pub num_services: u32,
    /// Compact port list, e.g. "1-1000" or "22,80,443".
    pub services: String,
    /// `--scanflags` of a TCP scan, when given (XML `scanflags=`).
    pub tcp_flags: Option<u8>,
}

/// Facts about the whole run, known before the first host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// The command line as typed.
    pub args: String,
    pub start: SystemTime,
    /// The port scans, in nmap's order (the TCP scan before the UDP scan);
    /// empty for `-sn`.
    pub scans: Vec<ScanInfo>,
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

impl RunInfo {
    /// Ports per host over every scan.
    pub fn ports_per_host(&self) -> u64 {
        self.scans.iter().map(|s| u64::from(s.num_services)).sum()
    }
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
                reasons: vec![ExtraReason::new(Protocol::Tcp, Reason::ConnRefused, 990, 1)]
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
            vec![
                ExtraReason::new(Protocol::Tcp, Reason::NoResponse, 2, 1),
                ExtraReason::new(Protocol::Tcp, Reason::AdminProhibited, 1, 2)
            ]
        );
    }

    fn udp(p: u16, state: PortState, reason: Reason) -> PortResult {
        PortResult::new(p, Protocol::Udp, state, reason)
    }

    fn table(max: u32, open_only: bool, ports: impl IntoIterator<Item = PortResult>) -> PortTable {
        let mut b = PortTableBuilder::new(max, open_only);
        for p in ports {
            b.add(p);
        }
        b.finish()
    }

    /// `count` closed ports from `first` up: TCP ones reset, UDP ones port-unreach.
    fn closed(proto: Protocol, first: u16, count: u16) -> Vec<PortResult> {
        let reason = match proto {
            Protocol::Tcp => Reason::Reset,
            Protocol::Udp => Reason::PortUnreach,
        };
        (first..first + count)
            .map(|p| PortResult::new(p, proto, PortState::Closed, reason))
            .collect()
    }

    fn reasons_of(t: &PortTable) -> Vec<(Protocol, Reason, u32)> {
        t.extra
            .iter()
            .flat_map(|e| e.reasons.iter().map(|r| (r.protocol, r.reason, r.count)))
            .collect()
    }

    #[test]
    fn equal_counts_are_ordered_as_nmap_prints_them() {
        // nmap 7.93, -sS -sU on 127.0.0.1 (every port closed):
        // -p 1-30            "30 closed udp ports (port-unreach), 30 closed tcp ports (reset)"
        // -p T:1-40,U:1-30   "40 closed tcp ports (reset), 30 closed udp ports (port-unreach)"
        // -p T:1-20,U:1-40   "40 closed udp ports (port-unreach), 20 closed tcp ports (reset)"
        let (t, u) = (Protocol::Tcp, Protocol::Udp);
        let cases = [
            (
                (30, 30),
                vec![(u, Reason::PortUnreach, 30), (t, Reason::Reset, 30)],
            ),
            (
                (40, 30),
                vec![(t, Reason::Reset, 40), (u, Reason::PortUnreach, 30)],
            ),
            (
                (20, 40),
                vec![(u, Reason::PortUnreach, 40), (t, Reason::Reset, 20)],
            ),
        ];
        for ((tcp, udp), want) in cases {
            let mut all = closed(t, 1, tcp);
            all.extend(closed(u, 1, udp));
            let one = table(25, false, all);
            assert_eq!(reasons_of(&one), want, "T:{tcp} U:{udp}");
            assert_eq!(one.extra[0].count, u32::from(tcp + udp));
            let merged = table(25, false, closed(t, 1, tcp)).merge(
                table(25, false, closed(u, 1, udp)),
                25,
                false,
            );
            assert_eq!(merged, one, "T:{tcp} U:{udp}");
        }
    }

    #[test]
    fn merge_lists_small_states_tcp_first() {
        let tcp = table(
            25,
            false,
            [
                port(80, PortState::Open, Reason::SynAck),
                port(22, PortState::Closed, Reason::Reset),
            ],
        );
        let udp = table(
            25,
            false,
            [
                udp(53, PortState::Open, Reason::UdpResponse),
                udp(7, PortState::OpenFiltered, Reason::NoResponse),
                udp(9, PortState::Closed, Reason::PortUnreach),
            ],
        );
        let m = tcp.merge(udp, 25, false);
        assert!(m.extra.is_empty());
        let listed: Vec<(Protocol, u16)> = m.shown.iter().map(|p| (p.protocol, p.port)).collect();
        assert_eq!(
            listed,
            vec![
                (Protocol::Tcp, 22),
                (Protocol::Tcp, 80),
                (Protocol::Udp, 7),
                (Protocol::Udp, 9),
                (Protocol::Udp, 53)
            ]
        );
    }

    #[test]
    fn merge_collapses_a_state_shown_on_both_sides_over_the_threshold() {
        // 20 + 10 closed: each side lists them, together they pass 25.
        let tcp = table(25, false, closed(Protocol::Tcp, 100, 20));
        let udp = table(25, false, closed(Protocol::Udp, 100, 10));
        assert!(tcp.extra.is_empty() && udp.extra.is_empty());
        let m = tcp.merge(udp, 25, false);
        assert!(m.shown.is_empty());
        assert_eq!(m.extra.len(), 1);
        assert_eq!(m.extra[0].count, 30);
        assert_eq!(
            m.extra[0].reasons,
            vec![
                ExtraReason::new(Protocol::Tcp, Reason::Reset, 20, 100),
                ExtraReason::new(Protocol::Udp, Reason::PortUnreach, 10, 100)
            ]
        );
        assert_eq!(m.total(), 30);
    }

    #[test]
    fn merge_keeps_a_state_collapsed_on_one_side_collapsed() {
        let mut tcp_ports = closed(Protocol::Tcp, 1, 990);
        tcp_ports.push(port(2000, PortState::Open, Reason::SynAck));
        let tcp = table(25, false, tcp_ports);
        let udp = table(
            25,
            false,
            [
                udp(53, PortState::Closed, Reason::PortUnreach),
                udp(54, PortState::Closed, Reason::PortUnreach),
                udp(123, PortState::OpenFiltered, Reason::NoResponse),
            ],
        );
        // A threshold the collapsed side's count is under: it stays collapsed.
        let m = tcp.merge(udp, 5000, false);
        let shown: Vec<(Protocol, u16)> = m.shown.iter().map(|p| (p.protocol, p.port)).collect();
        assert_eq!(shown, vec![(Protocol::Tcp, 2000), (Protocol::Udp, 123)]);
        assert_eq!(m.extra.len(), 1);
        assert_eq!(m.extra[0].state, PortState::Closed);
        assert_eq!(m.extra[0].count, 992);
        assert_eq!(
            reasons_of(&m),
            vec![
                (Protocol::Tcp, Reason::Reset, 990),
                (Protocol::Udp, Reason::PortUnreach, 2)
            ]
        );
        assert_eq!(m.total(), 994);
    }

    #[test]
    fn merge_with_open_only_collapses_what_cannot_be_open() {
        let tcp = table(
            25,
            true,
            [
                port(22, PortState::Open, Reason::SynAck),
                port(23, PortState::Closed, Reason::Reset),
                port(24, PortState::Filtered, Reason::NoResponse),
            ],
        );
        let udp = table(
            25,
            true,
            [
                udp(53, PortState::OpenFiltered, Reason::NoResponse),
                udp(54, PortState::Closed, Reason::PortUnreach),
                udp(55, PortState::Filtered, Reason::AdminProhibited),
            ],
        );
        let m = tcp.merge(udp, 25, true);
        let shown: Vec<(Protocol, u16, PortState)> = m
            .shown
            .iter()
            .map(|p| (p.protocol, p.port, p.state))
            .collect();
        assert_eq!(
            shown,
            vec![
                (Protocol::Tcp, 22, PortState::Open),
                (Protocol::Udp, 53, PortState::OpenFiltered)
            ]
        );
        let groups: Vec<(PortState, u32)> = m.extra.iter().map(|e| (e.state, e.count)).collect();
        assert_eq!(
            groups,
            vec![(PortState::Closed, 2), (PortState::Filtered, 2)]
        );
        assert_eq!(
            m.extra[1].reasons,
            vec![
                ExtraReason::new(Protocol::Udp, Reason::AdminProhibited, 1, 55),
                ExtraReason::new(Protocol::Tcp, Reason::NoResponse, 1, 24)
            ]
        );
        assert_eq!(m.total(), 6);
    }

    #[test]
    fn open_ports_are_never_collapsed_by_merging() {
        let tcp = table(
            2,
            false,
            (1..=10).map(|p| port(p, PortState::Open, Reason::SynAck)),
        );
        let udp = table(
            2,
            false,
            (1..=10).map(|p| udp(p, PortState::Open, Reason::UdpResponse)),
        );
        let m = tcp.merge(udp, 2, false);
        assert_eq!(m.shown.len(), 20);
        assert!(m.extra.is_empty());
    }

    /// Pseudo-random ports of both protocols: merging the per-protocol
    /// tables must give what one builder given every port gives.
    #[test]
    fn merge_equals_one_builder_for_any_mix() {
        let states = [
            (PortState::Open, Reason::SynAck),
            (PortState::Closed, Reason::Reset),
            (PortState::Closed, Reason::PortUnreach),
            (PortState::Filtered, Reason::NoResponse),
            (PortState::Filtered, Reason::HostProhibited),
            (PortState::OpenFiltered, Reason::NoResponse),
            (PortState::ClosedFiltered, Reason::NoResponse),
        ];
        let mut x: u32 = 12345;
        let mut next = |m: u32| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) % m
        };
        for round in 0..300 {
            let max = next(8);
            let open_only = round % 5 == 0;
            let n = next(60) as u16;
            let ports: Vec<PortResult> = (0..n)
                .map(|i| {
                    let (state, reason) = states[next(states.len() as u32) as usize];
                    let proto = if next(2) == 0 {
                        Protocol::Tcp
                    } else {
                        Protocol::Udp
                    };
                    PortResult::new(i * 3 + next(3) as u16, proto, state, reason)
                })
                .collect();
            let one = table(max, open_only, ports.clone());
            let (t, u): (Vec<_>, Vec<_>) =
                ports.into_iter().partition(|p| p.protocol == Protocol::Tcp);
            let merged = table(max, open_only, t).merge(table(max, open_only, u), max, open_only);
            assert_eq!(
                merged, one,
                "round {round}, max {max}, open_only {open_only}"
            );
        }
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
