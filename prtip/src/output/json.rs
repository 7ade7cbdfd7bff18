//! JSON Lines output (`-oJ`): one JSON object per line, written as each host
//! finishes, so `jq`, `grep` and line-oriented tools can read a scan while it
//! runs, and an interrupted scan keeps every finished host.
//!
//! ## JSON output (`-oJ`)
//!
//! Every line is one object with a `"type"` field: one `run` line first, one
//! `host` line per reported host, one `stats` line last (also after Ctrl-C,
//! with `"interrupted": true`). Times are Unix seconds; absent values are
//! `null`, never omitted. As in nmap's XML, down hosts appear only with `-v`.
//!
//! ```json
//! {"type":"run","scanner":"prtip","version":"0.1.0","args":"prtip -sT -sU -sV -p 22,80,U:53 127.0.0.1","start":1795611224,"scans":[{"type":"connect","protocol":"tcp","num_services":2,"services":"22,80"},{"type":"udp","protocol":"udp","num_services":1,"services":"53"}],"port_scan":true,"version_scan":true,"os_scan":false,"verbose":0,"debug":0}
//! {"type":"host","addr":"127.0.0.1","hostname":"localhost","status":"up","reason":"user-set","latency_us":262,"start":1795611224,"end":1795611225,"ports":[{"port":22,"protocol":"tcp","state":"open","reason":"syn-ack","reason_ttl":0,"service":{"name":"ssh","product":"OpenSSH","version":"9.2p1 Debian 2","extrainfo":"protocol 2.0","hostname":null,"ostype":"Linux","devicetype":null,"tunnel":null,"cpe":["cpe:/a:openbsd:openssh:9.2p1"],"method":"probed","conf":10}}],"extraports":[{"state":"closed","count":1,"reasons":[{"protocol":"tcp","reason":"conn-refused","count":1}]}]}
//! {"type":"stats","end":1795611225,"elapsed":0.05,"hosts_up":1,"hosts_down":0,"hosts_total":1,"interrupted":false}
//! ```
//!
//! | field | meaning |
//! |---|---|
//! | `run.scans` | one entry per port scan, as nmap's XML `<scaninfo>`: `type` (`connect`, `syn`, `ack`, `window`, `maimon`, `null`, `fin`, `xmas`, `udp`), `protocol`, `num_services`, `services` (the port list, compact: `1-1000`); empty with `-sn` |
//! | `host.hostname` | name typed by the user or from reverse DNS, or `null` |
//! | `host.reason` | why the host is considered up/down (nmap's reason names) |
//! | `host.latency_us` | round-trip time in microseconds, or `null` |
//! | `host.ports` | the ports nmap would list in its table (`service` is `null` when unknown) |
//! | `host.extraports` | ports collapsed into "Not shown" groups: state, count (over every protocol), count per protocol and reason |
//! | `service.method` | `table` (guessed from the port number) or `probed` (-sV) |
//! | `service.conf` | confidence 0-10, as nmap's XML `conf` |
//! | `service.tunnel` | `"ssl"` when the service was found inside TLS |
//! | `host.scripts` | NSE results (only with scripts): `ports` (`port`, `protocol`, `results`) and `host`, each result `id`, `output` (nmap's text) and `elements` (the structure: `{"key", "value"}` or `{"key", "table": [...]}`, `null` for a text-only result) |
//! | `stats.elapsed` | seconds, fractional |

use std::io::{self, Write};

use super::os::OsPrinting;
use prtip_core::result::{
    HostResult, HostStatus, OsReport, PortResult, ResultSink, RunInfo, RunStats, ServiceInfo,
};
use serde::Serialize;

use super::not_begun;
use super::text::{NAME, VERSION};
use super::time::unix_secs;

/// Writes `-oJ` JSON Lines; each host line is written and flushed as it arrives.
#[derive(Debug)]
pub struct JsonSink<W: Write> {
    out: W,
    verbose: Option<u8>,
    os_printing: OsPrinting,
}

