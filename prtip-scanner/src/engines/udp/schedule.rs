//! When each host gets its next batch of probes, and what a batch's
//! silence proves.
//!
//! Linux answers a closed UDP port with an ICMP port unreachable, but
//! sends at most one ICMP error a second to each destination after a burst
//! of six (a token bucket, `net.ipv4.icmp_ratelimit`). A probe that met an
//! empty bucket is silent although the port is closed, so silence alone
//! proves nothing while the bucket may be empty.
//!
//! What does prove something is order. A host's batch sends its unsettled
//! ports in one fixed order, then one *sentinel*: a port known to draw ICMP
//! errors. The target's kernel takes the datagrams in that order within a
//! fraction of a millisecond, and its bucket only empties as it answers. So
//! when a probe sent later in the batch drew an error from the target, the
//! bucket was not empty when every earlier probe arrived, and an earlier
//! silent port is not closed. Such a silence is *confirmed*; a port whose
//! silence is confirmed in [`CONFIRMATIONS`] batches is open|filtered
//! ([`LOSSY_CONFIRMATIONS`] once the network has been seen losing probes,
//! see [`confirmations_needed`]). Ports
//! after the last answered probe learn nothing and stay in the next batch.
//!
//! Tokens are the scarce resource: every batch spends them on closed ports
//! (each of which needs one) and on at most one sentinel, and silent ports
//! are confirmed for free in front of them. Batches are spaced so that a
//! few tokens have come back between them ([`next_interval`]); the scan of
//! a host with `C` closed ports thus takes about `C - burst` seconds, the
//! least the target allows, and runs in parallel across hosts, each with
//! its own bucket.
//!
//! IPv6 targets limit ICMPv6 errors the same way with another clock
//! (`net.ipv6.icmp.ratelimit`, 1 s, burst six), shortened by the prefix
//! length of the target's route back to us: the interval is shifted right
//! by `(128 - prefix) / 32`, so a /128 or /97+ route refills a token a
//! second, a /64 (the usual on-link route) one every 250 ms, a default
//! route (/0) one every 62 ms; loopback is not limited at all. Nothing here
//! assumes the 1 s clock: [`next_interval`] scales the pause by the errors
//! the last batch drew, so against IPv6 it settles near two tokens of the
//! faster clock, and a host with `C` closed ports takes about
//! `(C - burst) × interval` instead of `C - burst` seconds. The bounds that
//! are in seconds ([`QUIET_HOST_WAIT`], [`MAX_INTERVAL`]) only err on the
//! slow side there.
//!
//! A host that never sent an ICMP error has nothing to confirm with: like
//! nmap, its silent ports are open|filtered after one retransmission, but
//! only once [`QUIET_HOST_WAIT`] has passed since the first batch, long
//! enough for a bucket drained by someone else to refill and show itself
//! (a third batch is sent then if the first two came sooner).

use super::state::{BatchMark, Outcome, UdpWindow, SENTINEL_POS};
use std::time::{Duration, Instant};

/// Confirmed silences that make a port open|filtered: two, so one lost
/// probe or reordered datagram cannot decide a port.
pub const CONFIRMATIONS: u8 = 2;
/// The same once probes are known to get lost. With two, an open port is
/// missed when both of its probes are lost: at 5 % loss one open port in
/// 400, and scans of a /28 with three open UDP ports on every address
/// missed one in 2 of 30 runs (the lab of `prtip/tests/loss_lab.rs`).
/// With four, once the loss has shown itself, one in 160,000.
pub const LOSSY_CONFIRMATIONS: u8 = 4;

/// Confirmed silences a port needs, given the answers seen so far that
/// came after a confirmed silence ([`UdpWindow::losses`]): nmap, too,
/// retransmits more once it sees drops. A network that loses nothing
/// costs no extra batch.
pub fn confirmations_needed(losses: u32) -> u8 {
    if losses == 0 {
        CONFIRMATIONS
    } else {
        LOSSY_CONFIRMATIONS
    }
}
/// Batches before a host with no ICMP errors at all is judged silent.
pub const QUIET_HOST_BATCHES: u32 = 2;
/// Time a host with no ICMP errors gets to show one before its silence counts.
pub const QUIET_HOST_WAIT: Duration = Duration::from_millis(1500);
/// Longest pause between two batches to one host. Linux's bucket holds six
/// seconds of tokens, so waiting up to four loses none.
pub const MAX_INTERVAL: Duration = Duration::from_secs(4);
/// ICMP errors a rate-limited host should have in store at each batch.
const TARGET_ERRORS: f64 = 2.0;
/// Most probes in one host's batch (before the sentinel).
pub const MAX_BATCH_PORTS: u32 = 4096;

