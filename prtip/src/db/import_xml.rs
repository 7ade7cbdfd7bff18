//! The elements of nmap's XML that `db import` reads, turned into the
//! `RunInfo`, `HostResult`s and `RunStats` a live scan gives the store.
//! Each handler gets one element; what it does not know it skips.

use prtip_core::result::{
    ExtraPorts, ExtraReason, HostResult, HostStatus, OsGuess, OsGuessClass, OsReport, PortResult,
    PortState, PortTable, Protocol, Reason, RunInfo, RunStats, ScanInfo, ServiceInfo,
    ServiceMethod,
};
use prtip_store::{codec, ScanMeta, SqliteStore};
use quick_xml::events::{BytesRef, BytesStart};
use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type R<T> = Result<T, String>;

/// The most ports one host can have listed: every TCP and UDP port. A
/// hostile file with more is refused before it fills the heap.
const MAX_PORTS: usize = 2 * 65_536;
/// The most entries of any other list of a host (OS matches, classes,
/// CPEs, ports used, "Not shown" groups and reasons): far above what nmap
/// writes.
const MAX_ENTRIES: usize = 1024;
/// The longest CPE text.
const MAX_TEXT: usize = 64 * 1024;

/// Refuses one more entry in a list that has `len` already.
fn room(len: usize, max: usize, what: &str) -> R<()> {
    if len >= max {
        return Err(format!("more than {max} {what} in one host"));
    }
    Ok(())
}

/// One start tag and its attributes.
pub(super) struct Element<'a, 'b>(pub &'a BytesStart<'b>);

impl Element<'_, '_> {
    fn name(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.0.name().into_inner())
    }

    /// The attribute's value, unescaped; None when absent.
    fn get(&self, key: &str) -> R<Option<String>> {
        match self.0.try_get_attribute(key) {
            Ok(None) => Ok(None),
            Ok(Some(a)) => a
                .unescape_value()
                .map(|v| Some(v.into_owned()))
                .map_err(|e| format!("attribute {key}: {e}")),
            Err(e) => Err(e.to_string()),
        }
    }

    fn need(&self, key: &str) -> R<String> {
        self.get(key)?
            .ok_or_else(|| format!("<{}> without {key}=", self.name()))
    }

    /// A number attribute; `default` when absent.
    fn num<T: std::str::FromStr>(&self, key: &str, default: T) -> R<T> {
        match self.get(key)? {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| format!("<{}> {key}=\"{v}\" is not a valid number", self.name())),
        }
    }
}

fn word<T>(what: &str, v: &str, parse: fn(&str) -> Result<T, prtip_store::Error>) -> R<T> {
    parse(v).map_err(|_| format!("unknown {what} \"{v}\""))
}

fn secs(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

/// The one scan the file holds, built element by element.
pub(super) struct Parser<'s> {
    store: &'s mut SqliteStore,
    /// Open elements, innermost last.
    path: Vec<String>,
    /// Inside an element whose content is skipped (hosthint, script...), its depth.
    skip: Option<usize>,
    run: Option<RunInfo>,
    origin: (String, Option<String>),
    scan: Option<i64>,
    host: Option<HostResult>,
    port: Option<(u16, Protocol)>,
    text: String,
    stats: RunStats,
    ended: bool,
}

impl<'s> Parser<'s> {
    pub(super) fn new(store: &'s mut SqliteStore) -> Self {
        Parser {
            store,
            path: Vec::new(),
            skip: None,
            run: None,
            origin: ("nmap".into(), None),
            scan: None,
            host: None,
            port: None,
            text: String::new(),
            stats: RunStats {
                end: UNIX_EPOCH,
                elapsed: Duration::ZERO,
                hosts_up: 0,
                hosts_down: 0,
                interrupted: true,
            },
            ended: false,
        }
    }

    fn parent(&self) -> &str {
        self.path.last().map_or("", String::as_str)
    }

    pub(super) fn start(&mut self, e: &Element<'_, '_>) -> R<()> {
        let name = e.name().into_owned();
        if self.skip.is_none() {
            if self.path.is_empty() && name != "nmaprun" {
                return Err(format!(
                    "<{name}> where <nmaprun> should start: not an nmap XML file"
                ));
            }
            if self.ended {
                return Err(format!("<{name}> after </nmaprun>"));
            }
            self.element(&name, e)?;
        }
        self.path.push(name);
        Ok(())
    }

