//! The one reader of nmap-format XML (files written by nmap and by prtip): a
//! tiny, purpose-built extraction of elements and attributes, no DTD, no
//! entities. Plus nmap's own XML tools: `xmllint` against nmap's DTD and
//! `ndiff`.
//!
//! A host's address is its `ipv4` or `ipv6` `<address>` (never the `mac`
//! one), written in the canonical form of Rust's `IpAddr` (RFC 5952 for
//! IPv6), so the reports of two scanners compare by address whatever
//! spelling each chose.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;

use crate::process::{describe, run};

/// nmap's DTD, used to validate XML.
pub const NMAP_DTD: &str = "/usr/share/nmap/nmap.dtd";

/// Value of attribute `name` in the first tag of `s`.
pub fn attr(s: &str, name: &str) -> Option<String> {
    let end = s.find('>').unwrap_or(s.len());
    let tag = &s[..end];
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let len = tag[start..].find('"')?;
    Some(tag[start..start + len].to_string())
}

/// Every `<tag ...>...</tag>` (or `<tag .../>` up to the next one) of an
/// XML document, from its `<` to before its closing tag.
pub fn elements<'a>(xml: &'a str, tag: &str) -> impl Iterator<Item = &'a str> {
    let open = format!("<{tag} ");
    let close = format!("</{tag}>");
    let mut rest = xml;
    std::iter::from_fn(move || {
        let i = rest.find(&open)?;
        let element = &rest[i..];
        // Past the opening bracket, so an element never finds itself again.
        let end = element[1..]
            .find(&close)
            .or_else(|| element[1..].find(&open))
            .map_or(element.len(), |e| e + 1);
        rest = &element[end..];
        Some(&element[..end])
    })
}

/// The body of every `<host>` (with or without attributes), up to its
/// `</host>`; `<hostnames>`, `<hosthint>` and runstats' `<hosts/>` are not hosts.
fn host_bodies(xml: &str) -> impl Iterator<Item = &str> {
    let mut rest = xml;
    std::iter::from_fn(move || loop {
        let i = rest.find("<host")?;
        let after = &rest[i + 5..];
        if !(after.starts_with(' ') || after.starts_with('>')) {
            rest = after;
            continue;
        }
        let end = after.find("</host>").unwrap_or(after.len());
        rest = &after[end..];
        return Some(&after[..end]);
    })
}

/// Attribute `name` of the first `<tag ` in `body`.
fn first_attr(body: &str, tag: &str, name: &str) -> Option<String> {
    let open = format!("<{tag} ");
    body.find(&open).and_then(|j| attr(&body[j..], name))
}

/// An address in canonical form when it is an IP address (`2001:0db8::0001`
/// becomes `2001:db8::1`), unchanged otherwise.
pub fn canonical_addr(addr: &str) -> String {
    addr.parse::<IpAddr>()
        .map_or_else(|_| addr.to_string(), |ip| ip.to_string())
}

/// `(addr, addrtype)` of a host body's IP address: its first `<address>`
/// of type `ipv4` or `ipv6` (nmap adds a `mac` one on a local link), else
/// its first `<address>` at all; the address in canonical form.
fn host_address(body: &str) -> (String, String) {
    let all = || elements(body, "address");
    let is_ip = |e: &&str| matches!(attr(e, "addrtype").as_deref(), Some("ipv4" | "ipv6"));
    let chosen = all().find(is_ip).or_else(|| all().next());
    let get = |name| chosen.and_then(|e| attr(e, name)).unwrap_or_default();
    (canonical_addr(&get("addr")), get("addrtype"))
}

/// One `<host>` of an nmap-format XML file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Host {
    /// The IP address, canonical (see [`canonical_addr`]).
    pub addr: String,
    /// `ipv4` or `ipv6` (as nmap writes it).
    pub addrtype: String,
    pub status: String,
    pub status_reason: String,
    /// port -> state
    pub ports: BTreeMap<u16, String>,
    /// port -> reason
    pub reasons: BTreeMap<u16, String>,
}

/// The hosts of an nmap-format XML document, with their listed ports.
pub fn hosts(xml: &str) -> Vec<Host> {
    host_bodies(xml)
        .map(|body| {
            let (addr, addrtype) = host_address(body);
            let mut h = Host {
                addr,
                addrtype,
                status: first_attr(body, "status", "state").unwrap_or_default(),
                status_reason: first_attr(body, "status", "reason").unwrap_or_default(),
                ..Host::default()
            };
            for p in elements(body, "port") {
                let id: u16 = attr(p, "portid")
                    .and_then(|v| v.parse().ok())
                    .expect("portid attribute");
                if let Some(st) = elements(p, "state").next() {
                    h.ports.insert(id, attr(st, "state").unwrap_or_default());
                    h.reasons.insert(id, attr(st, "reason").unwrap_or_default());
                }
            }
            h
        })
        .collect()
}

