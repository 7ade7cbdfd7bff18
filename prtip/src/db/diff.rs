//! `prtip db diff A B`: what changed between two recorded scans, as ndiff
//! prints it for the two scans' `-oX` files (text), or as JSON Lines.
//!
//! The comparison sees each host as ndiff sees it in the XML file: only
//! the hosts the XML lists (down hosts only when verbose), the "Not shown"
//! groups, the listed ports with their state and service, and the OS
//! matches the XML lists. Hosts are paired and ordered as ndiff pairs them
//! ([`SqliteStore::pair_hosts`]), and a host is printed when something
//! about it changed. Host scripts are not compared: prtip records none.

use super::seqmatch::{opcodes, Op};
use super::table::Table;
use crate::output::os::{view, OsPrinting};
use crate::output::Stdout;
use prtip_core::result::{HostResult, HostStatus, RunInfo, ServiceInfo};
use prtip_store::{Error, SqliteStore};
use std::fmt::Write as _;
use std::io::Write;

/// A port as the XML shows it: number, protocol, state, service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Port {
    pub(super) port: u16,
    pub(super) protocol: &'static str,
    pub(super) state: Option<&'static str>,
    pub(super) service: Service,
}

/// The `<service>` attributes ndiff reads; all None without the element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Service {
    pub(super) name: Option<String>,
    pub(super) product: Option<String>,
    pub(super) version: Option<String>,
    pub(super) extrainfo: Option<String>,
    pub(super) tunnel: Option<String>,
}

impl Service {
    /// ndiff's service equality, which leaves the tunnel out.
    fn same(&self, other: &Service) -> bool {
        (&self.name, &self.product, &self.version, &self.extrainfo)
            == (
                &other.name,
                &other.product,
                &other.version,
                &other.extrainfo,
            )
    }

    /// The SERVICE column: "ssl/http".
    fn name_text(&self) -> Option<String> {
        let parts: Vec<&str> = [&self.tunnel, &self.name]
            .into_iter()
            .filter_map(|s| s.as_deref())
            .collect();
        (!parts.is_empty()).then(|| parts.join("/"))
    }

