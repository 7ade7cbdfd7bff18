//! Identifying one port: nmap's probe sequence, run several probes at a time.
//!
//! nmap sends probes one after another and takes the first that matches.
//! Most of its time goes into waiting: 6 s for a banner from an HTTP server
//! that never sends one, then 5 s for every silent probe (and a UDP port
//! that answers nothing is silent for every probe). Here the next few
//! probes of the sequence run concurrently on their own connections (or
//! UDP sockets), and the answer is still read off the sequence in nmap's
//! order: probe `k`'s result counts only once every earlier probe has been
//! ruled out.
//!
//! A probe still running can be ruled out early in one case: a later probe
//! already has a hard match and this one has been silent for `grace`.
//! Services that speak first do so within milliseconds of the accept, and
//! a response to our bytes arrives within a round trip, so a probe that has
//! heard nothing for that long after a later probe was answered would, in
//! nmap's serial run, have timed out with the same (lack of) data.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use prtip_core::service_db::{Match, ServiceDb};
use tokio::time::{sleep_until, Instant};

use super::exchange::{self, run_probe, Ending, Endpoint, Shared};
use super::order::{eligible, is_null, probe_order, Candidate};
use super::verdict::Verdict;
use crate::cancel::StopFlag;

/// Wait for a probe without `totalwaitms` (nmap's default).
const DEFAULT_WAIT: Duration = Duration::from_millis(5000);
/// Connections one port may have open at once, counting probes that have
/// gone quiet (see [`launch`]).
const MAX_CONNECTIONS: usize = 16;
/// `tcpwrappedms` when the NULL probe has none (nmap's default).
const DEFAULT_TCPWRAPPED: Duration = Duration::from_millis(2000);

/// Knobs of one pass over a port.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PassConfig {
    pub(crate) intensity: u8,
    /// Probes in flight at once for this port.
    pub(crate) window: usize,
    /// Silence after which a running probe is ruled out once a later probe
    /// has matched.
    pub(crate) grace: Duration,
    /// `--version-trace`: print each probe and its outcome on stderr.
    pub(crate) trace: bool,
}

#[derive(Debug)]
enum State {
    Idle,
    Running,
    Done(Ending),
}

/// One probe of the sequence: 16 bytes, since a port has a slot for every
/// probe of the database and 32 ports are identified at once. What only a
/// started probe needs is in its `progress`.
#[derive(Debug)]
struct Slot {
    cand: Candidate,
    state: State,
    progress: Option<Shared>,
}

type Running<'f> = FuturesUnordered<Pin<Box<dyn Future<Output = (usize, Ending)> + Send + 'f>>>;

/// The sequence's bookkeeping: what earlier probes established.
struct Walk<'a> {
    cursor: usize,
    soft: Option<Match<'a>>,
    wrap_possible: bool,
    responded: bool,
}

/// One pass (plain or TLS) over `ep`'s port.
pub(crate) async fn identify_pass<'a>(
    db: &ServiceDb<'a>,
    ep: &Endpoint,
    tls: bool,
    cfg: PassConfig,
    stop: &StopFlag,
) -> Verdict<'a> {
    let mut slots: Vec<Slot> = probe_order(db, ep.protocol, ep.addr.port(), tls)
        .into_iter()
        .map(|cand| Slot {
            cand,
            state: State::Idle,
            progress: None,
        })
        .collect();
    let mut running: Running<'_> = FuturesUnordered::new();
    let mut walk = Walk {
        cursor: 0,
        soft: None,
        wrap_possible: true,
        responded: false,
    };
    loop {
        if stop.is_stopped() {
            return Verdict::Unrecognized {
                responded: walk.responded,
            };
        }
        let wake = match advance(db, ep, &mut slots, &mut walk, cfg) {
            Step::Decided(v) => return v,
            Step::Wait(wake) => wake,
        };
        let relaunch = launch(db, ep, &mut slots, &walk, cfg, &mut running);
        let wake = match (wake, relaunch) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let finished = match (running.is_empty(), wake) {
            // Nothing can change any more; cannot happen while the cursor
            // waits on a slot, but never hang on it.
            (true, None) => {
                return Verdict::Unrecognized {
                    responded: walk.responded,
                }
            }
            (true, Some(at)) => {
                sleep_until(at).await;
                None
            }
            (false, None) => running.next().await,
            (false, Some(at)) => tokio::select! {
                r = running.next() => r,
                () = sleep_until(at) => None,
            },
        };
        if let Some((idx, ending)) = finished {
            if let Some(slot) = slots.get_mut(idx) {
                if cfg.trace {
                    let bytes = slot
                        .progress
                        .as_ref()
                        .map_or(0, |p| exchange::lock(p).data.len());
                    eprintln!(
                        "Service scan probe {} to {} ended: {ending:?}, {bytes} bytes",
                        probe_name(db, slot.cand),
                        ep.addr
                    );
                }
                slot.state = State::Done(ending);
                if let Some(p) = &slot.progress {
                    exchange::lock(p).ended = Some(Instant::now());
                }
            }
        }
    }
}

