//! nmap's "normal" output: the interactive stdout report and the `-oN` file.
//!
//! Both flavours share the host blocks byte for byte; they differ only where
//! nmap's do: stdout opens with `Starting prtip ...` and closes with
//! `prtip done: ...`, while the file opens with a `# prtip ... scan initiated`
//! comment and closes with `# prtip done at ... -- ...`.

use std::io::{self, Write};

use super::os::OsPrinting;
use prtip_core::result::{
    HostResult, HostStatus, OsReport, PortResult, ResultSink, RunInfo, RunStats, ScriptResults,
};

use super::not_begun;
use super::text::{
    done_summary, name_ip, port_reason, screen_safe, service_name, sigdigits, Spill, NAME, VERSION,
};
use super::time::{ctime, start_stamp};

/// Which of nmap's two normal-output layouts to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NormalFlavor {
    /// The interactive report on the terminal.
    Stdout,
    /// The `-oN` file, with `#` comment header and trailer.
    File,
}

/// Writes nmap's normal output; each host is written and flushed as it arrives.
#[derive(Debug)]
pub struct NormalSink<W: Write> {
    out: W,
    flavor: NormalFlavor,
    run: Option<RunInfo>,
    /// A host was listed (`-sL`): no "Host seems down" note at the end.
    listed: bool,
}

impl<W: Write> NormalSink<W> {
    pub fn new(out: W, flavor: NormalFlavor) -> Self {
        NormalSink {
            out,
            flavor,
            run: None,
            listed: false,
        }
    }

    /// The underlying writer, e.g. to inspect a `Vec<u8>` in tests.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> ResultSink for NormalSink<W> {
    fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        match self.flavor {
            NormalFlavor::Stdout => writeln!(
                self.out,
                "Starting {NAME} {VERSION} at {}",
                start_stamp(run.start)
            )?,
            NormalFlavor::File => writeln!(
                self.out,
                "# {NAME} {VERSION} scan initiated {} as: {}",
                ctime(run.start),
                screen_safe(&run.args)
            )?,
        }
        self.run = Some(run.clone());
        self.out.flush()
    }

    fn host(&mut self, host: &HostResult) -> io::Result<()> {
        let run = self.run.as_ref().ok_or_else(not_begun)?;
        self.listed |= host.status == HostStatus::Unknown;
        let mut spill = Spill::new(&mut self.out);
        host_block(run, host, &mut spill);
        spill.finish()
    }

    fn end(&mut self, stats: &RunStats) -> io::Result<()> {
        let run = self.run.as_ref().ok_or_else(not_begun)?;
        let stdout = self.flavor == NormalFlavor::Stdout;
        if stdout && stats.hosts_total() == 1 && stats.hosts_up == 0 && !self.listed {
            writeln!(
                self.out,
                "Note: Host seems down. If it is really up, but blocking our ping probes, try -Pn"
            )?;
        } else if stats.hosts_up > 0 {
            let done = match (run.os_scan, run.version_scan) {
                (true, true) => Some("OS and Service detection performed."),
                (true, false) => Some("OS detection performed."),
                (false, true) => Some("Service detection performed."),
                (false, false) => None,
            };
            if let Some(line) = done {
                writeln!(self.out, "{line}")?;
            }
        }
        if stats.interrupted {
            if stdout {
                writeln!(self.out, "Scan interrupted: the results above are partial.")?;
            } else {
                writeln!(
                    self.out,
                    "# Scan interrupted: the results above are partial."
                )?;
            }
        }
        if stdout {
            writeln!(self.out, "{NAME} done: {}", done_summary(stats))?;
        } else {
            writeln!(
                self.out,
                "# {NAME} done at {} -- {}",
                ctime(stats.end),
                done_summary(stats)
            )?;
        }
        self.out.flush()
    }
}

