//! What nmap's version scan itself concluded, read from its
//! `--version-trace` output. With `-sV` nmap also runs the NSE scripts of
//! the "version" category, which may rewrite a port's product afterwards
//! (snmp-info turns snmpd's "SNMPv1 server" into "SNMPv1 server; net-snmp
//! SNMPv3 server"); the trace keeps the match line's own values.

use std::collections::BTreeMap;

/// Product, version and extra information of a match line.
pub type MatchFields = [Option<String>; 3];

/// port -> fields of the last match nmap's trace reports for `addr`'s
/// port: "Service scan match (Probe P matched with P line N):
/// 127.0.0.1:161 is snmp.  Version: |product|version|info|". nmap writes
/// an IPv6 address bare, as `::1:161`, which reads the same way. Matches
/// without version fields are printed in another form and are not listed.
pub fn matches(trace: &str, addr: &str) -> BTreeMap<u16, MatchFields> {
    let marker = format!("): {addr}:");
    let mut found = BTreeMap::new();
    for line in trace
        .lines()
        .filter(|l| l.starts_with("Service scan match ("))
    {
        if let Some((port, fields)) = parse(line, &marker) {
            found.insert(port, fields);
        }
    }
    found
}

fn parse(line: &str, marker: &str) -> Option<(u16, MatchFields)> {
    let (_, rest) = line.split_once(marker)?;
    let (port, rest) = rest.split_once(' ')?;
    let port = port.parse().ok()?;
    let (_, fields) = rest.split_once("Version: |")?;
    let mut f = fields
        .split('|')
        .map(|v| Some(v.to_string()).filter(|v| !v.is_empty()));
    Some((port, [f.next()?, f.next()?, f.next()?]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields_of_match_lines_only() {
        let trace = "\
Service scan sending probe SNMPv1public to 127.0.0.1:161 (udp)
Service scan match (Probe SNMPv1public matched with SNMPv1public line 15075): 127.0.0.1:161 is snmp.  Version: |SNMPv1 server||public|
Service scan match (Probe DNSVersionBindReq matched with DNSVersionBindReq line 12485): 127.0.0.1:53 is domain.  Version: |dnsmasq|2.90||
Service scan hard match (Probe X matched with X line 1): 127.0.0.1:7 is echo
Service scan match (Probe Y matched with Y line 2): 127.0.0.2:9 is x.  Version: |p|||
";
        let m = matches(trace, "127.0.0.1");
        assert_eq!(m.len(), 2);
        assert_eq!(
            m[&161],
            [Some("SNMPv1 server".into()), None, Some("public".into())]
        );
        assert_eq!(m[&53], [Some("dnsmasq".into()), Some("2.90".into()), None]);
    }

    /// As nmap 7.93 prints a match for `-6 ... ::1`.
    #[test]
    fn reads_ipv6_match_lines() {
        let trace = "\
Service scan match (Probe DNSVersionBindReq matched with DNSVersionBindReq line 12485): ::1:53 is domain.  Version: |dnsmasq|2.90||
Service scan match (Probe Y matched with Y line 2): 2001:db8::1:9 is x.  Version: |p|||
";
        let m = matches(trace, "::1");
        assert_eq!(m.len(), 1);
        assert_eq!(m[&53], [Some("dnsmasq".into()), Some("2.90".into()), None]);
        let m = matches(trace, "2001:db8::1");
        assert_eq!(m[&9], [Some("p".into()), None, None]);
    }
}
