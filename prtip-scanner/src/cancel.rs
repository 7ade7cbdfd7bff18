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
