//! Every fuzz target over every file of its corpus (`fuzz/corpus/<name>/`),
//! on stable: the seeds, what fuzzing added, and each crashing input once
//! fixed, so `cargo test` keeps them fixed without nightly or cargo-fuzz.
//!
//! A target without a corpus directory, or with an empty one, fails: the
//! replay would otherwise pass by testing nothing.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use prtip_fuzz_targets::{target, TARGETS};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `dir`, sorted so that failures come out in a stable order.
fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (every fuzz target needs a corpus directory)",
            dir.display()
        )
    });
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "{}: empty corpus (every fuzz target needs seeds)",
        dir.display()
    );
    files
}

fn replay(name: &str) {
    let f = target(name).unwrap_or_else(|| panic!("no fuzz target {name}"));
    let dir = fuzz_dir().join("corpus").join(name);
    let mut failed = Vec::new();
    for file in corpus_files(&dir) {
        let data = fs::read(&file).expect("readable corpus file");
        // Keep going after a failure, so one run names every failing input.
        if catch_unwind(AssertUnwindSafe(|| f(&data))).is_err() {
            failed.push(file.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{name}: {} corpus input(s) failed (messages above):\n{}",
        failed.len(),
        failed.join("\n")
    );
}

macro_rules! replay_tests {
    ($($name:ident),* $(,)?) => {
        /// The targets that have a test here, to check none was forgotten.
        const REPLAYED: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                replay(stringify!($name));
            }
        )*
    };
}

replay_tests!(
    wire_ip,
    wire_transport,
    wire_link,
    parse_reply,
    os_reply,
    service_probes,
    service_match,
    os_db,
    os_fingerprint,
    services,
    payloads,
    target_spec,
    target_file,
    ports,
    cli,
);

#[test]
fn every_target_is_replayed_and_wrapped_for_cargo_fuzz() {
    let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    let mut replayed = REPLAYED.to_vec();
    let mut sorted = names.clone();
    replayed.sort_unstable();
    sorted.sort_unstable();
    assert_eq!(replayed, sorted, "replay_tests! and TARGETS differ");
    let mut wrapped: Vec<String> = fs::read_dir(fuzz_dir().join("fuzz_targets"))
        .expect("fuzz/fuzz_targets")
        .map(|e| e.expect("entry").path())
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_owned()))
        .collect();
    wrapped.sort_unstable();
    assert_eq!(wrapped, sorted, "fuzz/fuzz_targets and TARGETS differ");
    let mut corpora: Vec<String> = fs::read_dir(fuzz_dir().join("corpus"))
        .expect("fuzz/corpus")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    corpora.sort_unstable();
    assert_eq!(corpora, sorted, "fuzz/corpus and TARGETS differ");
}
