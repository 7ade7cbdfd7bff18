//! nmap's XML output (`-oX`), valid against nmap's `nmap.dtd` (xmloutputversion 1.05).
//!
//! Identity: the DTD fixes `scanner` to the literal `nmap`, and ndiff, Zenmap
//! and most importers dispatch on it, so we write `scanner="nmap"` to stay
//! valid and importable. We do not claim to be nmap anywhere else: `version`
//! is `prtip-0.1.0` (an nmap version number there would be a lie that
//! importers might act on), the leading comment says "prtip 0.1.0 scan
//! initiated", and `args` holds our own command line.
//!
//! Hostile text: service banners come from the network. Every attribute value
//! and text node goes through `escape`, which escapes markup characters,
//! writes tab/CR/LF as character references so attribute normalisation keeps
//! them, and replaces the C0 controls that XML 1.0 forbids even as references
//! with a visible `\xNN`, as nmap's `protect_xml` does.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::IpAddr;

use super::os::OsPrinting;
use prtip_core::result::{
    HostResult, HostStatus, OsReport, PortResult, ResultSink, RunInfo, RunStats, ScriptResults,
    ServiceInfo,
};

use super::not_begun;
use super::text::{done_summary, Spill, NAME, VERSION};
use super::time::{ctime, unix_secs};

/// ` scanflags="..."` of a TCP `<scaninfo>` when `--scanflags` was given:
/// the set bits' names in nmap's order (FIN first, CWR last).
struct ScanFlagsAttr(Option<u8>);

impl std::fmt::Display for ScanFlagsAttr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const NAMES: [&str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];
        let Some(bits) = self.0 else { return Ok(()) };
        f.write_str(" scanflags=\"")?;
        for (i, name) in NAMES.iter().enumerate() {
            if bits & (1 << i) != 0 {
                f.write_str(name)?;
            }
        }
        f.write_str("\"")
    }
}

/// Scan types the DTD's `scaninfo type=` enumeration accepts.
const DTD_SCAN_TYPES: [&str; 13] = [
    "syn",
    "ack",
    "bounce",
    "connect",
    "null",
    "xmas",
    "window",
    "maimon",
    "fin",
    "udp",
    "sctpinit",
    "sctpcookieecho",
    "ipproto",
];

/// Writes `-oX` output; each `<host>` is written and flushed as it arrives,
/// and `end` closes the document, also after an interruption.
#[derive(Debug)]
pub struct XmlSink<W: Write> {
    out: W,
    run: Option<RunInfo>,
    ended: bool,
}

