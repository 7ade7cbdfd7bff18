//! The binary's seam to the C library: local time as nmap prints it, the
//! interface-name limit, and opening output files without following
//! symbolic links. Everything else goes through prtip-scanner's `sys` module.

use std::ffi::CStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Longest interface name plus its NUL, as the kernel counts it.
pub(crate) const IFNAMSIZ: usize = libc::IFNAMSIZ;

/// Whether the process has rights its user may not: effective uid 0, or
/// any effective capability (`setcap` on the binary).
pub(crate) fn privileged() -> bool {
    // SAFETY: geteuid cannot fail and touches no memory of ours.
    let root = unsafe { libc::geteuid() } == 0;
    root || has_capabilities()
}

fn has_capabilities() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .is_some_and(|caps| caps != 0)
    })
}

/// Creates (truncates) `path` for writing, failing with `ELOOP` instead of
/// following it when it is a symbolic link.
pub(crate) fn create_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Whether `e` is the error [`create_nofollow`] gives for a symbolic link.
pub(crate) fn is_symlink_refusal(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

/// Format `unix_secs` in local time with strftime's `fmt`; `None` if the C
/// library cannot.
pub(crate) fn strftime_local(unix_secs: u64, fmt: &CStr) -> Option<String> {
    let secs = libc::time_t::try_from(unix_secs).ok()?;
    // SAFETY: `tm` is plain old data, so all-zero is a valid value that
    // localtime_r overwrites; both pointers are valid for the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::localtime_r(&secs, &mut tm) };
    if ok.is_null() {
        return None;
    }
    let mut buf = [0u8; 128];
    // SAFETY: buf is writable for its full length, fmt is NUL-terminated and
    // tm was filled by localtime_r above. strftime never writes past `max`.
    let n = unsafe {
        libc::strftime(
            buf.as_mut_ptr().cast::<libc::c_char>(),
            buf.len(),
            fmt.as_ptr(),
            &tm,
        )
    };
    if n == 0 {
        return None;
    }
    buf.get(..n)
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

/// The index of interface `name`, or of the interface numbered `name`
/// (`fe80::1%2`), as the scope of a link-local IPv6 address.
pub(crate) fn interface_index(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string for the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx != 0 {
        return Some(idx);
    }
    name.parse::<u32>().ok().filter(|&n| n != 0)
}
