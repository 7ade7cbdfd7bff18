//! The service/version database (prtip_core::service_db): parsing
//! nmap-service-probes (the installed nmap file and the built-in one), and
//! identifying responses with `ServiceDb::match_response`, cold (a freshly
//! parsed database: every regex that passes the prefilter is compiled on the
//! way) and warm (the same database again: compiled regexes come from the
//! cache).
//!
//! nmap's file is read at run time from /usr/share/nmap; without it the nmap
//! cases print a SKIPPED line and only the built-in database is measured.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode, Throughput};
use prtip_core::result::Protocol;
use prtip_core::service_db::{ServiceDb, BUILTIN_NAME, BUILTIN_PROBES};

mod common;

#[global_allocator]
static GLOBAL: common::CountingAlloc = common::CountingAlloc;

const NMAP_PROBES: &str = "/usr/share/nmap/nmap-service-probes";

const SSH_BANNER: &[u8] = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";
const NGINX_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\
Date: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Type: text/html\r\n\
Content-Length: 45\r\nConnection: close\r\n\r\n\
<html><head><title>Welcome</title></head></html>";
/// No rule of nmap's file matches this: every rule of GetRequest and of its
/// fallback NULL is tried.
const UNKNOWN_HTTP: &[u8] =
    b"HTTP/1.1 200 OK\r\nServer: prtip-test/0.0\r\nContent-Length: 0\r\n\r\n";

/// (case name, probe the response answers, response)
const CASES: [(&str, &str, &[u8]); 3] = [
    ("ssh_banner_on_NULL", "NULL", SSH_BANNER),
    ("nginx_on_GetRequest", "GetRequest", NGINX_RESPONSE),
    ("unknown_http_on_GetRequest", "GetRequest", UNKNOWN_HTTP),
];

/// The databases to measure: (label, file name for messages, text).
fn databases() -> Vec<(&'static str, &'static str, String)> {
    let mut dbs = Vec::new();
    if let Some(text) = common::nmap_file(NMAP_PROBES) {
        dbs.push(("nmap", NMAP_PROBES, text));
    }
    dbs.push(("builtin", BUILTIN_NAME, BUILTIN_PROBES.to_owned()));
    dbs
}

/// What the match found, for the report line.
fn describe(db: &ServiceDb<'_>, probe: &str, response: &[u8]) -> String {
    let p = db.probe(Protocol::Tcp, probe).expect("probe exists");
    match db.match_response(p, response) {
        Some(m) => format!(
            "{} {}{} (line {})",
            m.service,
            m.product.as_deref().unwrap_or("-"),
            m.version.map(|v| format!(" {v}")).unwrap_or_default(),
            m.line
        ),
        None => "no match".to_owned(),
    }
}

fn parse(c: &mut Criterion) {
    let dbs = databases();
    let mut g = c.benchmark_group("service_db_parse");
    // nmap's file takes ~0.1 s a parse: one iteration per sample.
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(3));
    for (label, file, text) in &dbs {
        let (db, allocs) = common::allocations(|| ServiceDb::parse(text, file));
        let counts = db.counts();
        println!(
            "service_db_parse/{label}: {} bytes, {counts:?}, {} warnings, {allocs} allocations per parse",
            text.len(),
            db.warnings().len()
        );
        drop(db);
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(*label, |b| {
            b.iter(|| ServiceDb::parse(black_box(text), file))
        });
    }
    g.finish();
}

fn match_cold(c: &mut Criterion) {
    let dbs = databases();
    let mut g = c.benchmark_group("service_db_match_cold");
    // Each iteration parses a fresh database (untimed, but it counts against
    // the time budget) first; keep the count low.
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(200));
    g.measurement_time(Duration::from_millis(1500));
    for (label, file, text) in &dbs {
        for (case, probe, response) in CASES {
            let db = ServiceDb::parse(text, file);
            let p = db.probe(Protocol::Tcp, probe).expect("probe exists");
            let (_, allocs) = common::allocations(|| black_box(db.match_response(p, response)));
            let s = db.cache_stats();
            println!(
                "service_db_match_cold/{label}/{case}: {}; {} prefilter rejects, {} compiles, {allocs} allocations",
                describe(&db, probe, response),
                s.prefilter_rejects,
                s.compiles
            );
            drop(db);
            g.bench_function(format!("{label}/{case}"), |b| {
                b.iter_batched_ref(
                    || ServiceDb::parse(text, file),
                    |db| {
                        let p = db.probe(Protocol::Tcp, probe).expect("probe exists");
                        db.match_response(p, black_box(response)).is_some()
                    },
                    BatchSize::PerIteration,
                )
            });
        }
    }
    g.finish();
}

fn match_warm(c: &mut Criterion) {
    let dbs = databases();
    let mut g = c.benchmark_group("service_db_match_warm");
    for (label, file, text) in &dbs {
        let db = ServiceDb::parse(text, file);
        for (case, probe, response) in CASES {
            let p = db.probe(Protocol::Tcp, probe).expect("probe exists");
            // Warm the cache, then count what a warm call still does.
            black_box(db.match_response(p, response));
            let started = Instant::now();
            black_box(db.match_response(p, response));
            if started.elapsed() > Duration::from_millis(1) {
                // A slow "warm" call (the cache does not hold its regexes).
                g.sampling_mode(SamplingMode::Flat).sample_size(10);
            } else {
                g.sampling_mode(SamplingMode::Auto).sample_size(20);
            }
            const CALLS: u64 = 20;
            let before = db.cache_stats();
            let (_, allocs) = common::allocations(|| {
                for _ in 0..CALLS {
                    black_box(db.match_response(p, response));
                }
            });
            let after = db.cache_stats();
            println!(
                "service_db_match_warm/{label}/{case}: per call {} prefilter rejects, {} cache hits, {} compiles, {:.1} allocations",
                (after.prefilter_rejects - before.prefilter_rejects) / CALLS,
                (after.hits - before.hits) / CALLS,
                (after.compiles - before.compiles) as f64 / CALLS as f64,
                allocs as f64 / CALLS as f64,
            );
            g.bench_function(format!("{label}/{case}"), |b| {
                b.iter(|| db.match_response(p, black_box(response)).is_some())
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = parse, match_cold, match_warm
}
criterion_main!(benches);
