//! What a scan reads before it opens anything: its targets, its exclusions
//! and the interface of link-local targets.

use crate::app::{elide_long_words, usage, Failure};
use crate::settings::Settings;
use prtip_core::target::{ExcludeSet, Resolver, TargetList};
use prtip_scanner::plan::HostJob;
use std::io::Read;
use std::path::Path;

pub(super) fn read_input(path: &Path) -> Result<String, Failure> {
    if path.as_os_str() == "-" {
        return read_text(std::io::stdin().lock())
            .map_err(|e| usage(format!("cannot read targets from standard input: {e}")));
    }
    std::fs::File::open(path)
        .map_err(|e| e.to_string())
        .and_then(read_text)
        .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))
}

/// Reads a list of targets in pieces, checking each piece as it comes:
/// a file that is not text is refused at its first bad byte. Reading it
/// whole first would never end for `-iL /dev/zero` or `/dev/urandom`
/// (the first exhausts memory, the second never ends at all). No target
/// list contains a NUL byte, though UTF-8 allows it.
pub(super) fn read_text(mut input: impl Read) -> Result<String, String> {
    let mut text = Vec::new();
    let mut piece = [0u8; 8192];
    // Bytes of `text` known to be whole UTF-8 characters.
    let mut checked = 0;
    loop {
        let n = match input.read(&mut piece) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.to_string()),
        };
        if let Some(i) = piece[..n].iter().position(|&b| b == 0) {
            return Err(format!(
                "not a text file (a NUL byte at byte {})",
                text.len() + i
            ));
        }
        text.extend_from_slice(&piece[..n]);
        match std::str::from_utf8(&text[checked..]) {
            Ok(_) => checked = text.len(),
            // A character cut in two by the end of this piece.
            Err(e) if e.error_len().is_none() => checked += e.valid_up_to(),
            Err(e) => {
                return Err(format!(
                    "not UTF-8 text (byte {})",
                    checked + e.valid_up_to()
                ))
            }
        }
    }
    String::from_utf8(text)
        .map_err(|e| format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))
}

pub(super) fn target_list(settings: &Settings) -> Result<TargetList, Failure> {
    let mut list = TargetList::with_family(settings.family);
    for t in &settings.targets {
        list.push_arg(t.clone());
    }
    if let Some(path) = &settings.input_list {
        let name = path.display().to_string();
        list.push_file(name, read_input(path)?);
    }
    // Syntax errors stop the run before any packet is sent.
    if list.count().map_err(usage)? == 0 {
        // nmap 7.93 says the same of an empty -iL file, and scans nothing.
        eprintln!("prtip: warning: no targets were specified, so 0 hosts scanned");
    }
    for w in list.warnings() {
        eprintln!("prtip: warning: {}", elide_long_words(&w));
    }
    Ok(list)
}

/// Link-local targets (`fe80::1%eth0`) are reached through their interface:
/// it becomes the scan's `-e`, so every engine and stage sends there (a
/// socket bound to a device gives a link-local address its scope). `None`
/// when nothing changes.
pub(super) fn through_link(
    settings: &Settings,
    targets: &TargetList,
) -> Result<Option<Settings>, Failure> {
    let Some(scope) = targets.link_scope().map_err(usage)? else {
        return Ok(None);
    };
    match &settings.socket.interface {
        Some(e) if *e == scope => Ok(None),
        Some(e) => Err(usage(format!(
            "-e {e}: the link-local targets are on {scope}; scan them with -e {scope} or without -e"
        ))),
        None => {
            let mut linked = settings.clone();
            linked.socket.interface = Some(scope);
            Ok(Some(linked))
        }
    }
}

pub(super) fn exclude_set(
    settings: &Settings,
    resolver: &dyn Resolver,
) -> Result<ExcludeSet, Failure> {
    let mut set = ExcludeSet::new();
    for list in &settings.excludes {
        set.add_list(list, resolver).map_err(usage)?;
    }
    if let Some(path) = &settings.exclude_file {
        let content = read_input(path)?;
        set.add_file(&path.display().to_string(), &content, resolver)
            .map_err(usage)?;
    }
    Ok(set)
}

/// The targets as the engines take them; a target that cannot be resolved
/// (or whose interface does not exist) is skipped with a warning, as nmap
/// does.
pub(super) fn host_jobs<'a>(
    targets: &'a TargetList,
    excludes: &'a ExcludeSet,
    resolver: &'a dyn Resolver,
) -> impl Iterator<Item = HostJob> + 'a {
    targets.iter(excludes, resolver).filter_map(|t| {
        let t = t.map_err(|e| eprintln!("prtip: warning: {e}")).ok()?;
        let scope_id = match &t.scope {
            None => 0,
            Some(name) => {
                let Some(index) = crate::sys::interface_index(name) else {
                    eprintln!(
                        "prtip: warning: skipping {}%{name}: no such interface",
                        t.addr
                    );
                    return None;
                };
                index
            }
        };
        Some(HostJob {
            addr: t.addr,
            hostname: t.hostname,
            scope_id,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_read_in_pieces_and_refused_at_the_first_bad_byte() {
        // A character split across two pieces is still whole.
        let text = format!("{}é 127.0.0.1\n", "#".repeat(8191));
        assert_eq!(read_text(text.as_bytes()), Ok(text.clone()));
        assert_eq!(read_text(&b""[..]), Ok(String::new()));
        assert_eq!(
            read_text(&b"10.0.0.1\n\0"[..]),
            Err("not a text file (a NUL byte at byte 9)".to_string())
        );
        assert_eq!(
            read_text(&b"10.0.0.1 \xff\xfe"[..]),
            Err("not UTF-8 text (byte 9)".to_string())
        );
        assert_eq!(
            read_text(&b"10.0.0.1 \xc3"[..]),
            Err("not UTF-8 text (byte 9)".to_string())
        );
        // An endless source ends at its first NUL byte.
        assert!(read_text(std::io::repeat(0)).is_err());
        assert!(read_text(std::io::repeat(0xff)).is_err());
    }
}