    /// The VERSION column: "nginx 1.22 (Ubuntu)".
    fn version_text(&self) -> Option<String> {
        let extra = self.extrainfo.as_ref().map(|e| format!("({e})"));
        let parts: Vec<&str> = [&self.product, &self.version, &extra]
            .into_iter()
            .filter_map(|s| s.as_deref())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

/// One host as ndiff reads it from the XML.
#[derive(Debug, Default)]
pub(super) struct Seen {
    pub(super) addr: String,
    pub(super) hostname: Option<String>,
    /// None for the side of a pair that lacks the host.
    pub(super) state: Option<&'static str>,
    /// "Not shown" groups, state and count, in the XML's order.
    pub(super) extra: Vec<(&'static str, u32)>,
    /// Sorted by number, then protocol; one per number and protocol.
    pub(super) ports: Vec<Port>,
    pub(super) os: Vec<String>,
}

impl Seen {
    /// `host` as its scan's XML lists it, or None when the XML leaves it out.
    fn of(run: &RunInfo, host: &HostResult) -> Option<Seen> {
        let up = host.status == HostStatus::Up;
        if !up && run.verbose == 0 {
            return None;
        }
        let mut seen = Seen {
            addr: host.addr.to_string(),
            hostname: host
                .hostname
                .clone()
                .filter(|n| !n.is_empty())
                .map(|n| as_read(&n)),
            state: Some(host.status.as_str()),
            ..Seen::default()
        };
        if run.port_scan && up && host.ports.total() > 0 {
            for g in host.ports.extra.iter().filter(|g| g.count > 0) {
                match seen.extra.iter_mut().find(|(s, _)| *s == g.state.as_str()) {
                    Some(slot) => slot.1 = g.count,
                    None => seen.extra.push((g.state.as_str(), g.count)),
                }
            }
            for p in &host.ports.shown {
                seen.add_port(Port {
                    port: p.port,
                    protocol: p.protocol.as_str(),
                    state: Some(p.state.as_str()),
                    service: p.service.as_deref().map(service).unwrap_or_default(),
                });
            }
            seen.ports
                .sort_by(|a, b| (a.port, a.protocol).cmp(&(b.port, b.protocol)));
        }
        if let Some(os) = host.os.as_deref().filter(|_| up) {
            let shown = view(os, OsPrinting::of(run));
            seen.os = shown.matches.iter().map(|m| as_read(&m.name)).collect();
        }
        Some(seen)
    }

    /// A later port with the same number and protocol replaces the earlier.
    fn add_port(&mut self, port: Port) {
        match self
            .ports
            .iter_mut()
            .find(|p| (p.port, p.protocol) == (port.port, port.protocol))
        {
            Some(slot) => *slot = port,
            None => self.ports.push(port),
        }
    }

    fn name(&self) -> String {
        match &self.hostname {
            Some(n) => format!("{n} ({})", self.addr),
            None => self.addr.clone(),
        }
    }

    /// ndiff leaves out a port whose state is one of the host's "Not shown"
    /// states on both sides, or that one side lacks.
    fn is_extra(&self, state: Option<&str>) -> bool {
        state.is_none_or(|s| self.extra.iter().any(|(e, _)| *e == s))
    }

    fn port(&self, port: u16, protocol: &str) -> Option<&Port> {
        self.ports
            .iter()
            .find(|p| p.port == port && p.protocol == protocol)
    }

    /// "997 closed ports, 2 filtered ports": largest count first.
    fn extra_text(&self) -> String {
        let mut groups: Vec<(u32, &str)> = self.extra.iter().map(|(s, c)| (*c, *s)).collect();
        groups.sort_unstable_by(|a, b| b.cmp(a));
        groups
            .iter()
            .map(|(c, s)| format!("{c} {s} ports"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn service(s: &ServiceInfo) -> Service {
    let name = if s.name.is_empty() {
        "unknown"
    } else {
        &s.name
    };
    Service {
        name: Some(as_read(name)),
        product: s.product.as_deref().map(as_read),
        version: s.version.as_deref().map(as_read),
        extrainfo: s.extrainfo.as_deref().map(as_read),
        // The XML writer keeps only tunnel="ssl" (the DTD's one value).
        tunnel: s.tunnel.clone().filter(|t| t == "ssl"),
    }
}

/// Text as an XML reader gets it back from prtip's `-oX`: the controls
/// XML cannot carry are written as a visible `\xNN` (see `output::xml`).
fn as_read(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let n = u32::from(c);
        if (n < 0x20 && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}' {
            let _ = write!(out, "\\x{n:02X}");
        } else {
            out.push(c);
        }
    }
    out
}

/// What differs between the same host in two scans (either may be absent).
pub(super) struct HostDiff<'a> {
    pub(super) a: &'a Seen,
    pub(super) b: &'a Seen,
    pub(super) state_changed: bool,
    id_changed: bool,
    pub(super) extra_changed: bool,
    /// The ports to list, a's and b's (state None where a side lacks it).
    pub(super) ports: Vec<(Port, Port)>,
    os: Vec<super::seqmatch::Step>,
    cost: usize,
}

impl<'a> HostDiff<'a> {
    fn new(a: &'a Seen, b: &'a Seen) -> Self {
        let mut d = HostDiff {
            a,
            b,
            state_changed: a.state != b.state,
            id_changed: (&a.addr, &a.hostname) != (&b.addr, &b.hostname),
            extra_changed: a.extra != b.extra,
            ports: Vec::new(),
            os: opcodes(&a.os, &b.os),
            cost: 0,
        };
        let mut specs: Vec<(u16, &'static str)> = a
            .ports
            .iter()
            .chain(&b.ports)
            .map(|p| (p.port, p.protocol))
            .collect();
        specs.sort_unstable();
        specs.dedup();
        for (number, protocol) in specs {
            let empty = || Port {
                port: number,
                protocol,
                state: None,
                service: Service::default(),
            };
            let pa = a.port(number, protocol).cloned().unwrap_or_else(empty);
            let pb = b.port(number, protocol).cloned().unwrap_or_else(empty);
            let cost =
                usize::from(pa.state != pb.state) + usize::from(!pa.service.same(&pb.service));
            if cost > 0 && !(a.is_extra(pa.state) && b.is_extra(pb.state)) {
                d.cost += cost;
                d.ports.push((pa, pb));
            }
        }
        d.cost += usize::from(d.state_changed)
            + usize::from(d.id_changed)
            + usize::from(d.extra_changed)
            + d.os_cost();
        d
    }

    fn os_cost(&self) -> usize {
        self.os.iter().filter(|s| s.op != Op::Equal).count()
    }

    pub(super) fn os_changed(&self) -> bool {
        self.os_cost() > 0
    }

    /// The host's lines as ndiff prints them.
    fn text(&self, out: &mut String) {
        let (a, b) = (self.a, self.b);
        if self.id_changed {
            if a.state.is_some() {
                let _ = writeln!(out, "-{}:", a.name());
            }
            if b.state.is_some() {
                let _ = writeln!(out, "+{}:", b.name());
            }
        } else {
            let _ = writeln!(out, " {}:", a.name());
        }
        if self.state_changed {
            for (mark, s) in [('-', a.state), ('+', b.state)] {
                if let Some(s) = s {
                    let _ = writeln!(out, "{mark}Host is {s}.");
                }
            }
        }
        if self.extra_changed {
            for (mark, h) in [('-', a), ('+', b)] {
                if !h.extra.is_empty() {
                    let _ = writeln!(out, "{mark}Not shown: {}", h.extra_text());
                }
            }
        }
        self.port_table(out);
        if self.os_cost() > 0 {
            self.os_text(out);
        }
    }

    fn port_table(&self, out: &mut String) {
        let mark = match (self.a.state, self.b.state) {
            (None, _) => "+",
            (_, None) => "-",
            _ => " ",
        };
        let mut table = Table::default();
        table.push(
            [mark, "PORT", "STATE", "SERVICE", "VERSION"]
                .map(|s| Some(s.to_string()))
                .to_vec(),
        );
        for (pa, pb) in &self.ports {
            let (ca, cb) = (columns(pa), columns(pb));
            if ca == cb {
                continue;
            }
            for (m, host, port, cols) in [("-", self.a, pa, ca), ("+", self.b, pb, cb)] {
                if !host.is_extra(port.state) {
                    let mut row = vec![Some(m.to_string())];
                    row.extend(cols);
                    table.push(row);
                }
            }
        }
        if table.rows.len() > 1 {
            table.write(out);
        }
    }

    fn os_text(&self, out: &mut String) {
        let (a, b) = (&self.a.os, &self.b.os);
        let head = match (a.is_empty(), b.is_empty()) {
            (false, false) => Some(' '),
            (false, true) => Some('-'),
            (true, false) => Some('+'),
            (true, true) => None,
        };
        if let Some(m) = head {
            let _ = writeln!(out, "{m}OS details:");
        }
        for s in &self.os {
            let (dels, adds, same) = match s.op {
                Op::Replace => (s.a0..s.a1, s.b0..s.b1, 0..0),
                Op::Delete => (s.a0..s.a1, 0..0, 0..0),
                Op::Insert => (0..0, s.b0..s.b1, 0..0),
                Op::Equal => (0..0, 0..0, s.a0..s.a1),
            };
            for i in dels {
                let _ = writeln!(out, "-  {}", a[i]);
            }
            for i in adds {
                let _ = writeln!(out, "+  {}", b[i]);
            }
            for i in same {
                let _ = writeln!(out, "   {}", a[i]);
            }
        }
    }
}

/// PORT, STATE, SERVICE, VERSION of one side ("unknown" when it lacks the port).
fn columns(p: &Port) -> Vec<Option<String>> {
    vec![
        Some(format!("{}/{}", p.port, p.protocol)),
        Some(p.state.unwrap_or("unknown").to_string()),
        p.service.name_text(),
        p.service.version_text(),
    ]
}

/// ndiff's banner of a scan's XML: `Nmap prtip-0.1.0 scan initiated Sat
/// Dec 05 17:34:47 2026 as: prtip ...` (prtip's XML says `scanner="nmap"`
/// and `version="prtip-0.1.0"`; an imported file keeps its own words).
fn banner(store: &SqliteStore, run: &RunInfo, id: i64) -> Result<String, Error> {
    let (scanner, version) = match store.origin(id)? {
        (None, v) => (
            "Nmap".to_string(),
            v.map(|v| format!("{}-{v}", env!("CARGO_PKG_NAME"))),
        ),
        (Some(s), v) if s == "nmap" => ("Nmap".to_string(), v),
        (Some(s), v) => (s, v),
    };
    let mut words = vec![as_read(&scanner)];
    words.extend(version.map(|v| as_read(&v)));
    words.push("scan".into());
    let secs = crate::output::time::unix_secs(run.start);
    if let Some(when) = crate::sys::strftime_local(secs, c"%a %b %d %H:%M:%S %Y") {
        words.push(format!("initiated {when}"));
    }
    words.push(format!("as: {}", as_read(&run.args)));
    Ok(words.join(" "))
}

/// Writes the differences between scans `a` and `b`; text or JSON Lines.
pub(super) fn diff(
    store: &SqliteStore,
    a: i64,
    b: i64,
    json: bool,
    mut out: Stdout,
) -> Result<(), Error> {
    let (run_a, run_b) = (store.run_info(a)?, store.run_info(b)?);
    let (banner_a, banner_b) = (banner(store, &run_a, a)?, banner(store, &run_b, b)?);
    let head = if json {
        super::diff_json::banner(a, &banner_a, b, &banner_b)
    } else if banner_a != banner_b {
        format!("-{banner_a}\n+{banner_b}\n")
    } else {
        String::new()
    };
    out.write_all(head.as_bytes()).map_err(Error::Output)?;
    let empty = Seen::default();
    store.pair_hosts(a, b, &mut |ha, hb| {
        let sa = ha.and_then(|h| Seen::of(&run_a, &h));
        let sb = hb.and_then(|h| Seen::of(&run_b, &h));
        let d = HostDiff::new(sa.as_ref().unwrap_or(&empty), sb.as_ref().unwrap_or(&empty));
        if d.cost == 0 {
            return Ok(());
        }
        let mut text = String::new();
        if json {
            text = super::diff_json::host(&d);
        } else {
            text.push('\n');
            d.text(&mut text);
        }
        out.write_all(text.as_bytes()).map_err(Error::Output)
    })?;
    out.flush().map_err(Error::Output)
}
