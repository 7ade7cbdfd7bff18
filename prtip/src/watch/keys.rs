//! The status lines on a keypress, as in nmap: while a scan runs with
//! standard input and standard error on a terminal, any key prints the
//! `--stats-every` lines at once. The terminal is put in cbreak mode (keys
//! arrive unechoed, Ctrl-C still interrupts) and restored when the scan
//! ends, also when it exits through a second Ctrl-C.

use super::stats::Source;
use crate::sys::{self, Key};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// How often the key thread looks at its stop flag.
const POLL_MS: i32 = 100;

/// The key thread; dropping it stops the thread and restores the terminal.
#[derive(Debug)]
pub struct KeyWatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    modes: sys::TermModes,
}

impl KeyWatch {
    /// Starts watching keys when standard input and standard error are
    /// terminals; `None` otherwise.
    pub fn start(src: Arc<Source>) -> Option<KeyWatch> {
        if !(sys::stdin_is_terminal() && std::io::stderr().is_terminal()) {
            return None;
        }
        let modes = sys::stdin_keys_mode()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("keys".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    match sys::read_key(POLL_MS) {
                        Key::Pressed(_) => src.print_status(),
                        Key::Nothing => {}
                        Key::Closed => return,
                    }
                }
            });
        match thread {
            Ok(t) => Some(KeyWatch {
                stop,
                thread: Some(t),
                modes,
            }),
            Err(_) => {
                sys::restore_stdin(&modes);
                sys::forget_saved_modes();
                None
            }
        }
    }
}

impl Drop for KeyWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        sys::restore_stdin(&self.modes);
        sys::forget_saved_modes();
    }
}
