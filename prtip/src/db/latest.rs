//! `prtip db latest HOST|CIDR`: what the history knows now about each
//! recorded address in the target, across all scans.
//!
//! Per address: its state in the newest scan that recorded it, and per
//! port the newest scan that looked at that port. A port an older scan
//! listed and a newer scan covered without listing it was in the newer
//! scan's "Not shown" group: it takes that group's state when the group is
//! the only one, and is left out (its state is not known) otherwise.

use super::table::Table;
use crate::output::Stdout;
use prtip_core::result::{HostStatus, PortResult, Protocol};
use prtip_store::{Error, Sighting, SqliteStore};
use std::io::Write;
use std::net::IpAddr;

/// The addresses `latest` reports on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// An address with a prefix length (the full length for one address).
    Net(IpAddr, u8),
    /// A host name as recorded (no DNS lookup).
    Name(String),
}

impl Target {
    pub(super) fn parse(text: &str) -> Result<Target, String> {
        let bad =
            || format!("db latest: \"{text}\" is not an address, a CIDR block or a host name");
        if let Some((addr, bits)) = text.split_once('/') {
            let addr: IpAddr = addr.parse().map_err(|_| bad())?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let bits: u8 = bits.parse().ok().filter(|b| *b <= max).ok_or_else(bad)?;
            return Ok(Target::Net(addr, bits));
        }
        if let Ok(addr) = text.parse::<IpAddr>() {
            return Ok(Target::Net(addr, if addr.is_ipv4() { 32 } else { 128 }));
        }
        let name_ok = !text.is_empty()
            && text.len() <= 253
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
        if name_ok {
            Ok(Target::Name(text.to_string()))
        } else {
            Err(bad())
        }
    }

