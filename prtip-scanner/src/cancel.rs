//! A stop flag shared by every task of a scan (set on Ctrl-C, SIGTERM, SIGHUP).

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
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

/// Watches for Ctrl-C (SIGINT), SIGTERM and SIGHUP while it lives: the
/// first raises the stop flag so every output is completed, the second exits
/// at once. Either way the exit status is 128 + the signal's number, as
/// shells report a process killed by it (130 for SIGINT, 143 for SIGTERM).
/// Dropping it stops watching and joins its thread.
#[derive(Debug)]
pub struct InterruptWatcher {
    handle: signal_hook::iterator::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The first signal received, 0 until one arrives.
    first: Arc<AtomicI32>,
}

/// The signals that end a scan in an orderly way.
const WATCHED: [i32; 3] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
];

/// Exit status for a scan ended by `signal`, as shells report it.
pub fn exit_status(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(u8::MAX)
}

fn announce(signal: i32) {
    let msg = if signal == signal_hook::consts::SIGINT {
        "interrupted; finishing output files (Ctrl-C again to quit at once)"
    } else if signal == signal_hook::consts::SIGTERM {
        "terminated (SIGTERM); finishing output files (send it again to quit at once)"
    } else {
        "hung up (SIGHUP); finishing output files (send it again to quit at once)"
    };
    // Not eprintln!: a closed stderr must not panic the watcher.
    let _ = writeln!(std::io::stderr(), "prtip: {msg}");
}

impl InterruptWatcher {
    /// Starts watching; fails only when the signal handler cannot be set.
    pub fn start(stop: StopFlag) -> std::io::Result<Self> {
        let mut signals = signal_hook::iterator::Signals::new(WATCHED)?;
        let handle = signals.handle();
        let first = Arc::new(AtomicI32::new(0));
        let seen = Arc::clone(&first);
        let thread = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                // Waiting for signals needs no rights (see sys::privs).
                let _ = crate::sys::privs::drop_all();
                for signal in signals.forever() {
                    if seen.load(Ordering::SeqCst) != 0 {
                        std::process::exit(i32::from(exit_status(signal)));
                    }
                    seen.store(signal, Ordering::SeqCst);
                    announce(signal);
                    stop.stop();
                }
            })?;
        Ok(InterruptWatcher {
            handle,
            thread: Some(thread),
            first,
        })
    }

    /// The first signal that stopped the scan, if any.
    pub fn signal(&self) -> Option<i32> {
        Some(self.first.load(Ordering::SeqCst)).filter(|&s| s != 0)
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