impl<W: Write> JsonSink<W> {
    pub fn new(out: W) -> Self {
        JsonSink {
            out,
            verbose: None,
            os_printing: OsPrinting::default(),
        }
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn line<T: Serialize>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, value).map_err(io::Error::other)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

#[derive(Serialize)]
struct RunLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    scanner: &'static str,
    version: &'static str,
    args: &'a str,
    start: u64,
    scans: Vec<ScanJson<'a>>,
    port_scan: bool,
    version_scan: bool,
    os_scan: bool,
    verbose: u8,
    debug: u8,
}

#[derive(Serialize)]
struct ScanJson<'a> {
    #[serde(rename = "type")]
    scan_type: &'static str,
    protocol: &'static str,
    num_services: u32,
    services: &'a str,
}

#[derive(Serialize)]
struct HostLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    addr: String,
    hostname: Option<&'a str>,
    status: &'static str,
    reason: &'static str,
    latency_us: Option<u64>,
    start: u64,
    end: u64,
    ports: PortsJson<'a>,
    extraports: Vec<ExtraJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    os: Option<OsJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scripts: Option<super::scripts::ScriptsJson<'a>>,
}

#[derive(Serialize)]
struct OsJson<'a> {
    ports_used: Vec<OsPortJson>,
    matches: Vec<OsMatchJson<'a>>,
    distance: Option<u8>,
    fingerprint: Option<&'a str>,
}

#[derive(Serialize)]
struct OsPortJson {
    state: &'static str,
    protocol: &'static str,
    port: u16,
}

#[derive(Serialize)]
struct OsMatchJson<'a> {
    name: &'a str,
    accuracy: u8,
    line: usize,
    classes: Vec<OsClassJson<'a>>,
}

#[derive(Serialize)]
struct OsClassJson<'a> {
    device_type: &'a str,
    vendor: &'a str,
    family: &'a str,
    generation: Option<&'a str>,
    accuracy: u8,
    cpe: &'a [String],
}

fn os_json(os: &OsReport, printing: OsPrinting) -> OsJson<'_> {
    let view = super::os::view(os, printing);
    OsJson {
        ports_used: os
            .ports_used
            .iter()
            .map(|&(state, proto, port)| OsPortJson {
                state: state.as_str(),
                protocol: proto.as_str(),
                port,
            })
            .collect(),
        matches: view
            .matches
            .iter()
            .map(|m| OsMatchJson {
                name: &m.name,
                accuracy: m.accuracy,
                line: m.line,
                classes: m
                    .classes
                    .iter()
                    .map(|c| OsClassJson {
                        device_type: &c.device_type,
                        vendor: &c.vendor,
                        family: &c.family,
                        generation: c.generation.as_deref(),
                        accuracy: c.accuracy,
                        cpe: &c.cpe,
                    })
                    .collect(),
            })
            .collect(),
        distance: os.distance,
        fingerprint: view.fingerprint,
    }
}

/// A host's ports, serialized one at a time straight to the writer: a host
/// with every port open would otherwise hold ~220 B per port in a `Vec`.
struct PortsJson<'a>(&'a [PortResult]);

impl Serialize for PortsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(port_json))
    }
}

#[derive(Serialize)]
struct PortJson<'a> {
    port: u16,
    protocol: &'static str,
    state: &'static str,
    reason: &'static str,
    reason_ttl: u8,
    service: Option<ServiceJson<'a>>,
}

#[derive(Serialize)]
struct ServiceJson<'a> {
    name: &'a str,
    product: Option<&'a str>,
    version: Option<&'a str>,
    extrainfo: Option<&'a str>,
    hostname: Option<&'a str>,
    ostype: Option<&'a str>,
    devicetype: Option<&'a str>,
    tunnel: Option<&'a str>,
    cpe: &'a [String],
    method: &'static str,
    conf: u8,
}

#[derive(Serialize)]
struct ExtraJson {
    state: &'static str,
    count: u32,
    reasons: Vec<ReasonCount>,
}

