//! Helpers of the scan history tests (`db_history.rs`, `db_tools.rs`).

use super::prtip_ok;
use std::path::Path;
use std::process::Output;

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `prtip db <args> --db FILE`, asserting exit status 0.
pub fn db(args: &[&str], file: &Path) -> Output {
    let mut all = vec!["db"];
    all.extend(args);
    all.extend(["--db", file.to_str().expect("utf-8 path")]);
    prtip_ok(&all)
}
