//! Network namespaces: commands run inside one (`ip netns exec`), and the
//! calling thread moved into one ([`NetnsGuard`]).

use std::process::{Command, Output};

use crate::process::run_ok;

/// Path of the handle of the named namespace, for `setns(2)`.
pub fn path(ns: &str) -> String {
    format!("/run/netns/{ns}")
}

/// `ip netns exec <ns> <program>`; add arguments to the returned command.
pub fn cmd(ns: &str, program: &str) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns, program]);
    c
}

/// Run `argv` in namespace `ns` (bounded) and assert success.
pub fn ok(ns: &str, argv: &[&str]) -> Output {
    run_ok(cmd(ns, argv[0]).args(&argv[1..]))
}

/// The calling thread inside another network namespace (`setns(2)`) until
/// dropped; threads it spawns meanwhile start in that namespace too.
#[derive(Debug)]
pub struct NetnsGuard {
    original: std::fs::File,
}

impl NetnsGuard {
    /// Enter the namespace whose handle is `path` (e.g. `/run/netns/<name>`,
    /// see [`path`]).
    pub fn enter(path: &str) -> NetnsGuard {
        use std::os::fd::AsRawFd;
        let original =
            std::fs::File::open("/proc/thread-self/ns/net").expect("open own netns handle");
        let target = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        // SAFETY: a valid namespace descriptor; affects only the calling thread.
        let rc = unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns({path}): {}", std::io::Error::last_os_error());
        NetnsGuard { original }
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as in `enter`, with the handle of the thread's first namespace.
        let rc = unsafe { libc::setns(self.original.as_raw_fd(), libc::CLONE_NEWNET) };
        if rc != 0 {
            eprintln!(
                "setns back to the original namespace failed: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}