#[derive(Serialize)]
struct ReasonCount {
    protocol: &'static str,
    reason: &'static str,
    count: u32,
}

#[derive(Serialize)]
struct StatsLine {
    #[serde(rename = "type")]
    kind: &'static str,
    end: u64,
    elapsed: f64,
    hosts_up: u64,
    hosts_down: u64,
    hosts_total: u64,
    interrupted: bool,
}

fn service_json(svc: &ServiceInfo) -> ServiceJson<'_> {
    ServiceJson {
        name: &svc.name,
        product: svc.product.as_deref(),
        version: svc.version.as_deref(),
        extrainfo: svc.extrainfo.as_deref(),
        hostname: svc.hostname.as_deref(),
        ostype: svc.ostype.as_deref(),
        devicetype: svc.devicetype.as_deref(),
        tunnel: svc.tunnel.as_deref(),
        cpe: &svc.cpe,
        method: svc.method.as_str(),
        conf: svc.conf,
    }
}

fn port_json(port: &PortResult) -> PortJson<'_> {
    PortJson {
        port: port.port,
        protocol: port.protocol.as_str(),
        state: port.state.as_str(),
        reason: port.reason.as_str(),
        reason_ttl: port.reason_ttl,
        service: port.service.as_deref().map(service_json),
    }
}

