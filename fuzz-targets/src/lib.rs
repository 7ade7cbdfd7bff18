//! prtip's fuzz targets as plain functions, one per parser that reads
//! untrusted bytes: packets from the network, nmap's data files (which
//! `--datadir` lets anyone supply), target lists and the command line.
//!
//! Each function takes arbitrary bytes and must not panic. Beyond that, it
//! asserts what it can check cheaply about the result (a view never reports
//! more bytes than it was given, what parses prints back the same, ...), so
//! the fuzzer finds wrong answers as well as crashes.
//!
//! The functions build on stable Rust. `fuzz/` (cargo-fuzz, nightly) wraps
//! each in a libFuzzer target of the same name, and `tests/replay.rs` runs
//! every file of `fuzz/corpus/<name>/` through them on stable, so the corpus
//! doubles as a regression suite. [`TARGETS`] is the list both use.

use std::borrow::Cow;

mod cli;
mod data;
mod os;
mod service;
mod targets;
mod wire;

pub use cli::cli;
pub use data::{payloads, services};
pub use os::{os_db, os_fingerprint, os_reply};
pub use service::{service_match, service_probes};
pub use targets::{ports, target_file, target_spec};
pub use wire::{parse_reply, wire_ip, wire_link, wire_transport};

/// A fuzz target: arbitrary bytes in, a panic on a bug.
pub type Target = fn(&[u8]);

/// Every target by name; the name is also the cargo-fuzz target's and the
/// corpus directory's.
pub const TARGETS: &[(&str, Target)] = &[
    ("wire_ip", wire_ip),
    ("wire_transport", wire_transport),
    ("wire_link", wire_link),
    ("parse_reply", parse_reply),
    ("os_reply", os_reply),
    ("service_probes", service_probes),
    ("service_match", service_match),
    ("os_db", os_db),
    ("os_fingerprint", os_fingerprint),
    ("services", services),
    ("payloads", payloads),
    ("target_spec", target_spec),
    ("target_file", target_file),
    ("ports", ports),
    ("cli", cli),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
}

/// Text for the parsers that take `&str`. Invalid UTF-8 is replaced rather
/// than rejected, so that a mutation breaking one byte of a line still
/// reaches the parser instead of being thrown away.
fn text(data: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// The first line (without its `\n`) and everything after it: how targets
/// that need two inputs (a pattern and a response, a spec and its excludes)
/// split one byte string.
fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// `inner` lies inside `outer`: views hand out sub-slices of their input,
/// never copies, so a slice from anywhere else is a bug. An empty slice
/// may come from `unwrap_or_default` and point anywhere.
fn within(inner: &[u8], outer: &[u8]) -> bool {
    let (i, o) = (inner.as_ptr_range(), outer.as_ptr_range());
    inner.is_empty() || (o.start <= i.start && i.end <= o.end)
}

/// An error or warning meant for the user is one line (the project's rule
/// for every message; a newline in one would break the outputs).
fn assert_one_line(what: &str, message: &str) {
    assert!(
        !message.contains('\n'),
        "{what} is not one line: {message:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for (i, (name, _)) in TARGETS.iter().enumerate() {
            assert!(target(name).is_some());
            assert!(TARGETS[..i].iter().all(|(n, _)| n != name), "{name} twice");
        }
        assert!(target("nope").is_none());
    }

    #[test]
    fn empty_input_is_fine_everywhere() {
        for (_, f) in TARGETS {
            f(b"");
        }
    }

    #[test]
    fn split_and_within() {
        assert_eq!(split_line(b"a\nb\nc"), (&b"a"[..], &b"b\nc"[..]));
        assert_eq!(split_line(b"abc"), (&b"abc"[..], &b""[..]));
        let buf = [1u8, 2, 3];
        assert!(within(&buf[1..], &buf));
        assert!(!within(&buf, &buf[1..]));
        assert!(within(&[], &buf));
    }
}
