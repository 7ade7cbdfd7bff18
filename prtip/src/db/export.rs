//! `prtip db export SCAN -oX FILE ...`: a recorded scan through the very
//! writers a live scan uses, so the files are those the scan would have
//! written (see `db_history.rs`, which compares them byte for byte).

use crate::output::{open_outputs, OutputSpec, Stdout};
use prtip_store::{Error, SqliteStore};

/// `-oX FILE`, `-oJ FILE`, `-oN FILE`, `-oG FILE` (each at most once; `-`
/// is standard output), at least one.
pub(super) fn parse_outputs(words: &[&str]) -> Result<OutputSpec, String> {
    let mut spec = OutputSpec::default();
    let mut it = words.iter();
    while let Some(flag) = it.next() {
        let slot = match *flag {
            "-oX" => &mut spec.xml,
            "-oJ" => &mut spec.json,
            "-oN" => &mut spec.normal,
            "-oG" => &mut spec.grepable,
            other => {
                return Err(format!(
                    "db export: unknown option \"{other}\": use -oX, -oJ, -oN or -oG FILE"
                ))
            }
        };
        let file = it
            .next()
            .filter(|f| !f.is_empty() && !f.starts_with("--db"))
            .ok_or_else(|| {
                format!("db export: {flag} needs a file name (- for standard output)")
            })?;
        if slot.replace(file.into()).is_some() {
            return Err(format!("db export: {flag} given twice"));
        }
    }
    if spec == OutputSpec::default() {
        return Err("db export: give at least one of -oX, -oJ, -oN, -oG FILE".into());
    }
    Ok(spec)
}

/// Checks the scan exists before any file is created (a wrong id must not
/// truncate the files named), then feeds it to the writers.
pub(super) fn export(
    store: &SqliteStore,
    id: i64,
    spec: &OutputSpec,
    stdout: &Stdout,
) -> Result<(), Error> {
    store.run_info(id)?;
    let mut sinks = open_outputs(spec, stdout).map_err(Error::Output)?;
    // Every writer flushes after each host and at the end, so a write
    // error (a full disk) comes back from here, not lost in a drop.
    store.show(id, &mut sinks)
}
