//! The ports of a run and their names, read from nmap-services (memory-
//! mapped) or prtip's built-in tables, and the UDP payloads of `-sU`: the
//! data files a scan needs before it starts, as settings resolve them.
//! Every problem is one line for the user (exit status 2).

use crate::cli::UsageError;
use prtip_core::payloads::PayloadDb;
use prtip_core::ports::{PortList, PortSpec, Protocols};
use prtip_core::result::Protocol;
use prtip_core::services::{self, Loaded, ServiceNames, ServiceWarning};
use prtip_scanner::sys::MappedFile;
use std::path::Path;

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError(msg.into())
}

/// How the ports to scan are chosen; resolved against nmap-services by [`load_port_db`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortChoice {
    /// `-p` as typed (may name services, which need nmap-services).
    Spec(String),
    /// The n most frequent ports of each protocol scanned (`--top-ports n`,
    /// `-F` = 100, default 1000).
    Top(usize),
    /// `-sn`: no port scan.
    NoPorts,
}

/// The ports a run asks for, before nmap-services resolves them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRequest {
    pub choice: PortChoice,
    /// `--exclude-ports` as typed.
    pub exclude: Option<String>,
    /// The port scans requested: which protocols get ports.
    pub protocols: Protocols,
}

/// Where the port list and service names came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortSource {
    Explicit,
    NmapServices,
    BuiltIn,
}

/// Ports to scan and the names to print for them, read in one pass.
#[derive(Debug, Clone)]
pub struct PortDb {
    /// TCP ports of every host (empty without a TCP scan).
    pub tcp: PortList,
    /// UDP ports of every host (empty without `-sU`).
    pub udp: PortList,
    /// Names of the ports of both lists.
    pub names: ServiceNames,
    pub source: PortSource,
    /// Skipped lines of nmap-services (`file:line: reason`), and ports or
    /// scans left out, each one line for the user.
    pub warnings: Vec<String>,
}

/// Warnings for the user; each pass over nmap-services finds the same
/// malformed lines, so only the first pass's are kept.
#[derive(Debug, Default)]
struct Warnings {
    lines: Vec<String>,
    file_read: bool,
}

impl Warnings {
    fn file(&mut self, found: &[ServiceWarning]) {
        if !self.file_read {
            self.file_read = true;
            self.lines.extend(found.iter().map(ToString::to_string));
        }
    }

    fn note(&mut self, line: &str) {
        self.lines.push(line.to_owned());
    }
}

/// nmap-services as text, with the name its warnings carry.
type ServicesText<'a> = Option<(&'a str, &'a str)>;

/// Read nmap-services once (memory-mapped, so its text never enters the heap)
/// and derive the port lists of the scans requested and their names.
pub fn load_port_db(req: &PortRequest, services_file: Option<&Path>) -> Result<PortDb, UsageError> {
    let mapped = services_file.map(map_data_file).transpose()?;
    let text = match (&mapped, services_file) {
        (Some(m), Some(p)) => Some((mapped_text(m, p)?, p.display().to_string())),
        _ => None,
    };
    let services = text.as_ref().map(|(t, name)| (*t, name.as_str()));
    let mut warnings = Warnings::default();
    let excluded = match &req.exclude {
        // nmap applies --exclude-ports to every protocol, scanned or not.
        Some(spec) => PortSpec::parse_for(spec, services.map(|(t, _)| t), Protocols::BOTH)
            .map_err(|e| usage(format!("--exclude-ports: {e}")))?,
        None => PortSpec::default(),
    };
    let (tcp, udp, source) = chosen_ports(req, services, &excluded, &mut warnings)?;
    if req.choice != PortChoice::NoPorts {
        if req.protocols.tcp && tcp.is_empty() {
            warnings.note("no TCP ports are left to scan, so the TCP scan is skipped");
        }
        if req.protocols.udp && udp.is_empty() {
            warnings.note("no UDP ports are left to scan, so the UDP scan is skipped");
        }
    }
    let wanted = [(Protocol::Tcp, &tcp), (Protocol::Udp, &udp)];
    let names = match services {
        Some((t, name)) => {
            let loaded = ServiceNames::load_all(t, name, &wanted);
            warnings.file(&loaded.warnings);
            loaded.value
        }
        None => ServiceNames::builtin_all(&wanted),
    };
    Ok(PortDb {
        tcp,
        udp,
        names,
        source,
        warnings: warnings.lines,
    })
}

