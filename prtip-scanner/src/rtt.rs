//! Per-host round-trip estimate and retransmission timeout, as TCP (RFC 6298)
//! and nmap compute them: timeout = srtt + 4 * rttvar, clamped to the
//! template's minimum and maximum.

use prtip_core::config::Timing;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
struct State {
    srtt: Duration,
    rttvar: Duration,
    samples: u64,
}

/// Shared by all probes of one host.
#[derive(Debug)]
pub struct RttEstimator {
    min: Duration,
    max: Duration,
    initial: Duration,
    state: Mutex<State>,
}

impl RttEstimator {
    pub fn new(timing: &Timing) -> Self {
        RttEstimator {
            min: timing.min_rtt_timeout,
            max: timing.max_rtt_timeout.max(timing.min_rtt_timeout),
            initial: timing.initial_rtt_timeout,
            state: Mutex::new(State {
                srtt: Duration::ZERO,
                rttvar: Duration::ZERO,
                samples: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fold in one measured round trip.
    pub fn sample(&self, rtt: Duration) {
        let mut s = self.lock();
        if s.samples == 0 {
            s.srtt = rtt;
            s.rttvar = rtt / 2;
        } else {
            let diff = rtt.abs_diff(s.srtt);
            s.rttvar = (s.rttvar * 3 + diff) / 4;
            s.srtt = (s.srtt * 7 + rtt) / 8;
        }
        s.samples += 1;
    }

    /// Current retransmission timeout.
    pub fn timeout(&self) -> Duration {
        let s = *self.lock();
        if s.samples == 0 {
            return self.initial.clamp(self.min, self.max);
        }
        (s.srtt + s.rttvar * 4).clamp(self.min, self.max)
    }

    /// srtt + 4 * rttvar without the template's bounds, once anything was
    /// measured: how long an answer really takes, where the timeout keeps
    /// nmap's floor.
    pub fn estimate(&self) -> Option<Duration> {
        let s = *self.lock();
        (s.samples > 0).then(|| s.srtt + s.rttvar * 4)
    }

    /// Smoothed round trip, once anything was measured.
    pub fn srtt(&self) -> Option<Duration> {
        let s = *self.lock();
        (s.samples > 0).then_some(s.srtt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prtip_core::config::TimingTemplate;

    #[test]
    fn initial_timeout_comes_from_the_template() {
        let e = RttEstimator::new(&TimingTemplate::Aggressive.timing());
        assert_eq!(e.timeout(), Duration::from_millis(500));
        assert_eq!(e.srtt(), None);
    }

    #[test]
    fn fast_host_is_clamped_to_the_minimum() {
        let e = RttEstimator::new(&TimingTemplate::Normal.timing());
        for _ in 0..10 {
            e.sample(Duration::from_micros(50));
        }
        assert_eq!(e.timeout(), Duration::from_millis(100));
        assert_eq!(e.srtt(), Some(Duration::from_micros(50)));
    }

    #[test]
    fn slow_host_raises_the_timeout_up_to_the_maximum() {
        let e = RttEstimator::new(&TimingTemplate::Insane.timing());
        e.sample(Duration::from_millis(200));
        // 200 + 4 * 100 = 600 ms, clamped to T5's 300 ms.
        assert_eq!(e.timeout(), Duration::from_millis(300));
    }
}
