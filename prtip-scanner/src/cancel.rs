//! A stop flag shared by every task of a scan (set on Ctrl-C).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// Cheap to clone; all clones see the same flag.
#[derive(Debug, Clone, Default)]
pub struct StopFlag {
    inner: Arc<(AtomicBool, Notify)>,
}

impl StopFlag {
    pub fn new() -> Self {
        Self::default()
    }

    /// Ask every task to stop; wakes all waiters.
    pub fn stop(&self) {
        self.inner.0.store(true, Ordering::SeqCst);
        self.inner.1.notify_waiters();
    }

    pub fn is_stopped(&self) -> bool {
        self.inner.0.load(Ordering::SeqCst)
    }

    /// Resolves once `stop` has been called.
    pub async fn stopped(&self) {
        loop {
            let notified = self.inner.1.notified();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }
}

/// Watches for Ctrl-C (SIGINT) while it lives: the first raises the stop
/// flag so every output is completed, the second exits at once with 130.
/// Dropping it stops watching and joins its thread.
#[derive(Debug)]
pub struct InterruptWatcher {
    handle: signal_hook::iterator::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Exit status after a second Ctrl-C, as shells report SIGINT.
const EXIT_INTERRUPTED: i32 = 130;

impl InterruptWatcher {
    /// Starts watching; fails only when the signal handler cannot be set.
    pub fn start(stop: StopFlag) -> std::io::Result<Self> {
        let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT])?;
        let handle = signals.handle();
        let thread = std::thread::Builder::new()
            .name("ctrl-c".into())
            .spawn(move || {
                let mut seen = false;
                for _ in signals.forever() {
                    if seen {
                        std::process::exit(EXIT_INTERRUPTED);
                    }
                    seen = true;
                    eprintln!(
                        "prtip: interrupted; finishing output files (Ctrl-C again to quit at once)"
                    );
                    stop.stop();
                }
            })?;
        Ok(InterruptWatcher {
            handle,
            thread: Some(thread),
        })
    }
}

impl Drop for InterruptWatcher {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
