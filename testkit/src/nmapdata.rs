//! nmap's installed data files: their names, a reader of nmap-services, and
//! [`HiddenNmapData`] to make a thread believe nmap is not installed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::prereq::missing;
use crate::process::tempdir;

/// Where Debian's nmap installs its data.
pub const DATADIR: &str = "/usr/share/nmap";
/// nmap's OS fingerprint database.
pub const OS_DB: &str = "/usr/share/nmap/nmap-os-db";
/// nmap's service probes.
pub const SERVICE_PROBES: &str = "/usr/share/nmap/nmap-service-probes";
/// nmap's port/service table.
pub const SERVICES: &str = "/usr/share/nmap/nmap-services";

/// TCP port -> service name, as nmap would print it from its nmap-services
/// (the first entry per port); empty when the file is missing.
pub fn tcp_service_names() -> HashMap<u16, String> {
    service_names("/tcp")
}

/// UDP port -> service name, as [`tcp_service_names`] for TCP.
pub fn udp_service_names() -> HashMap<u16, String> {
    service_names("/udp")
}

fn service_names(suffix: &str) -> HashMap<u16, String> {
    let text = std::fs::read_to_string(SERVICES).unwrap_or_default();
    let mut map = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut fields = line.split_whitespace();
        let (Some(name), Some(spec)) = (fields.next(), fields.next()) else {
            continue;
        };
        if let Some(port) = spec.strip_suffix(suffix).and_then(|p| p.parse().ok()) {
            map.entry(port).or_insert_with(|| name.to_owned());
        }
    }
    map
}

/// The directories where prtip looks for nmap's data files (`NMAPDIR`,
/// /usr/local/share/nmap, /usr/share/nmap) hidden from the calling thread
/// (and the threads it starts) until dropped: the thread moves to a mount
/// namespace of its own (`unshare(2)`, every mount private, so nothing
/// propagates back) where an empty directory is bind-mounted over each.
/// prtip then falls back to its built-in databases.
#[derive(Debug)]
pub struct HiddenNmapData {
    original: std::fs::File,
    cwd: PathBuf,
    _empty: tempfile::TempDir,
}

impl HiddenNmapData {
    /// None (after a loud skip, or a failure under CI) when a mount
    /// namespace cannot be made.
    pub fn enter() -> Option<HiddenNmapData> {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let cwd = std::env::current_dir().expect("current directory");
        let original =
            std::fs::File::open("/proc/thread-self/ns/mnt").expect("open own mount ns handle");
        let empty = tempdir();
        // SAFETY: no pointers; affects only the calling thread, which gets a
        // file-system context (root, cwd) and mount namespace of its own.
        if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
            let e = std::io::Error::last_os_error();
            missing(&format!("a mount namespace (unshare: {e})"));
            return None;
        }
        // From here on Drop returns to the original namespace.
        let guard = HiddenNmapData {
            original,
            cwd,
            _empty: empty,
        };
        let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).expect("no NUL");
        let root = c(Path::new("/"));
        // SAFETY: valid NUL-terminated strings; null type and data are allowed
        // for a propagation change.
        let rc = unsafe {
            libc::mount(
                std::ptr::null(),
                root.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "make / private: {}", std::io::Error::last_os_error());
        let mut dirs: Vec<PathBuf> = std::env::var_os("NMAPDIR")
            .map(PathBuf::from)
            .into_iter()
            .collect();
        dirs.push("/usr/local/share/nmap".into());
        dirs.push(DATADIR.into());
        let source = c(guard._empty.path());
        for dir in dirs.iter().filter(|d| d.is_dir()) {
            let target = c(dir);
            // SAFETY: valid NUL-terminated paths; a bind mount in our own namespace.
            let rc = unsafe {
                libc::mount(
                    source.as_ptr(),
                    target.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                )
            };
            assert_eq!(
                rc,
                0,
                "bind-mount over {}: {}",
                dir.display(),
                std::io::Error::last_os_error()
            );
        }
        for dir in &dirs {
            for file in ["nmap-service-probes", "nmap-services"] {
                assert!(!dir.join(file).exists(), "{file} still visible in {dir:?}");
            }
        }
        Some(guard)
    }
}

impl Drop for HiddenNmapData {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid mount namespace descriptor; this thread's
        // file-system context is its own since `unshare`.
        let rc = unsafe { libc::setns(self.original.as_raw_fd(), libc::CLONE_NEWNS) };
        if rc != 0 {
            eprintln!(
                "setns back to the original mount namespace failed: {}",
                std::io::Error::last_os_error()
            );
        }
        // setns(CLONE_NEWNS) moves the thread to the namespace's root directory.
        let _ = std::env::set_current_dir(&self.cwd);
    }
}
