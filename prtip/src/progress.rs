//! Progress bar on stderr when it is a terminal: probes sent, rate, ETA.
//! Nothing at all otherwise. The bar reads the scanner's probe counter on a
//! timer, so the probe path never touches it.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

const TICK: Duration = Duration::from_millis(100);

/// Optional progress bar; every method is a no-op when disabled.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// `total` is the number of first probes (hosts x ports); retries may pass it.
    pub fn new(enabled: bool, total: u64) -> Self {
        let bar = enabled.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{bar:30}] {human_pos}/{human_len} probes, {rate}, ETA {eta}",
            )
            .map(|s| {
                s.with_key("rate", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&human_rate(state.per_sec()));
                })
            })
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar
        });
        Progress { bar }
    }

    /// Refresh the bar from `sent` (the engine's probe counter) on a thread
    /// of its own until the returned ticker is dropped.
    pub fn ticker(&self, sent: Arc<dyn Fn() -> u64 + Send + Sync>) -> Option<Ticker> {
        let bar = self.bar.clone()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let n = sent();
                let len = bar.length().unwrap_or(n).max(n);
                bar.set_length(len);
                bar.set_position(n);
                std::thread::sleep(TICK);
            }
        });
        Some(Ticker {
            stop,
            handle: Some(handle),
        })
    }

    /// Run `f` (which prints) with the bar hidden, so lines do not interleave.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Prints a block of lines on standard error from any thread, with the
    /// bar hidden meanwhile (for `--stats-every`).
    pub fn printer(&self) -> Arc<dyn Fn(&str) + Send + Sync> {
        let bar = self.bar.clone();
        Arc::new(move |text: &str| {
            let print = || {
                // Not eprint!: a closed stderr must not panic the thread.
                let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), text.as_bytes());
            };
            match &bar {
                Some(bar) => bar.suspend(print),
                None => print(),
            }
        })
    }

    /// Remove the bar from the terminal.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A rate as a person reads it: `19,936/s`, `835/s`, `3.5/s`.
pub fn human_rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        return "0/s".into();
    }
    if per_sec < 10.0 {
        return format!("{per_sec:.1}/s");
    }
    let digits = format!("{:.0}", per_sec.round());
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 2);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    grouped.push_str("/s");
    grouped
}

/// Stops the progress thread when dropped.
#[derive(Debug)]
pub struct Ticker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::human_rate;

    #[test]
    fn rates_are_rounded_as_people_read_them() {
        assert_eq!(human_rate(19_935.848_6), "19,936/s");
        assert_eq!(human_rate(1_234_567.4), "1,234,567/s");
        assert_eq!(human_rate(835.49), "835/s");
        assert_eq!(human_rate(999.6), "1,000/s");
        assert_eq!(human_rate(3.46), "3.5/s");
        assert_eq!(human_rate(0.0), "0/s");
        assert_eq!(human_rate(f64::NAN), "0/s");
    }
}
