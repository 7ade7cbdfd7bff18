//! Probe pacing for `--max-rate` and `--scan-delay`.
//!
//! Each caller reserves the next send slot under a lock and sleeps until it;
//! this keeps the long-run rate exact without a background task.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The gap between two probes implied by `--max-rate` (probes/s) and
/// `--scan-delay`, whichever is stricter; `None` when neither limits anything.
/// Shared by the async connect pacer and the SYN sender's rate gate.
/// Any rate is accepted, even one settings would refuse (a tiny rate, NaN);
/// the gap is capped at [`MAX_INTERVAL`] so slot arithmetic cannot overflow.
pub fn probe_interval(max_rate: Option<f64>, scan_delay: Duration) -> Option<Duration> {
    let from_rate = max_rate
        .filter(|r| r.is_finite() && *r > 0.0)
        .map(|r| Duration::try_from_secs_f64(1.0 / r).unwrap_or(MAX_INTERVAL))
        .unwrap_or(Duration::ZERO);
    let interval = from_rate.max(scan_delay).min(MAX_INTERVAL);
    (!interval.is_zero()).then_some(interval)
}

/// The longest gap between two probes: a week, the longest time any flag accepts.
pub const MAX_INTERVAL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Spaces probes at least `interval` apart across all tasks.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// A pacer for the stricter of a maximum rate (probes/s) and a fixed delay.
    /// Returns `None` when neither limits anything.
    pub fn new(max_rate: Option<f64>, scan_delay: Duration) -> Option<Self> {
        probe_interval(max_rate, scan_delay).map(|interval| Pacer {
            interval,
            next: Mutex::new(None),
        })
    }

    /// Gap enforced between two probes.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Wait for this caller's slot.
    pub async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = match *next {
                Some(t) if t > now => t,
                _ => now,
            };
            *next = Some(slot.checked_add(self.interval).unwrap_or(slot));
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_limit_means_no_pacer() {
        assert!(Pacer::new(None, Duration::ZERO).is_none());
        assert!(Pacer::new(Some(0.0), Duration::ZERO).is_none());
    }

    #[test]
    fn stricter_limit_wins() {
        let p = Pacer::new(Some(100.0), Duration::from_millis(50)).expect("pacer");
        assert_eq!(p.interval(), Duration::from_millis(50));
        let p = Pacer::new(Some(10.0), Duration::from_millis(50)).expect("pacer");
        assert_eq!(p.interval(), Duration::from_millis(100));
    }

    #[test]
    fn no_rate_makes_the_interval_panic_or_overflow() {
        let rates = [
            1e-30,
            f64::MIN_POSITIVE,
            1e-320,
            0.0,
            -0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
        ];
        for r in rates {
            let iv = probe_interval(Some(r), Duration::ZERO);
            assert!(iv.is_none_or(|d| d <= MAX_INTERVAL), "{r}: {iv:?}");
        }
        assert_eq!(
            probe_interval(Some(1e-30), Duration::ZERO),
            Some(MAX_INTERVAL)
        );
        assert_eq!(probe_interval(None, Duration::MAX), Some(MAX_INTERVAL));
    }

    #[tokio::test(start_paused = true)]
    async fn slots_are_spaced_by_the_interval() {
        let p = Pacer::new(Some(10.0), Duration::ZERO).expect("pacer");
        let start = Instant::now();
        for _ in 0..5 {
            p.wait().await;
        }
        // Five slots: the first immediate, then four gaps of 100 ms.
        assert_eq!(start.elapsed(), Duration::from_millis(400));
    }
}