    fn contains(&self, addr: IpAddr) -> bool {
        let Target::Net(net, bits) = self else {
            return true;
        };
        match (net, addr) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*bits)).unwrap_or(0);
                u32::from(*n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*bits)).unwrap_or(0);
                u128::from(*n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Prints the latest state of every recorded address in `target`; false
/// when the history has none.
pub(super) fn latest(store: &SqliteStore, target: &Target, mut out: Stdout) -> Result<bool, Error> {
    let name = match target {
        Target::Name(n) => Some(n.as_str()),
        Target::Net(..) => None,
    };
    let mut addrs: Vec<IpAddr> = Vec::new();
    store.addresses(name, &mut |a| {
        if let Ok(ip) = a.parse::<IpAddr>() {
            if target.contains(ip) {
                addrs.push(ip);
            }
        }
        Ok(())
    })?;
    addrs.sort_unstable();
    for (i, addr) in addrs.iter().enumerate() {
        let mut text = String::new();
        if i > 0 {
            text.push('\n');
        }
        host_text(store, *addr, &mut text)?;
        out.write_all(text.as_bytes()).map_err(Error::Output)?;
    }
    out.flush().map_err(Error::Output)?;
    Ok(!addrs.is_empty())
}

/// One port's newest known state and the scan that saw it.
struct Known {
    port: PortResult,
    scan: i64,
}

/// What a newer sighting says about ports it did not list.
struct Cover {
    up: bool,
    covered: Vec<(Protocol, String)>,
    /// The state of its only "Not shown" group, and the scan.
    sole_extra: Option<(PortResult, i64)>,
}

fn host_text(store: &SqliteStore, addr: IpAddr, text: &mut String) -> Result<(), Error> {
    let mut known: Vec<Known> = Vec::new();
    let mut newer: Vec<Cover> = Vec::new();
    let key = addr.to_string();
    store.sightings(&key, &mut |s| {
        if newer.is_empty() {
            head(&s, text);
        }
        if s.host.status == HostStatus::Up {
            for p in &s.host.ports.shown {
                add(&mut known, &newer, p, s.scan);
            }
        }
        newer.push(cover(&s));
        Ok(true)
    })?;
    known.sort_by_key(|k| (k.port.protocol.as_str(), k.port.port));
    if known.is_empty() {
        return Ok(());
    }
    let mut table = Table::default();
    let head = ["PORT", "STATE", "SERVICE", "SCAN", "VERSION"].map(|s| Some(s.to_string()));
    table.push(std::iter::once(None).chain(head).collect());
    for k in &known {
        let p = &k.port;
        let svc = p.service.as_deref();
        table.push(vec![
            None,
            Some(format!("{}/{}", p.port, p.protocol.as_str())),
            Some(p.state.as_str().to_string()),
            svc.map(|s| s.name.clone()),
            Some(k.scan.to_string()),
            svc.map(|s| s.version_line()).filter(|v| !v.is_empty()),
        ]);
    }
    table.write(text);
    Ok(())
}

/// `198.18.0.5 (name): up in scan 3 at 2026-12-05 17:41 UTC`, and the
/// newest scan's "Not shown" groups.
fn head(s: &Sighting, text: &mut String) {
    use std::fmt::Write as _;
    let h = &s.host;
    let name = h
        .hostname
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    let _ = writeln!(
        text,
        "{}{name}: {} in scan {} at {}",
        h.addr,
        h.status.as_str(),
        s.scan,
        super::prtip_store_time(s.started_us)
    );
    for g in h.ports.extra.iter().filter(|g| g.count > 0) {
        let _ = writeln!(text, "Not shown: {} {} ports", g.count, g.state.as_str());
    }
}

fn covers(list: &str, port: u16) -> bool {
    list.split(',').any(|r| {
        let (lo, hi) = r.split_once('-').unwrap_or((r, r));
        match (lo.trim().parse::<u16>(), hi.trim().parse::<u16>()) {
            (Ok(lo), Ok(hi)) => (lo..=hi).contains(&port),
            _ => false,
        }
    })
}

/// Keeps `p` unless a port with its number is known already; a newer scan
/// that covered it without listing it decides its state instead.
fn add(known: &mut Vec<Known>, newer: &[Cover], p: &PortResult, scan: i64) {
    if known
        .iter()
        .any(|k| (k.port.port, k.port.protocol) == (p.port, p.protocol))
    {
        return;
    }
    let covering = newer.iter().find(|c| {
        c.up && c
            .covered
            .iter()
            .any(|(proto, list)| *proto == p.protocol && covers(list, p.port))
    });
    match covering {
        None => known.push(Known {
            port: p.clone(),
            scan,
        }),
        Some(c) => {
            if let Some((group, scan)) = &c.sole_extra {
                let mut port = PortResult::new(p.port, p.protocol, group.state, group.reason);
                port.service = p.service.clone();
                known.push(Known { port, scan: *scan });
            }
        }
    }
}

fn cover(s: &Sighting) -> Cover {
    let groups: Vec<_> = s.host.ports.extra.iter().filter(|g| g.count > 0).collect();
    let sole_extra = match groups[..] {
        [g] => {
            let reason = g
                .reasons
                .first()
                .map_or(prtip_core::result::Reason::NoResponse, |r| r.reason);
            Some((PortResult::new(0, Protocol::Tcp, g.state, reason), s.scan))
        }
        _ => None,
    };
    Cover {
        up: s.host.status == HostStatus::Up,
        covered: s.covered.clone(),
        sole_extra,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_match() {
        let net = Target::parse("127.0.0.6/31").unwrap();
        assert!(net.contains("127.0.0.7".parse().unwrap()));
        assert!(!net.contains("127.0.0.8".parse().unwrap()));
        assert!(!net.contains("::1".parse().unwrap()));
        assert!(Target::parse("0.0.0.0/0")
            .unwrap()
            .contains("198.18.0.1".parse().unwrap()));
        let one = Target::parse("2001:db8::1").unwrap();
        assert!(one.contains("2001:db8::1".parse().unwrap()));
        assert!(!one.contains("2001:db8::2".parse().unwrap()));
        assert_eq!(Target::parse("db").unwrap(), Target::Name("db".into()));
        for bad in ["1.2.3.4/33", "x/8", "a b", "", "::1/129"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
        assert!(covers("1-1000,2000", 2000) && covers("22,80", 80) && !covers("22,80", 81));
    }
}
