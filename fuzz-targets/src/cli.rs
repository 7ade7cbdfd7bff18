//! The command line: clap's parsing, nmap's spellings and the validation
//! into settings. Whatever argv holds, the outcome is settings or one
//! usage line (exit 2), never a panic.

use std::ffi::OsString;
use std::hint::black_box;
use std::os::unix::ffi::OsStringExt;

use prtip::cli;
use prtip::settings::{load_port_db, Settings};

use crate::assert_one_line;

/// Arguments split on NUL or newline (neither can occur inside a real
/// argument of a one-line error), passed as raw bytes so that non-UTF-8
/// arguments are covered too.
pub fn cli(data: &[u8]) {
    let argv: Vec<OsString> = std::iter::once(OsString::from("prtip"))
        .chain(
            data.split(|&b| b == 0 || b == b'\n')
                .map(|a| OsString::from_vec(a.to_vec())),
        )
        .collect();
    let args = match cli::parse(argv) {
        Ok(args) => args,
        Err(e) => return assert_one_line("a usage error", &e.0),
    };
    for privileged in [false, true] {
        match Settings::from_args_with(&args, privileged) {
            // nmap-services is left out: reading it per input would make the
            // target slow, and its parser has a target of its own.
            Ok(s) => match load_port_db(&s.ports, None) {
                Ok(db) => black_box(db.tcp.len() + db.udp.len()),
                Err(e) => return assert_one_line("a port usage error", &e.0),
            },
            Err(e) => return assert_one_line("a usage error", &e.0),
        };
    }
}
