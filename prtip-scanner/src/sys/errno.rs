//! The error numbers the engines tell apart, so they can match on
//! `io::Error::raw_os_error()` without naming libc.

pub use libc::{
    EACCES, EADDRNOTAVAIL, EAGAIN, ECONNREFUSED, ECONNRESET, EHOSTDOWN, EHOSTUNREACH, EINPROGRESS,
    EINTR, EMFILE, ENETDOWN, ENETUNREACH, ENFILE, ENOBUFS, ENOMEM, EPERM, ETIMEDOUT,
};