enum Step<'a> {
    Decided(Verdict<'a>),
    /// Wait for a probe to finish, or until this instant at the latest.
    Wait(Option<Instant>),
}

/// Moves the cursor over every probe whose outcome is settled.
fn advance<'a>(
    db: &ServiceDb<'a>,
    ep: &Endpoint,
    slots: &mut [Slot],
    walk: &mut Walk<'a>,
    cfg: PassConfig,
) -> Step<'a> {
    loop {
        let Some(slot) = slots.get(walk.cursor) else {
            return Step::Decided(finish(walk));
        };
        let soft = walk.soft.as_ref().map(|m| m.service);
        if !eligible(db, slot.cand, soft, cfg.intensity) {
            walk.cursor += 1;
            continue;
        }
        let ending = match slot.state {
            State::Done(e) => e,
            State::Idle => return Step::Wait(None),
            State::Running => {
                if later_hard_match(db, slots, walk, cfg).is_none() {
                    return Step::Wait(None);
                }
                let cut_at = quiet_since(slot).unwrap_or_else(Instant::now) + cfg.grace;
                if Instant::now() < cut_at {
                    return Step::Wait(Some(cut_at));
                }
                // Ruled out: judged on what it has, as if its wait had ended.
                Ending::TimedOut
            }
        };
        let verdict = settle(db, slot, ending, walk);
        if cfg.trace {
            let what = match (&verdict, &walk.soft) {
                (Some(Verdict::Hard(m)), _) => {
                    format!("hard match {} (line {})", m.service, m.line)
                }
                (Some(v), _) => format!("{v:?}"),
                (None, Some(m)) => format!("softmatched {} so far", m.service),
                (None, None) => "no match".to_string(),
            };
            eprintln!(
                "Service scan probe {} to {} settled ({ending:?}): {what}",
                probe_name(db, slot.cand),
                ep.addr
            );
        }
        if let Some(v) = verdict {
            return Step::Decided(v);
        }
        walk.cursor += 1;
    }
}

/// Applies one finished probe to the walk; a verdict if it decides the port.
fn settle<'a>(
    db: &ServiceDb<'a>,
    slot: &Slot,
    ending: Ending,
    walk: &mut Walk<'a>,
) -> Option<Verdict<'a>> {
    let probe = db.probes().get(usize::from(slot.cand.probe))?;
    let progress = slot.progress.as_ref()?;
    let data = exchange::lock(progress);
    if data.data.is_empty() {
        // nmap's "tcpwrapped" flag: a wait that ran out, or no connection
        // at all, rules it out; a close, a reset or an ICMP refusal leaves
        // it standing (a UDP port refused everywhere ends tcpwrapped).
        match ending {
            Ending::Closed if is_null(probe) && walk.wrap_possible => {
                let limit = probe
                    .tcpwrappedms
                    .map_or(DEFAULT_TCPWRAPPED, |ms| Duration::from_millis(ms.into()));
                let took = match (data.launched, data.ended) {
                    (Some(a), Some(b)) => b.saturating_duration_since(a),
                    _ => Duration::MAX,
                };
                if took < limit {
                    return Some(Verdict::TcpWrapped);
                }
            }
            Ending::Closed | Ending::Refused => {}
            _ => walk.wrap_possible = false,
        }
        return None;
    }
    walk.wrap_possible = false;
    walk.responded = true;
    let soft = walk.soft.as_ref().map(|m| m.service);
    match db.match_response_after(probe, &data.data, soft) {
        Some(m) if !m.soft => Some(Verdict::Hard(m)),
        Some(m) => {
            // nmap keeps the first softmatch.
            if walk.soft.is_none() {
                walk.soft = Some(m);
            }
            None
        }
        None => None,
    }
}

fn finish<'a>(walk: &mut Walk<'a>) -> Verdict<'a> {
    match walk.soft.take() {
        Some(m) => Verdict::Soft(m),
        None if walk.wrap_possible && !walk.responded => Verdict::TcpWrapped,
        None => Verdict::Unrecognized {
            responded: walk.responded,
        },
    }
}

