//! `prtip db ...`: the scan history's subcommands. `db` as the first word
//! selects them; a host named `db` is scanned with `prtip -- db`.

use crate::app::{fail, EXIT_CLOSED_STDOUT, EXIT_FAILURE, EXIT_USAGE};
use crate::output::{NormalFlavor, NormalSink, Stdout};
use prtip_scanner::cancel::StopFlag;
use prtip_store::SqliteStore;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: prtip db list --db FILE | prtip db show SCAN --db FILE";

/// One parsed `db` command line.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    List,
    Show(i64),
}

/// Runs `prtip db <words>`; `words` follow `db`.
pub fn run(words: &[OsString]) -> ExitCode {
    if words.iter().any(|w| w == "-h" || w == "--help") {
        return print_usage();
    }
    let (command, path) = match parse(words) {
        Ok(v) => v,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    if prtip_store::is_postgres_url(&path.to_string_lossy()) {
        return fail(
            EXIT_USAGE,
            format!(
                "--db {}: PostgreSQL is not supported yet; give an SQLite file name",
                path.display()
            ),
        );
    }
    let _store = memprof::phase(memprof::Phase::Store);
    let store = match SqliteStore::open_existing(&path) {
        Ok(s) => s,
        Err(e) => return fail(EXIT_FAILURE, format!("--db {}: {e}", path.display())),
    };
    let stdout = Stdout::new(StopFlag::new());
    let done = match command {
        Command::List => list(&store, stdout.clone()),
        Command::Show(id) => {
            let mut sink = NormalSink::new(stdout.clone(), NormalFlavor::Stdout);
            store.show(id, &mut sink)
        }
    };
    if stdout.is_closed() {
        return ExitCode::from(EXIT_CLOSED_STDOUT);
    }
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(EXIT_FAILURE, format!("--db {}: {e}", path.display())),
    }
}

fn print_usage() -> ExitCode {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{USAGE}").and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(EXIT_CLOSED_STDOUT),
    }
}

fn list(store: &SqliteStore, mut out: Stdout) -> Result<(), prtip_store::Error> {
    store.list(&mut |s| {
        let start = prtip_store_time(s.started_us);
        let counts = match (s.hosts_up, s.hosts_down) {
            (Some(up), Some(down)) => format!("{up} up, {down} down"),
            _ => "-".to_string(),
        };
        // One scan per line, whatever its arguments held.
        let args = s.args.replace(['\n', '\r', '\t'], " ");
        writeln!(out, "{}\t{start}\t{}\t{counts}\t{args}", s.id, s.status)
    })?;
    out.flush()
        .map_err(|e| prtip_store::Error::Corrupt(e.to_string()))
}

fn prtip_store_time(us: i64) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_micros(u64::try_from(us).unwrap_or(0));
    crate::output::time::start_stamp(t)
}

/// `list` or `show SCAN`, and `--db FILE` (or `--db=FILE`) anywhere.
fn parse(words: &[OsString]) -> Result<(Command, PathBuf), String> {
    let mut db: Option<PathBuf> = None;
    let mut rest: Vec<String> = Vec::new();
    let mut it = words.iter();
    while let Some(w) = it.next() {
        let text = w.to_string_lossy();
        if text == "--db" {
            let v = it.next().ok_or("--db needs a database file name")?;
            db = Some(PathBuf::from(v));
        } else if let Some(v) = text.strip_prefix("--db=") {
            db = Some(PathBuf::from(v));
        } else {
            rest.push(text.into_owned());
        }
    }
    let db = db
        .filter(|p| !p.as_os_str().is_empty())
        .ok_or_else(|| format!("db: --db FILE is required; {USAGE}"))?;
    let command = match rest.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["list"] => Command::List,
        ["show", id] => {
            Command::Show(id.parse().ok().filter(|&n: &i64| n > 0).ok_or_else(|| {
                format!("db show: invalid scan id \"{id}\": use a number from prtip db list")
            })?)
        }
        [] => return Err(format!("db: missing subcommand; {USAGE}")),
        [word, ..] if !matches!(word, "list" | "show") => {
            return Err(format!("db: unknown subcommand \"{word}\"; {USAGE}"))
        }
        _ => return Err(format!("db: wrong arguments; {USAGE}")),
    };
    Ok((command, db))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<OsString> {
        s.split(' ').map(OsString::from).collect()
    }

    #[test]
    fn parses_both_forms_and_refuses_the_rest() {
        assert_eq!(
            parse(&words("list --db h.sqlite")),
            Ok((Command::List, "h.sqlite".into()))
        );
        assert_eq!(
            parse(&words("--db=h show 12")),
            Ok((Command::Show(12), "h".into()))
        );
        for bad in [
            "list",
            "show --db h",
            "show x --db h",
            "show 0 --db h",
            "frob --db h",
            "list --db",
            "list 3 --db h",
        ] {
            let e = parse(&words(bad)).expect_err(bad);
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
