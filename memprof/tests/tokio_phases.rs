//! Phases follow tasks across the worker threads of a multi-thread runtime.
#![cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]

use memprof::{InPhaseExt, Phase};

memprof::install_global_allocator!();

const SIZE: usize = 1 << 20;

#[test]
fn allocation_in_one_task_phase_freed_in_another_stays_with_the_first() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let send0 = memprof::phase_stats(Some(Phase::Sending)).unwrap();
    let recv0 = memprof::phase_stats(Some(Phase::Receiving)).unwrap();

    let (tx, rx) = tokio::sync::oneshot::channel::<Vec<u8>>();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    rt.block_on(async move {
        let sender = tokio::spawn(
            async move {
                let buf = vec![0xA5u8; SIZE];
                for _ in 0..20 {
                    tokio::task::yield_now().await;
                    assert_eq!(memprof::current_phase(), Some(Phase::Sending));
                }
                tx.send(buf).unwrap();
            }
            .in_phase(Phase::Sending),
        );
        let receiver = tokio::spawn(
            async move {
                let buf = rx.await.unwrap();
                assert_eq!(memprof::current_phase(), Some(Phase::Receiving));
                go_rx.await.unwrap();
                assert_eq!(buf.len(), SIZE);
                drop(buf);
            }
            .in_phase(Phase::Receiving),
        );
        sender.await.unwrap();
        // Sending has ended and retained the buffer, which Receiving now holds.
        let mid = memprof::phase_stats(Some(Phase::Sending)).unwrap();
        assert!(!mid.running);
        let retained = mid.live_at_end_bytes.unwrap() - send0.live_now_bytes;
        let bound = 3 * memprof::FLUSH_BYTES as u64;
        assert!(retained + bound >= SIZE as u64, "{mid:?}");
        go_tx.send(()).unwrap();
        receiver.await.unwrap();
    });
    // Worker threads exit and fold their batches: counts are exact from here on.
    drop(rt);
    assert_eq!(memprof::current_phase(), None);

    let send = memprof::phase_stats(Some(Phase::Sending)).unwrap();
    let recv = memprof::phase_stats(Some(Phase::Receiving)).unwrap();
    assert!(send.bytes_allocated - send0.bytes_allocated >= SIZE as u64);
    assert!(send.peak_live_bytes >= SIZE as u64);
    assert!(send.frees > send0.frees);
    assert_eq!(send.live_now_bytes, send0.live_now_bytes, "{send:?}");
    assert!(recv.bytes_allocated - recv0.bytes_allocated < SIZE as u64);
    assert!(recv.peak_live_bytes < SIZE as u64);
    assert_eq!(recv.live_now_bytes, recv0.live_now_bytes, "{recv:?}");
}