/// The first probe after the cursor that nmap would still send and that has
/// already been answered with a hard match, if any.
fn later_hard_match(
    db: &ServiceDb<'_>,
    slots: &[Slot],
    walk: &Walk<'_>,
    cfg: PassConfig,
) -> Option<usize> {
    let soft = walk.soft.as_ref().map(|m| m.service);
    let first = slots.iter().skip(walk.cursor + 1).position(|s| {
        if !matches!(s.state, State::Done(Ending::Matched))
            || !eligible(db, s.cand, soft, cfg.intensity)
        {
            return false;
        }
        if soft.is_none() {
            // `Matched` means the unnarrowed matcher found a hard match.
            return true;
        }
        let (Some(probe), Some(p)) = (db.probes().get(usize::from(s.cand.probe)), &s.progress)
        else {
            return false;
        };
        let data = exchange::lock(p);
        db.match_response_after(probe, &data.data, soft)
            .is_some_and(|m| !m.soft)
    });
    first.map(|i| walk.cursor + 1 + i)
}

fn probe_name<'a>(db: &ServiceDb<'a>, c: Candidate) -> &'a str {
    db.probes()
        .get(usize::from(c.probe))
        .map_or("?", |p| p.name)
}

/// When a running probe last heard anything (or was started).
fn quiet_since(slot: &Slot) -> Option<Instant> {
    let p = exchange::lock(slot.progress.as_ref()?);
    p.last_activity.or(p.launched)
}

/// Starts probes from the cursor on until `cfg.window` are busy. A probe
/// that has been quiet for `grace` no longer counts as busy: a service that
/// sits on an unfinished request (PostgreSQL waits out a truncated startup
/// packet) would otherwise hold the window for the probe's whole wait. The
/// connections of one port stay under [`MAX_CONNECTIONS`]. Nothing after a
/// probe that already has a hard match is started: whatever such a probe
/// finds cannot count while that match stands (it stops standing only when an
/// earlier probe's softmatch narrows the search to another service, and then
/// the next call starts them). Returns when a busy probe turns quiet, the next
/// moment a launch may become possible.
fn launch<'f, 'a: 'f>(
    db: &'f ServiceDb<'a>,
    ep: &'f Endpoint,
    slots: &mut [Slot],
    walk: &Walk<'a>,
    cfg: PassConfig,
    running: &mut Running<'f>,
) -> Option<Instant> {
    let soft = walk.soft.as_ref().map(|m| m.service);
    let end = later_hard_match(db, slots, walk, cfg).unwrap_or(slots.len());
    let now = Instant::now();
    let mut busy = 0;
    let mut open = 0;
    let mut turns_quiet: Option<Instant> = None;
    for s in slots.iter().filter(|s| matches!(s.state, State::Running)) {
        open += 1;
        let quiet_at = quiet_since(s).unwrap_or(now) + cfg.grace;
        if quiet_at > now {
            busy += 1;
            turns_quiet = Some(turns_quiet.map_or(quiet_at, |t| t.min(quiet_at)));
        }
    }
    for (idx, slot) in slots.iter_mut().enumerate().take(end).skip(walk.cursor) {
        if busy >= cfg.window.max(1) || open >= MAX_CONNECTIONS {
            break;
        }
        if !matches!(slot.state, State::Idle) || !eligible(db, slot.cand, soft, cfg.intensity) {
            continue;
        }
        let Some(probe) = db.probes().get(usize::from(slot.cand.probe)) else {
            continue;
        };
        if cfg.trace {
            eprintln!(
                "Service scan sending probe {} to {} ({})",
                probe.name,
                ep.addr,
                ep.protocol.as_str()
            );
        }
        let progress = exchange::shared();
        exchange::lock(&progress).launched = Some(now);
        slot.progress = Some(progress.clone());
        slot.state = State::Running;
        busy += 1;
        open += 1;
        let quiet_at = now + cfg.grace;
        turns_quiet = Some(turns_quiet.map_or(quiet_at, |t| t.min(quiet_at)));
        let wait = probe
            .totalwaitms
            .map_or(DEFAULT_WAIT, |ms| Duration::from_millis(ms.into()));
        running.push(Box::pin(async move {
            let recognised = |data: &[u8]| db.match_response(probe, data).is_some_and(|m| !m.soft);
            let ending = run_probe(ep, &probe.payload, wait, &progress, &recognised).await;
            (idx, ending)
        }));
    }
    // Only worth waking for if a quiet probe would free room for another.
    let more_to_start = slots
        .iter()
        .take(end)
        .skip(walk.cursor)
        .any(|s| matches!(s.state, State::Idle) && eligible(db, s.cand, soft, cfg.intensity));
    (more_to_start && open < MAX_CONNECTIONS)
        .then_some(turns_quiet)
        .flatten()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_slot_is_small() {
        // 32 ports x about a hundred probes each, for every port at once.
        assert!(std::mem::size_of::<super::Slot>() <= 16);
    }
}
