//! The run of one command line: parse and validate it, then hand it to
//! `prtip db` or to [`crate::scan`].

use crate::cli::{self, UsageError, HELP};
use crate::panics;
use crate::settings::Settings;
use memprof::Phase;
use prtip_scanner::cancel;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

/// Exit status for command-line errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit status when the scan itself failed.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status when standard output's reader went away (`prtip ... | head`),
/// as shells report a process ended by SIGPIPE.
pub const EXIT_CLOSED_STDOUT: u8 = 141;
/// Exit status after Ctrl-C, as shells report SIGINT; SIGTERM gives 143
/// and SIGHUP 129 (see [`prtip_scanner::cancel::exit_status`]).
pub const EXIT_INTERRUPTED: u8 = 130;

pub(crate) fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("prtip: {}", elide_long_words(&msg.to_string()));
    ExitCode::from(code)
}

/// Words longer than this are shortened in messages for the user.
const LONGEST_WORD: usize = 256;

/// Messages quote the value that was refused; a value of 100,000
/// characters would make the one line of the error 100 KB long. Such a
/// word keeps its start and end (where the quotes and the rest of the
/// sentence are) and says how long it was. Paths up to PATH_MAX-ish
/// lengths that matter in practice stay whole.
pub(crate) fn elide_long_words(msg: &str) -> std::borrow::Cow<'_, str> {
    if msg.len() <= LONGEST_WORD {
        return msg.into();
    }
    let words: Vec<String> = msg
        .split(' ')
        .map(|w| {
            let n = w.chars().count();
            if n <= LONGEST_WORD {
                return w.to_string();
            }
            let head: String = w.chars().take(40).collect();
            let tail: String = w.chars().skip(n - 8).collect();
            format!("{head}...[{} more characters]...{tail}", n - 48)
        })
        .collect();
    words.join(" ").into()
}

/// Writes `text` to standard output; print! would panic on a closed pipe.
fn print_stdout(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(EXIT_CLOSED_STDOUT),
        Err(e) => fail(
            EXIT_FAILURE,
            format!("cannot write to standard output: {e}"),
        ),
    }
}

/// Entry point for `main`; `argv` includes the program name.
pub fn run(argv: Vec<OsString>) -> ExitCode {
    if argv.get(1).is_some_and(|a| a == "db") {
        return crate::db::run(&argv[2..]);
    }
    let parsing = memprof::phase(Phase::ArgumentParsing);
    let args = match cli::parse(argv.clone()) {
        Ok(a) => a,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    if args.help {
        return print_stdout(HELP);
    }
    if args.version {
        return print_stdout(&format!("prtip {}\n", env!("CARGO_PKG_VERSION")));
    }
    let settings = match Settings::from_args(&args) {
        Ok(s) => s,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let command_line = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(kind) = &settings.mem_report {
        if let Err(e) = crate::memreport::check_available(kind) {
            return fail(EXIT_USAGE, e);
        }
    }
    drop(parsing);
    let scanned = crate::scan::scan(&settings, command_line);
    if panics::happened() {
        // The panic hook has said what went wrong, in one line.
        return ExitCode::from(EXIT_FAILURE);
    }
    match scanned {
        Ok(Outcome::Finished) => ExitCode::SUCCESS,
        Ok(Outcome::Interrupted(code)) => ExitCode::from(code),
        Err(Failure::Usage(e)) => fail(EXIT_USAGE, e),
        Err(Failure::Scan(e)) => fail(EXIT_FAILURE, e),
    }
}

pub(crate) enum Outcome {
    Finished,
    /// Stopped early; the exit status says by what.
    Interrupted(u8),
}

impl Outcome {
    /// A scan stopped by a signal exits as shells report that signal.
    pub(crate) fn stopped_by(self, signal: Option<i32>) -> Outcome {
        match (self, signal) {
            (Outcome::Interrupted(_), Some(s)) => Outcome::Interrupted(cancel::exit_status(s)),
            (o, _) => o,
        }
    }
}

pub(crate) enum Failure {
    Usage(UsageError),
    Scan(String),
}

pub(crate) fn usage(e: impl std::fmt::Display) -> Failure {
    Failure::Usage(UsageError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_words_are_shortened_and_the_rest_kept() {
        let value = "9".repeat(100_000);
        let msg = format!("invalid --seed \"{value}\": expected a non-negative integer");
        let short = elide_long_words(&msg);
        assert!(short.len() < 200, "{short}");
        assert!(short.starts_with("invalid --seed \"9999"), "{short}");
        assert!(short.contains("[99955 more characters]"), "{short}");
        assert!(
            short.ends_with("99\": expected a non-negative integer"),
            "{short}"
        );
        let path = format!("cannot read /{}: x", "d".repeat(200));
        assert_eq!(elide_long_words(&path), path);
    }
}