/// Read and parse an XML file, panicking with its path on error.
pub fn file_hosts(path: &Path) -> (String, Vec<Host>) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let hosts = hosts(&text);
    (text, hosts)
}

/// The only host of an XML file, asserted to be `addr` (in any spelling)
/// and up.
pub fn only_host_up(path: &Path, addr: &str) -> (String, Host) {
    let (text, mut hosts) = file_hosts(path);
    assert_eq!(hosts.len(), 1, "one host expected in:\n{text}");
    let h = hosts.remove(0);
    assert_eq!(h.addr, canonical_addr(addr), "{text}");
    assert_eq!(h.status, "up", "{text}");
    (text, h)
}

/// `<hosts up=".." down=".." total=".."/>` of runstats.
pub fn runstats_hosts(xml: &str) -> Option<(u64, u64, u64)> {
    let t = elements(xml, "hosts").next()?;
    let n = |k| attr(t, k).and_then(|v| v.parse().ok());
    Some((n("up")?, n("down")?, n("total")?))
}

/// Per host address (canonical): state -> number of ports, counting both
/// the listed `<port>` elements and the collapsed `<extraports count="..">`.
/// Hosts without ports map to an empty table.
pub fn state_counts(xml: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
    host_bodies(xml)
        .map(|body| {
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            // `<state>` of a `<port>`, not the host's `<status>`.
            for s in elements(body, "state").filter_map(|st| attr(st, "state")) {
                *counts.entry(s).or_default() += 1;
            }
            for e in elements(body, "extraports") {
                let state = attr(e, "state").unwrap_or_default();
                let n: u64 = attr(e, "count").and_then(|c| c.parse().ok()).unwrap_or(0);
                *counts.entry(state).or_default() += n;
            }
            (host_address(body).0, counts)
        })
        .collect()
}

/// Per host address (canonical; hosts reported up only): the listed open
/// ports.
pub fn open_ports(xml: &str) -> BTreeMap<String, BTreeSet<u16>> {
    hosts(xml)
        .into_iter()
        .filter(|h| h.status == "up")
        .map(|h| {
            let open = h
                .ports
                .iter()
                .filter(|(_, s)| s.as_str() == "open")
                .map(|(p, _)| *p)
                .collect();
            (h.addr, open)
        })
        .collect()
}

/// The `<service>` of one `<port>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub tunnel: Option<String>,
    pub product: Option<String>,
    pub version: Option<String>,
    pub extrainfo: Option<String>,
    pub hostname: Option<String>,
    pub method: Option<String>,
}

/// port -> (state, service) of every `<port>` of an XML document.
pub fn port_services(xml: &str) -> BTreeMap<u16, (String, Option<Service>)> {
    elements(xml, "port")
        .map(|body| {
            let port: u16 = attr(body, "portid")
                .and_then(|v| v.parse().ok())
                .expect("portid attribute");
            let state = elements(body, "state")
                .next()
                .and_then(|e| attr(e, "state"))
                .unwrap_or_default();
            let service = elements(body, "service").next().map(|s| Service {
                name: attr(s, "name").unwrap_or_default(),
                tunnel: attr(s, "tunnel"),
                product: attr(s, "product"),
                version: attr(s, "version"),
                extrainfo: attr(s, "extrainfo"),
                hostname: attr(s, "hostname"),
                method: attr(s, "method"),
            });
            (port, (state, service))
        })
        .collect()
}

/// `xmllint --noout [--dtdvalid nmap.dtd] file`; panics with the file on failure.
pub fn xmllint(path: &Path, dtd: bool) {
    let mut cmd = Command::new("xmllint");
    cmd.arg("--noout");
    if dtd {
        cmd.args(["--dtdvalid", NMAP_DTD]);
    }
    let out = run(cmd.arg(path));
    assert!(
        out.status.success(),
        "xmllint (dtd: {dtd}) rejects {}:\n{}\n--- file ---\n{}",
        path.display(),
        describe(&out),
        std::fs::read_to_string(path).unwrap_or_default()
    );
}

