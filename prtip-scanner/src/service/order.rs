//! Which probes a port gets, and in what order: nmap's sequence.
//!
//! 1. The NULL probe (send nothing, wait for a banner), TCP only: a UDP
//!    service never speaks first.
//! 2. Probes of the port's protocol that list the port in `ports` (or
//!    `sslports` over TLS), in file order, whatever their rarity: a DNS
//!    probe always reaches port 53.
//! 3. Every other probe of that protocol whose rarity is within the
//!    intensity, in file order.
//!
//! The answer is the first probe in this order that matches, so running
//! probes concurrently changes when the answer is known, never what it is.

use prtip_core::result::Protocol;
use prtip_core::service_db::{Probe, ServiceDb};

/// Rarity assumed for a probe without a `rarity` line.
pub(crate) const DEFAULT_RARITY: u8 = 5;

/// A probe in a port's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// Index into [`ServiceDb::probes`].
    pub(crate) probe: u16,
    /// The probe lists this port (`ports`, or `sslports` over TLS).
    pub(crate) listed: bool,
}

/// Every probe of `protocol` in the order nmap considers them for `port`;
/// whether each is actually sent is [`eligible`]'s call, which depends on
/// what earlier probes found.
pub(crate) fn probe_order(
    db: &ServiceDb<'_>,
    protocol: Protocol,
    port: u16,
    tls: bool,
) -> Vec<Candidate> {
    let usable = |p: &Probe<'_>| p.protocol == protocol && !p.no_payload;
    let indexed = || {
        db.probes()
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((u16::try_from(i).ok()?, p)))
            .filter(|(_, p)| usable(p))
    };
    let listed = |p: &Probe<'_>| {
        let list = if tls { &p.sslports } else { &p.ports };
        list.as_ref().is_some_and(|l| l.contains(port))
    };
    let mut order = Vec::new();
    if let Some((i, _)) = indexed().find(|(_, p)| is_null(p)) {
        order.push(Candidate {
            probe: i,
            listed: true,
        });
    }
    for want_listed in [true, false] {
        for (i, p) in indexed() {
            if !is_null(p) && listed(p) == want_listed {
                order.push(Candidate {
                    probe: i,
                    listed: want_listed,
                });
            }
        }
    }
    order
}

/// nmap's rule for sending a candidate: listed probes always, others if
/// rare enough; after a softmatch, only probes that can name that service
/// (and then rarity no longer matters). Intensity 9 disables the narrowing.
pub(crate) fn eligible(
    db: &ServiceDb<'_>,
    c: Candidate,
    softmatched: Option<&str>,
    intensity: u8,
) -> bool {
    let Some(probe) = db.probes().get(usize::from(c.probe)) else {
        return false;
    };
    if is_null(probe) {
        return true;
    }
    match softmatched {
        Some(svc) => intensity >= 9 || can_confirm(probe, db, svc),
        None => c.listed || probe.rarity.unwrap_or(DEFAULT_RARITY) <= intensity,
    }
}

/// The TCP NULL probe: nothing to send, always first. (nmap's file has no
/// UDP probe of that name; one would be an ordinary probe.)
pub(crate) fn is_null(probe: &Probe<'_>) -> bool {
    probe.protocol == Protocol::Tcp && probe.name == "NULL"
}

