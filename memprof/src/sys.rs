//! memprof's seam to the operating system. The allocator's own `unsafe`
//! (a `GlobalAlloc` is unsafe by contract) stays in `counting.rs`.

/// Peak resident set size of this process in bytes, from `getrusage(RUSAGE_SELF)`.
pub(crate) fn peak_rss_bytes() -> Option<u64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` is a writable `rusage`; getrusage only writes into it.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: zero-initialised and filled in by a successful getrusage.
    let maxrss = u64::try_from(unsafe { usage.assume_init() }.ru_maxrss).ok()?;
    // Linux and the BSDs report KiB; macOS reports bytes.
    if cfg!(target_vendor = "apple") {
        Some(maxrss)
    } else {
        Some(maxrss * 1024)
    }
}
