//! Without features nothing is counted and the phase API costs nothing.
#![cfg(not(any(feature = "mem-report", feature = "dhat-heap")))]

use memprof::{InPhaseExt, Mode, Phase, Unavailable};

memprof::install_global_allocator!();

#[test]
fn phases_are_zero_sized_no_ops_and_reports_say_why() {
    assert_eq!(std::mem::size_of::<memprof::PhaseGuard>(), 0);
    let _g = memprof::phase(Phase::Sending);
    assert_eq!(memprof::current_phase(), None);
    assert_eq!(memprof::mode(), Mode::Off);
    assert_eq!(memprof::report().unwrap_err(), Unavailable::NotCompiled);
    assert_eq!(memprof::totals().unwrap_err(), Unavailable::NotCompiled);
    assert!(memprof::report()
        .unwrap_err()
        .to_string()
        .contains("not available in this build"));
    memprof::flush();
    memprof::reset_peaks();
}

#[test]
fn in_phase_passes_the_output_through() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(async { 7 }.in_phase(Phase::Output)), 7);
    assert_eq!(
        rt.block_on(memprof::in_phase(Phase::Output, async { 8 })),
        8
    );
}
