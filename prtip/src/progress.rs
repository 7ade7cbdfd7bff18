//! Progress bar on stderr when it is a terminal: probes sent, rate, ETA.
//! Nothing at all otherwise. The bar reads the scanner's probe counter on a
//! timer, so the probe path never touches it.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
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
                "{spinner} {elapsed_precise} [{bar:30}] {human_pos}/{human_len} probes, {per_sec}, ETA {eta}",
            )
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

    /// Remove the bar from the terminal.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
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