/// One host's report, in nmap's order: header, status, "Not shown", table,
/// service info, blank line.
fn host_block(run: &RunInfo, host: &HostResult, out: &mut Spill<'_>) {
    let nameip = name_ip(host);
    if host.status == HostStatus::Unknown {
        // A listed host (-sL): its name and address, nothing else.
        out.push_str(&format!("{NAME} scan report for {nameip}\n"));
        return;
    }
    if host.status == HostStatus::Down {
        // nmap mentions down hosts only when verbose.
        if run.verbose > 0 {
            out.push_str(&format!("{NAME} scan report for {nameip} [host down"));
            if run.reason {
                out.push_str(&format!(", received {}", host.reason.as_str()));
            }
            out.push_str("]\n");
        }
        return;
    }
    out.push_str(&format!("{NAME} scan report for {nameip}\nHost is up"));
    if run.reason {
        out.push_str(&format!(", received {}", host.reason.as_str()));
    }
    if let Some(rtt) = host.latency {
        out.push_str(&format!(" ({}s latency)", sigdigits(rtt.as_secs_f64(), 2)));
    }
    out.push_str(".\n");
    if !run.port_scan {
        return;
    }
    let table = &host.ports;
    let total = table.total();
    if total > 0 {
        if table.shown.is_empty() {
            out.push_str(&format!(
                "All {total} scanned ports on {nameip} are in ignored states.\n"
            ));
        }
        not_shown_line(host, out);
        out.push('\n');
        if !table.shown.is_empty() {
            port_table(run, &table.shown, host.scripts.as_deref(), out);
        }
    }
    if let Some(os) = &host.os {
        os_section(os, OsPrinting::of(run), out);
    }
    if total > 0 && !table.shown.is_empty() {
        service_info_line(host, out);
    }
    if let Some(scripts) = &host.scripts {
        super::scripts::host_section(&scripts.host, out);
    }
    out.push('\n');
}

/// nmap's OS detection lines, the fingerprint when it would print one, and
/// the distance.
fn os_section(os: &OsReport, printing: OsPrinting, out: &mut String) {
    let view = super::os::view(os, printing);
    for line in &view.lines {
        out.push_str(&screen_safe(line));
        out.push('\n');
    }
    if let Some(fp) = view.fingerprint {
        out.push_str("TCP/IP fingerprint:\n");
        out.push_str(fp.trim_end());
        out.push_str("\n\n");
    }
    if let Some(d) = os.distance {
        let plural = if d == 1 { "" } else { "s" };
        out.push_str(&format!("Network Distance: {d} hop{plural}\n"));
    }
}

/// "Not shown: 995 closed tcp ports (reset), 3 filtered tcp ports (no-response)":
/// one item per (state, protocol, reason), the plural taken from the state's
/// total over every protocol, as nmap does ("1 closed tcp ports (reset), 30
/// closed udp ports (port-unreach)").
fn not_shown_line(host: &HostResult, out: &mut String) {
    let mut first = true;
    for group in host.ports.extra.iter().filter(|g| g.count > 0) {
        let plural = if group.count == 1 { "" } else { "s" };
        let state = group.state.as_str();
        let mut items: Vec<String> = group
            .reasons
            .iter()
            .filter(|r| r.count > 0)
            .map(|r| {
                format!(
                    "{} {state} {} port{plural} ({})",
                    r.count,
                    r.protocol.as_str(),
                    r.reason.as_str()
                )
            })
            .collect();
        if items.is_empty() {
            items.push(format!("{} {state} port{plural}", group.count));
        }
        out.push_str(if first { "Not shown: " } else { ", " });
        first = false;
        out.push_str(&items.join(", "));
    }
}

