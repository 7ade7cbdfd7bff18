//! Implementation of the `alloc_cost` bench (see main.rs).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::time::Duration;

use memprof::{CountingAlloc, Phase};
use tracking_allocator::{
    AllocationGroupId, AllocationGroupToken, AllocationRegistry, AllocationTracker,
};

type Tracking = tracking_allocator::Allocator<System>;

static TRACKING: Tracking = Tracking::system();
static COUNTING: CountingAlloc = CountingAlloc::new();

// ---------------------------------------------------------------------------------------------
// A tracker doing what memprof does: per-thread, per-group counters folded every 256 events.

const GROUPS: usize = 16;

struct TLocal {
    ops: Cell<u32>,
    allocs: [Cell<u64>; GROUPS],
    frees: [Cell<u64>; GROUPS],
    bytes: [Cell<u64>; GROUPS],
    live: [Cell<i64>; GROUPS],
}

thread_local! {
    static TLOCAL: TLocal = const {
        TLocal {
            ops: Cell::new(0),
            allocs: [const { Cell::new(0) }; GROUPS],
            frees: [const { Cell::new(0) }; GROUPS],
            bytes: [const { Cell::new(0) }; GROUPS],
            live: [const { Cell::new(0) }; GROUPS],
        }
    };
}

static G_ALLOCS: [AtomicU64; GROUPS] = [const { AtomicU64::new(0) }; GROUPS];
static G_FREES: [AtomicU64; GROUPS] = [const { AtomicU64::new(0) }; GROUPS];
static G_BYTES: [AtomicU64; GROUPS] = [const { AtomicU64::new(0) }; GROUPS];
static G_LIVE: [AtomicI64; GROUPS] = [const { AtomicI64::new(0) }; GROUPS];
static G_PEAK: AtomicI64 = AtomicI64::new(0);
static G_TOTAL: AtomicI64 = AtomicI64::new(0);

