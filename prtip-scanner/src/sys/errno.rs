//! The error numbers the engines tell apart, so they can match on
//! `io::Error::raw_os_error()` without naming libc.

pub use libc::{
    EACCES, EADDRNOTAVAIL, EAGAIN, ECONNABORTED, ECONNREFUSED, ECONNRESET, EHOSTDOWN, EHOSTUNREACH,
    EINPROGRESS, EINTR, EIO, EMFILE, EMSGSIZE, ENETDOWN, ENETRESET, ENETUNREACH, ENFILE, ENOBUFS,
    ENOMEM, ENOPROTOOPT, EOPNOTSUPP, EPERM, EPIPE, EPROTO, ETIMEDOUT,
};

/// A shortage on this machine (descriptors, buffers, memory, local ports),
/// not an answer from the target: worth waiting out and trying again.
pub fn is_local_shortage(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(EMFILE | ENFILE | ENOBUFS | ENOMEM | EADDRNOTAVAIL | EAGAIN)
    )
}