impl<W: Write> XmlSink<W> {
    pub fn new(out: W) -> Self {
        XmlSink {
            out,
            run: None,
            ended: false,
        }
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> ResultSink for XmlSink<W> {
    fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        let mut s = String::new();
        s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n");
        let startstr = ctime(run.start);
        // escape() turns "--" into "-&#45;", which keeps the comment legal.
        let _ = writeln!(
            s,
            "<!-- {NAME} {VERSION} scan initiated {} as: {} -->",
            escape(&startstr),
            escape(&run.args)
        );
        let _ = writeln!(
            s,
            "<nmaprun scanner=\"nmap\" args=\"{}\" start=\"{}\" startstr=\"{}\" version=\"{NAME}-{VERSION}\" xmloutputversion=\"1.05\">",
            escape(&run.args),
            unix_secs(run.start),
            escape(&startstr)
        );
        for scan in run
            .scans
            .iter()
            .filter(|scan| run.port_scan && DTD_SCAN_TYPES.contains(&scan.scan_type))
        {
            let _ = writeln!(
                s,
                "<scaninfo type=\"{}\"{} protocol=\"{}\" numservices=\"{}\" services=\"{}\"/>",
                scan.scan_type,
                ScanFlagsAttr(scan.tcp_flags),
                scan.protocol.as_str(),
                scan.num_services,
                escape(&scan.services)
            );
        }
        let _ = write!(
            s,
            "<verbose level=\"{}\"/>\n<debugging level=\"{}\"/>\n",
            run.verbose, run.debug
        );
        self.out.write_all(s.as_bytes())?;
        self.run = Some(run.clone());
        self.out.flush()
    }

    fn host(&mut self, host: &HostResult) -> io::Result<()> {
        let run = self.run.as_ref().ok_or_else(not_begun)?;
        if self.ended {
            return Err(io::Error::other("XML output already closed"));
        }
        // nmap lists down hosts in XML only when verbose.
        if host.status == HostStatus::Down && run.verbose == 0 {
            return Ok(());
        }
        let mut spill = Spill::new(&mut self.out);
        host_element(run, host, &mut spill);
        spill.finish()
    }

    fn end(&mut self, stats: &RunStats) -> io::Result<()> {
        if self.run.is_none() {
            return Err(not_begun());
        }
        if self.ended {
            return Ok(());
        }
        let timestr = ctime(stats.end);
        let summary = format!("{NAME} done at {timestr}; {}", done_summary(stats));
        let mut s = String::new();
        let _ = write!(
            s,
            "<runstats><finished time=\"{}\" timestr=\"{}\" summary=\"{}\" elapsed=\"{:.2}\"",
            unix_secs(stats.end),
            escape(&timestr),
            escape(&summary),
            stats.elapsed.as_secs_f64()
        );
        if stats.interrupted {
            // The DTD knows only success and error; a partial scan is not a success.
            s.push_str(" exit=\"error\" errormsg=\"interrupted by user; results are partial\"/>");
        } else {
            s.push_str(" exit=\"success\"/>");
        }
        let _ = write!(
            s,
            "<hosts up=\"{}\" down=\"{}\" total=\"{}\"/>\n</runstats>\n</nmaprun>\n",
            stats.hosts_up,
            stats.hosts_down,
            stats.hosts_total()
        );
        self.out.write_all(s.as_bytes())?;
        self.ended = true;
        self.out.flush()
    }
}

/// One `<host>` element laid out as nmap lays it out.
fn host_element(run: &RunInfo, host: &HostResult, s: &mut Spill<'_>) {
    let up = host.status == HostStatus::Up;
    let ports = run.port_scan && up;
    if ports {
        let _ = write!(
            s,
            "<host starttime=\"{}\" endtime=\"{}\">",
            unix_secs(host.start),
            unix_secs(host.end)
        );
    } else {
        s.push_str("<host>");
    }
    let _ = writeln!(
        s,
        "<status state=\"{}\" reason=\"{}\" reason_ttl=\"0\"/>",
        host.status.as_str(),
        host.reason.as_str()
    );
    let addrtype = match host.addr {
        IpAddr::V4(_) => "ipv4",
        IpAddr::V6(_) => "ipv6",
    };
    let _ = writeln!(
        s,
        "<address addr=\"{}\" addrtype=\"{addrtype}\"/>",
        host.addr
    );
    let name = host.hostname.as_deref().filter(|n| !n.is_empty());
    if name.is_some() || up {
        s.push_str("<hostnames>\n");
        if let Some(name) = name {
            let _ = writeln!(
                s,
                "<hostname name=\"{}\" type=\"{}\"/>",
                escape(name),
                hostname_type(run, name)
            );
        }
        s.push_str("</hostnames>\n");
    }
    if ports && host.ports.total() > 0 {
        ports_element(host, s);
    }
    if let Some(os) = host.os.as_deref().filter(|_| up) {
        os_element(os, OsPrinting::of(run), s);
    }
    if let Some(sr) = host.scripts.as_deref().filter(|sr| !sr.host.is_empty()) {
        s.push_str("<hostscript>");
        super::scripts::xml_elements(&sr.host, s);
        s.push_str("</hostscript>\n");
    }
    s.push_str("</host>\n");
}

/// `<os>` as nmap writes it, then `<distance>` (its sibling in the DTD).
fn os_element(os: &OsReport, printing: OsPrinting, s: &mut String) {
    let view = super::os::view(os, printing);
    s.push_str("<os>");
    for (state, proto, port) in &os.ports_used {
        let _ = writeln!(
            s,
            "<portused state=\"{}\" proto=\"{}\" portid=\"{port}\"/>",
            state.as_str(),
            proto.as_str()
        );
    }
    for m in view.matches {
        let _ = writeln!(
            s,
            "<osmatch name=\"{}\" accuracy=\"{}\" line=\"{}\">",
            escape(&m.name),
            m.accuracy,
            m.line
        );
        for c in &m.classes {
            let _ = write!(
                s,
                "<osclass type=\"{}\" vendor=\"{}\" osfamily=\"{}\"",
                escape(&c.device_type),
                escape(&c.vendor),
                escape(&c.family)
            );
            if let Some(g) = &c.generation {
                let _ = write!(s, " osgen=\"{}\"", escape(g));
            }
            let _ = write!(s, " accuracy=\"{}\">", c.accuracy);
            for cpe in &c.cpe {
                let _ = write!(s, "<cpe>{}</cpe>", escape(cpe));
            }
            s.push_str("</osclass>\n");
        }
        s.push_str("</osmatch>\n");
    }
    if let Some(fp) = view.fingerprint {
        let _ = writeln!(s, "<osfingerprint fingerprint=\"{}\"/>", escape(fp));
    }
    s.push_str("</os>\n");
    if let Some(d) = os.distance {
        let _ = writeln!(s, "<distance value=\"{d}\"/>");
    }
}

/// HostResult carries one name without saying where it came from; a name
/// that appears as a word of the command line was typed by the user (nmap's
/// `type="user"`), anything else came from reverse DNS (`type="PTR"`).
fn hostname_type(run: &RunInfo, name: &str) -> &'static str {
    if run
        .args
        .split(|c: char| c.is_whitespace() || c == ',')
        .any(|word| word.eq_ignore_ascii_case(name))
    {
        "user"
    } else {
        "PTR"
    }
}

