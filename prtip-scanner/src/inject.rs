//! Test-only fault injection. In debug builds, `PRTIP_TEST_PANIC=<place>`
//! makes the named place panic, so tests can check what a panic on a
//! worker thread does to a scan; release builds compile every check away.

/// Places a test can make panic.
pub mod place {
    /// An engine's task, while it scans a host (connect engine).
    pub const ENGINE: &str = "engine";
    /// A stage worker, before it processes a host.
    pub const STAGE: &str = "stage";
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
