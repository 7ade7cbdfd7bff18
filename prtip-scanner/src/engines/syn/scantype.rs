//! The TCP scan types of the raw engine: which control bits a port probe
//! carries and what an answer, or silence, means for the port.
//!
//! nmap's rules (scan_engine_raw.cc, scan_engine.cc): a SYN-ACK opens a
//! port only in a SYN scan; a RST means `unfiltered` in an ACK scan, `open`
//! or `closed` by its window in a window scan, and `closed` in every other
//! type, with reason `reset`. Silence is `filtered` for SYN, ACK and window
//! scans and `open|filtered` for Maimon, NULL, FIN and Xmas, whose open
//! ports stay silent. ICMP errors filter the port in every type
//! (`engines/icmp.rs`). `--scanflags` changes only the bits sent: the
//! answers are read by the scan type given with it (SYN when none).

use super::window::Outcome;
use prtip_core::result::{PortState, Reason};
use prtip_core::wire::{TcpFlags, TcpReply};

/// A TCP scan type of the raw engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpScanType {
    Syn,
    Ack,
    Window,
    Maimon,
    Null,
    Fin,
    Xmas,
}

impl TcpScanType {
    /// The control bits nmap sends for this type.
    pub fn default_flags(self) -> TcpFlags {
        use TcpScanType::*;
        match self {
            Syn => TcpFlags::SYN,
            Ack | Window => TcpFlags::ACK,
            Maimon => TcpFlags::FIN.union(TcpFlags::ACK),
            Null => TcpFlags(0),
            Fin => TcpFlags::FIN,
            Xmas => TcpFlags::FIN.union(TcpFlags::PSH).union(TcpFlags::URG),
        }
    }

    /// nmap's name (XML `<scaninfo type=...>`).
    pub fn nmap_name(self) -> &'static str {
        use TcpScanType::*;
        match self {
            Syn => "syn",
            Ack => "ack",
            Window => "window",
            Maimon => "maimon",
            Null => "null",
            Fin => "fin",
            Xmas => "xmas",
        }
    }

    /// The option that asks for this type.
    pub fn option(self) -> &'static str {
        use TcpScanType::*;
        match self {
            Syn => "-sS",
            Ack => "-sA",
            Window => "-sW",
            Maimon => "-sM",
            Null => "-sN",
            Fin => "-sF",
            Xmas => "-sX",
        }
    }

    /// True when an open port does not answer, so silence is `open|filtered`.
    pub fn silent_when_open(self) -> bool {
        matches!(
            self,
            TcpScanType::Maimon | TcpScanType::Null | TcpScanType::Fin | TcpScanType::Xmas
        )
    }
}

/// What a port probe sends and how its answers are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpProbe {
    /// How answers are read.
    pub scan: TcpScanType,
    /// The control bits sent (`--scanflags`, or the type's own).
    pub flags: TcpFlags,
}

impl TcpProbe {
    /// nmap's SYN scan, the default.
    pub const SYN: TcpProbe = TcpProbe {
        scan: TcpScanType::Syn,
        flags: TcpFlags::SYN,
    };

    /// The scan type with its own control bits.
    pub fn of(scan: TcpScanType) -> TcpProbe {
        TcpProbe {
            scan,
            flags: scan.default_flags(),
        }
    }

    /// True for the plain SYN scan, which keeps its precomputed template and
    /// the SYN cookie (the same probe as discovery's SYN).
    pub fn is_plain_syn(&self) -> bool {
        *self == TcpProbe::SYN
    }

    /// The outcome of `r`, an answer already validated as one to a port
    /// probe; `None` when nmap ignores it for this type.
    pub fn outcome(&self, r: &TcpReply) -> Option<Outcome> {
        if r.flags.contains(TcpFlags::RST) {
            return Some(match self.scan {
                TcpScanType::Ack => Outcome::Unfiltered,
                TcpScanType::Window if r.window != 0 => Outcome::Open,
                _ => Outcome::Closed,
            });
        }
        let syn_ack = r.flags.contains(TcpFlags::SYN_ACK);
        (self.scan == TcpScanType::Syn && syn_ack).then_some(Outcome::Open)
    }

    /// State and reason of a port with outcome `o`.
    pub fn state_reason(&self, o: Outcome) -> (PortState, Reason) {
        match o {
            Outcome::Open if self.scan == TcpScanType::Syn => (PortState::Open, Reason::SynAck),
            Outcome::Open => (PortState::Open, Reason::Reset),
            Outcome::Closed => (PortState::Closed, Reason::Reset),
            Outcome::Unfiltered => (PortState::Unfiltered, Reason::Reset),
            Outcome::Filtered(f) => (PortState::Filtered, f.reason()),
        }
    }

    /// State of a port that never answered (reason `no-response`).
    pub fn silent_state(&self) -> PortState {
        if self.scan.silent_when_open() {
            PortState::OpenFiltered
        } else {
            PortState::Filtered
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn rst(window: u16) -> TcpReply {
        let a = IpAddr::V4(Ipv4Addr::LOCALHOST);
        TcpReply {
            src: a,
            dst: a,
            sport: 1,
            dport: 2,
            seq: 0,
            ack: 0,
            flags: TcpFlags::RST,
            window,
            ttl: 64,
        }
    }

    #[test]
    fn a_reset_means_what_nmap_says_for_each_type() {
        use TcpScanType::*;
        let read = |t, w| {
            let p = TcpProbe::of(t);
            p.state_reason(p.outcome(&rst(w)).expect("a reset counts"))
        };
        assert_eq!(read(Ack, 512), (PortState::Unfiltered, Reason::Reset));
        assert_eq!(read(Window, 512), (PortState::Open, Reason::Reset));
        assert_eq!(read(Window, 0), (PortState::Closed, Reason::Reset));
        for t in [Syn, Maimon, Null, Fin, Xmas] {
            assert_eq!(read(t, 512), (PortState::Closed, Reason::Reset), "{t:?}");
        }
    }

    #[test]
    fn a_syn_ack_opens_only_in_a_syn_scan() {
        let mut r = rst(1);
        r.flags = TcpFlags::SYN_ACK;
        let custom = TcpProbe {
            scan: TcpScanType::Syn,
            flags: TcpFlags(0x22),
        };
        assert_eq!(custom.outcome(&r), Some(Outcome::Open));
        assert_eq!(TcpProbe::of(TcpScanType::Fin).outcome(&r), None);
        assert_eq!(TcpProbe::of(TcpScanType::Ack).outcome(&r), None);
    }

    #[test]
    fn silence_is_open_filtered_only_where_open_ports_stay_silent() {
        use TcpScanType::*;
        for t in [Syn, Ack, Window] {
            assert_eq!(TcpProbe::of(t).silent_state(), PortState::Filtered);
        }
        for t in [Maimon, Null, Fin, Xmas] {
            assert_eq!(TcpProbe::of(t).silent_state(), PortState::OpenFiltered);
        }
        assert_eq!(TcpProbe::of(Xmas).flags, TcpFlags(0x29));
        assert_eq!(TcpProbe::of(Maimon).flags, TcpFlags(0x11));
    }
}