fn ports_element(host: &HostResult, s: &mut Spill<'_>) {
    s.push_str("<ports>");
    for group in host.ports.extra.iter().filter(|g| g.count > 0) {
        let _ = writeln!(
            s,
            "<extraports state=\"{}\" count=\"{}\">",
            group.state.as_str(),
            group.count
        );
        // nmap 7.93 also lists the port numbers of each reason (`ports=`);
        // collapsed ports are only counted here (memory rule), and the DTD
        // makes `ports` optional.
        for r in group.reasons.iter().filter(|r| r.count > 0) {
            let _ = writeln!(
                s,
                "<extrareasons reason=\"{}\" count=\"{}\" proto=\"{}\"/>",
                r.reason.as_str(),
                r.count,
                r.protocol.as_str()
            );
        }
        s.push_str("</extraports>\n");
    }
    for port in &host.ports.shown {
        port_element(port, host.scripts.as_deref(), s);
        s.spill_if_full();
    }
    s.push_str("</ports>\n");
}

fn port_element(port: &PortResult, scripts: Option<&ScriptResults>, s: &mut String) {
    let _ = write!(
        s,
        "<port protocol=\"{}\" portid=\"{}\"><state state=\"{}\" reason=\"{}\" reason_ttl=\"{}\"/>",
        port.protocol.as_str(),
        port.port,
        port.state.as_str(),
        port.reason.as_str(),
        port.reason_ttl
    );
    if let Some(svc) = &port.service {
        service_element(svc, s);
    }
    if let Some(sr) = scripts {
        super::scripts::xml_elements(sr.of_port(port.protocol, port.port), s);
    }
    s.push_str("</port>\n");
}

fn service_element(svc: &ServiceInfo, s: &mut String) {
    let name = if svc.name.is_empty() {
        "unknown"
    } else {
        &svc.name
    };
    let _ = write!(s, "<service name=\"{}\"", escape(name));
    let optional = [
        ("product", &svc.product),
        ("version", &svc.version),
        ("extrainfo", &svc.extrainfo),
        ("hostname", &svc.hostname),
        ("ostype", &svc.ostype),
        ("devicetype", &svc.devicetype),
    ];
    for (attr, value) in optional {
        if let Some(v) = value {
            let _ = write!(s, " {attr}=\"{}\"", escape(v));
        }
    }
    // The DTD allows only tunnel="ssl".
    if svc.tunnel.as_deref() == Some("ssl") {
        s.push_str(" tunnel=\"ssl\"");
    }
    let _ = write!(
        s,
        " method=\"{}\" conf=\"{}\"",
        svc.method.as_str(),
        svc.conf.min(10)
    );
    if svc.cpe.is_empty() {
        s.push_str("/>");
    } else {
        s.push('>');
        for cpe in &svc.cpe {
            let _ = write!(s, "<cpe>{}</cpe>", escape(cpe));
        }
        s.push_str("</service>");
    }
}

