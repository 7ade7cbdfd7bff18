//! nmap's grepable output (`-oG`): one `Status` line and one `Ports` line per
//! host, fields separated by tabs, ports by ", ", port fields by '/'.
//!
//! The machine-parsed fields are byte-compatible with nmap 7.93; only the
//! `#` comment lines say "prtip" where nmap says "Nmap".

use std::fmt::Write as _;
use std::io::{self, Write};

use super::os::OsPrinting;
use prtip_core::result::{HostResult, HostStatus, Protocol, ResultSink, RunInfo, RunStats};

use super::not_begun;
use super::text::{done_summary, screen_safe, service_name, Spill, NAME, VERSION};
use super::time::ctime;

/// Writes `-oG` output; each host is written and flushed as it arrives.
#[derive(Debug)]
pub struct GrepableSink<W: Write> {
    out: W,
    run: Option<RunInfo>,
}

impl<W: Write> GrepableSink<W> {
    pub fn new(out: W) -> Self {
        GrepableSink { out, run: None }
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> ResultSink for GrepableSink<W> {
    fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        writeln!(
            self.out,
            "# {NAME} {VERSION} scan initiated {} as: {}",
            ctime(run.start),
            screen_safe(&run.args)
        )?;
        if run.verbose > 0 {
            writeln!(self.out, "{}", ports_scanned(run))?;
        }
        self.run = Some(run.clone());
        self.out.flush()
    }

    fn host(&mut self, host: &HostResult) -> io::Result<()> {
        let run = self.run.as_ref().ok_or_else(not_begun)?;
        let mut spill = Spill::new(&mut self.out);
        host_lines(run, host, &mut spill);
        spill.finish()
    }

    fn end(&mut self, stats: &RunStats) -> io::Result<()> {
        if self.run.is_none() {
            return Err(not_begun());
        }
        if stats.interrupted {
            writeln!(
                self.out,
                "# Scan interrupted: the results above are partial."
            )?;
        }
        writeln!(
            self.out,
            "# {NAME} done at {} -- {}",
            ctime(stats.end),
            done_summary(stats)
        )?;
        self.out.flush()
    }
}

/// nmap's `-v` header: how many ports of each protocol are scanned, and
/// which, "# Ports scanned: TCP(3;22,80,443) UDP(0;) SCTP(0;) PROTOCOLS(0;)".
fn ports_scanned(run: &RunInfo) -> String {
    let of = |protocol: Protocol| {
        // nmap runs one scan per protocol; the first one's list is its list.
        run.scans
            .iter()
            .find(|s| s.protocol == protocol)
            .map_or_else(
                || "0;".to_owned(),
                |s| format!("{};{}", s.num_services, s.services),
            )
    };
    format!(
        "# Ports scanned: TCP({}) UDP({}) SCTP(0;) PROTOCOLS(0;)",
        of(Protocol::Tcp),
        of(Protocol::Udp)
    )
}

/// Field separators of the format; nmap replaces '/' so awk/cut still work.
fn field(s: &str) -> String {
    screen_safe(s).replace('/', "|")
}

fn host_lines(run: &RunInfo, host: &HostResult, out: &mut Spill<'_>) {
    // nmap prints the reverse-DNS name here, or nothing: "Host: 127.0.0.1 ()".
    let name = host.hostname.as_deref().map(field).unwrap_or_default();
    let prefix = format!("Host: {} ({})", host.addr, name);
    if host.status == HostStatus::Unknown {
        // A listed host (-sL).
        out.push_str(&format!("{prefix}\tStatus: Unknown\n"));
        return;
    }
    if host.status == HostStatus::Down {
        if run.verbose > 0 {
            out.push_str(&format!("{prefix}\tStatus: Down\n"));
        }
        return;
    }
    out.push_str(&format!("{prefix}\tStatus: Up\n"));
    if !run.port_scan {
        return;
    }
    let table = &host.ports;
    if table.total() > 0 {
        out.push_str(&prefix);
        out.push_str("\tPorts: ");
        for (i, port) in table.shown.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            // nmap leaves the service field empty when nothing at all is
            // known, but writes "unknown" when the table says so.
            let service = if port.service.is_some() {
                field(&service_name(run, port))
            } else {
                String::new()
            };
            let version = port
                .service
                .as_ref()
                .map(|s| field(&s.version_line()))
                .unwrap_or_default();
            let _ = write!(
                out,
                "{}/{}/{}//{}//{}/",
                port.port,
                port.state.as_str(),
                port.protocol.as_str(),
                service,
                version
            );
            out.spill_if_full();
        }
        let groups: Vec<_> = table.extra.iter().filter(|g| g.count > 0).collect();
        // The format has room for one ignored state only; with several, nmap
        // writes none.
        if let [group] = groups.as_slice() {
            out.push_str(&format!(
                "\tIgnored State: {} ({})",
                group.state.as_str(),
                group.count
            ));
        }
    }
    let os = host.os.as_deref();
    if let Some(names) = os.and_then(|os| super::os::view(os, OsPrinting::of(run)).grepable) {
        out.push_str(&format!("\tOS: {}", field(&names)));
    }
    // nmap ends every port-scanned host with a newline, even one without ports.
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::super::testdata::*;
    use super::super::text::collect;
    use super::*;

