//! `--mem-report`: the per-phase heap table (stderr) or JSON (stderr or a file).

use crate::settings::MemReport;
use std::io::{self, Write};

/// Fails up front when this build cannot count, so a long scan is not run
/// only to discover that its report is unavailable.
/// A JSON file target is created now for the same reason.
pub fn check_available(kind: &MemReport) -> Result<(), String> {
    if let MemReport::Json(Some(path)) = kind {
        std::fs::File::create(path)
            .map_err(|e| format!("cannot write memory report {}: {e}", path.display()))?;
    }
    match memprof::mode() {
        memprof::Mode::Counting => Ok(()),
        memprof::Mode::Dhat => Err(format!(
            "--mem-report: {}",
            memprof::Unavailable::DhatBuild
        )),
        memprof::Mode::Off => Err(
            "--mem-report: heap counters are not available in this build (rebuild with the mem-report feature)"
                .to_string(),
        ),
    }
}

/// Print or write the report.
pub fn print(kind: &MemReport) -> io::Result<()> {
    let report = memprof::report().map_err(|e| io::Error::other(format!("--mem-report: {e}")))?;
    match kind {
        MemReport::Table => {
            let mut err = io::stderr().lock();
            report.write_table(&mut err)?;
            err.flush()
        }
        MemReport::Json(None) => {
            let mut err = io::stderr().lock();
            writeln!(err, "{}", report.to_json())
        }
        MemReport::Json(Some(path)) => std::fs::write(path, report.to_json() + "\n").map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot write memory report {}: {e}", path.display()),
            )
        }),
    }
}