/// Escapes text for an XML 1.0 attribute value, text node or comment.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev = '\0';
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // "--" may not appear inside a comment; nmap escapes it everywhere.
            '-' if prev == '-' => out.push_str("&#45;"),
            '\t' | '\n' | '\r' => {
                let _ = write!(out, "&#x{:x};", u32::from(c));
            }
            c if u32::from(c) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\x{:02X}", u32::from(c));
            }
            // Legal but invisible and "discouraged" by XML 1.0: keep them
            // visible as references.
            c if (0x7f..=0x9f).contains(&u32::from(c)) => {
                let _ = write!(out, "&#x{:x};", u32::from(c));
            }
            c => out.push(c),
        }
        prev = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testdata::*;
    use super::super::text::collect;
    use super::*;

    fn render(run: &RunInfo, hosts: &[HostResult], stats: &RunStats) -> String {
        let mut sink = XmlSink::new(Vec::new());
        sink.begin(run).expect("begin");
        for h in hosts {
            sink.host(h).expect("host");
        }
        sink.end(stats).expect("end");
        String::from_utf8(sink.into_inner()).expect("utf8")
    }

    #[test]
    fn escape_handles_markup_controls_and_comment_dashes() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
        assert_eq!(escape("a\tb\r\nc"), "a&#x9;b&#xd;&#xa;c");
        assert_eq!(escape("nul\0bell\x07esc\x1b"), "nul\\x00bell\\x07esc\\x1B");
        assert_eq!(escape("--reason ---"), "-&#45;reason -&#45;&#45;");
        assert_eq!(escape("\u{7f}\u{85}\u{FFFF}é"), "&#x7f;&#x85;\\xFFFFé");
    }

    #[test]
    fn document_layout_matches_nmap() {
        let out = render(&run_info(), &[two_open_host()], &stats(1, 0));
        assert!(out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n<!-- prtip 0.1.0 scan initiated "));
        assert!(out.contains("<nmaprun scanner=\"nmap\" args=\"prtip -sT -Pn -p 18000-18100 localhost\" start=\"1795611224\" startstr=\""));
        assert!(out.contains(" version=\"prtip-0.1.0\" xmloutputversion=\"1.05\">\n<scaninfo type=\"connect\" protocol=\"tcp\" numservices=\"101\" services=\"18000-18100\"/>\n<verbose level=\"0\"/>\n<debugging level=\"0\"/>\n"));
        let host = "<host starttime=\"1795611224\" endtime=\"1795611224\"><status state=\"up\" reason=\"user-set\" reason_ttl=\"0\"/>\n\
<address addr=\"127.0.0.1\" addrtype=\"ipv4\"/>\n\
<hostnames>\n<hostname name=\"localhost\" type=\"user\"/>\n</hostnames>\n\
<ports><extraports state=\"closed\" count=\"99\">\n\
<extrareasons reason=\"conn-refused\" count=\"99\" proto=\"tcp\"/>\n\
</extraports>\n\
<port protocol=\"tcp\" portid=\"18022\"><state state=\"open\" reason=\"syn-ack\" reason_ttl=\"0\"/></port>\n\
<port protocol=\"tcp\" portid=\"18080\"><state state=\"open\" reason=\"syn-ack\" reason_ttl=\"0\"/><service name=\"http\" method=\"table\" conf=\"3\"/></port>\n\
</ports>\n</host>\n";
        assert!(out.contains(host), "{out}");
        assert!(out.contains("<runstats><finished time=\"1795611224\" timestr=\""));
        assert!(out.contains("; 1 IP address (1 host up) scanned in 0.05 seconds\" elapsed=\"0.05\" exit=\"success\"/><hosts up=\"1\" down=\"0\" total=\"1\"/>\n</runstats>\n</nmaprun>\n"));
    }

    #[test]
    fn scanflags_attribute_names_bits_in_nmaps_order() {
        assert_eq!(ScanFlagsAttr(None).to_string(), "");
        assert_eq!(ScanFlagsAttr(Some(0)).to_string(), " scanflags=\"\"");
        assert_eq!(
            ScanFlagsAttr(Some(0x29)).to_string(),
            " scanflags=\"FINPSHURG\""
        );
        assert_eq!(
            ScanFlagsAttr(Some(0xff)).to_string(),
            " scanflags=\"FINSYNRSTPSHACKURGECECWR\""
        );
    }

    #[test]
    fn one_scaninfo_per_scan_and_reasons_per_protocol() {
        let out = render(&mixed_run_info(), &[mixed_host()], &stats(1, 0));
        assert!(out.contains("<scaninfo type=\"syn\" protocol=\"tcp\" numservices=\"40\" services=\"1-40\"/>\n<scaninfo type=\"udp\" protocol=\"udp\" numservices=\"30\" services=\"1-30\"/>\n<verbose level=\"0\"/>"), "{out}");
        let ports = "<ports><extraports state=\"closed\" count=\"66\">\n\
<extrareasons reason=\"reset\" count=\"39\" proto=\"tcp\"/>\n\
<extrareasons reason=\"port-unreach\" count=\"27\" proto=\"udp\"/>\n\
</extraports>\n\
<port protocol=\"tcp\" portid=\"22\"><state state=\"open\" reason=\"syn-ack\" reason_ttl=\"0\"/><service name=\"ssh\" method=\"table\" conf=\"3\"/></port>\n\
<port protocol=\"udp\" portid=\"7\"><state state=\"open|filtered\" reason=\"no-response\" reason_ttl=\"64\"/><service name=\"echo\" method=\"table\" conf=\"3\"/></port>\n\
<port protocol=\"udp\" portid=\"53\"><state state=\"open\" reason=\"udp-response\" reason_ttl=\"64\"/><service name=\"domain\" method=\"table\" conf=\"3\"/></port>\n\
<port protocol=\"udp\" portid=\"161\"><state state=\"closed|filtered\" reason=\"no-response\" reason_ttl=\"64\"/><service name=\"snmp\" method=\"table\" conf=\"3\"/></port>\n\
</ports>\n";
        assert!(out.contains(ports), "{out}");
    }

    #[test]
    fn version_service_with_cpe() {
        let mut run = run_info();
        run.version_scan = true;
        let out = collect(|s| host_element(&run, &version_host(), s));
        assert!(out.contains("<service name=\"http\" product=\"SimpleHTTPServer\" version=\"0.6\" extrainfo=\"Python 3.11.7\" method=\"probed\" conf=\"10\"><cpe>cpe:/a:python:simplehttpserver:0.6</cpe></service></port>\n"), "{out}");
        assert!(out.contains("<service name=\"tcpwrapped\" method=\"probed\" conf=\"8\"/>"));
        let out = collect(|s| host_element(&run, &ssl_host(), s));
        assert!(
            out.contains(" ostype=\"Linux\" tunnel=\"ssl\" method=\"probed\" conf=\"10\">"),
            "{out}"
        );
    }

    #[test]
    fn hostile_strings_are_escaped() {
        let out = collect(|s| host_element(&run_info(), &hostile_host(), s));
        assert!(!out.contains('\x1b') && !out.contains('\0'));
        assert!(
            out.contains("product=\"&lt;script&gt;&amp;&quot;&apos;\\x1B[31m\""),
            "{out}"
        );
        assert!(out.contains("<cpe>cpe:/a:evil:&lt;x&gt;</cpe>"), "{out}");
    }

    #[test]
    fn down_hosts_only_when_verbose_and_ping_scan_layout() {
        let mut run = run_info();
        run.port_scan = false;
        let out = render(&run, &[ping_host(), down_host()], &stats(1, 1));
        assert!(!out.contains("<scaninfo"));
        assert!(out.contains("<host><status state=\"up\" reason=\"localhost-response\" reason_ttl=\"0\"/>\n<address addr=\"127.0.0.1\" addrtype=\"ipv4\"/>\n<hostnames>\n<hostname name=\"localhost\" type=\"user\"/>\n</hostnames>\n</host>\n"), "{out}");
        assert!(!out.contains("127.0.0.2"));
        // A name not on the command line came from reverse DNS.
        run.args = "prtip -sn 127.0.0.1".into();
        assert!(collect(|s| host_element(&run, &ping_host(), s))
            .contains("<hostname name=\"localhost\" type=\"PTR\"/>"));
        run.verbose = 1;
        let out = collect(|s| host_element(&run, &down_host(), s));
        assert_eq!(out, "<host><status state=\"down\" reason=\"no-response\" reason_ttl=\"0\"/>\n<address addr=\"127.0.0.2\" addrtype=\"ipv4\"/>\n</host>\n");
    }

    #[test]
    fn interrupted_run_is_closed_and_says_so() {
        let mut st = stats(1, 0);
        st.interrupted = true;
        let out = render(&run_info(), &[two_open_host()], &st);
        assert!(
            out.contains(" exit=\"error\" errormsg=\"interrupted by user; results are partial\"/>")
        );
        assert!(out.ends_with("</runstats>\n</nmaprun>\n"));
    }

    #[test]
    fn end_twice_writes_once() {
        let mut sink = XmlSink::new(Vec::new());
        sink.begin(&run_info()).expect("begin");
        sink.end(&stats(0, 0)).expect("end");
        sink.end(&stats(0, 0)).expect("end again");
        assert!(sink.host(&two_open_host()).is_err());
        let out = String::from_utf8(sink.into_inner()).expect("utf8");
        assert_eq!(out.matches("</nmaprun>").count(), 1);
    }
}
