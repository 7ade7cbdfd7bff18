//! The allocator installed in a test binary: what `thread_usage` and
//! `process_usage` see.

use std::hint::black_box;

use heapcount::{process_usage, thread_usage, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

const MIB: usize = 1 << 20;

/// `process_usage` counts every thread, so the other tests of this binary,
/// which libtest runs in parallel, must not free memory during it (a 1 MiB
/// free elsewhere showed up as a peak 56 bytes short of the vec). Each test
/// holds this lock.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn thread_usage_sees_a_mebibyte_vec_and_its_drop() {
    let _serial = serial();
    let ((), usage) = thread_usage(|| {
        let v = vec![1u8; MIB];
        black_box(&v);
    });
    assert!(usage.peak >= MIB, "{usage:?}");
    assert_eq!(usage.live, 0, "{usage:?}");
    assert!(usage.allocs >= 1, "{usage:?}");
}

#[test]
fn thread_usage_counts_what_the_result_holds_as_live() {
    let _serial = serial();
    let (v, usage) = thread_usage(|| black_box(vec![0u8; MIB]));
    assert_eq!(usage.allocs, 1, "{usage:?}");
    assert_eq!(usage.live, MIB as isize, "{usage:?}");
    let ((), freed) = thread_usage(|| drop(v));
    assert_eq!(freed.live, -(MIB as isize), "{freed:?}");
    assert_eq!((freed.peak, freed.allocs), (0, 0), "{freed:?}");
}

#[test]
fn realloc_is_one_allocation_with_both_blocks_at_the_peak() {
    let _serial = serial();
    let mut v: Vec<u8> = Vec::with_capacity(1024);
    v.push(1);
    let ((), usage) = thread_usage(|| v.reserve_exact(4096));
    assert_eq!(usage.allocs, 1, "{usage:?}");
    assert_eq!(usage.live, v.capacity() as isize - 1024, "{usage:?}");
    assert_eq!(usage.peak, v.capacity(), "{usage:?}");
}

#[test]
fn process_usage_sees_a_spawned_thread_and_thread_usage_does_not() {
    let _serial = serial();
    let (((), on_this_thread), in_process) = process_usage(|| {
        thread_usage(|| {
            std::thread::spawn(|| {
                let v = vec![1u8; MIB];
                black_box(&v);
            })
            .join()
            .unwrap();
        })
    });
    // Spawning allocates a little on this thread (the handle, the packet).
    assert!(on_this_thread.peak < MIB / 16, "{on_this_thread:?}");
    assert!(in_process.peak >= MIB, "{in_process:?}");
}

#[test]
fn nested_calls_keep_the_outer_peak() {
    let _serial = serial();
    let ((inner, kept), outer) = thread_usage(|| {
        let ((), inner) = thread_usage(|| {
            let v = vec![1u8; MIB];
            black_box(&v);
        });
        let kept = black_box(vec![1u8; 1024]);
        (inner, kept)
    });
    assert!(inner.peak >= MIB, "{inner:?}");
    assert!(outer.peak >= MIB, "{outer:?}");
    assert_eq!(outer.live, 1024, "{outer:?}");
    assert_eq!(outer.allocs, 2, "{outer:?}");
    drop(kept);
}
