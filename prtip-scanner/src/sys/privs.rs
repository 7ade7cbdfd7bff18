//! Giving up privileges once the scan's sockets and files are open.
//!
//! A scanner reads bytes from machines that may be hostile while holding
//! raw-socket rights; once its sockets exist it needs no right at all, so a
//! bug exploited later finds nothing to use. Capabilities belong to each
//! thread, not the process: [`drop_all`] clears them for the calling thread
//! only, so every thread prtip starts either starts after the scan thread
//! dropped them (and inherits nothing) or drops them itself first thing
//! (the signal watcher, the connect engine's runtime, the idle main thread).
//! The uid stays as it was, so files written later still can be.
//!
//! Two system calls (`prctl`, `capset`); a crate such as `caps` wraps the
//! same two calls, so it would add a dependency and save nothing.

use std::io;

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;
/// Upper bound on capability numbers; higher ones are rejected by the
/// kernel with EINVAL, which [`drop_all`] ignores.
const MAX_CAP: libc::c_ulong = 64;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Drop every capability of the calling thread, from the bounding and
/// ambient sets as far as the kernel lets us, and set NO_NEW_PRIVS so no
/// executed program can regain any. Idempotent.
pub fn drop_all() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })?;
    for cap in 0..MAX_CAP {
        // Fails with EPERM without CAP_SETPCAP (a setcap'd binary run by a
        // user), which leaves the bounding set as the login gave it: the
        // permitted set, cleared below, is what matters.
        // SAFETY: as above.
        unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
    }
    // SAFETY: as above. EINVAL on kernels before 4.3, which have no ambient set.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    };
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [CapData::default(); 2];
    // SAFETY: header and data are the layouts capset(2) documents for
    // version 3, alive for the call; pid 0 is the calling thread.
    check(unsafe {
        libc::syscall(
            libc::SYS_capset,
            std::ptr::from_mut(&mut header),
            data.as_ptr(),
        ) as libc::c_int
    })
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_field(name: &str) -> String {
        let status = std::fs::read_to_string("/proc/thread-self/status").expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    }

    /// On a thread of its own, so the test harness keeps its rights.
    #[test]
    fn a_thread_ends_with_nothing() {
        std::thread::spawn(|| {
            drop_all().expect("dropping privileges");
            drop_all().expect("dropping them twice");
            assert_eq!(status_field("CapEff:"), "0000000000000000");
            assert_eq!(status_field("CapPrm:"), "0000000000000000");
            assert_eq!(status_field("CapInh:"), "0000000000000000");
            assert_eq!(status_field("CapAmb:"), "0000000000000000");
            assert_eq!(status_field("NoNewPrivs:"), "1");
        })
        .join()
        .expect("thread");
    }
}
