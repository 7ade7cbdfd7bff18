//! What a panic on any thread does to a scan: one line on stderr, the
//! scan's stop flag raised so the engines wind down and every output is
//! completed, exit status 1, and a watchdog that exits anyway when the
//! orderly shutdown hangs (a panicked worker may leave others waiting on it).

use prtip_scanner::cancel::StopFlag;
use std::io::Write;
use std::panic::PanicHookInfo;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};
use std::time::Duration;

/// How long the orderly shutdown may take after a panic.
const GRACE: Duration = Duration::from_secs(5);

static PANICKED: AtomicBool = AtomicBool::new(false);
static STOP: Mutex<Option<StopFlag>> = Mutex::new(None);
static INSTALL: Once = Once::new();

/// Installs the hook; only the binary calls this, so tests that run
/// `app::run` in-process keep the test harness's own panic reports.
pub fn install() {
    INSTALL.call_once(|| std::panic::set_hook(Box::new(on_panic)));
}

/// Whether any thread has panicked since the process started.
pub fn happened() -> bool {
    PANICKED.load(Ordering::SeqCst)
}

/// Makes `stop` the flag a panic raises, until the guard is dropped.
pub fn watch(stop: &StopFlag) -> Watch {
    *lock() = Some(stop.clone());
    Watch(())
}

/// Returned by [`watch`]; dropping it forgets the stop flag.
#[derive(Debug)]
pub struct Watch(());

impl Drop for Watch {
    fn drop(&mut self) {
        *lock() = None;
    }
}

fn lock() -> std::sync::MutexGuard<'static, Option<StopFlag>> {
    // A panic while holding the lock leaves the flag itself intact.
    STOP.lock().unwrap_or_else(|e| e.into_inner())
}

fn on_panic(info: &PanicHookInfo<'_>) {
    if PANICKED.swap(true, Ordering::SeqCst) {
        // Later panics are usually echoes of the first (poisoned locks, joins).
        return;
    }
    // Not eprintln!: a closed stderr must not panic inside the hook.
    let _ = writeln!(
        std::io::stderr(),
        "prtip: internal error: {}",
        describe(info)
    );
    if let Some(stop) = lock().as_ref() {
        stop.stop();
    }
    start_watchdog();
}

/// The panic as one line: its message and where it happened.
fn describe(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let msg = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("panic");
    let msg = msg.split_whitespace().collect::<Vec<_>>().join(" ");
    match info.location() {
        Some(at) => format!(
            "{msg} (at {}:{}); please report this bug",
            at.file(),
            at.line()
        ),
        None => format!("{msg}; please report this bug"),
    }
}

fn start_watchdog() {
    let spawned = std::thread::Builder::new()
        .name("panic-watchdog".into())
        .spawn(|| {
            std::thread::sleep(GRACE);
            std::process::exit(i32::from(crate::app::EXIT_FAILURE));
        });
    if spawned.is_err() {
        // No thread to wait with: leaving at once beats hanging.
        std::process::exit(i32::from(crate::app::EXIT_FAILURE));
    }
}