/// The sender's plan for one host.
#[derive(Debug, Clone)]
pub struct HostPlan {
    /// Number of the last batch sent (0: none yet).
    pub batch: u16,
    /// When the batch in flight went out; `None` once it was judged.
    pub in_flight: Option<Instant>,
    /// Ranks below this were in the batch in flight.
    pub end: u32,
    /// Probes of the batch in flight that had no outcome when sent.
    pub pending: u32,
    /// The batch in flight ends with a sentinel.
    pub sentinel: bool,
    /// The batch in flight may settle a silent port: it is given its full
    /// round-trip timeout (see [`judge_at`]).
    pub deciding: bool,
    /// Pause between batch starts.
    pub interval: Duration,
    /// Earliest start of the next batch.
    pub next: Instant,
    pub batches: u32,
    pub first: Option<Instant>,
    /// Batches in a row that drew nothing at all.
    pub quiet: u32,
    pub done: bool,
    /// `--host-timeout` ran out before the host was settled.
    pub timed_out: bool,
    /// The host's ICMP rate limit was seen (and published) once.
    pub limited: bool,
}

impl HostPlan {
    pub fn new(now: Instant, interval: Duration) -> Self {
        HostPlan {
            batch: 0,
            in_flight: None,
            end: 0,
            pending: 0,
            sentinel: false,
            deciding: false,
            interval,
            next: now,
            batches: 0,
            first: None,
            quiet: 0,
            done: false,
            timed_out: false,
            limited: false,
        }
    }
}

/// When `host`'s batch in flight can be judged: `None` now, else the time
/// to look again. A batch is judged a round-trip timeout after it went
/// out, once every probe in it has an answer, or as soon as its sentinel's
/// error is back (the target has handled
/// every probe before it, so waiting longer teaches nothing about the ports
/// that drew no error), provided the host's first batch has had its full
/// timeout, so a slow service still had that long to answer its first probe.
/// A batch that may settle a silent port ([`HostPlan::deciding`]) is judged
/// at its sentinel only once `answer` (the round trips measured, services'
/// answers included, without the template's floor) has passed too: a port
/// whose earlier probe was lost is first answered in a later batch, and a
/// service answers slower than the kernel sends the sentinel's error, so
/// judged at the sentinel alone such a port would be called open|filtered
/// just before its answer came.
pub fn judge_at(
    win: &UdpWindow,
    host: u32,
    plan: &HostPlan,
    now: Instant,
    (wait, answer): (Duration, Duration),
) -> Option<Instant> {
    let sent = plan.in_flight?;
    if now >= sent + wait || win.batch_answers(host) >= plan.pending {
        // Out of time, or every probe of the batch has its answer.
        return None;
    }
    let first_waited = plan.first.is_some_and(|f| now >= f + wait);
    if plan.sentinel && first_waited {
        let ready = if plan.deciding { sent + answer } else { sent };
        let mark = win.mark(host);
        if mark.batch == plan.batch && mark.reach == SENTINEL_POS && now >= ready {
            return None;
        }
        // Its error is a round trip away: look again soon.
        return Some((sent + wait).min((now + SENTINEL_POLL).max(ready)));
    }
    Some(sent + wait)
}

/// How often a batch whose sentinel may answer is looked at.
const SENTINEL_POLL: Duration = Duration::from_millis(1);

/// Give up on a host whose first batch went out more than `limit` ago
/// (`--host-timeout`): true when it has just run out.
pub fn out_of_time(plan: &mut HostPlan, limit: Option<Duration>, now: Instant) -> bool {
    let expired = match (limit, plan.first) {
        (Some(limit), Some(first)) => now.duration_since(first) >= limit,
        _ => false,
    };
    if expired {
        plan.done = true;
        plan.timed_out = true;
    }
    expired
}

/// How a host's batches are judged.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// `--defeat-icmp-ratelimit`: settle after one retransmission.
    pub defeat: bool,
    /// Batches in a row without any answer before a host is given up.
    pub max_quiet: u32,
}

