//! The system resolver: forward lookups (getaddrinfo) for target names and
//! reverse lookups (getnameinfo) for hosts that are up. Both block for as
//! long as the resolver's own timeouts; [`crate::stages::dns`] bounds the
//! reverse ones.

use std::ffi::CStr;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// Forward lookup through the system resolver (getaddrinfo).
pub fn forward(name: &str) -> Result<Vec<IpAddr>, String> {
    (name, 0u16)
        .to_socket_addrs()
        .map(|addrs| addrs.map(|a| a.ip()).collect())
        .map_err(|e| e.to_string())
}

/// Reverse lookup of `addr` (getnameinfo with NI_NAMEREQD), `None` when the
/// address has no name.
pub fn reverse(addr: IpAddr) -> Option<String> {
    let sa = raw_sockaddr(SocketAddr::new(addr, 0));
    let mut host = [0 as libc::c_char; libc::NI_MAXHOST as usize];
    // SAFETY: `sa` holds a valid sockaddr of the given length; `host` is a
    // writable buffer of the length passed; no service buffer is requested.
    let rc = unsafe {
        libc::getnameinfo(
            sa.as_ptr(),
            sa.len(),
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: on success getnameinfo wrote a NUL-terminated string into `host`.
    let name = unsafe { CStr::from_ptr(host.as_ptr()) };
    name.to_str().ok().map(str::to_owned)
}

/// A sockaddr_in / sockaddr_in6 built by hand so no extra crate is needed.
struct RawSockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl RawSockAddr {
    fn as_ptr(&self) -> *const libc::sockaddr {
        std::ptr::from_ref(&self.storage).cast()
    }
    fn len(&self) -> libc::socklen_t {
        self.len
    }
}

fn raw_sockaddr(addr: SocketAddr) -> RawSockAddr {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*v4.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in.
            unsafe { std::ptr::write(std::ptr::from_mut(&mut storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in6.
            unsafe { std::ptr::write(std::ptr::from_mut(&mut storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    RawSockAddr {
        storage,
        len: len as libc::socklen_t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_resolves_both_ways() {
        let addrs = forward("localhost").expect("localhost resolves");
        assert!(addrs.iter().any(|a| a.is_loopback()));
        // /etc/hosts names 127.0.0.1 on every Debian system.
        let name = reverse(IpAddr::from([127, 0, 0, 1])).expect("PTR for 127.0.0.1");
        assert!(!name.is_empty());
    }
}
