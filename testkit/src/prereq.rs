//! The one rule for missing prerequisites (a tool, a file, root): the test
//! prints `SKIPPED (needs X): <test>` and returns, except under `CI=true`,
//! where a missing prerequisite is a failure.

use std::io::Write;

/// True when the environment says `CI=true`.
pub fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// A prerequisite is missing: panic under CI, otherwise print a loud skip
/// line and return false (so `require_x() || missing(..)` chains read well).
pub fn missing(what: &str) -> bool {
    assert!(
        !in_ci(),
        "CI=true but a prerequisite is missing: {what} (a skip is a failure under CI)"
    );
    // Written to the stderr handle, not with eprintln!, so that libtest's
    // output capture does not hide the skip in a passing run.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED (needs {what}): {}",
        std::thread::current().name().unwrap_or("?")
    );
    false
}

/// True when `tool` is an executable file on `PATH`; otherwise skip loudly
/// (panic under CI).
pub fn require_tool(tool: &str) -> bool {
    let found = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            std::fs::metadata(dir.join(tool)).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
        })
    });
    found || missing(tool)
}

/// True when `path` exists; otherwise skip loudly (panic under CI).
pub fn require_file(path: &str) -> bool {
    std::path::Path::new(path).exists() || missing(path)
}

/// The text of `path` (e.g. a data file nmap installs); `None` after a loud
/// skip (a panic under CI) when it cannot be read.
pub fn require_text(path: &str) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) => {
            missing(&format!("{path}: {e}"));
            None
        }
    }
}

/// True when running as root (namespaces, raw sockets, firewall rules);
/// otherwise skip loudly (panic under CI).
pub fn require_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    root || missing("root")
}
