//! What an ICMP error quoting one of our probes says about the probed
//! port, for both families and both raw engines: the one place the codes
//! are read.
//!
//! nmap's rules (scan_engine_raw.cc): a port unreachable from the target
//! itself closes a UDP port; every other destination-unreachable code it
//! knows makes the port filtered, with the code's reason name. For ICMPv6
//! the codes are RFC 4443's: 0 no route, 1 and 5 administratively
//! prohibited, 2 beyond scope, 3 address unreachable, 4 port unreachable,
//! 6 reject route. nmap reads a Parameter Problem "unrecognised next
//! header" as filtered too (its "erroneous field means open" reading is
//! for the IP protocol scan, which prtip does not have), and ignores Packet
//! Too Big and Time Exceeded for port states; so does prtip.

use prtip_core::result::Reason;
use prtip_core::wire::{IcmpError, IcmpErrorKind};

/// Why an ICMP error makes a port filtered. The discriminants are dense
/// from 0 so the engines can keep one in a nibble beside their own codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Filtered {
    NetUnreach = 0,
    HostUnreach = 1,
    ProtoUnreach = 2,
    PortUnreach = 3,
    NetProhibited = 4,
    HostProhibited = 5,
    AdminProhibited = 6,
    NoRoute = 7,
    BeyondScope = 8,
    RejectRoute = 9,
    ParamProblem = 10,
}

impl Filtered {
    /// How many values there are (the engines reserve this many codes).
    pub const COUNT: u8 = 11;

    /// The value with discriminant `i`.
    pub fn from_index(i: u8) -> Option<Filtered> {
        use Filtered::*;
        Some(match i {
            0 => NetUnreach,
            1 => HostUnreach,
            2 => ProtoUnreach,
            3 => PortUnreach,
            4 => NetProhibited,
            5 => HostProhibited,
            6 => AdminProhibited,
            7 => NoRoute,
            8 => BeyondScope,
            9 => RejectRoute,
            10 => ParamProblem,
            _ => return None,
        })
    }

    /// nmap's reason name.
    pub fn reason(self) -> Reason {
        use Filtered::*;
        match self {
            NetUnreach => Reason::NetUnreach,
            HostUnreach => Reason::HostUnreach,
            ProtoUnreach => Reason::ProtoUnreach,
            PortUnreach => Reason::PortUnreach,
            NetProhibited => Reason::NetProhibited,
            HostProhibited => Reason::HostProhibited,
            AdminProhibited => Reason::AdminProhibited,
            NoRoute => Reason::NoRoute,
            BeyondScope => Reason::BeyondScope,
            RejectRoute => Reason::RejectRoute,
            ParamProblem => Reason::ParamProblem,
        }
    }
}

/// An ICMP error's meaning for the probed port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpVerdict {
    /// Port unreachable from the target itself, to a UDP probe.
    Closed,
    Filtered(Filtered),
}

/// The verdict on a port from error `e` quoting our probe; `udp` when the
/// probe was UDP. `None`: the error says nothing about the port (an
/// unknown code, a time exceeded, a packet too big), and the probe stays
/// unanswered.
pub fn icmp_verdict(e: &IcmpError, udp: bool) -> Option<IcmpVerdict> {
    let filtered = if e.is_v6() {
        v6_filtered(e.kind, e.code)?
    } else {
        v4_filtered(e.kind, e.code)?
    };
    // Only the target itself can say nothing listens: a router's or a
    // firewall's port unreachable is a filter speaking.
    let from_target = e.from == e.orig_dst;
    Some(if filtered == Filtered::PortUnreach && udp && from_target {
        IcmpVerdict::Closed
    } else {
        IcmpVerdict::Filtered(filtered)
    })
}

fn v4_filtered(kind: IcmpErrorKind, code: u8) -> Option<Filtered> {
    use Filtered::*;
    if kind != IcmpErrorKind::Unreachable {
        return None;
    }
    Some(match code {
        0 => NetUnreach,
        1 => HostUnreach,
        2 => ProtoUnreach,
        3 => PortUnreach,
        9 => NetProhibited,
        10 => HostProhibited,
        13 => AdminProhibited,
        _ => return None,
    })
}