/// The TCP and UDP lists `req` selects, without the excluded ports.
fn chosen_ports(
    req: &PortRequest,
    services: ServicesText<'_>,
    excluded: &PortSpec,
    warnings: &mut Warnings,
) -> Result<(PortList, PortList, PortSource), UsageError> {
    let scanned = req.protocols;
    Ok(match &req.choice {
        PortChoice::NoPorts => (PortList::new(), PortList::new(), PortSource::Explicit),
        PortChoice::Spec(spec) => {
            let parsed = PortSpec::parse_for(spec, services.map(|(t, _)| t), scanned)
                .map_err(|e| usage(e.to_string()))?;
            // nmap warns about a protocol's ports when that scan was not asked for, and scans the rest.
            if !scanned.tcp && !parsed.tcp.is_empty() {
                warnings.note("-p lists TCP ports (T:) but no TCP scan (-sS or -sT) was requested; they are ignored");
            }
            if !scanned.udp && !parsed.udp.is_empty() {
                warnings.note(
                    "-p lists UDP ports (U:) but no UDP scan (-sU) was requested; they are ignored",
                );
            }
            let keep = |on: bool, list: PortList, except: &PortList| {
                if on {
                    list.difference(except)
                } else {
                    PortList::new()
                }
            };
            (
                keep(scanned.tcp, parsed.tcp, &excluded.tcp),
                keep(scanned.udp, parsed.udp, &excluded.udp),
                PortSource::Explicit,
            )
        }
        PortChoice::Top(n) => {
            let mut pick = |on: bool, proto: Protocol, except: &PortList| {
                if on {
                    top_ports(services, proto, *n, except, warnings)
                } else {
                    Ok(PortList::new())
                }
            };
            let tcp = pick(scanned.tcp, Protocol::Tcp, &excluded.tcp)?;
            let udp = pick(scanned.udp, Protocol::Udp, &excluded.udp)?;
            let source = match services {
                Some(_) => PortSource::NmapServices,
                None => PortSource::BuiltIn,
            };
            (tcp, udp, source)
        }
    })
}

/// The `n` most frequent ports of `proto` that are not in `except`: nmap
/// leaves excluded ports out before choosing, so `n` ports are still scanned.
fn top_ports(
    services: ServicesText<'_>,
    proto: Protocol,
    n: usize,
    except: &PortList,
    warnings: &mut Warnings,
) -> Result<PortList, UsageError> {
    let Some((text, name)) = services else {
        return Ok(services::builtin_top_ports(proto, n, except));
    };
    let loaded = if except.is_empty() {
        services::top_ports(text, name, proto, n)
    } else {
        let allowed = PortList::from_ranges([(0, u16::MAX)]).difference(except);
        services::top_ports_within(text, name, proto, n, &allowed)
    }
    .map_err(|e| usage(e.to_string()))?;
    warnings.file(&loaded.warnings);
    Ok(loaded.value)
}

fn map_data_file(path: &Path) -> Result<MappedFile, UsageError> {
    MappedFile::open(path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))
}

fn mapped_text<'m>(mapped: &'m MappedFile, path: &Path) -> Result<&'m str, UsageError> {
    mapped
        .text()
        .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))
}

