//! Target specifications, `-iL` / `--excludefile` contents and `-p`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use prtip_core::error::Error;
use prtip_core::ports::{PortList, PortSpec};
use prtip_core::target::{ExcludeSet, TargetList, TargetSpec};

use crate::{assert_one_line, split_line, text};

/// Targets taken from one expansion per input: enough to walk into every
/// kind of expression without making a `/0` take seconds.
const EXPANDED: usize = 64;

/// Largest expression expanded. An exclude written as an octet pattern
/// (`*.*.*.0-254`) is checked address by address, so a `/0` that it
/// leaves (nearly) empty is walked through in full before 64 targets
/// turn up: minutes, as the scanner itself would take.
const EXPANDED_MAX_COUNT: u64 = 1 << 20;

/// A deterministic stand-in for DNS: by the name's length, no answer, an
/// IPv4 address, or only an IPv6 one.
fn resolve(name: &str) -> Result<Vec<IpAddr>, String> {
    match name.len() % 3 {
        0 => Err("no such name".to_owned()),
        1 => Ok(vec![IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1))]),
        _ => Ok(vec![IpAddr::V6(Ipv6Addr::LOCALHOST)]),
    }
}

/// An error from a name lookup rather than from the syntax.
fn is_resolution(e: &Error) -> bool {
    match e {
        Error::Resolve { .. } => true,
        Error::InFile { source, .. } => is_resolution(source),
        _ => false,
    }
}

/// One target expression (first line) with `--exclude` (second line):
/// the computed count must agree with the list's, and the expansion must
/// skip every excluded address and yield each address once, ascending.
pub fn target_spec(data: &[u8]) {
    let (first, rest) = split_line(data);
    let (second, _) = split_line(rest);
    let token = text(first);
    let spec = TargetSpec::parse(&token);
    if let Err(e) = &spec {
        assert_one_line("a target error", &e.to_string());
    }
    // A literal is scanned in its own family; the other family's list
    // refuses it (tested in prtip-core).
    let family = spec
        .as_ref()
        .ok()
        .and_then(TargetSpec::literal_family)
        .unwrap_or_default();
    let mut list = TargetList::with_family(family);
    list.push_arg(token.as_ref());
    let counted = list.count();
    // The list trims its arguments and skips empty ones; the spec does not.
    if !token.is_empty() && token.trim() == token {
        assert_eq!(
            counted.as_ref().ok(),
            spec.as_ref().ok().map(TargetSpec::count).as_ref()
        );
    }
    let mut excludes = ExcludeSet::new();
    if excludes.add_list(&text(second), &resolve).is_err() {
        excludes = ExcludeSet::new();
    }
    if counted.as_ref().is_ok_and(|&n| n > EXPANDED_MAX_COUNT) && !excludes.is_empty() {
        return;
    }
    let mut previous: Option<IpAddr> = None;
    let mut yielded = 0u64;
    for t in list.iter(&excludes, &resolve).take(EXPANDED) {
        match t {
            Ok(t) => {
                assert!(!excludes.contains(t.addr), "{} is excluded", t.addr);
                assert!(previous.is_none_or(|p| p < t.addr), "not ascending");
                previous = Some(t.addr);
                yielded += 1;
            }
            // count() has vetted the syntax: only a lookup can fail then.
            Err(e) => assert!(counted.is_err() || is_resolution(&e), "{e}"),
        }
    }
    if let Ok(n) = counted {
        assert!(yielded <= n);
        if excludes.is_empty() && n <= EXPANDED as u64 && spec.is_ok_and(|s| s.hostname().is_none())
        {
            assert_eq!(yielded, n, "an address expression yields its count");
        }
    }
}

/// An `-iL` file. Excluding the file from itself (`--excludefile` with
/// the same content) must leave nothing to scan.
pub fn target_file(data: &[u8]) {
    let text = text(data);
    let mut list = TargetList::new();
    list.push_file("fuzz", text.as_ref());
    let counted = list.count();
    if let Err(e) = &counted {
        assert_one_line("an -iL error", &e.to_string());
    }
    if list.is_empty() {
        assert_eq!(counted.as_ref().ok(), Some(&0));
    }
    let syntax_ok = counted.is_ok();
    for t in list.iter(&ExcludeSet::new(), &resolve).take(EXPANDED) {
        if let Err(e) = t {
            // count() has seen every expression: only lookups can fail now.
            assert!(!syntax_ok || is_resolution(&e), "{e}");
        }
    }
    let mut excludes = ExcludeSet::new();
    // A pattern exclude (like `*.*.*.1`) is tested address by address, so
    // walking a large list against one takes seconds; small lists only.
    if excludes.add_file("fuzz", &text, &resolve).is_ok() && counted.is_ok_and(|n| n <= 1 << 16) {
        if let Some(t) = list.iter(&excludes, &resolve).find_map(Result::ok) {
            panic!("{} survived excluding the list from itself", t.addr);
        }
    }
}

/// `-p` (first line), with the rest of the input as nmap-services: the
/// parsed list is well formed and prints back to itself.
pub fn ports(data: &[u8]) {
    let (first, rest) = split_line(data);
    let spec = text(first);
    let services = text(rest);
    for table in [None, Some(services.as_ref())] {
        match PortSpec::parse(&spec, table) {
            Ok(p) => {
                assert!(!p.is_empty());
                check_list(&p.tcp);
                check_list(&p.udp);
            }
            Err(e) => assert_one_line("a port error", &e.to_string()),
        }
    }
}

fn check_list(list: &PortList) {
    let ranges = list.ranges();
    assert!(ranges.iter().all(|&(lo, hi)| lo <= hi));
    // Sorted, and merged: neighbours neither overlap nor touch.
    assert!(ranges
        .windows(2)
        .all(|w| u32::from(w[0].1) + 1 < u32::from(w[1].0)));
    let len: usize = ranges
        .iter()
        .map(|&(lo, hi)| usize::from(hi - lo) + 1)
        .sum();
    assert_eq!(list.len(), len);
    assert_eq!(list.iter().len(), len);
    assert_eq!(list.intersect(list), *list);
    if !list.is_empty() {
        let printed = list.to_nmap_string();
        let again = PortSpec::parse(&printed, None).expect("a printed port list parses");
        assert_eq!(again.tcp, *list, "{printed}");
    }
}