    #[test]
    fn matches_nmap_lines() {
        let run = run_info();
        // Real nmap: "Host: 127.0.0.1 (localhost)\tPorts: 18022/open/tcp/////, ..."
        let out = collect(|s| host_lines(&run, &two_open_host(), s));
        assert_eq!(
            out,
            "Host: 127.0.0.1 (localhost)\tStatus: Up\n\
             Host: 127.0.0.1 (localhost)\tPorts: 18022/open/tcp/////, 18080/open/tcp//http///\tIgnored State: closed (99)\n"
        );
        let out = collect(|s| host_lines(&run, &all_closed_host(), s));
        assert_eq!(
            out,
            "Host: 127.0.0.1 ()\tStatus: Up\nHost: 127.0.0.1 ()\tPorts: \tIgnored State: closed (100)\n"
        );
    }

    #[test]
    fn version_fields_and_slashes() {
        let mut run = run_info();
        run.version_scan = true;
        run.reason = true;
        let out = collect(|s| host_lines(&run, &version_host(), s));
        assert!(out.contains("\tPorts: 18022/open/tcp//tcpwrapped///, 18080/open/tcp//http//SimpleHTTPServer 0.6 (Python 3.11.7)/, 18081/closed/tcp/////\n"), "{out}");
        let out = collect(|s| host_lines(&run, &ssl_host(), s));
        assert!(
            out.contains("443/open/tcp//ssl|https//nginx 1.22.1/"),
            "{out}"
        );
        assert!(out.contains("8443/open/tcp//ssl|http?///"), "{out}");
    }

    #[test]
    fn udp_ports_and_one_ignored_state_over_both_protocols() {
        let out = collect(|s| host_lines(&mixed_run_info(), &mixed_host(), s));
        assert_eq!(
            out,
            "Host: 127.0.0.1 ()\tStatus: Up\n\
             Host: 127.0.0.1 ()\tPorts: 22/open/tcp//ssh///, 7/open|filtered/udp//echo///, 53/open/udp//domain///, 161/closed|filtered/udp//snmp///\tIgnored State: closed (66)\n"
        );
    }

    #[test]
    fn verbose_header_lists_ports_per_protocol() {
        // nmap 7.93 -v: "# Ports scanned: TCP(1;22) UDP(1;53) SCTP(0;) PROTOCOLS(0;)".
        let mut run = mixed_run_info();
        let header = |run: &RunInfo| {
            let mut sink = GrepableSink::new(Vec::new());
            sink.begin(run).expect("begin");
            let out = String::from_utf8(sink.into_inner()).expect("utf8");
            out.lines().nth(1).map(str::to_owned)
        };
        assert_eq!(header(&run), None, "only with -v");
        run.verbose = 1;
        assert_eq!(
            header(&run).as_deref(),
            Some("# Ports scanned: TCP(40;1-40) UDP(30;1-30) SCTP(0;) PROTOCOLS(0;)")
        );
        run.scans.remove(0);
        assert_eq!(
            header(&run).as_deref(),
            Some("# Ports scanned: TCP(0;) UDP(30;1-30) SCTP(0;) PROTOCOLS(0;)")
        );
        run.scans.clear();
        run.port_scan = false;
        assert_eq!(
            header(&run).as_deref(),
            Some("# Ports scanned: TCP(0;) UDP(0;) SCTP(0;) PROTOCOLS(0;)")
        );
    }

    #[test]
    fn several_ignored_states_are_not_listed() {
        let out = collect(|s| host_lines(&run_info(), &two_states_host(), s));
        assert!(!out.contains("Ignored State"), "{out}");
    }

    #[test]
    fn hostile_strings_stay_on_one_record() {
        let mut run = run_info();
        run.version_scan = true;
        let out = collect(|s| host_lines(&run, &hostile_host(), s));
        assert_eq!(out.lines().count(), 2, "{out}");
        assert_eq!(out.matches('\t').count(), 2, "{out}");
    }

    #[test]
    fn ping_scan_down_and_trailer() {
        let mut run = run_info();
        run.port_scan = false;
        let mut sink = GrepableSink::new(Vec::new());
        sink.begin(&run).expect("begin");
        sink.host(&ping_host()).expect("host");
        sink.host(&down_host()).expect("host");
        let mut st = stats(1, 1);
        st.interrupted = true;
        sink.end(&st).expect("end");
        let out = String::from_utf8(sink.into_inner()).expect("utf8");
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("# prtip 0.1.0 scan initiated "));
        assert_eq!(lines[1], "Host: 127.0.0.1 (localhost)\tStatus: Up");
        assert_eq!(
            lines[2],
            "# Scan interrupted: the results above are partial."
        );
        assert!(lines[3].starts_with("# prtip done at "));
        assert!(lines[3].ends_with(" -- 2 IP addresses (1 host up) scanned in 0.05 seconds"));
        assert_eq!(lines.len(), 4);
        run.verbose = 1;
        assert_eq!(
            collect(|s| host_lines(&run, &down_host(), s)),
            "Host: 127.0.0.2 ()\tStatus: Down\n"
        );
    }
}
