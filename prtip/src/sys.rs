//! The binary's seam to the C library: local time as nmap prints it, and
//! the interface-name limit. Everything else goes through prtip-scanner's
//! `sys` module.

use std::ffi::CStr;

/// Longest interface name plus its NUL, as the kernel counts it.
pub(crate) const IFNAMSIZ: usize = libc::IFNAMSIZ;

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