/// The UDP payloads of `-sU`: nmap-payloads when one was found (read like
/// nmap-services, its skipped lines in `warnings`), else prtip's own.
pub fn load_payloads(payloads_file: Option<&Path>) -> Result<Loaded<PayloadDb>, UsageError> {
    let Some(path) = payloads_file else {
        return Ok(Loaded {
            value: PayloadDb::builtin(),
            warnings: Vec::new(),
        });
    };
    let mapped = map_data_file(path)?;
    let text = mapped_text(&mapped, path)?;
    Ok(PayloadDb::parse(text, &path.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse;
    use crate::settings::Settings;
    use std::ffi::OsString;
    use std::path::PathBuf;

    /// nmap's file when installed, so names and frequencies are the real ones.
    const NMAP_SERVICES: &str = "/usr/share/nmap/nmap-services";

    fn request(cmd: &str) -> PortRequest {
        let argv: Vec<OsString> = std::iter::once("prtip")
            .chain(cmd.split_whitespace())
            .map(OsString::from)
            .collect();
        let args = parse(argv).expect(cmd);
        Settings::from_args_with(&args, true).expect(cmd).ports
    }

    /// The lists and warnings of `cmd` (privileged), read from `file`.
    fn db_with(cmd: &str, file: Option<&Path>) -> Result<PortDb, String> {
        load_port_db(&request(cmd), file).map_err(|e| e.0)
    }

    /// The lists of `cmd` with prtip's built-in tables.
    fn lists(cmd: &str) -> (String, String, Vec<String>) {
        let db = db_with(cmd, None).expect(cmd);
        (
            db.tcp.to_nmap_string(),
            db.udp.to_nmap_string(),
            db.warnings,
        )
    }

    fn nmap_services() -> Option<PathBuf> {
        let p = PathBuf::from(NMAP_SERVICES);
        if p.is_file() {
            Some(p)
        } else {
            println!("SKIPPED (needs {NMAP_SERVICES}): the real-file half of this test");
            None
        }
    }

    #[test]
    fn unprefixed_ports_go_to_every_scan_requested() {
        let (t, u, w) = lists("-sS -sU -p 53 x");
        assert_eq!((t.as_str(), u.as_str()), ("53", "53"));
        assert!(w.is_empty(), "{w:?}");
        let (t, u, _) = lists("-sU -p 53 x");
        assert_eq!((t.as_str(), u.as_str()), ("", "53"));
        let (t, u, _) = lists("-sS -p 53 x");
        assert_eq!((t.as_str(), u.as_str()), ("53", ""));
        let (t, u, _) = lists("-sTU -p 1-3 x");
        assert_eq!((t.as_str(), u.as_str()), ("1-3", "1-3"));
    }

    #[test]
    fn prefixed_ports_for_a_scan_not_requested_are_ignored_with_a_warning() {
        // nmap 7.93 warns the same way and scans the rest.
        for (cmd, tcp, udp, warned) in [
            ("-sS -sU -p U:53,T:22", "22", "53", None),
            ("-sT -sU -p U:53,T:22", "22", "53", None),
            ("-sS -p U:53,T:22", "22", "", Some("UDP ports (U:)")),
            ("-sT -p U:53,T:22", "22", "", Some("UDP ports (U:)")),
            ("-p U:53,T:22", "22", "", Some("UDP ports (U:)")),
            ("-sU -p U:53,T:22", "", "53", Some("TCP ports (T:)")),
            ("-sU -sV -p U:53,T:22", "", "53", Some("TCP ports (T:)")),
        ] {
            let (t, u, w) = lists(&format!("{cmd} x"));
            assert_eq!((t.as_str(), u.as_str()), (tcp, udp), "{cmd}");
            match warned {
                None => assert!(w.is_empty(), "{cmd}: {w:?}"),
                Some(needle) => {
                    assert_eq!(w.len(), 1, "{cmd}: {w:?}");
                    assert!(
                        w[0].contains(needle) && w[0].contains("ignored"),
                        "{cmd}: {w:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_scan_left_without_ports_is_skipped_with_a_warning() {
        let (t, u, w) = lists("-sU -p T:22 x");
        assert_eq!((t.as_str(), u.as_str()), ("", ""));
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[1].contains("UDP scan is skipped"), "{w:?}");
        let (t, u, w) = lists("-sS -sU -p T:22 x");
        assert_eq!((t.as_str(), u.as_str()), ("22", ""));
        assert_eq!(
            w,
            vec!["no UDP ports are left to scan, so the UDP scan is skipped"]
        );
        let (_, _, w) = lists("-sS -p 22 --exclude-ports 22 x");
        assert_eq!(
            w,
            vec!["no TCP ports are left to scan, so the TCP scan is skipped"]
        );
        let (_, _, w) = lists("-sn x");
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn top_ports_are_chosen_per_protocol_from_the_builtin_tables() {
        let none = PortList::new();
        let db = db_with("-sS -sU --top-ports 10 x", None).expect("valid");
        assert_eq!(db.source, PortSource::BuiltIn);
        assert_eq!(
            db.tcp,
            services::builtin_top_ports(Protocol::Tcp, 10, &none)
        );
        assert_eq!(
            db.udp,
            services::builtin_top_ports(Protocol::Udp, 10, &none)
        );
        assert_eq!(db.names.name(53, Protocol::Udp), Some("domain"));
        assert_eq!(db.names.name(22, Protocol::Tcp), Some("ssh"));
        let db = db_with("-sU -F x", None).expect("valid");
        assert!(db.tcp.is_empty());
        assert_eq!(db.udp.len(), 100);
        assert_eq!(db.names.len(), 100, "every built-in -F UDP port has a name");
        let db = db_with("-sU x", None).expect("valid");
        assert_eq!(db.udp.len(), 1000);
    }

    #[test]
    fn top_ports_are_chosen_per_protocol_from_nmap_services() {
        let Some(file) = nmap_services() else {
            return;
        };
        let text = std::fs::read_to_string(&file).expect("read");
        let db = db_with("-sS -sU --top-ports 10 x", Some(&file)).expect("valid");
        assert_eq!(db.source, PortSource::NmapServices);
        assert!(db.warnings.is_empty(), "{:?}", db.warnings);
        let top = |p| services::top_ports(&text, "f", p, 10).expect("top").value;
        assert_eq!(db.tcp, top(Protocol::Tcp));
        assert_eq!(db.udp, top(Protocol::Udp));
        assert_eq!((db.tcp.len(), db.udp.len()), (10, 10));
        assert!(db.udp.contains(53) && db.udp.contains(161));
        assert_eq!(db.names.name(161, Protocol::Udp), Some("snmp"));
        let db = db_with("-sU -F x", Some(&file)).expect("valid");
        assert_eq!((db.tcp.len(), db.udp.len()), (0, 100));
    }

    #[test]
    fn exclude_ports_like_nmap() {
        // Each case was run with nmap 7.93 against 127.0.0.1.
        for (cmd, tcp, udp) in [
            ("-sS -sU -p 22,53 --exclude-ports T:22,U:53", "53", "22"),
            ("-sS -sU -p 22,53 --exclude-ports 22", "53", "53"),
            ("-sS -p 1-30 --exclude-ports 2-29,U:1", "1,30", ""),
            ("-sS -p 79-81 --exclude-ports http", "79,81", ""),
            ("-sU -p 1-10 --exclude-ports -5", "", "6-10"),
        ] {
            let (t, u, _) = lists(&format!("{cmd} x"));
            assert_eq!((t.as_str(), u.as_str()), (tcp, udp), "{cmd}");
        }
        // With --top-ports the excluded ports are left out before choosing.
        let none = PortList::new();
        let db = db_with("-sS --top-ports 3 --exclude-ports 80 x", None).expect("valid");
        assert_eq!(db.tcp.len(), 3);
        assert!(!db.tcp.contains(80));
        assert_ne!(db.tcp, services::builtin_top_ports(Protocol::Tcp, 3, &none));
    }

    #[test]
    fn exclude_ports_with_top_ports_matches_nmap_on_the_real_file() {
        let Some(file) = nmap_services() else {
            return;
        };
        // nmap 7.93: --top-ports 5 is 21-23,80,443; with --exclude-ports 80, 21-23,25,443.
        let db = db_with("-sS --top-ports 5 x", Some(&file)).expect("valid");
        assert_eq!(db.tcp.to_nmap_string(), "21-23,80,443");
        let db = db_with("-sS --top-ports 5 --exclude-ports 80 x", Some(&file)).expect("valid");
        assert_eq!(db.tcp.to_nmap_string(), "21-23,25,443");
    }

    #[test]
    fn bad_port_inputs_are_one_line() {
        for (cmd, needle) in [
            ("-sU -p U: x", "U:"),
            ("-sU -p nosuchservice x", "no udp service"),
            ("-sS -sU -p nosuchservice x", "no tcp or udp service"),
            ("-sU -p 70000 x", "70000"),
            ("-sS --exclude-ports 1-2-3 x", "--exclude-ports"),
            ("-sS --exclude-ports S:1 x", "SCTP"),
        ] {
            let e = db_with(cmd, None).map(|_| ()).expect_err(cmd);
            assert!(e.contains(needle), "{cmd}: {e}");
            assert!(!e.contains('\n'), "{cmd}: {e}");
        }
    }

    #[test]
    fn payloads_fall_back_to_prtips_own() {
        let loaded = load_payloads(None).expect("built-in");
        assert!(loaded.warnings.is_empty());
        let e = load_payloads(Some(Path::new("/nonexistent/nmap-payloads"))).expect_err("missing");
        assert!(e.0.contains("/nonexistent/nmap-payloads"), "{}", e.0);
    }
}