/// Whether `probe` has a `match` or `softmatch` line for `service` (nmap
/// looks at the probe's own lines only, not its fallbacks').
pub(crate) fn can_confirm(probe: &Probe<'_>, db: &ServiceDb<'_>, service: &str) -> bool {
    db.probe_rules(probe).any(|r| r.service == service)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DB: &str = "\
Probe TCP NULL q||
totalwaitms 6000
match ftp m|^220 ftpd (\\d+)\\r\\n| p/ftpd/ v/$1/
softmatch ftp m|^220 |
Probe TCP Rare q|RARE\\r\\n|
rarity 9
match rare m|^rare|
Probe TCP GetRequest q|GET / HTTP/1.0\\r\\n\\r\\n|
rarity 1
ports 80,8080
sslports 443
match http m|^HTTP/1\\.[01] \\d\\d\\d| p/web/
Probe TCP Help q|HELP\\r\\n|
rarity 3
ports 21
match ftp m|^214 | p/helpful ftpd/
Probe UDP DNS q|\\0\\0|
rarity 1
ports 53
Probe UDP Snmp q|\\x30|
rarity 4
ports 161
Probe UDP Chatty q|hello|
rarity 8
";

    /// Names of the probes sent, assuming no softmatch.
    fn sent(db: &ServiceDb<'_>, port: u16, tls: bool, intensity: u8) -> Vec<String> {
        probe_order(db, Protocol::Tcp, port, tls)
            .into_iter()
            .filter(|&c| eligible(db, c, None, intensity))
            .map(|c| db.probes()[usize::from(c.probe)].name.to_string())
            .collect()
    }

    #[test]
    fn null_first_then_listed_then_by_rarity() {
        let db = ServiceDb::parse(DB, "t");
        assert!(db.warnings().is_empty(), "{:?}", db.warnings());
        assert_eq!(sent(&db, 21, false, 7), ["NULL", "Help", "GetRequest"]);
        assert_eq!(sent(&db, 80, false, 7), ["NULL", "GetRequest", "Help"]);
    }

    #[test]
    fn listed_probes_ignore_intensity_and_tls_uses_sslports() {
        let db = ServiceDb::parse(DB, "t");
        assert_eq!(sent(&db, 80, false, 0), ["NULL", "GetRequest"]);
        assert_eq!(sent(&db, 443, false, 0), ["NULL"]);
        assert_eq!(sent(&db, 443, true, 0), ["NULL", "GetRequest"]);
        assert_eq!(
            sent(&db, 9999, false, 9),
            ["NULL", "Rare", "GetRequest", "Help"]
        );
    }

    #[test]
    fn softmatch_narrows_to_probes_naming_the_service_and_lifts_rarity() {
        let db = ServiceDb::parse(DB, "t");
        let after_soft = |svc: &str, intensity: u8| -> Vec<String> {
            probe_order(&db, Protocol::Tcp, 9999, false)
                .into_iter()
                .filter(|&c| eligible(&db, c, Some(svc), intensity))
                .map(|c| db.probes()[usize::from(c.probe)].name.to_string())
                .collect()
        };
        assert_eq!(after_soft("ftp", 7), ["NULL", "Help"]);
        assert_eq!(after_soft("rare", 0), ["NULL", "Rare"]);
        assert_eq!(after_soft("ftp", 9), ["NULL", "Rare", "GetRequest", "Help"]);
    }

    fn sent_udp(db: &ServiceDb<'_>, port: u16, intensity: u8) -> Vec<String> {
        probe_order(db, Protocol::Udp, port, false)
            .into_iter()
            .filter(|&c| eligible(db, c, None, intensity))
            .map(|c| db.probes()[usize::from(c.probe)].name.to_string())
            .collect()
    }

    #[test]
    fn udp_has_no_null_probe_and_lists_the_port_first() {
        let db = ServiceDb::parse(DB, "t");
        assert_eq!(sent_udp(&db, 161, 7), ["Snmp", "DNS"]);
        assert_eq!(sent_udp(&db, 53, 7), ["DNS", "Snmp"]);
        assert_eq!(sent_udp(&db, 53, 0), ["DNS"]);
        assert!(sent_udp(&db, 9999, 0).is_empty());
        assert_eq!(sent_udp(&db, 9999, 9), ["DNS", "Snmp", "Chatty"]);
    }

    /// The UDP probes nmap 7.93 sent, in this order, to ports no probe lists
    /// and to 53 and 161 (`nmap -sU -sV --version-trace` against silent
    /// services on 127.0.0.1), checked against its own file.
    #[test]
    fn udp_order_equals_nmaps_with_its_file() {
        let Some(text) =
            prtip_testkit::prereq::require_text(prtip_testkit::nmapdata::SERVICE_PROBES)
        else {
            return;
        };
        let db = ServiceDb::parse(&text, "nmap-service-probes");
        let by_rarity = [
            "RPCCheck",
            "DNSVersionBindReq",
            "DNSStatusRequest",
            "NBTStat",
            "Help",
            "SIPOptions",
            "Sqlping",
            "NTPRequest",
            "SNMPv1public",
            "SNMPv3GetRequest",
            "xdmcp",
            "AFSVersionRequest",
            "DNS-SD",
            "Citrix",
            "Kerberos",
            "sybaseanywhere",
            "NetMotionMobility",
            "DTLSSessionReq",
            "QUIC",
        ];
        assert_eq!(sent_udp(&db, 20002, 7), by_rarity);
        let listed_first = |first: &[&str]| -> Vec<String> {
            let rest = by_rarity.iter().filter(|p| !first.contains(p));
            first.iter().chain(rest).map(|p| p.to_string()).collect()
        };
        assert_eq!(
            sent_udp(&db, 53, 7),
            listed_first(&["DNSVersionBindReq", "DNSStatusRequest"])
        );
        assert_eq!(
            sent_udp(&db, 161, 7),
            listed_first(&["SNMPv1public", "SNMPv3GetRequest"])
        );
    }
}
