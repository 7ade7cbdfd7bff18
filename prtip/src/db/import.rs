//! `prtip db import FILE.xml`: an nmap (or prtip) `-oX` file into the
//! history as one scan, so an old nmap scan can be diffed with a new one.
//!
//! The file is read as a stream (one host on the heap) and written in one
//! transaction: a file that breaks off or holds something wrong leaves the
//! database as it was, and the error is one line, `FILE:LINE: what`.
//! Entities are not expanded beyond XML's five and character references
//! (quick-xml resolves nothing else, and no DTD is fetched), so a hostile
//! file cannot make the reader loop or reach the network.
//!
//! What prtip's results cannot hold is left out: MAC addresses, host names
//! after the first, scripts, traceroute, uptime and sequence analyses.

use super::import_xml::{Element, Parser};
use prtip_store::SqliteStore;
use quick_xml::events::Event;
use quick_xml::Reader;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// A problem in the file at a byte offset, or a database failure.
#[derive(Debug)]
pub(super) enum Failure {
    At(u64, String),
    Store(prtip_store::Error),
}

impl From<prtip_store::Error> for Failure {
    fn from(e: prtip_store::Error) -> Self {
        Failure::Store(e)
    }
}

/// Elements deeper than this are refused (nmap's own nest about eight).
const MAX_DEPTH: usize = 64;

/// Imports `file`; the new scan's id, or one line saying what is wrong.
pub(super) fn import(store: &mut SqliteStore, file: &Path) -> Result<i64, String> {
    let opened = File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let done = store.atomically(|s| read_all(s, BufReader::new(opened)));
    match done {
        Ok(id) => Ok(id),
        // The parser's words may quote the file: one line whatever it holds.
        Err(Failure::At(offset, what)) => Err(format!(
            "{}:{}: {}",
            file.display(),
            line_of(file, offset),
            what.replace(char::is_control, " ")
        )),
        Err(Failure::Store(e)) => Err(format!("{}: {e}", file.display())),
    }
}

fn read_all(store: &mut SqliteStore, input: impl BufRead) -> Result<i64, Failure> {
    let mut reader = Reader::from_reader(input);
    let mut parser = Parser::new(store);
    let mut buf = Vec::new();
    let mut depth = 0usize;
    loop {
        let at = reader.buffer_position();
        buf.clear();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| Failure::At(reader.error_position(), e.to_string()))?;
        let fail = |what: String| Failure::At(at, what);
        match event {
            Event::Start(_) | Event::Empty(_) if depth >= MAX_DEPTH => {
                return Err(fail("elements nested too deep".into()));
            }
            Event::Start(e) => {
                depth += 1;
                parser.start(&Element(&e)).map_err(fail)?;
            }
            Event::Empty(e) => {
                parser.start(&Element(&e)).map_err(fail)?;
                parser.end().map_err(fail)?;
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                parser.end().map_err(fail)?;
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| fail(e.to_string()))?;
                parser.text(&text).map_err(fail)?;
            }
            Event::GeneralRef(r) => parser.reference(&r).map_err(fail)?,
            // At the end, the line of the file's last character, not the
            // empty one after its final newline.
            Event::Eof => {
                return parser
                    .finish()
                    .map_err(|what| Failure::At(at.saturating_sub(1), what))
            }
            _ => {}
        }
    }
}

/// The 1-based line of byte `offset` (read again: only on an error).
fn line_of(file: &Path, offset: u64) -> u64 {
    let Ok(f) = File::open(file) else { return 0 };
    let mut line = 1;
    let mut chunk = [0u8; 8192];
    let mut left = offset;
    let mut r = BufReader::new(f).take(offset);
    while left > 0 {
        match r.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                line += chunk[..n].iter().filter(|&&b| b == b'\n').count() as u64;
                left -= n as u64;
            }
        }
    }
    line
}
