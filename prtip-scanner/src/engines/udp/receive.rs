//! Classifying what comes back: UDP answers (open) and ICMP errors quoting
//! our probes (closed or filtered), each checked against the scan's keys.
//! Both families: an ICMPv6 error quotes the flow label where an ICMP one
//! quotes the identification, and `IcmpError::orig_tag` is either.

use super::probe::{echo_matches, port_echo, untag};
use super::state::{Outcome, UdpWindow, SENTINEL_POS};
use super::UdpScanner;
use crate::engines::hosts::HostReason;
use prtip_core::wire::{parse_reply, IcmpError, Reply, UdpReply, IPPROTO_UDP};
use std::sync::atomic::Ordering;
use std::time::Instant;

impl UdpScanner {
    /// Handle one received datagram.
    pub(super) fn handle(&self, packet: &[u8]) {
        self.received.fetch_add(1, Ordering::Relaxed);
        let reply = match parse_reply(packet) {
            Some(r @ (Reply::Udp(_) | Reply::IcmpError(_))) => r,
            _ => return,
        };
        let guard = self.current.read().unwrap_or_else(|e| e.into_inner());
        let Some(win) = guard.as_ref() else { return };
        match reply {
            Reply::Udp(u) => self.on_udp(win, &u),
            Reply::IcmpError(u) if u.orig_proto == IPPROTO_UDP => self.on_icmp(win, &u),
            _ => {}
        }
    }

    fn drop_forged(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    fn on_udp(&self, win: &UdpWindow, u: &UdpReply) {
        let (Some(h), Some(rank)) = (win.host_index(u.src), self.order.rank(u.sport)) else {
            return;
        };
        if u.dport != self.sport(u.src, u.sport) || u.dst != win.source(h) {
            // Someone else's traffic with the same hosts.
            return;
        }
        if let Some(echo) = port_echo(self, u.sport) {
            let expected = self.cookie.udp_echo(u.dst, u.src, u.dport, u.sport);
            if !echo_matches(&echo, &expected, u.head()) {
                self.drop_forged();
                return;
            }
        }
        self.matched.fetch_add(1, Ordering::Relaxed);
        if win.record(h, rank, Outcome::Open) {
            if let Some(rtt) = win.since_sent(h, Instant::now()) {
                self.rtt.sample(rtt);
            }
        }
        win.mark_alive(h, u.ttl, HostReason::UdpResponse);
    }

    fn on_icmp(&self, win: &UdpWindow, u: &IcmpError) {
        let (Some(h), Some(rank)) = (win.host_index(u.orig_dst), self.order.rank(u.orig_dport))
        else {
            return;
        };
        if u.orig_src != win.source(h) || u.orig_sport != self.sport(u.orig_dst, u.orig_dport) {
            self.drop_forged();
            return;
        }
        let keyed = self
            .cookie
            .udp_tag(u.orig_src, u.orig_dst, u.orig_sport, u.orig_dport);
        // The batch tag is 16 bits; a flow label's 4 bits above it are all
        // key, and must match too.
        let tag = u16::try_from(u.orig_tag ^ keyed).ok();
        let Some((batch, sentinel)) = tag.and_then(|t| untag(t, win.mark(h).batch)) else {
            self.drop_forged();
            return;
        };
        let from_target = u.from == u.orig_dst;
        let Some(outcome) = Outcome::from_icmp(u) else {
            return;
        };
        self.matched.fetch_add(1, Ordering::Relaxed);
        if !sentinel {
            win.record(h, rank, outcome);
        }
        if from_target {
            // Only the target's own errors tell about the target's bucket.
            win.offer_sentinel(h, rank);
            let reach = if sentinel { SENTINEL_POS } else { rank + 1 };
            if win.mark(h).batch == batch {
                if let Some(rtt) = win.since_sent(h, Instant::now()) {
                    self.rtt.sample(rtt);
                }
            }
            win.note_error(h, batch, reach);
        }
        win.mark_alive(h, u.ttl, HostReason::Unreachable);
    }
}
