//! Which source address and interface the kernel would use for a target,
//! which source ports are safe, and whether we may open raw sockets.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

/// The source address the routing table picks for `dst`. A UDP `connect`
/// only consults the routing table; it sends nothing.
pub fn source_for(dst: Ipv4Addr) -> io::Result<Ipv4Addr> {
    match source_for_addr(IpAddr::V4(dst))? {
        IpAddr::V4(a) => Ok(a),
        IpAddr::V6(_) => Err(io::Error::other("no IPv4 route")),
    }
}

/// [`source_for`] for either family: the same trick on a socket of `dst`'s
/// family (for IPv6, the kernel's source address selection of RFC 6724).
pub fn source_for_addr(dst: IpAddr) -> io::Result<IpAddr> {
    source_for_addr_on(dst, None)
}

/// [`source_for_addr`] through `interface` (`-e`), which is also how a
/// link-local `dst` is given its scope: the kernel refuses one without.
pub fn source_for_addr_on(dst: IpAddr, interface: Option<&str>) -> io::Result<IpAddr> {
    let any = match dst {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let sock = socket2::Socket::new(
        socket2::Domain::for_address(SocketAddr::new(any, 0)),
        socket2::Type::DGRAM,
        None,
    )?;
    if let Some(name) = interface {
        sock.bind_device(Some(name.as_bytes()))?;
    }
    sock.bind(&SocketAddr::new(any, 0).into())?;
    let sock = UdpSocket::from(sock);
    sock.connect(SocketAddr::new(dst, 9))?;
    let ip = sock.local_addr()?.ip();
    if ip.is_ipv6() == dst.is_ipv6() {
        Ok(ip)
    } else {
        Err(io::Error::other("no route of the target's family"))
    }
}

/// Name of the interface that holds `addr`.
pub fn interface_of(addr: Ipv4Addr) -> io::Result<String> {
    crate::sys::route::interface_of(addr)
}

/// The kernel's ephemeral port range (`ip_local_port_range`).
pub fn ephemeral_range() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|v| v.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999))
}

/// A window of `want` source ports outside the ephemeral range, so the
/// kernel never hands one of them to a local socket during the scan.
pub fn source_port_window(ephemeral: (u16, u16), want: u16) -> (u16, u16) {
    let (lo, hi) = ephemeral;
    let above = 65535u32.saturating_sub(u32::from(hi));
    let below = u32::from(lo).saturating_sub(1024);
    if above >= u32::from(want) {
        (hi + 1, want)
    } else if below >= u32::from(want) {
        (lo - want, want)
    } else if above >= below {
        (hi.saturating_add(1), above.max(1) as u16)
    } else {
        (1024, below.max(1) as u16)
    }
}

/// True when the effective capability set holds CAP_NET_RAW.
pub fn has_cap_net_raw() -> bool {
    const CAP_NET_RAW: u32 = 13;
    // Capabilities are per thread, and prtip's main thread gives its up at
    // once (sys::privs): ask about this thread, not the process leader.
    let Ok(status) = std::fs::read_to_string("/proc/thread-self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_NET_RAW) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_route() {
        let src = source_for(Ipv4Addr::new(127, 0, 0, 1)).expect("route");
        assert!(src.is_loopback());
        assert_eq!(interface_of(Ipv4Addr::LOCALHOST).expect("lo"), "lo");
        let src6 = source_for_addr(IpAddr::V6(Ipv6Addr::LOCALHOST)).expect("route to ::1");
        assert_eq!(src6, IpAddr::V6(Ipv6Addr::LOCALHOST));
    }

    #[test]
    fn port_window_avoids_the_ephemeral_range() {
        assert_eq!(source_port_window((32768, 60999), 4096), (61000, 4096));
        // Range reaching the top: go below it.
        assert_eq!(source_port_window((20000, 65535), 4096), (15904, 4096));
        // Little room either way: take the larger side.
        let (base, n) = source_port_window((2000, 65000), 4096);
        assert!(u32::from(base) + u32::from(n) <= 2000 || base > 65000);
        assert!(n > 0);
    }
}
