//! What version detection concluded for a port, and how nmap reports it.

use prtip_core::result::{ServiceInfo, ServiceMethod};
use prtip_core::service_db::Match;

/// The outcome for one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// A `match` line identified the service.
    Hard(Match<'a>),
    /// Only a `softmatch`: the service is known, the version is not.
    Soft(Match<'a>),
    /// The service closed every connection at once without a word
    /// (typically TCP wrappers refusing us). nmap reaches the same verdict
    /// for a UDP port whose every probe drew an ICMP refusal, or that had no
    /// probe to send at all (`--version-intensity 0` on an unlisted port).
    TcpWrapped,
    /// Nothing matched; the port keeps its name from the services table.
    /// `responded` says whether any probe got data back.
    Unrecognized {
        /// Some probe received data (nmap would print a fingerprint).
        responded: bool,
    },
    /// The port is listed in the database's `Exclude` directive.
    Excluded,
}

/// A verdict and whether it was reached through TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortVerdict<'a> {
    /// The verdict.
    pub verdict: Verdict<'a>,
    /// Found by talking through SSL/TLS (nmap's `ssl/` prefix).
    pub ssl: bool,
}

/// nmap's field limits (bytes) when it stores a match.
const FIELD_LIMIT: usize = 80;
const EXTRAINFO_LIMIT: usize = 256;

/// Truncated and with non-printable bytes replaced by `.`, as nmap stores it.
fn sanitize(s: Option<&String>, limit: usize) -> Option<String> {
    let s = s?;
    let mut out = String::with_capacity(s.len().min(limit));
    for c in s.chars() {
        if out.len() + c.len_utf8() > limit {
            break;
        }
        out.push(if c == ' ' || c.is_ascii_graphic() {
            c
        } else {
            '.'
        });
    }
    Some(out).filter(|o| !o.is_empty())
}

/// One CPE per part (application, hardware, OS), the last of each as nmap
/// keeps them, in that order.
fn cpe_by_part(cpes: &[String]) -> Vec<String> {
    let part = |c: &String| c.as_bytes().get(5).copied();
    [b'a', b'h', b'o']
        .iter()
        .filter_map(|&want| cpes.iter().rev().find(|c| part(c) == Some(want)).cloned())
        .collect()
}

impl PortVerdict<'_> {
    /// Whether any probe nmap would have sent got data back: for UDP, what
    /// turns an open|filtered port open (reason `udp-response`).
    pub fn answered(&self) -> bool {
        match self.verdict {
            Verdict::Hard(_) | Verdict::Soft(_) => true,
            Verdict::Unrecognized { responded } => responded,
            Verdict::TcpWrapped | Verdict::Excluded => false,
        }
    }

    /// The service as the outputs report it. `table_name` is the port's name
    /// in nmap-services, used when nothing was identified.
    pub fn service_info(&self, table_name: Option<&str>) -> Option<ServiceInfo> {
        let tunnel = self.ssl.then(|| "ssl".to_string());
        let from_match = |m: &Match<'_>| {
            let (name, ssl) = match m.service.strip_prefix("ssl/") {
                Some(inner) => (inner, true),
                None => (m.service, self.ssl),
            };
            ServiceInfo {
                name: name.to_string(),
                product: sanitize(m.product.as_ref(), FIELD_LIMIT),
                version: sanitize(m.version.as_ref(), FIELD_LIMIT),
                extrainfo: sanitize(m.info.as_ref(), EXTRAINFO_LIMIT),
                hostname: sanitize(m.hostname.as_ref(), FIELD_LIMIT),
                ostype: sanitize(m.ostype.as_ref(), FIELD_LIMIT),
                devicetype: sanitize(m.devicetype.as_ref(), FIELD_LIMIT),
                tunnel: ssl.then(|| "ssl".to_string()),
                cpe: cpe_by_part(&m.cpe),
                method: ServiceMethod::Probed,
                conf: 10,
            }
        };
        match &self.verdict {
            Verdict::Hard(m) | Verdict::Soft(m) => Some(from_match(m)),
            Verdict::TcpWrapped => Some(ServiceInfo {
                method: ServiceMethod::Probed,
                conf: 8,
                tunnel,
                ..ServiceInfo::from_table("tcpwrapped")
            }),
            Verdict::Unrecognized { .. } | Verdict::Excluded => {
                // Through TLS an unnamed port is still worth its "ssl/" prefix.
                let name = table_name.or(self.ssl.then_some("unknown"))?;
                let mut info = ServiceInfo::from_table(name);
                info.tunnel = tunnel;
                Some(info)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(service: &'static str) -> Match<'static> {
        Match {
            service,
            soft: false,
            product: Some("Acme\u{1}httpd\r\n".into()),
            version: Some("x".repeat(100)),
            info: None,
            hostname: None,
            ostype: Some("Linux".into()),
            devicetype: None,
            cpe: vec![
                "cpe:/o:linux:linux_kernel".into(),
                "cpe:/a:acme:httpd:1".into(),
                "cpe:/a:acme:httpd:2".into(),
            ],
            probe: "GetRequest",
            line: 1,
        }
    }

    #[test]
    fn fields_are_cleaned_and_cpes_kept_one_per_part() {
        let v = PortVerdict {
            verdict: Verdict::Hard(m("http")),
            ssl: false,
        };
        let s = v.service_info(Some("http")).unwrap();
        assert_eq!(s.product.as_deref(), Some("Acme.httpd.."));
        assert_eq!(s.version.as_ref().map(String::len), Some(80));
        assert_eq!(s.cpe, ["cpe:/a:acme:httpd:2", "cpe:/o:linux:linux_kernel"]);
        assert_eq!(
            (s.method, s.conf, s.tunnel),
            (ServiceMethod::Probed, 10, None)
        );
    }

    #[test]
    fn ssl_prefix_and_tls_pass_set_the_tunnel() {
        let direct = PortVerdict {
            verdict: Verdict::Hard(m("ssl/ldap")),
            ssl: false,
        };
        let s = direct.service_info(None).unwrap();
        assert_eq!(
            (s.name.as_str(), s.tunnel.as_deref()),
            ("ldap", Some("ssl"))
        );
        let none = PortVerdict {
            verdict: Verdict::Unrecognized { responded: true },
            ssl: true,
        };
        let s = none.service_info(Some("https")).unwrap();
        assert_eq!((s.name.as_str(), s.conf), ("https", 3));
        assert_eq!(s.tunnel.as_deref(), Some("ssl"));
        let wrapped = PortVerdict {
            verdict: Verdict::TcpWrapped,
            ssl: false,
        };
        assert_eq!(wrapped.service_info(None).unwrap().conf, 8);
        let unnamed = none.service_info(None).unwrap();
        assert_eq!(
            (unnamed.name.as_str(), unnamed.tunnel.as_deref()),
            ("unknown", Some("ssl"))
        );
        let plain = PortVerdict {
            verdict: Verdict::Unrecognized { responded: false },
            ssl: false,
        };
        assert_eq!(plain.service_info(None), None);
    }
}
