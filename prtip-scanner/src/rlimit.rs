//! File-descriptor limit handling: a connect scan needs one descriptor per
//! probe in flight, so the soft limit is raised to the hard limit once.

use std::io;

/// Descriptors kept free for stdout, output files, the runtime and resolvers.
pub const RESERVED_FDS: u64 = 64;

/// Raise the soft `RLIMIT_NOFILE` to the hard limit and return the new soft limit.
pub fn raise_nofile_limit() -> io::Result<u64> {
    let (soft, hard) = crate::sys::rlimit::nofile()?;
    if soft < hard && crate::sys::rlimit::set_nofile(hard, hard).is_ok() {
        return Ok(hard);
    }
    Ok(soft)
}

/// How many sockets may be open at once under a soft limit of `soft`.
pub fn socket_budget(soft: u64) -> usize {
    let usable = soft.saturating_sub(RESERVED_FDS).max(1);
    usize::try_from(usable).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raise_is_idempotent_and_positive() {
        let a = raise_nofile_limit().expect("getrlimit");
        let b = raise_nofile_limit().expect("getrlimit");
        assert_eq!(a, b);
        assert!(a > 0);
    }

    #[test]
    fn budget_keeps_a_reserve() {
        assert_eq!(socket_budget(1024), 960);
        assert_eq!(socket_budget(10), 1);
    }
}