    fn element(&mut self, name: &str, e: &Element<'_, '_>) -> R<()> {
        match (self.parent(), name) {
            ("", "nmaprun") => self.nmaprun(e)?,
            ("nmaprun", "scaninfo") => self.scaninfo(e)?,
            ("nmaprun", "verbose") => self.run_mut()?.verbose = e.num("level", 0)?,
            ("nmaprun", "debugging") => self.run_mut()?.debug = e.num("level", 0)?,
            ("nmaprun", "host") => self.host_start(e)?,
            ("host", "status") => self.status(e)?,
            ("host", "address") => self.address(e)?,
            ("hostnames", "hostname") => {
                let host = self.host_mut()?;
                if host.hostname.is_none() {
                    host.hostname = e.get("name")?;
                }
            }
            ("host", "times") => {
                let srtt: u64 = e.num("srtt", 0)?;
                self.host_mut()?.latency = (srtt > 0).then(|| Duration::from_micros(srtt));
            }
            ("runstats", "finished") => self.finished(e)?,
            ("runstats", "hosts") => {
                self.stats.hosts_up = e.num("up", 0)?;
                self.stats.hosts_down = e.num("down", 0)?;
            }
            (_, "hosthint" | "script" | "hostscript" | "prescript" | "postscript" | "trace") => {
                self.skip = Some(self.path.len());
            }
            (parent, _) => self.port_or_os(parent.to_string().as_str(), name, e)?,
        }
        Ok(())
    }

    /// The elements inside `<ports>` and `<os>`.
    fn port_or_os(&mut self, parent: &str, name: &str, e: &Element<'_, '_>) -> R<()> {
        match (parent, name) {
            ("ports", "extraports") => self.extraports(e)?,
            ("extraports", "extrareasons") => self.extrareasons(e)?,
            ("ports", "port") => {
                let proto = word("protocol", &e.need("protocol")?, codec::protocol)?;
                self.port = Some((e.num("portid", 0)?, proto));
            }
            ("port", "state") => self.state(e)?,
            ("port", "service") => self.service(e)?,
            ("service" | "osclass", "cpe") => self.text.clear(),
            ("host", "os") => self.host_mut()?.os = Some(Box::new(empty_os())),
            ("os", "portused") => self.portused(e)?,
            ("os", "osmatch") => self.osmatch(e)?,
            ("osmatch", "osclass") => self.osclass(e)?,
            ("os", "osfingerprint") => self.os_mut()?.fingerprint = e.get("fingerprint")?,
            ("host", "distance") => self.distance(e)?,
            _ => {}
        }
        Ok(())
    }

    pub(super) fn end(&mut self) -> R<()> {
        let name = self.path.pop().unwrap_or_default();
        if let Some(depth) = self.skip {
            if depth == self.path.len() {
                self.skip = None;
            }
            return Ok(());
        }
        match (self.parent(), name.as_str()) {
            ("nmaprun", "host") => self.host_end(),
            ("ports", "port") => {
                self.port = None;
                Ok(())
            }
            ("service" | "osclass", "cpe") => self.cpe(),
            ("", "nmaprun") => self.run_end(),
            _ => Ok(()),
        }
    }

    pub(super) fn text(&mut self, text: &str) -> R<()> {
        if self.parent() == "cpe" && self.skip.is_none() {
            if self.text.len() + text.len() > MAX_TEXT {
                return Err(format!("a <cpe> longer than {MAX_TEXT} bytes"));
            }
            self.text.push_str(text);
        }
        Ok(())
    }

    /// `&amp;`, `&#38;`... inside text; any other entity is refused.
    pub(super) fn reference(&mut self, r: &BytesRef<'_>) -> R<()> {
        let name = r.decode().map_err(|e| e.to_string())?;
        let c = match r.resolve_char_ref().map_err(|e| e.to_string())? {
            Some(c) => c.to_string(),
            None => quick_xml::escape::resolve_predefined_entity(&name)
                .ok_or_else(|| format!("unknown entity &{name};"))?
                .to_string(),
        };
        self.text(&c)
    }

