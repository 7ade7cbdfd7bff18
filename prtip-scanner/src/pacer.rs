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
pub fn probe_interval(max_rate: Option<f64>, scan_delay: Duration) -> Option<Duration> {
    let from_rate = max_rate
        .filter(|r| r.is_finite() && *r > 0.0)
        .map(|r| Duration::from_secs_f64(1.0 / r))
        .unwrap_or(Duration::ZERO);
    let interval = from_rate.max(scan_delay);
    (!interval.is_zero()).then_some(interval)
}

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
            *next = Some(slot + self.interval);
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
