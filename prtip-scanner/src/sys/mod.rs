//! The scanner's seam to the operating system: every direct libc call of
//! this crate lives under here, so the rest reads as plain Rust.

use std::io;

pub mod errno;
mod mapped;
pub mod names;
pub mod packet;
pub mod privs;
pub mod rlimit;
pub mod route;
pub use mapped::MappedFile;

/// Fills `buf` from the kernel's random source.
pub fn fill_random(buf: &mut [u8]) -> io::Result<()> {
    getrandom::fill(buf).map_err(|e| io::Error::other(e.to_string()))
}
