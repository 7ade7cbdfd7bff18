//! Taking options out of argv before clap parses the rest: every option
//! clap knows costs heap while parsing, which is the small SYN scan's peak,
//! so the options of `tcpscan`, `pings` and `audit` are read here instead.

use crate::cli::UsageError;
use std::ffi::OsString;

/// Offers each argument of `argv` (up to a `--` separator) to `take`, with
/// the arguments after it for a value; `take` returns true when it consumed
/// the argument. What is not taken stays in `argv`, in order.
pub fn take_options(
    argv: &mut Vec<OsString>,
    mut take: impl FnMut(&str, &mut dyn Iterator<Item = OsString>) -> Result<bool, UsageError>,
) -> Result<(), UsageError> {
    let mut kept = Vec::with_capacity(argv.len());
    let mut rest = std::mem::take(argv).into_iter();
    while let Some(arg) = rest.next() {
        let taken = match arg.to_str() {
            Some("--") => {
                kept.push(arg);
                kept.extend(rest.by_ref());
                break;
            }
            Some(s) => take(s, &mut rest)?,
            None => false,
        };
        if !taken {
            kept.push(arg);
        }
    }
    *argv = kept;
    Ok(())
}

/// The value after `flag`, or one line saying it is missing.
pub fn value_of(
    flag: &str,
    rest: &mut dyn Iterator<Item = OsString>,
    example: &str,
) -> Result<String, UsageError> {
    rest.next()
        .map(|v| v.to_string_lossy().into_owned())
        .ok_or_else(|| UsageError(format!("{flag} needs a value{example}")))
}