/// `ndiff a b`: asserts exit 0 (hosts and ports agree; 1 means they differ,
/// 2 a parse error) and no line about a port or an extraports group: only
/// the banner lines (scanner, version, arguments) may differ.
pub fn ndiff_no_port_differences(a: &Path, b: &Path) {
    let out = run(Command::new("ndiff").arg(a).arg(b));
    let text = String::from_utf8_lossy(&out.stdout);
    let port_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("/tcp") || l.contains("/udp") || l.contains("Not shown"))
        .collect();
    assert!(
        out.status.code() == Some(0) && port_lines.is_empty(),
        "ndiff {} {} reports differences {port_lines:?}\n{}",
        a.display(),
        b.display(),
        describe(&out)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<nmaprun><host starttime="1"><status state="up" reason="user-set"/>
<address addr="127.0.0.1" addrtype="ipv4"/><hostnames><hostname name="localhost"/></hostnames>
<ports><extraports state="closed" count="3"><extrareasons reason="reset" count="3"/></extraports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/><service name="ssh" product="OpenSSH" method="probed"/></port>
<port protocol="tcp" portid="23"><state state="closed" reason="reset"/></port>
</ports></host>
<host><status state="down" reason="no-response"/><address addr="127.0.0.2" addrtype="ipv4"/></host>
<runstats><finished time="2"/><hosts up="1" down="1" total="2"/></runstats></nmaprun>"#;

    #[test]
    fn reads_hosts_ports_counts_services_and_runstats() {
        let h = hosts(DOC);
        assert_eq!(h.len(), 2);
        assert_eq!(
            (h[0].addr.as_str(), h[0].status.as_str()),
            ("127.0.0.1", "up")
        );
        assert_eq!(h[0].status_reason, "user-set");
        assert_eq!(h[0].addrtype, "ipv4");
        assert_eq!(h[0].ports.get(&22).map(String::as_str), Some("open"));
        assert_eq!(h[0].reasons.get(&23).map(String::as_str), Some("reset"));
        assert_eq!(
            (h[1].addr.as_str(), h[1].status.as_str()),
            ("127.0.0.2", "down")
        );
        let counts = state_counts(DOC);
        assert_eq!(counts["127.0.0.1"]["closed"], 4);
        assert_eq!(counts["127.0.0.1"]["open"], 1);
        assert!(counts["127.0.0.2"].is_empty());
        assert_eq!(runstats_hosts(DOC), Some((1, 1, 2)));
        let open = open_ports(DOC);
        assert_eq!(open.len(), 1);
        assert_eq!(open["127.0.0.1"], BTreeSet::from([22]));
        let svc = port_services(DOC);
        let ssh = svc[&22].1.as_ref().expect("service");
        assert_eq!(ssh.product.as_deref(), Some("OpenSSH"));
        assert_eq!(svc[&23], ("closed".to_string(), None));
    }

    /// An IPv6 host as nmap writes one on a local link (the MAC after the
    /// address; here also before it) and spelled out in full: the address
    /// read is the IPv6 one, canonical.
    const DOC6: &str = r#"<nmaprun><host><status state="up" reason="user-set"/>
<address addr="02:00:00:00:00:02" addrtype="mac"/>
<address addr="2001:0db8:0004:0000:0000:0000:0000:0001" addrtype="ipv6"/>
<ports><extraports state="closed" count="2"><extrareasons reason="conn-refused" count="2"/></extraports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/></port>
</ports></host>
<host><status state="up" reason="user-set"/><address addr="2001:db8::2" addrtype="ipv6"/>
<address addr="02:00:00:00:00:03" addrtype="mac"/></host>
<runstats><finished time="2"/><hosts up="2" down="0" total="2"/></runstats></nmaprun>"#;

    #[test]
    fn reads_ipv6_hosts_by_their_canonical_address() {
        let h = hosts(DOC6);
        assert_eq!(h.len(), 2);
        assert_eq!(
            (h[0].addr.as_str(), h[0].addrtype.as_str()),
            ("2001:db8:4::1", "ipv6")
        );
        assert_eq!(h[1].addr, "2001:db8::2");
        assert_eq!(open_ports(DOC6)["2001:db8:4::1"], BTreeSet::from([22]));
        assert_eq!(state_counts(DOC6)["2001:db8:4::1"]["closed"], 2);
        assert_eq!(canonical_addr("2001:DB8:0::0:1"), "2001:db8::1");
        assert_eq!(canonical_addr("198.18.4.1"), "198.18.4.1");
        assert_eq!(canonical_addr("not-an-ip"), "not-an-ip");
    }
}