/// nmap's `NmapOutputTable`: every column padded to its widest cell plus one
/// space, except that a row stops after its last non-empty cell. The widths
/// need every row, but rows are not kept: each is formatted once to measure
/// and again to write, so a host with every port open costs no memory per
/// port here.
fn port_table(
    run: &RunInfo,
    ports: &[PortResult],
    scripts: Option<&ScriptResults>,
    out: &mut Spill<'_>,
) {
    let mut header = vec!["PORT", "STATE", "SERVICE"];
    if run.reason {
        header.push("REASON");
    }
    if run.version_scan {
        header.push("VERSION");
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    let mut row: Vec<String> = Vec::with_capacity(header.len());
    for port in ports {
        port_row(run, port, &mut row);
        for (w, cell) in widths.iter_mut().zip(&row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    table_row(&header, &widths, out);
    for port in ports {
        port_row(run, port, &mut row);
        table_row(&row, &widths, out);
        if let Some(sr) = scripts {
            super::scripts::normal_lines(sr.of_port(port.protocol, port.port), out);
        }
        out.spill_if_full();
    }
}

/// One port's cells, in the header's order.
fn port_row(run: &RunInfo, port: &PortResult, row: &mut Vec<String>) {
    row.clear();
    row.push(format!("{}/{}", port.port, port.protocol.as_str()));
    row.push(port.state.as_str().to_owned());
    row.push(service_name(run, port));
    if run.reason {
        row.push(port_reason(port));
    }
    if run.version_scan {
        let version = port
            .service
            .as_ref()
            .map(|s| screen_safe(&s.version_line()).into_owned())
            .unwrap_or_default();
        row.push(version);
    }
}

fn table_row<S: AsRef<str>>(row: &[S], widths: &[usize], out: &mut String) {
    let items = row.iter().filter(|c| !c.as_ref().is_empty()).count();
    let mut written = 0;
    for (cell, width) in row.iter().map(AsRef::as_ref).zip(widths) {
        if !cell.is_empty() {
            out.push_str(cell);
            written += 1;
        }
        if written < items {
            let pad = width + 1 - cell.chars().count();
            out.extend(std::iter::repeat_n(' ', pad));
        }
    }
    out.push('\n');
}

/// nmap's "Service Info: Host: x; OS: Linux; CPE: cpe:/o:linux:linux_kernel"
/// line, gathered from the open ports' -sV results (at most five of each,
/// application CPEs excluded because they describe a port, not the host).
fn service_info_line(host: &HostResult, out: &mut String) {
    const MAX_FIELDS: usize = 5;
    let mut hostnames: Vec<&str> = Vec::new();
    let mut ostypes: Vec<&str> = Vec::new();
    let mut devicetypes: Vec<&str> = Vec::new();
    let mut cpes: Vec<&str> = Vec::new();
    fn add<'a>(list: &mut Vec<&'a str>, item: &'a str, same: impl Fn(&str, &str) -> bool) {
        if list.len() < MAX_FIELDS && !list.iter().any(|x| same(x, item)) {
            list.push(item);
        }
    }
    let exact = |a: &str, b: &str| a == b;
    let nocase = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let own_name = host.hostname.as_deref().unwrap_or("");
    for port in &host.ports.shown {
        let Some(svc) = port
            .service
            .as_ref()
            .filter(|_| port.state == prtip_core::result::PortState::Open)
        else {
            continue;
        };
        if let Some(h) = svc.hostname.as_deref() {
            if !h.eq_ignore_ascii_case(own_name) {
                add(&mut hostnames, h, nocase);
            }
        }
        if let Some(o) = svc.ostype.as_deref() {
            add(&mut ostypes, o, exact);
        }
        if let Some(d) = svc.devicetype.as_deref() {
            add(&mut devicetypes, d, exact);
        }
        for cpe in &svc.cpe {
            if cpe_part(cpe) != Some('a') {
                add(&mut cpes, cpe, exact);
            }
        }
    }
    let mut parts = Vec::new();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if !hostnames.is_empty() {
        parts.push(format!(
            "Host{}: {}",
            plural(hostnames.len()),
            hostnames.join(", ")
        ));
    }
    if !ostypes.is_empty() {
        parts.push(format!(
            "OS{}: {}",
            plural(ostypes.len()),
            ostypes.join(", ")
        ));
    }
    if !devicetypes.is_empty() {
        parts.push(format!(
            "Device{}: {}",
            plural(devicetypes.len()),
            devicetypes.join(", ")
        ));
    }
    if !cpes.is_empty() {
        parts.push(format!("CPE: {}", cpes.join(", ")));
    }
    if !parts.is_empty() {
        out.push_str(&screen_safe(&format!("Service Info: {}", parts.join("; "))));
        out.push('\n');
    }
}

/// The CPE "part" letter (`a`, `h`, `o`) of a 2.2 URI or 2.3 formatted string.
fn cpe_part(cpe: &str) -> Option<char> {
    cpe.strip_prefix("cpe:/")
        .or_else(|| cpe.strip_prefix("cpe:2.3:"))
        .and_then(|rest| rest.chars().next())
}

#[cfg(test)]
mod tests {
    use super::super::testdata::*;
    use super::super::text::collect;
    use super::*;
    use prtip_core::result::{ExtraPorts, ExtraReason, Protocol, Reason};

    fn render(
        flavor: NormalFlavor,
        run: &RunInfo,
        hosts: &[HostResult],
        stats: &RunStats,
    ) -> String {
        let mut sink = NormalSink::new(Vec::new(), flavor);
        sink.begin(run).expect("begin");
        for h in hosts {
            sink.host(h).expect("host");
        }
        sink.end(stats).expect("end");
        String::from_utf8(sink.into_inner()).expect("utf8")
    }

    #[test]
    fn stdout_matches_nmap_layout() {
        // Mirrors a real `nmap -sT -Pn -p 18000-18100 localhost` report.
        let out = render(
            NormalFlavor::Stdout,
            &run_info(),
            &[two_open_host()],
            &stats(1, 0),
        );
        let expected = "\
prtip scan report for localhost (127.0.0.1)
Host is up (0.00026s latency).
Not shown: 99 closed tcp ports (conn-refused)
PORT      STATE SERVICE
18022/tcp open  unknown
18080/tcp open  http

prtip done: 1 IP address (1 host up) scanned in 0.05 seconds
";
        let (first, rest) = out.split_once('\n').expect("header line");
        assert!(
            first.starts_with("Starting prtip 0.1.0 at 2026-11-2"),
            "{first}"
        );
        assert_eq!(rest, expected);
    }

    #[test]
    fn file_flavour_has_comment_header_and_trailer() {
        let out = render(
            NormalFlavor::File,
            &run_info(),
            &[two_open_host()],
            &stats(1, 0),
        );
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("# prtip 0.1.0 scan initiated "),
            "{}",
            lines[0]
        );
        assert!(lines[0].ends_with(" as: prtip -sT -Pn -p 18000-18100 localhost"));
        let last = lines.last().expect("trailer");
        assert!(last.starts_with("# prtip done at "), "{last}");
        assert!(last.ends_with(" -- 1 IP address (1 host up) scanned in 0.05 seconds"));
        assert!(!out.contains("Starting prtip"));
        assert!(!out.contains("\nprtip done:"));
    }

    #[test]
    fn reason_and_version_columns_align_like_nmap() {
        // Mirrors `nmap -sT -Pn -sV --reason -p 18022,18080,18081 localhost`.
        let mut run = run_info();
        run.reason = true;
        run.version_scan = true;
        let out = collect(|s| host_block(&run, &version_host(), s));
        let expected = "\
prtip scan report for localhost (127.0.0.1)
Host is up, received user-set (0.00022s latency).

PORT      STATE  SERVICE    REASON       VERSION
18022/tcp open   tcpwrapped syn-ack
18080/tcp open   http       syn-ack      SimpleHTTPServer 0.6 (Python 3.11.7)
18081/tcp closed unknown    conn-refused

";
        assert_eq!(out, expected);
    }

    #[test]
    fn all_ignored_and_multiple_groups() {
        let run = run_info();
        let out = collect(|s| host_block(&run, &all_closed_host(), s));
        assert_eq!(
            out,
            "prtip scan report for 127.0.0.1\nHost is up (0.00018s latency).\n\
             All 100 scanned ports on 127.0.0.1 are in ignored states.\n\
             Not shown: 100 closed tcp ports (conn-refused)\n\n"
        );
        let out = collect(|s| host_block(&run, &two_states_host(), s));
        assert!(
            out.contains(
                "Not shown: 995 closed tcp ports (reset), 3 filtered tcp ports (no-response)\n"
            ),
            "{out}"
        );
        let out = collect(|s| host_block(&run, &multi_reason_host(), s));
        assert!(
            out.contains("Not shown: 40 filtered tcp ports (no-response), 2 filtered tcp ports (admin-prohibited)\n"),
            "{out}"
        );
        assert!(out.contains("22/tcp open  ssh\n"), "{out}");
    }

    #[test]
    fn tcp_and_udp_ports_in_one_table() {
        // Laid out as nmap 7.93 lays out `-sS -sU --reason` on 127.0.0.1.
        let mut run = mixed_run_info();
        let out = collect(|s| host_block(&run, &mixed_host(), s));
        let expected = "\
prtip scan report for 127.0.0.1
Host is up (0.000040s latency).
Not shown: 39 closed tcp ports (reset), 27 closed udp ports (port-unreach)
PORT    STATE           SERVICE
22/tcp  open            ssh
7/udp   open|filtered   echo
53/udp  open            domain
161/udp closed|filtered snmp

";
        assert_eq!(out, expected);
        run.reason = true;
        let out = collect(|s| host_block(&run, &mixed_host(), s));
        assert!(
            out.contains("PORT    STATE           SERVICE REASON\n22/tcp  open            ssh     syn-ack\n7/udp   open|filtered   echo    no-response ttl 64\n53/udp  open            domain  udp-response ttl 64\n"),
            "{out}"
        );
    }

    #[test]
    fn not_shown_plural_counts_every_protocol() {
        // nmap: one closed TCP port among 30 closed UDP ones is still "ports".
        let mut host = mixed_host();
        host.ports.extra[0] = ExtraPorts {
            state: prtip_core::result::PortState::Closed,
            count: 31,
            reasons: vec![
                ExtraReason::new(Protocol::Udp, Reason::PortUnreach, 30, 1),
                ExtraReason::new(Protocol::Tcp, Reason::Reset, 1, 1),
            ],
        };
        let out = collect(|s| host_block(&mixed_run_info(), &host, s));
        assert!(
            out.contains(
                "Not shown: 30 closed udp ports (port-unreach), 1 closed tcp ports (reset)\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn ssl_tunnel_guess_and_service_info() {
        let mut run = run_info();
        run.version_scan = true;
        let out = collect(|s| host_block(&run, &ssl_host(), s));
        assert!(
            out.contains("443/tcp  open  ssl/https nginx 1.22.1\n"),
            "{out}"
        );
        assert!(out.contains("8443/tcp open  ssl/http?\n"), "{out}");
        assert!(
            out.contains("Service Info: OS: Linux; CPE: cpe:/o:linux:linux_kernel\n"),
            "{out}"
        );
    }

    #[test]
    fn ping_scan_and_down_hosts() {
        let mut run = run_info();
        run.port_scan = false;
        let out = render(
            NormalFlavor::Stdout,
            &run,
            &[ping_host(), down_host()],
            &stats(1, 1),
        );
        assert!(out.contains("prtip scan report for localhost (127.0.0.1)\nHost is up.\nprtip done: 2 IP addresses (1 host up)"), "{out}");
        assert!(!out.contains("host down"));
        run.verbose = 1;
        run.reason = true;
        let out = collect(|s| host_block(&run, &down_host(), s));
        assert_eq!(
            out,
            "prtip scan report for 127.0.0.2 [host down, received no-response]\n"
        );
    }

    #[test]
    fn hostile_banner_cannot_forge_lines() {
        let mut run = run_info();
        run.version_scan = true;
        let out = collect(|s| host_block(&run, &hostile_host(), s));
        assert!(!out.contains('\x1b'));
        assert!(out.contains("\\x1B[31m"), "{out}");
        assert_eq!(
            out.lines()
                .filter(|l| l.starts_with("prtip scan report"))
                .count(),
            1
        );
    }

    #[test]
    fn interrupted_run_still_has_trailer() {
        let mut st = stats(1, 0);
        st.interrupted = true;
        let out = render(NormalFlavor::File, &run_info(), &[two_open_host()], &st);
        assert!(
            out.contains("# Scan interrupted: the results above are partial.\n# prtip done at ")
        );
    }

    #[test]
    fn host_before_begin_is_an_error() {
        let mut sink = NormalSink::new(Vec::new(), NormalFlavor::Stdout);
        assert!(sink.host(&two_open_host()).is_err());
    }
}