    /// The end of the file: the document must have been closed.
    pub(super) fn finish(self) -> R<i64> {
        match (self.ended, self.scan) {
            (true, Some(id)) => Ok(id),
            _ => Err(match self.path.last() {
                Some(open) => format!("the file ends inside <{open}>"),
                None => "no <nmaprun> element: not an nmap XML file".into(),
            }),
        }
    }
}

fn empty_os() -> OsReport {
    OsReport {
        ports_used: Vec::new(),
        candidates: Vec::new(),
        closed_port: false,
        not_ideal: None,
        fingerprint: None,
        distance: None,
        failure: None,
    }
}

impl Parser<'_> {
    fn run_mut(&mut self) -> R<&mut RunInfo> {
        if self.scan.is_some() {
            return Err("scan information after the first host".into());
        }
        self.run.as_mut().ok_or_else(|| "no <nmaprun>".to_string())
    }

    fn host_mut(&mut self) -> R<&mut HostResult> {
        self.host
            .as_mut()
            .ok_or_else(|| "outside a <host>".to_string())
    }

    fn os_mut(&mut self) -> R<&mut OsReport> {
        self.host_mut()?
            .os
            .as_deref_mut()
            .ok_or_else(|| "outside <os>".to_string())
    }

    fn nmaprun(&mut self, e: &Element<'_, '_>) -> R<()> {
        let args = e.get("args")?.unwrap_or_default();
        // What the options asked for decides some of the normal output's
        // layout (the VERSION column, OS lines); the file does not say it
        // before the hosts, its command line does.
        let has = |flags: &[&str]| args.split_whitespace().any(|w| flags.contains(&w));
        self.origin = (
            e.get("scanner")?.unwrap_or_else(|| "nmap".into()),
            e.get("version")?,
        );
        self.run = Some(RunInfo {
            start: secs(e.num("start", 0)?),
            scans: Vec::new(),
            verbose: 0,
            debug: 0,
            reason: has(&["--reason"]),
            port_scan: false,
            version_scan: has(&["-sV", "-A"]),
            os_scan: has(&["-O", "-A"]),
            os_guess: has(&["--osscan-guess", "--fuzzy"]),
            args,
        });
        Ok(())
    }

    fn scaninfo(&mut self, e: &Element<'_, '_>) -> R<()> {
        let kind = word("scan type", &e.need("type")?, codec::scan_type)?;
        let protocol = word("protocol", &e.need("protocol")?, codec::protocol)?;
        let tcp_flags = e.get("scanflags")?.map(|f| scanflags(&f)).transpose()?;
        let info = ScanInfo {
            scan_type: kind,
            protocol,
            num_services: e.num("numservices", 0)?,
            services: e.get("services")?.unwrap_or_default(),
            tcp_flags,
        };
        let run = self.run_mut()?;
        run.port_scan = true;
        run.scans.push(info);
        Ok(())
    }

    /// The first host begins the scan in the store: the run is known by then.
    fn host_start(&mut self, e: &Element<'_, '_>) -> R<()> {
        self.begin()?;
        let start = self.run.as_ref().map_or(UNIX_EPOCH, |r| r.start);
        let at = |key| e.num(key, 0).map(|s| if s == 0 { start } else { secs(s) });
        self.host = Some(HostResult {
            addr: std::net::Ipv4Addr::UNSPECIFIED.into(),
            hostname: None,
            status: HostStatus::Down,
            reason: Reason::NoResponse,
            latency: None,
            start: at("starttime")?,
            end: at("endtime")?,
            ports: PortTable::default(),
            os: None,
            scripts: None,
        });
        Ok(())
    }

    fn begin(&mut self) -> R<()> {
        if self.scan.is_some() {
            return Ok(());
        }
        let run = self.run.as_ref().ok_or("no <nmaprun>")?;
        let id = self
            .store
            .begin_scan(run, &ScanMeta::default())
            .map_err(|e| e.to_string())?;
        let (scanner, version) = &self.origin;
        self.store
            .set_origin(id, scanner, version.as_deref())
            .map_err(|e| e.to_string())?;
        self.scan = Some(id);
        Ok(())
    }

    fn status(&mut self, e: &Element<'_, '_>) -> R<()> {
        let status = word("host state", &e.need("state")?, codec::host_status)?;
        let reason = reason(e)?;
        let host = self.host_mut()?;
        (host.status, host.reason) = (status, reason);
        Ok(())
    }

    fn address(&mut self, e: &Element<'_, '_>) -> R<()> {
        let kind = e.get("addrtype")?.unwrap_or_else(|| "ipv4".into());
        if kind == "mac" {
            return Ok(());
        }
        let text = e.need("addr")?;
        let addr = text
            .parse()
            .map_err(|_| format!("address \"{text}\" is not an IP address"))?;
        let host = self.host_mut()?;
        if host.addr.is_unspecified() {
            host.addr = addr;
        }
        Ok(())
    }

    fn host_end(&mut self) -> R<()> {
        let host = self.host.take().ok_or("</host> without <host>")?;
        if host.addr.is_unspecified() {
            return Err("a <host> without an IP address".into());
        }
        self.store.add_host(&host).map_err(|e| e.to_string())
    }

    fn extraports(&mut self, e: &Element<'_, '_>) -> R<()> {
        let state = word("port state", &e.need("state")?, codec::state)?;
        let count = e.num("count", 0)?;
        let extra = &mut self.host_mut()?.ports.extra;
        room(extra.len(), MAX_ENTRIES, "extraports")?;
        extra.push(ExtraPorts {
            state,
            count,
            reasons: Vec::new(),
        });
        Ok(())
    }

    fn extrareasons(&mut self, e: &Element<'_, '_>) -> R<()> {
        let protocol = word(
            "protocol",
            &e.get("proto")?.unwrap_or_else(|| "tcp".into()),
            codec::protocol,
        )?;
        let first = e.get("ports")?.unwrap_or_default();
        let first_port = first
            .split([',', '-'])
            .next()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(0);
        let why = ExtraReason {
            protocol,
            reason: reason(e)?,
            count: e.num("count", 0)?,
            first_port,
        };
        let group = self
            .host_mut()?
            .ports
            .extra
            .last_mut()
            .ok_or("<extrareasons> outside <extraports>")?;
        room(group.reasons.len(), MAX_ENTRIES, "extrareasons")?;
        group.reasons.push(why);
        Ok(())
    }

    fn state(&mut self, e: &Element<'_, '_>) -> R<()> {
        let (number, protocol) = self.port.ok_or("<state> outside <port>")?;
        let state = word("port state", &e.need("state")?, codec::state)?;
        let mut port = PortResult::new(number, protocol, state, reason(e)?);
        port.reason_ttl = e.num("reason_ttl", 0)?;
        let shown = &mut self.host_mut()?.ports.shown;
        room(shown.len(), MAX_PORTS, "ports")?;
        shown.push(port);
        Ok(())
    }

    fn last_port(&mut self) -> R<&mut PortResult> {
        let (number, protocol) = self.port.ok_or("outside <port>")?;
        self.host_mut()?
            .ports
            .shown
            .last_mut()
            .filter(|p| (p.port, p.protocol) == (number, protocol))
            .ok_or_else(|| "<service> before the port's <state>".to_string())
    }

    fn service(&mut self, e: &Element<'_, '_>) -> R<()> {
        let method = match e.get("method")?.as_deref() {
            Some("probed") => ServiceMethod::Probed,
            _ => ServiceMethod::Table,
        };
        let svc = ServiceInfo {
            name: e.need("name")?,
            product: e.get("product")?,
            version: e.get("version")?,
            extrainfo: e.get("extrainfo")?,
            hostname: e.get("hostname")?,
            ostype: e.get("ostype")?,
            devicetype: e.get("devicetype")?,
            tunnel: e.get("tunnel")?,
            cpe: Vec::new(),
            method,
            conf: e.num("conf", 3)?,
        };
        self.last_port()?.service = Some(Box::new(svc));
        Ok(())
    }

    fn cpe(&mut self) -> R<()> {
        let cpe = std::mem::take(&mut self.text);
        if self.path.iter().any(|p| p == "service") {
            if let Some(svc) = self.last_port()?.service.as_deref_mut() {
                room(svc.cpe.len(), MAX_ENTRIES, "CPEs of a service")?;
                svc.cpe.push(cpe);
            }
        } else if let Some(class) = self
            .os_mut()?
            .candidates
            .last_mut()
            .and_then(|m| m.classes.last_mut())
        {
            room(class.cpe.len(), MAX_ENTRIES, "CPEs of an OS class")?;
            class.cpe.push(cpe);
        }
        Ok(())
    }

    fn portused(&mut self, e: &Element<'_, '_>) -> R<()> {
        let state = word("port state", &e.need("state")?, codec::state)?;
        let proto = word("protocol", &e.need("proto")?, codec::protocol)?;
        let port = e.num("portid", 0)?;
        let os = self.os_mut()?;
        os.closed_port |= state == PortState::Closed && proto == Protocol::Tcp;
        room(os.ports_used.len(), MAX_ENTRIES, "portused")?;
        os.ports_used.push((state, proto, port));
        Ok(())
    }

    /// The file gives an accuracy only; 100% is a perfect match, as nmap
    /// lists it, and a guess keeps its rank by accuracy.
    fn osmatch(&mut self, e: &Element<'_, '_>) -> R<()> {
        let accuracy: u8 = e.num("accuracy", 0)?;
        let guess = OsGuess {
            name: e.need("name")?,
            accuracy,
            line: e.num("line", 0)?,
            matched: u32::from(accuracy),
            possible: 100,
            classes: Vec::new(),
        };
        let candidates = &mut self.os_mut()?.candidates;
        room(candidates.len(), MAX_ENTRIES, "OS matches")?;
        candidates.push(guess);
        Ok(())
    }

    fn osclass(&mut self, e: &Element<'_, '_>) -> R<()> {
        let class = OsGuessClass {
            device_type: e.get("type")?.unwrap_or_default(),
            vendor: e.get("vendor")?.unwrap_or_default(),
            family: e.get("osfamily")?.unwrap_or_default(),
            generation: e.get("osgen")?,
            accuracy: e.num("accuracy", 0)?,
            cpe: Vec::new(),
        };
        let m = self
            .os_mut()?
            .candidates
            .last_mut()
            .ok_or("<osclass> outside <osmatch>")?;
        room(m.classes.len(), MAX_ENTRIES, "OS classes")?;
        m.classes.push(class);
        Ok(())
    }

    fn distance(&mut self, e: &Element<'_, '_>) -> R<()> {
        let d = e.num("value", 0)?;
        if let Some(os) = self.host_mut()?.os.as_deref_mut() {
            os.distance = Some(d);
        }
        Ok(())
    }

    fn finished(&mut self, e: &Element<'_, '_>) -> R<()> {
        self.stats.end = secs(e.num("time", 0)?);
        let elapsed: f64 = e.num("elapsed", 0.0)?;
        self.stats.elapsed = Duration::try_from_secs_f64(elapsed).unwrap_or_default();
        self.stats.interrupted = e.get("exit")?.as_deref() == Some("error");
        Ok(())
    }

    fn run_end(&mut self) -> R<()> {
        self.begin()?;
        self.store
            .end_scan(&self.stats)
            .map_err(|e| e.to_string())?;
        self.ended = true;
        Ok(())
    }
}

fn reason(e: &Element<'_, '_>) -> R<Reason> {
    word(
        "reason",
        &e.get("reason")?.unwrap_or_else(|| "no-response".into()),
        codec::reason,
    )
}

/// `scanflags="SYNPSH"` (nmap's names, any order) or a number, as bits.
fn scanflags(text: &str) -> R<u8> {
    if let Ok(n) = text.parse::<u8>() {
        return Ok(n);
    }
    const NAMES: [&str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];
    let mut bits = 0u8;
    let mut rest = text;
    while !rest.is_empty() {
        let (i, name) = NAMES
            .iter()
            .enumerate()
            .find(|(_, n)| rest.starts_with(**n))
            .ok_or_else(|| format!("unknown scanflags \"{text}\""))?;
        bits |= 1 << i;
        rest = &rest[name.len()..];
    }
    Ok(bits)
}