/// What judging a batch found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Probes of the batch still without an outcome.
    pub unsettled: u32,
    /// Probes the network answered during the batch.
    pub answered: u32,
    /// ICMP errors the target sent for the batch.
    pub errors: u16,
    /// The target's ICMP errors are rate-limited: it has drawn them
    /// before, yet this batch's sentinel drew none while ports were left.
    pub limited: bool,
}

/// Judge `host`'s batch in flight from what the receiver marked, and plan
/// the next one; `wait` is the current round-trip timeout.
pub fn judge(
    win: &UdpWindow,
    host: u32,
    plan: &mut HostPlan,
    rules: Rules,
    now: Instant,
    wait: Duration,
) -> Verdict {
    let sent = plan.in_flight.unwrap_or(now);
    let mark = win.mark(host);
    let fresh = mark.batch == plan.batch;
    let errors_seen = win.sentinel(host).is_some();
    let needed = confirmations_needed(win.losses());
    let mut unsettled = 0u32;
    // Most confirmations of a port that stays unsettled.
    let mut closest = 0u8;
    for rank in 0..plan.end {
        if win.outcome(host, rank).is_some() {
            continue;
        }
        unsettled += 1;
        let count = if fresh && confirms(mark, rank) {
            let count = win.confirm_silence(host, rank);
            if count >= needed {
                win.settle_silent(host, rank, Outcome::Silent);
                continue;
            }
            count
        } else {
            win.confirmations(host, rank)
        };
        closest = closest.max(count);
    }
    plan.deciding = closest + 1 >= needed;
    let answered = plan.pending.saturating_sub(unsettled);
    plan.in_flight = None;
    if answered == 0 && mark.errors == 0 {
        plan.quiet += 1;
    } else {
        plan.quiet = 0;
    }
    let waited = plan.first.map_or(Duration::ZERO, |f| now.duration_since(f));
    let give_up = if rules.defeat {
        plan.batches >= QUIET_HOST_BATCHES
    } else if !errors_seen {
        plan.batches > QUIET_HOST_BATCHES
            || (plan.batches == QUIET_HOST_BATCHES && waited >= QUIET_HOST_WAIT)
    } else {
        plan.quiet > rules.max_quiet
    };
    if give_up {
        let verdict = if rules.defeat {
            Outcome::SilentUnsure
        } else {
            Outcome::Silent
        };
        for rank in 0..win.nports() {
            win.settle_silent(host, rank, verdict);
        }
    }
    let left = count_unsettled(win, host);
    plan.done = left == 0;
    let errors = if fresh { mark.errors } else { 0 };
    plan.interval = next_interval(plan.interval, errors, wait);
    plan.next = if fresh && mark.reach == SENTINEL_POS {
        // The target still had an error to spare after the whole batch:
        // no need to wait for its bucket to refill.
        now
    } else {
        sent + plan.interval
    };
    if !errors_seen && plan.batches >= QUIET_HOST_BATCHES {
        // A quiet host's last chance comes once a drained bucket has refilled.
        if let Some(first) = plan.first {
            plan.next = plan.next.max(first + QUIET_HOST_WAIT);
        }
    }
    Verdict {
        unsettled: left,
        answered,
        errors,
        limited: fresh && plan.sentinel && mark.reach != SENTINEL_POS && left > 0,
    }
}

/// A silent probe at `rank` is proven not closed when a probe sent after
/// it in the same batch drew an ICMP error from the target.
fn confirms(mark: BatchMark, rank: u32) -> bool {
    mark.reach == SENTINEL_POS || mark.reach > rank + 1
}

fn count_unsettled(win: &UdpWindow, host: u32) -> u32 {
    (0..win.nports())
        .filter(|&r| win.outcome(host, r).is_none())
        .count() as u32
}

/// The pause before the next batch: shorter while errors come back
/// freely, longer while the target's bucket is empty, so that each batch
/// finds about `TARGET_ERRORS` (two) tokens in it. Never below `wait` (a round
/// trip timeout), never above [`MAX_INTERVAL`].
pub fn next_interval(current: Duration, errors: u16, wait: Duration) -> Duration {
    let scaled = if errors == 0 {
        current.mul_f64(2.0)
    } else {
        current.mul_f64((TARGET_ERRORS / f64::from(errors)).clamp(0.25, 2.0))
    };
    scaled.clamp(wait, MAX_INTERVAL.max(wait))
}
