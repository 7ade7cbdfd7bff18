//! What one host's OS probing observed: a reply (or none) per probe, plus
//! the probe-side numbers the tests compare against.

use std::time::Duration;

use super::probes::{Probe, PROBE_COUNT};
use super::reply::OsReply;

/// The values of our own probes that tests refer to. Taken from a
/// [`ProbePlan`](super::ProbePlan) by the engine, or from a capture of
/// nmap's probes in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProbeNumbers {
    /// Sequence number of SEQ1 (SEQ `i` sent `seq_base + i`, ECN and T2-T7 `seq_base`).
    pub seq_base: u32,
    /// Acknowledgment number of the SEQ probes and T2-T7 (ECN sends 0).
    pub ack: u32,
    /// TTL U1 left with; the quoted TTL tells the hop distance.
    pub u1_ttl: u8,
    /// UDP checksum U1 carried.
    pub u1_udp_checksum: u16,
}

impl ProbeNumbers {
    /// Sequence number `probe` was sent with.
    pub fn seq_of(&self, probe: Probe) -> u32 {
        match probe.seq_index() {
            Some(i) => self.seq_base.wrapping_add(i as u32),
            None => self.seq_base,
        }
    }

    /// Acknowledgment number `probe` was sent with.
    pub fn ack_of(&self, probe: Probe) -> u32 {
        if probe == Probe::Ecn {
            0
        } else {
            self.ack
        }
    }
}

/// Replies per probe and the send times of the SEQ probes; all a
/// fingerprint is computed from. Fixed size (about 2 KB), no heap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observations {
    /// Probe-side numbers.
    pub numbers: ProbeNumbers,
    /// When each SEQ probe (the transmission that was answered, or the last
    /// one) left, from any fixed origin.
    pub seq_sent_at: [Option<Duration>; 6],
    replies: [Option<OsReply>; PROBE_COUNT],
}

impl Observations {
    /// Nothing observed yet.
    pub fn new(numbers: ProbeNumbers) -> Observations {
        Observations {
            numbers,
            seq_sent_at: [None; 6],
            replies: [None; PROBE_COUNT],
        }
    }

    /// The reply to `probe`, if one arrived.
    pub fn reply(&self, probe: Probe) -> Option<&OsReply> {
        self.replies.get(probe.index())?.as_ref()
    }

    /// Records the reply to `probe`; the first one stays (a duplicate
    /// answers a retransmission and says nothing new). Returns whether it
    /// was new.
    pub fn record(&mut self, probe: Probe, reply: OsReply) -> bool {
        match self.replies.get_mut(probe.index()) {
            Some(slot @ None) => {
                *slot = Some(reply);
                true
            }
            _ => false,
        }
    }

    /// Sets or replaces the reply to `probe` (for tests and replays).
    pub fn set(&mut self, probe: Probe, reply: Option<OsReply>) {
        if let Some(slot) = self.replies.get_mut(probe.index()) {
            *slot = reply;
        }
    }

    /// Number of probes answered.
    pub fn answered(&self) -> usize {
        self.replies.iter().filter(|r| r.is_some()).count()
    }

    /// Hop distance from U1's quoted TTL: 1 for a neighbour, as nmap counts.
    /// `None` without a U1 reply or when the quote claims more TTL than we sent.
    pub fn distance(&self) -> Option<u8> {
        let quoted = self.reply(Probe::U1)?.unreach()?.quoted_ttl;
        self.numbers
            .u1_ttl
            .checked_sub(quoted)
            .and_then(|d| d.checked_add(1))
    }
}
