//! OS detection's database side (prtip_core::os_db): ranking every reference
//! fingerprint of nmap-os-db against a Linux subject with `best_matches`
//! (one streaming pass: read, score, keep the best n), with the reader alone
//! as a baseline for how much of that is reading.
//!
//! nmap-os-db is read at run time from /usr/share/nmap; without it these
//! benches print a SKIPPED line.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use prtip_core::os_db::{best_matches, Fingerprint, OsDbReader};

mod common;

#[global_allocator]
static GLOBAL: common::CountingAlloc = common::CountingAlloc;

const NMAP_OS_DB: &str = "/usr/share/nmap/nmap-os-db";

/// A Linux 6.x host over loopback, as nmap 7.93 printed it; the same capture
/// as LOOPBACK_SUBJECT in prtip-core/tests/os_db_installed.rs, whose best
/// match in nmap's database is "Linux 5.0 - 5.2" (97%).
const LINUX_SUBJECT: &str = "\
OS:SCAN(V=7.93%E=4%D=11/25%OT=22%CT=1%CU=34715%PV=N%DS=0%DC=L%G=Y%TM=6B06ED
OS:9A%P=x86_64-pc-linux-gnu)SEQ(SP=104%GCD=1%ISR=10C%TI=Z%CI=Z%II=I%TS=21)O
OS:PS(O1=MFFD7ST11NWA%O2=MFFD7ST11NWA%O3=MFFD7NNT11NWA%O4=MFFD7ST11NWA%O5=M
OS:FFD7ST11NWA%O6=MFFD7ST11)WIN(W1=FFCB%W2=FFCB%W3=FFCB%W4=FFCB%W5=FFCB%W6=
OS:FFCB)ECN(R=Y%DF=Y%T=40%W=FFD7%O=MFFD7NNSNWA%CC=Y%Q=)T1(R=Y%DF=Y%T=40%S=O
OS:%A=S+%F=AS%RD=0%Q=)T2(R=N)T3(R=N)T4(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%O=%RD=
OS:0%Q=)T5(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)T6(R=Y%DF=Y%T=40%W=0%
OS:S=A%A=Z%F=R%O=%RD=0%Q=)T7(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)U1(
OS:R=Y%DF=N%T=40%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)IE(R=Y%DFI=
OS:N%T=40%CD=S)
";

fn os_db(c: &mut Criterion) {
    let subject = Fingerprint::parse(LINUX_SUBJECT).expect("nmap's fingerprint parses");

    let mut g = c.benchmark_group("os_db");
    g.bench_function("fingerprint_parse", |b| {
        b.iter(|| Fingerprint::parse(black_box(LINUX_SUBJECT)))
    });

    let Some(text) = common::nmap_file(NMAP_OS_DB) else {
        g.finish();
        return;
    };
    let mut reader = OsDbReader::new(&text);
    let (entries, allocs) = common::allocations(|| reader.by_ref().count());
    println!(
        "os_db/read_all: {} bytes, {entries} fingerprints, {} skipped, {allocs} allocations",
        text.len(),
        reader.entries_skipped()
    );
    let ((top, warnings), allocs) = common::allocations(|| best_matches(&text, &subject, 10));
    let first = top.first().map(|m| (m.name, m.accuracy));
    println!(
        "os_db/best_matches_10: best {first:?}, {} warnings, {allocs} allocations",
        warnings.len()
    );

    // Tens of ms per pass over the 5 MB file: one iteration per sample.
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(2));
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("read_all", |b| {
        b.iter(|| OsDbReader::new(black_box(&text)).count())
    });
    g.bench_function("best_matches_10_linux", |b| {
        b.iter(|| best_matches(black_box(&text), &subject, 10).0.len())
    });
    g.bench_function("best_matches_1_linux", |b| {
        b.iter(|| best_matches(black_box(&text), &subject, 1).0.len())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = os_db
}
criterion_main!(benches);