fn v6_filtered(kind: IcmpErrorKind, code: u8) -> Option<Filtered> {
    use Filtered::*;
    match (kind, code) {
        (IcmpErrorKind::Unreachable, 0) => Some(NoRoute),
        (IcmpErrorKind::Unreachable, 1 | 5) => Some(AdminProhibited),
        (IcmpErrorKind::Unreachable, 2) => Some(BeyondScope),
        (IcmpErrorKind::Unreachable, 3) => Some(HostUnreach),
        (IcmpErrorKind::Unreachable, 4) => Some(PortUnreach),
        (IcmpErrorKind::Unreachable, 6) => Some(RejectRoute),
        (IcmpErrorKind::ParameterProblem, 1) => Some(ParamProblem),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    const T4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2));
    const R4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 254));
    const T6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2));
    const R6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xfe));

    fn err(from: IpAddr, to: IpAddr, kind: IcmpErrorKind, code: u8) -> IcmpError {
        IcmpError {
            from,
            kind,
            code,
            ttl: 64,
            orig_src: from,
            orig_dst: to,
            orig_proto: 17,
            orig_sport: 61000,
            orig_dport: 53,
            orig_seq: 0,
            orig_tag: 0,
        }
    }

    fn verdict(from: IpAddr, to: IpAddr, kind: IcmpErrorKind, code: u8, udp: bool) -> String {
        match icmp_verdict(&err(from, to, kind, code), udp) {
            None => "none".into(),
            Some(IcmpVerdict::Closed) => "closed".into(),
            Some(IcmpVerdict::Filtered(f)) => f.reason().as_str().into(),
        }
    }

    #[test]
    fn ipv4_codes_follow_nmap() {
        use IcmpErrorKind::Unreachable as U;
        let names: Vec<String> = (0..16).map(|c| verdict(T4, T4, U, c, true)).collect();
        assert_eq!(
            names,
            [
                "net-unreach",
                "host-unreach",
                "proto-unreach",
                "closed",
                "none",
                "none",
                "none",
                "none",
                "none",
                "net-prohibited",
                "host-prohibited",
                "none",
                "none",
                "admin-prohibited",
                "none",
                "none"
            ]
        );
        // TCP: a port unreachable is a filter even from the target.
        assert_eq!(verdict(T4, T4, U, 3, false), "port-unreach");
        // UDP: only the target closes a port.
        assert_eq!(verdict(R4, T4, U, 3, true), "port-unreach");
        assert_eq!(
            verdict(T4, T4, IcmpErrorKind::TimeExceeded, 0, true),
            "none"
        );
    }

    #[test]
    fn ipv6_codes_follow_nmap() {
        use IcmpErrorKind::*;
        let names: Vec<String> = (0..8)
            .map(|c| verdict(T6, T6, Unreachable, c, true))
            .collect();
        assert_eq!(
            names,
            [
                "no-route",
                "admin-prohibited",
                "beyond-scope",
                "host-unreach",
                "closed",
                "admin-prohibited",
                "reject-route",
                "none"
            ]
        );
        assert_eq!(verdict(T6, T6, Unreachable, 4, false), "port-unreach");
        assert_eq!(verdict(R6, T6, Unreachable, 4, true), "port-unreach");
        assert_eq!(verdict(R6, T6, ParameterProblem, 1, false), "param-problem");
        for (kind, code) in [
            (ParameterProblem, 0),
            (ParameterProblem, 2),
            (PacketTooBig, 0),
        ] {
            assert_eq!(verdict(T6, T6, kind, code, true), "none", "{kind:?}/{code}");
        }
        assert_eq!(verdict(R6, T6, TimeExceeded, 0, false), "none");
    }

    #[test]
    fn filtered_round_trips_its_index() {
        for i in 0..Filtered::COUNT {
            let f = Filtered::from_index(i).expect("dense");
            assert_eq!(f as u8, i);
            assert_ne!(f.reason(), Reason::NoResponse);
        }
        assert_eq!(Filtered::from_index(Filtered::COUNT), None);
    }
}