impl TLocal {
    fn tick(&self) {
        let n = self.ops.get() + 1;
        if n < 256 {
            self.ops.set(n);
            return;
        }
        self.ops.set(0);
        let mut net = 0;
        for g in 0..GROUPS {
            G_ALLOCS[g].fetch_add(self.allocs[g].replace(0), Ordering::Relaxed);
            G_FREES[g].fetch_add(self.frees[g].replace(0), Ordering::Relaxed);
            G_BYTES[g].fetch_add(self.bytes[g].replace(0), Ordering::Relaxed);
            let d = self.live[g].replace(0);
            G_LIVE[g].fetch_add(d, Ordering::Relaxed);
            net += d;
        }
        let now = G_TOTAL.fetch_add(net, Ordering::Relaxed) + net;
        G_PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

struct BatchTracker;

impl AllocationTracker for BatchTracker {
    fn allocated(&self, _addr: usize, size: usize, _wrapped: usize, group: AllocationGroupId) {
        let g = group.as_usize().get() % GROUPS;
        let _ = TLOCAL.try_with(|t| {
            t.allocs[g].set(t.allocs[g].get() + 1);
            t.bytes[g].set(t.bytes[g].get() + size as u64);
            t.live[g].set(t.live[g].get() + size as i64);
            t.tick();
        });
    }

    fn deallocated(
        &self,
        _addr: usize,
        size: usize,
        _wrapped: usize,
        source: AllocationGroupId,
        _current: AllocationGroupId,
    ) {
        let g = source.as_usize().get() % GROUPS;
        let _ = TLOCAL.try_with(|t| {
            t.frees[g].set(t.frees[g].get() + 1);
            t.live[g].set(t.live[g].get() - size as i64);
            t.tick();
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Global switch for the workload measurement.

const SYSTEM: u8 = 0;
const TRACKING_MODE: u8 = 1;
const COUNTING_MODE: u8 = 2;
const UNSET: u8 = u8::MAX;

static SWITCH: AtomicU8 = AtomicU8::new(UNSET);

/// The allocator of this process, from `MEMPROF_BENCH_CHILD`; read with libc's `getenv`, which
/// does not allocate, on the first allocation.
#[inline]
fn which() -> u8 {
    let m = SWITCH.load(Ordering::Relaxed);
    if m != UNSET {
        return m;
    }
    // SAFETY: a NUL-terminated name; the returned pointer, if any, is a NUL-terminated string
    // that stays valid while the environment is not modified (nothing here modifies it).
    let m = unsafe {
        let v = libc::getenv(c"MEMPROF_BENCH_CHILD".as_ptr()).cast::<u8>();
        if v.is_null() {
            SYSTEM
        } else {
            match *v {
                b'1' => TRACKING_MODE,
                b'2' => COUNTING_MODE,
                _ => SYSTEM,
            }
        }
    };
    SWITCH.store(m, Ordering::Relaxed);
    m
}

struct Switch;

// SAFETY: forwards every call to one of three allocators, always the same one for the life of
// the process (chosen on the first call, before any block exists), so every block is freed or
// grown by the allocator that made it.
unsafe impl GlobalAlloc for Switch {
    #[inline]
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe {
            match which() {
                TRACKING_MODE => TRACKING.alloc(l),
                COUNTING_MODE => COUNTING.alloc(l),
                _ => System.alloc(l),
            }
        }
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe {
            match which() {
                TRACKING_MODE => TRACKING.alloc_zeroed(l),
                COUNTING_MODE => COUNTING.alloc_zeroed(l),
                _ => System.alloc_zeroed(l),
            }
        }
    }
    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded contract.
        unsafe {
            match which() {
                TRACKING_MODE => TRACKING.dealloc(p, l),
                COUNTING_MODE => COUNTING.dealloc(p, l),
                _ => System.dealloc(p, l),
            }
        }
    }
    #[inline]
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe {
            match which() {
                TRACKING_MODE => TRACKING.realloc(p, l, n),
                COUNTING_MODE => COUNTING.realloc(p, l, n),
                _ => System.realloc(p, l, n),
            }
        }
    }
}

#[global_allocator]
static GLOBAL: Switch = Switch;

// ---------------------------------------------------------------------------------------------
// Workloads.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const SLOTS: usize = 1024;

/// Random mix: 3/8 alloc into an empty slot, otherwise free (7/8) or grow (1/8) a full one.
/// Sizes 16..~600 bytes, 1 in 64 is 4 KiB.
fn micro<A: GlobalAlloc>(a: &A, ops: usize, seed: u64) {
    let mut rng = Rng(seed | 1);
    let mut slots: Vec<(*mut u8, usize)> = vec![(std::ptr::null_mut(), 0); SLOTS];
    for _ in 0..ops {
        let r = rng.next();
        let i = (r as usize) % SLOTS;
        let (p, size) = slots[i];
        // SAFETY: each slot holds a live block of `size` bytes, align 8, from `a`, or null.
        unsafe {
            if p.is_null() {
                let size = if (r >> 20) % 64 == 0 {
                    4096
                } else {
                    16 + ((r >> 30) % 600) as usize
                };
                let p = a.alloc(Layout::from_size_align_unchecked(size, 8));
                p.write(1);
                slots[i] = (p, size);
            } else if (r >> 40) % 8 == 0 && size < 32 * 1024 {
                let p = a.realloc(p, Layout::from_size_align_unchecked(size, 8), size * 2);
                slots[i] = (p, size * 2);
            } else {
                a.dealloc(p, Layout::from_size_align_unchecked(size, 8));
                slots[i] = (std::ptr::null_mut(), 0);
            }
        }
    }
    for (p, size) in slots {
        if !p.is_null() {
            // SAFETY: as above.
            unsafe { a.dealloc(p, Layout::from_size_align_unchecked(size, 8)) };
        }
    }
}

/// Something like a scan's bookkeeping: strings, maps, sorting, growth.
fn program(seed: usize) -> usize {
    let mut map: HashMap<String, Vec<u32>> = HashMap::new();
    let mut tree: BTreeMap<u32, String> = BTreeMap::new();
    let mut total = 0;
    for i in 0..60_000u32 {
        let key = format!("10.{}.{}.{}", (i as usize + seed) % 7, i % 251, i % 13);
        map.entry(key).or_default().push(i);
        if i % 3 == 0 {
            tree.insert(
                i.wrapping_mul(2_654_435_761),
                format!("port {}/tcp open", i % 65_536),
            );
        }
        if i % 1000 == 0 {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            total += keys.len();
        }
    }
    let mut lines: Vec<String> = tree.values().cloned().collect();
    lines.sort_unstable();
    total + lines.len() + map.values().map(Vec::len).sum::<usize>()
}

/// CPU time of the calling thread: unlike wall time it leaves out the time other processes on
/// a busy machine keep this thread off the CPU.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `f(t)` on `threads` threads; returns the CPU time they spent in it, summed.
fn on_threads(threads: usize, f: impl Fn(usize) + Sync) -> Duration {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let f = &f;
                s.spawn(move || {
                    let start = thread_cpu();
                    f(t);
                    thread_cpu() - start
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

const NAMES: [&str; 3] = ["System", "tracking-allocator 0.4", "memprof CountingAlloc"];

fn print_rows(threads: usize, unit: &str, per_mode: &[Vec<f64>; 3]) {
    let min = |v: &Vec<f64>| v.iter().copied().fold(f64::INFINITY, f64::min);
    let median = |v: &Vec<f64>| {
        let mut v = v.clone();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (base_min, base_med) = (min(&per_mode[0]), median(&per_mode[0]));
    for (name, v) in NAMES.iter().zip(per_mode) {
        let (mn, md) = (min(v), median(v));
        println!(
            "  {threads} thread(s)  {name:<24} min {mn:8.2} {unit} ({:+5.1}%)  median {md:8.2} {unit} ({:+5.1}%)",
            (mn / base_min - 1.0) * 100.0,
            (md / base_med - 1.0) * 100.0
        );
    }
}

pub(crate) fn main() {
    let _ = AllocationRegistry::set_global_tracker(BatchTracker);
    AllocationRegistry::enable_tracking();

    if let Ok(mode) = std::env::var("MEMPROF_BENCH_CHILD") {
        let mode: u8 = mode.parse().unwrap_or(SYSTEM);
        let threads: usize = std::env::var("MEMPROF_BENCH_THREADS")
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(1);
        assert_eq!(which(), mode);
        if std::env::var_os("MEMPROF_BENCH_RSS").is_some() {
            // A large zeroed buffer that is never written: calloc hands out untouched pages.
            let before = memprof::peak_rss_bytes().unwrap_or(0);
            let v = vec![0u8; 64 << 20];
            black_box(&v);
            let after = memprof::peak_rss_bytes().unwrap_or(0);
            println!("{}", after.saturating_sub(before));
            std::process::exit(0);
        }
        let d = (0..3)
            .map(|_| {
                on_threads(threads, |t| {
                    let mut token = AllocationGroupToken::register();
                    let _tg = token.as_mut().map(AllocationGroupToken::enter);
                    let _g = memprof::phase(Phase::Sending);
                    black_box(program(t));
                })
            })
            .min()
            .unwrap_or_default();
        println!("{}", d.as_nanos());
        std::process::exit(0);
    }

    const OPS: usize = 1_000_000;
    const ROUNDS: usize = 21;
    println!(
        "micro: random alloc/free/realloc mix, direct calls; CPU ns per operation per thread, \
         {ROUNDS} interleaved rounds"
    );
    for threads in [1usize, 2] {
        let mut per_mode: [Vec<f64>; 3] = Default::default();
        for _ in 0..ROUNDS {
            for (mode, out) in per_mode.iter_mut().enumerate() {
                let d = on_threads(threads, |t| {
                    let mut token = AllocationGroupToken::register();
                    let _tg = token.as_mut().map(AllocationGroupToken::enter);
                    let _g = memprof::phase(Phase::Sending);
                    let seed = 0x9E37_79B9_7F4A_7C15 ^ t as u64;
                    match mode as u8 {
                        TRACKING_MODE => micro(&TRACKING, OPS, seed),
                        COUNTING_MODE => micro(&COUNTING, OPS, seed),
                        _ => micro(&System, OPS, seed),
                    }
                });
                out.push(d.as_nanos() as f64 / (OPS * threads) as f64);
            }
        }
        print_rows(threads, "ns/op", &per_mode);
    }

    const CHILD_ROUNDS: usize = 9;
    println!(
        "workload: hash maps / strings / sorting, allocator installed globally; CPU ms summed \
         over threads, best of 3 per process, {CHILD_ROUNDS} interleaved processes"
    );
    let exe = std::env::current_exe().expect("bench executable path");
    for threads in [1usize, 2] {
        let mut per_mode: [Vec<f64>; 3] = Default::default();
        for _ in 0..CHILD_ROUNDS {
            for (mode, out) in per_mode.iter_mut().enumerate() {
                let child = std::process::Command::new(&exe)
                    .env("MEMPROF_BENCH_CHILD", mode.to_string())
                    .env("MEMPROF_BENCH_THREADS", threads.to_string())
                    .output()
                    .expect("run bench child");
                let text = String::from_utf8_lossy(&child.stdout);
                out.push(text.trim().parse::<f64>().unwrap_or(f64::NAN) / 1e6);
            }
        }
        print_rows(threads, "ms", &per_mode);
    }
    println!("peak RSS growth from vec![0u8; 64 MiB] (alloc_zeroed), never written:");
    for (mode, name) in NAMES.iter().enumerate() {
        let child = std::process::Command::new(&exe)
            .env("MEMPROF_BENCH_CHILD", mode.to_string())
            .env("MEMPROF_BENCH_RSS", "1")
            .output()
            .expect("run bench child");
        let grew: u64 = String::from_utf8_lossy(&child.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        println!("  {name:<24} {}", memprof::human_bytes(grew));
    }
    black_box((&G_ALLOCS, &G_FREES, &G_BYTES, &G_LIVE, &G_PEAK));
}
