//! `prtip db ...`: the scan history's subcommands. `db` as the first word
//! selects them; a host named `db` is scanned with `prtip -- db`.

use crate::app::{fail, EXIT_CLOSED_STDOUT, EXIT_FAILURE, EXIT_USAGE};
use crate::output::{NormalFlavor, NormalSink, OutputSpec, Stdout};
use prtip_scanner::cancel::StopFlag;
use prtip_store::SqliteStore;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

mod diff;
mod diff_json;
mod export;
mod import;
mod import_xml;
mod latest;
mod seqmatch;
mod table;

const USAGE: &str = "usage: prtip db list --db FILE | prtip db show SCAN --db FILE \
| prtip db export SCAN -oX|-oJ|-oN|-oG FILE... --db FILE | prtip db diff A B [--json] --db FILE | prtip db import FILE.xml --db FILE | prtip db latest HOST|CIDR --db FILE";

/// One parsed `db` command line.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    List,
    Show(i64),
    Export(i64, OutputSpec),
    Diff { a: i64, b: i64, json: bool },
    Import(PathBuf),
    Latest(latest::Target, String),
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
    if let Command::Import(file) = &command {
        return import(&path, file);
    }
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
        Command::Export(id, spec) => export::export(&store, id, &spec, &stdout),
        Command::Diff { a, b, json } => diff::diff(&store, a, b, json, stdout.clone()),
        // Handled above: it opens the file for writing.
        Command::Import(_) => Ok(()),
        Command::Latest(target, text) => match latest::latest(&store, &target, stdout.clone()) {
            Ok(false) => {
                return fail(
                    EXIT_FAILURE,
                    format!("--db {}: no recorded host in {text}", path.display()),
                )
            }
            done => done.map(drop),
        },
    };
    if stdout.is_closed() {
        return ExitCode::from(EXIT_CLOSED_STDOUT);
    }
    match done {
        Ok(()) => ExitCode::SUCCESS,
        // An output file's error names the file; the database's names the database.
        Err(prtip_store::Error::Output(e)) => fail(EXIT_FAILURE, e),
        Err(e) => fail(EXIT_FAILURE, format!("--db {}: {e}", path.display())),
    }
}

/// `db import`: the database is created if needed (as `--db` does), and
/// the new scan's id is printed, as `db list` prints it.
fn import(path: &std::path::Path, file: &std::path::Path) -> ExitCode {
    let mut store = match SqliteStore::open_for_writing(path, crate::sys::privileged()) {
        Ok(s) => s,
        Err(e) => return fail(EXIT_FAILURE, format!("--db {}: {e}", path.display())),
    };
    match import::import(&mut store, file) {
        Ok(id) => {
            let mut out = std::io::stdout().lock();
            match writeln!(out, "{id}").and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::from(EXIT_CLOSED_STDOUT),
            }
        }
        Err(e) => fail(EXIT_FAILURE, e),
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
    out.flush().map_err(prtip_store::Error::Output)
}

fn prtip_store_time(us: i64) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_micros(u64::try_from(us).unwrap_or(0));
    crate::output::time::start_stamp(t)
}

/// The subcommand words, and `--db FILE` (or `--db=FILE`) anywhere.
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
    let words: Vec<&str> = rest.iter().map(String::as_str).collect();
    Ok((command(&words)?, db))
}

fn command(words: &[&str]) -> Result<Command, String> {
    Ok(match words {
        ["list"] => Command::List,
        ["show", id] => Command::Show(scan_id("show", id)?),
        ["export", id, outputs @ ..] => {
            Command::Export(scan_id("export", id)?, export::parse_outputs(outputs)?)
        }
        ["diff", ..] => {
            let json = words.contains(&"--json");
            match words[1..]
                .iter()
                .filter(|w| **w != "--json")
                .collect::<Vec<_>>()[..]
            {
                [a, b] => Command::Diff {
                    a: scan_id("diff", a)?,
                    b: scan_id("diff", b)?,
                    json,
                },
                _ => return Err(format!("db diff: give two scan ids; {USAGE}")),
            }
        }
        ["import", file] => Command::Import(PathBuf::from(file)),
        ["latest", target] => Command::Latest(latest::Target::parse(target)?, target.to_string()),
        [] => return Err(format!("db: missing subcommand; {USAGE}")),
        [word, ..] if !matches!(*word, "list" | "show" | "export" | "import" | "latest") => {
            return Err(format!("db: unknown subcommand \"{word}\"; {USAGE}"))
        }
        _ => return Err(format!("db: wrong arguments; {USAGE}")),
    })
}

fn scan_id(sub: &str, id: &str) -> Result<i64, String> {
    id.parse().ok().filter(|&n: &i64| n > 0).ok_or_else(|| {
        format!("db {sub}: invalid scan id \"{id}\": use a number from prtip db list")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<OsString> {
        s.split(' ').map(OsString::from).collect()
    }

    #[test]
    fn parses_every_form_and_refuses_the_rest() {
        assert_eq!(
            parse(&words("list --db h.sqlite")),
            Ok((Command::List, "h.sqlite".into()))
        );
        assert_eq!(
            parse(&words("--db=h show 12")),
            Ok((Command::Show(12), "h".into()))
        );
        assert_eq!(
            parse(&words("diff 1 --json 2 --db h")),
            Ok((
                Command::Diff {
                    a: 1,
                    b: 2,
                    json: true
                },
                "h".into()
            ))
        );
        let (Command::Export(3, spec), _) =
            parse(&words("export 3 -oX a.xml -oG - --db h")).expect("export parses")
        else {
            panic!("not an export");
        };
        assert_eq!(spec.xml, Some("a.xml".into()));
        assert_eq!(spec.grepable, Some("-".into()));
        assert!(!spec.stdout);
        for bad in [
            "list",
            "show --db h",
            "show x --db h",
            "show 0 --db h",
            "frob --db h",
            "list --db",
            "list 3 --db h",
            "export 1 --db h",
            "export 1 -oX --db h",
            "export 1 -oZ f --db h",
            "export 1 a.xml --db h",
            "diff 1 --db h",
            "diff 1 2 3 --db h",
            "diff 1 b --db h",
        ] {
            let e = parse(&words(bad)).expect_err(bad);
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
