//! Progress bar on stderr when it is a terminal: probes sent, rate, ETA.
//! Nothing at all otherwise. The bar reads the scanner's probe counter on a
//! timer, so the probe path never touches it.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use prtip_scanner::connect::ConnectScanner;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

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

    /// Refresh the bar from the scanner's counter until aborted.
    pub fn spawn_ticker(&self, scanner: Arc<ConnectScanner>) -> Option<JoinHandle<()>> {
        let bar = self.bar.clone()?;
        Some(tokio::spawn(async move {
            let mut interval = tokio::time::interval(TICK);
            loop {
                interval.tick().await;
                let sent = scanner.probes_sent();
                let len = bar.length().unwrap_or(sent).max(sent);
                bar.set_length(len);
                bar.set_position(sent);
            }
        }))
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
