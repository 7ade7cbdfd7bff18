//! Cost of counting: plain `System` vs `tracking-allocator` 0.4 (with a batching tracker that
//! does the same bookkeeping as memprof) vs memprof's `CountingAlloc`.
//!
//! Two measurements:
//! * micro: ns per operation of a random alloc / free / realloc mix, calling each allocator
//!   directly, on 1 and 2 threads (each thread inside a phase / allocation group);
//! * workload: wall time of an allocation-heavy program (hash maps of strings, sorting,
//!   formatting, vector growth) with the allocator installed globally. Each allocator runs in
//!   a fresh child process of this binary; the global allocator is a switch read once per call
//!   (the same small cost for all three).
//!
//! Run: `cargo bench -p memprof --features mem-report --bench alloc_cost`. Not a test: nothing
//! is asserted.

#[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
mod imp;

fn main() {
    #[cfg(all(feature = "mem-report", not(feature = "dhat-heap")))]
    imp::main();
    #[cfg(not(all(feature = "mem-report", not(feature = "dhat-heap"))))]
    eprintln!("alloc_cost measures CountingAlloc: build with mem-report and without dhat-heap");
}