impl<W: Write> ResultSink for JsonSink<W> {
    fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        self.verbose = Some(run.verbose);
        self.os_printing = OsPrinting::of(run);
        self.line(&RunLine {
            kind: "run",
            scanner: NAME,
            version: VERSION,
            args: &run.args,
            start: unix_secs(run.start),
            scans: run
                .scans
                .iter()
                .map(|scan| ScanJson {
                    scan_type: scan.scan_type,
                    protocol: scan.protocol.as_str(),
                    num_services: scan.num_services,
                    services: &scan.services,
                })
                .collect(),
            port_scan: run.port_scan,
            version_scan: run.version_scan,
            os_scan: run.os_scan,
            verbose: run.verbose,
            debug: run.debug,
        })
    }

    fn host(&mut self, host: &HostResult) -> io::Result<()> {
        let verbose = self.verbose.ok_or_else(not_begun)?;
        if host.status == HostStatus::Down && verbose == 0 {
            return Ok(());
        }
        let line = HostLine {
            kind: "host",
            addr: host.addr.to_string(),
            hostname: host.hostname.as_deref(),
            status: host.status.as_str(),
            reason: host.reason.as_str(),
            latency_us: host
                .latency
                .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
            start: unix_secs(host.start),
            end: unix_secs(host.end),
            ports: PortsJson(&host.ports.shown),
            extraports: host
                .ports
                .extra
                .iter()
                .map(|g| ExtraJson {
                    state: g.state.as_str(),
                    count: g.count,
                    reasons: g
                        .reasons
                        .iter()
                        .map(|r| ReasonCount {
                            protocol: r.protocol.as_str(),
                            reason: r.reason.as_str(),
                            count: r.count,
                        })
                        .collect(),
                })
                .collect(),
            os: host.os.as_deref().map(|os| os_json(os, self.os_printing)),
            scripts: host.scripts.as_deref().map(super::scripts::ScriptsJson),
        };
        self.line(&line)
    }

    fn end(&mut self, stats: &RunStats) -> io::Result<()> {
        if self.verbose.is_none() {
            return Err(not_begun());
        }
        self.line(&StatsLine {
            kind: "stats",
            end: unix_secs(stats.end),
            elapsed: stats.elapsed.as_secs_f64(),
            hosts_up: stats.hosts_up,
            hosts_down: stats.hosts_down,
            hosts_total: stats.hosts_total(),
            interrupted: stats.interrupted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testdata::*;
    use super::*;
    use serde_json::Value;

    fn lines(run: &RunInfo, hosts: &[HostResult], stats: &RunStats) -> Vec<Value> {
        let mut sink = JsonSink::new(Vec::new());
        sink.begin(run).expect("begin");
        for h in hosts {
            sink.host(h).expect("host");
        }
        sink.end(stats).expect("end");
        let text = String::from_utf8(sink.into_inner()).expect("utf8");
        text.lines()
            .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
            .collect()
    }

    #[test]
    fn run_host_stats_lines() {
        let mut run = run_info();
        run.version_scan = true;
        let v = lines(&run, &[version_host(), down_host()], &stats(1, 1));
        assert_eq!(v.len(), 3, "down host is skipped without -v");
        assert_eq!(v[0]["type"], "run");
        assert_eq!(v[0]["scanner"], "prtip");
        assert_eq!(v[0]["scans"][0]["num_services"], 101);
        assert_eq!(v[0]["scans"][0]["type"], "connect");
        assert_eq!(v[1]["type"], "host");
        assert_eq!(v[1]["addr"], "127.0.0.1");
        assert_eq!(v[1]["hostname"], "localhost");
        assert_eq!(v[1]["latency_us"], 225);
        let ports = v[1]["ports"].as_array().expect("ports");
        assert_eq!(ports.len(), 3);
        assert_eq!(ports[1]["service"]["product"], "SimpleHTTPServer");
        assert_eq!(
            ports[1]["service"]["cpe"][0],
            "cpe:/a:python:simplehttpserver:0.6"
        );
        assert_eq!(ports[2]["state"], "closed");
        assert!(ports[2]["service"].is_null());
        assert_eq!(v[2]["type"], "stats");
        assert_eq!(v[2]["hosts_total"], 2);
        assert_eq!(v[2]["interrupted"], false);
    }

    #[test]
    fn extraports_and_hostile_strings_round_trip() {
        let v = lines(
            &run_info(),
            &[multi_reason_host(), hostile_host()],
            &stats(2, 0),
        );
        let extra = &v[1]["extraports"][0];
        assert_eq!(extra["state"], "filtered");
        assert_eq!(extra["count"], 42);
        assert_eq!(extra["reasons"][1]["reason"], "admin-prohibited");
        let product = v[2]["ports"][0]["service"]["product"]
            .as_str()
            .expect("product");
        assert_eq!(product, "<script>&\"'\x1b[31m");
    }

    #[test]
    fn scans_and_udp_ports() {
        let v = lines(&mixed_run_info(), &[mixed_host()], &stats(1, 0));
        let scans = v[0]["scans"].as_array().expect("scans");
        assert_eq!(scans.len(), 2);
        assert_eq!(scans[0]["type"], "syn");
        assert_eq!(scans[0]["protocol"], "tcp");
        assert_eq!(scans[1]["type"], "udp");
        assert_eq!(scans[1]["protocol"], "udp");
        assert_eq!(scans[1]["num_services"], 30);
        assert_eq!(scans[1]["services"], "1-30");
        let ports = v[1]["ports"].as_array().expect("ports");
        assert_eq!(ports[1]["protocol"], "udp");
        assert_eq!(ports[1]["state"], "open|filtered");
        assert_eq!(ports[2]["reason"], "udp-response");
        assert_eq!(ports[3]["state"], "closed|filtered");
        let extra = &v[1]["extraports"][0];
        assert_eq!(extra["count"], 66);
        assert_eq!(extra["reasons"][0]["protocol"], "tcp");
        assert_eq!(extra["reasons"][1]["protocol"], "udp");
        assert_eq!(extra["reasons"][1]["reason"], "port-unreach");
        assert_eq!(extra["reasons"][1]["count"], 27);
    }

    #[test]
    fn interrupted_and_verbose_down() {
        let mut run = run_info();
        run.verbose = 1;
        let mut st = stats(0, 1);
        st.interrupted = true;
        let v = lines(&run, &[down_host()], &st);
        assert_eq!(v[1]["status"], "down");
        assert!(v[1]["latency_us"].is_null());
        assert_eq!(v[2]["interrupted"], true);
    }
}
