//! The text each enum is stored as (the outputs' own words), and back.

use crate::Error;
use prtip_core::result::{HostStatus, OsNotIdeal, PortState, Protocol, Reason, ServiceMethod};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const REASONS: [Reason; 22] = [
    Reason::SynAck,
    Reason::Reset,
    Reason::ConnRefused,
    Reason::NoResponse,
    Reason::HostUnreach,
    Reason::NetUnreach,
    Reason::ProtoUnreach,
    Reason::PortUnreach,
    Reason::AdminProhibited,
    Reason::HostProhibited,
    Reason::NetProhibited,
    Reason::EchoReply,
    Reason::TimestampReply,
    Reason::Localhost,
    Reason::UserSet,
    Reason::TimeExceeded,
    Reason::UdpResponse,
    Reason::NoRoute,
    Reason::BeyondScope,
    Reason::RejectRoute,
    Reason::ParamProblem,
    Reason::AddressMaskReply,
];

/// nmap's scan type names (XML `scaninfo type`); `RunInfo` wants them static.
const SCAN_TYPES: [&str; 13] = [
    "syn",
    "ack",
    "bounce",
    "connect",
    "null",
    "xmas",
    "window",
    "maimon",
    "fin",
    "udp",
    "sctpinit",
    "sctpcookieecho",
    "ipproto",
];

fn find<T: Copy>(
    all: &[T],
    name: &str,
    text: fn(T) -> &'static str,
    what: &str,
) -> Result<T, Error> {
    all.iter()
        .copied()
        .find(|v| text(*v) == name)
        .ok_or_else(|| Error::Corrupt(format!("unknown {what} \"{name}\"")))
}

pub fn reason(name: &str) -> Result<Reason, Error> {
    find(&REASONS, name, Reason::as_str, "reason")
}

pub fn state(name: &str) -> Result<PortState, Error> {
    find(&PortState::ALL, name, PortState::as_str, "port state")
}

pub fn protocol(name: &str) -> Result<Protocol, Error> {
    find(
        &[Protocol::Tcp, Protocol::Udp],
        name,
        Protocol::as_str,
        "protocol",
    )
}

pub fn host_status(name: &str) -> Result<HostStatus, Error> {
    find(
        &[HostStatus::Up, HostStatus::Down, HostStatus::Unknown],
        name,
        HostStatus::as_str,
        "host status",
    )
}

pub fn method(name: &str) -> Result<ServiceMethod, Error> {
    find(
        &[ServiceMethod::Table, ServiceMethod::Probed],
        name,
        ServiceMethod::as_str,
        "service method",
    )
}

pub fn scan_type(name: &str) -> Result<&'static str, Error> {
    find(&SCAN_TYPES, name, |s| s, "scan type")
}

/// `OsNotIdeal` as a word and, for `Distance`, its hop count.
pub fn not_ideal_text(n: OsNotIdeal) -> (&'static str, Option<u8>) {
    match n {
        OsNotIdeal::InsaneTiming => ("insane-timing", None),
        OsNotIdeal::NoClosedPort => ("no-closed-port", None),
        OsNotIdeal::Distance(d) => ("distance", Some(d)),
        OsNotIdeal::NoUdpResponse => ("no-udp-response", None),
    }
}

pub fn not_ideal(name: &str, distance: Option<u8>) -> Result<OsNotIdeal, Error> {
    Ok(match name {
        "insane-timing" => OsNotIdeal::InsaneTiming,
        "no-closed-port" => OsNotIdeal::NoClosedPort,
        "distance" => OsNotIdeal::Distance(distance.unwrap_or(0)),
        "no-udp-response" => OsNotIdeal::NoUdpResponse,
        other => return Err(Error::Corrupt(format!("unknown OS note \"{other}\""))),
    })
}

/// Microseconds since the epoch; times before it (never made by a scan) are 0.
pub fn micros(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

pub fn time(us: i64) -> SystemTime {
    UNIX_EPOCH + duration(us)
}

pub fn duration_micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

pub fn duration(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back() {
        for r in REASONS {
            assert_eq!(reason(r.as_str()).unwrap(), r);
        }
        for s in PortState::ALL {
            assert_eq!(state(s.as_str()).unwrap(), s);
        }
        for n in [
            OsNotIdeal::InsaneTiming,
            OsNotIdeal::NoClosedPort,
            OsNotIdeal::Distance(7),
            OsNotIdeal::NoUdpResponse,
        ] {
            let (w, d) = not_ideal_text(n);
            assert_eq!(not_ideal(w, d).unwrap(), n);
        }
        assert!(reason("nonsense").is_err());
        let t = time(1_700_000_000_123_456);
        assert_eq!(micros(t), 1_700_000_000_123_456);
    }
}
