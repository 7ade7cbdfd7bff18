//! Test-only fault injection. In debug builds, `PRTIP_TEST_PANIC=<place>`
//! makes the named place panic, so tests can check what a panic on a
//! worker thread does to a scan; release builds compile every check away.

/// Places a test can make panic.
pub mod place {
    /// An engine's task, while it scans a host (connect engine).
    pub const ENGINE: &str = "engine";
    /// A stage worker, before it processes a host.
    pub const STAGE: &str = "stage";
    /// A helper thread, whose death leaves the scan waiting forever
    /// (see [`super::stuck_point`]).
    pub const STUCK: &str = "stuck";
}

/// With `PRTIP_TEST_PANIC=stuck`, panics on a thread of its own and then
/// blocks the caller for good, as a scan would whose worker died holding
/// what it waits for: only the panic watchdog can end the process then.
#[inline]
pub fn stuck_point() {
    #[cfg(debug_assertions)]
    if chosen() == Some(place::STUCK) {
        let _ = std::thread::spawn(|| panic!("injected panic at stuck (PRTIP_TEST_PANIC)")).join();
        loop {
            std::thread::park();
        }
    }
}

/// Panics when `PRTIP_TEST_PANIC` names `place` (debug builds only).
#[inline]
pub fn panic_point(place: &str) {
    #[cfg(debug_assertions)]
    if chosen().is_some_and(|p| p == place) {
        panic!("injected panic at {place} (PRTIP_TEST_PANIC)");
    }
    #[cfg(not(debug_assertions))]
    let _ = place;
}

/// Read once: reading the environment per host would allocate per host.
#[cfg(debug_assertions)]
fn chosen() -> Option<&'static str> {
    static CHOSEN: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    CHOSEN
        .get_or_init(|| std::env::var("PRTIP_TEST_PANIC").ok())
        .as_deref()
}
