//! The reader and matcher on the `nmap-os-db` that nmap installed (read at
//! run time; nmap's data is never copied into this repository). Without nmap
//! these tests print a `SKIPPED (needs ...)` line, and fail when CI=true.

use std::time::Instant;

use prtip_testkit::{nmapdata, prereq::require_text};

use prtip_core::os_db::{
    best_matches, score, value_matches, Fingerprint, OsDbReader, RefTest, Reference,
};

const DB_PATH: &str = nmapdata::OS_DB;

/// The installed database, or `None` after a loud skip (a failure under CI).
fn installed_db() -> Option<String> {
    require_text(DB_PATH)
}

/// A value that satisfies `expr`: the first alternative that some value can
/// satisfy, made concrete (`lo-hi` -> lo, `>x` -> x+1, `<x` -> x-1).
fn satisfying_value(expr: &str) -> String {
    for alternative in expr.split('|') {
        let hex = |s: &str| u128::from_str_radix(s, 16).ok();
        let value = if let Some(bound) = alternative.strip_prefix('>') {
            hex(bound).map(|x| format!("{:X}", x + 1))
        } else if let Some(bound) = alternative.strip_prefix('<') {
            hex(bound)
                .and_then(|x| x.checked_sub(1))
                .map(|x| format!("{x:X}"))
        } else if let Some((lo, _)) = alternative.split_once('-') {
            Some(lo.to_owned())
        } else {
            Some(alternative.to_owned())
        };
        if let Some(value) = value {
            assert!(
                value_matches(expr, &value),
                "{value} does not satisfy {expr}"
            );
            return value;
        }
    }
    panic!("no value satisfies {expr}")
}

/// The subject a host described exactly by `reference` would produce.
fn subject_of(reference: &Reference<'_>) -> Fingerprint {
    let mut fp = Fingerprint::new();
    for test in reference.tests() {
        let attrs: Vec<_> = test
            .attrs()
            .map(|(attr, expr)| (attr, satisfying_value(expr)))
            .collect();
        fp.push_test(test.name(), attrs)
            .expect("valid subject test");
    }
    fp
}

/// `subject` with `test.attr` set to a value no expression in the database
/// accepts.
fn perturbed(subject: &Fingerprint, test: &RefTest<'_>, attr: &str) -> Fingerprint {
    let mut fp = Fingerprint::new();
    for t in subject.tests() {
        let attrs = t.attrs().map(|(a, v)| {
            let changed = t.name() == test.name() && a == attr;
            (a, if changed { "QQQQ" } else { v })
        });
        fp.push_test(t.name(), attrs).expect("valid subject test");
    }
    fp
}

#[test]
fn installed_file_reads_cleanly() {
    let Some(text) = installed_db() else { return };
    let mut reader = OsDbReader::with_file_name(&text, DB_PATH);
    let started = Instant::now();
    let entries = reader.by_ref().count();
    let elapsed = started.elapsed();
    let declared = text
        .lines()
        .filter(|l| l.starts_with("Fingerprint "))
        .count();
    eprintln!("{DB_PATH}: {entries} fingerprints read in {elapsed:?}");
    assert!(reader.warnings().is_empty(), "{:#?}", reader.warnings());
    assert_eq!(entries, declared);
    assert!(entries > 5000, "{entries} fingerprints");

    let points = reader.match_points().expect("MatchPoints section");
    let names: Vec<_> = points.tests().iter().map(|t| t.name()).collect();
    for test in [
        "SEQ", "OPS", "WIN", "ECN", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "U1", "IE",
    ] {
        assert!(names.contains(&test), "MatchPoints lacks {test}: {names:?}");
    }
    for test in ["ECN", "T1", "T7", "U1", "IE"] {
        let weight = points.test(test).and_then(|t| t.weight("R"));
        assert!(weight.is_some_and(|w| w > 0), "{test}.R weight {weight:?}");
    }

    let reader = OsDbReader::new(&text);
    let (mut classes, mut cpes) = (0, 0);
    for entry in reader {
        classes += entry.classes().count();
        cpes += entry.cpes().count();
        assert!(
            entry.classes().all(|c| !c.family.is_empty()),
            "{}",
            entry.name()
        );
    }
    eprintln!("{classes} Class lines, {cpes} CPE lines");
    assert_eq!(
        classes,
        text.lines().filter(|l| l.starts_with("Class ")).count()
    );
    assert_eq!(cpes, text.lines().filter(|l| l.starts_with("CPE ")).count());
}

#[test]
fn every_reference_scores_100_against_itself() {
    let Some(text) = installed_db() else { return };
    let mut reader = OsDbReader::new(&text);
    let mut checked = 0;
    while let Some(reference) = reader.next() {
        let points = reader.match_points().expect("MatchPoints first");
        let subject = subject_of(&reference);
        let s = score(points, &reference, &subject);
        assert!(s.is_perfect(), "{} scores {s:?}", reference.name());
        assert_eq!(s.percent(), 100);

        // Any weighted attribute the reference constrains, once wrong, costs
        // points.
        let weighted = |test: &RefTest<'_>, attr: &str| {
            points
                .test(test.name())
                .and_then(|t| t.weight(attr))
                .is_some_and(|w| w > 0)
        };
        let (test, attr) = reference
            .tests()
            .find_map(|t| {
                t.attrs()
                    .find(|(a, _)| weighted(&t, a))
                    .map(|(a, _)| (t, a))
            })
            .expect("a weighted attribute");
        let worse = score(points, &reference, &perturbed(&subject, &test, attr));
        assert!(
            worse.possible > 0 && worse.matched < worse.possible,
            "{} {worse:?}",
            reference.name()
        );
        checked += 1;
    }
    assert!(checked > 5000);
}

#[test]
fn a_reference_turned_subject_ranks_first() {
    let Some(text) = installed_db() else { return };
    let references: Vec<_> = OsDbReader::new(&text).collect();
    // A spread of entries across the file, not just its start.
    for reference in references.iter().step_by(1100) {
        let subject = subject_of(reference);
        let started = Instant::now();
        let (top, warnings) = best_matches(&text, &subject, 10);
        let elapsed = started.elapsed();
        assert!(warnings.is_empty());
        let first = top.first().expect("a match");
        assert_eq!(
            first.accuracy,
            100,
            "{}: best is {first:?}",
            reference.name()
        );
        let own = top.iter().find(|m| m.name == reference.name());
        // Another entry may tie (identical references exist); then ours is at
        // least not beaten.
        if let Some(own) = own {
            assert_eq!(
                own.score.cmp_accuracy(first.score),
                std::cmp::Ordering::Equal
            );
        } else {
            assert_eq!(top.len(), 10, "{} missing from {top:?}", reference.name());
            assert!(top.iter().all(|m| m.score.is_perfect()));
        }
        eprintln!(
            "{:<50} -> {} ({}%), one pass {elapsed:?}",
            reference.name(),
            first.name,
            first.accuracy
        );

        let test = reference
            .tests()
            .find(|t| t.name() == "T1" && t.get("DF").is_some());
        if let Some(test) = test {
            let worse = perturbed(&subject, &test, "DF");
            let (top, _) = best_matches(&text, &worse, 10);
            let own = top.iter().find(|m| m.name == reference.name());
            assert!(own.is_none_or(|m| m.accuracy < 100), "{own:?}");
        }
    }
}

/// Captured on the development host (Linux 6.x, loopback, an open port 22
/// and a closed port 1) with `nmap -O --osscan-guess -d 127.0.0.1 -p 22,1`,
/// nmap 7.93. It measures this host, not nmap's database.
const LOOPBACK_SUBJECT: &str = "\
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

/// What nmap printed for that subject ("Aggressive OS guesses").
const NMAP_GUESSES: [(&str, u8); 10] = [
    ("Linux 5.0 - 5.2", 97),
    ("Linux 3.1", 95),
    ("Linux 3.2", 95),
    ("AXIS 210A or 211 Network Camera (Linux 2.6.17)", 94),
    ("Linux 3.7 - 3.11", 93),
    ("Linux 2.6.32", 93),
    ("Linux 3.8 - 3.9", 93),
    ("ASUS RT-N56U WAP (Linux 3.4)", 93),
    ("Linux 3.16", 93),
    ("Linux 3.8 - 4.14", 92),
];

#[test]
fn loopback_subject_agrees_with_nmap() {
    let Some(text) = installed_db() else { return };
    let subject = Fingerprint::parse(LOOPBACK_SUBJECT).expect("nmap's fingerprint");
    assert_eq!(subject.get("OPS", "O5"), Some("MFFD7ST11NWA"));
    let (top, warnings) = best_matches(&text, &subject, 10);
    assert!(warnings.is_empty());
    for (m, (name, accuracy)) in top.iter().zip(NMAP_GUESSES) {
        eprintln!(
            "ours: {:<50} {:>3}%  nmap: {name} {accuracy}%  {:?}",
            m.name, m.accuracy, m.score
        );
    }
    let first = &top[0];
    assert_eq!(first.classes[0].family, "Linux");
    assert_eq!((first.name, first.accuracy), NMAP_GUESSES[0]);
    let ours: Vec<_> = top.iter().map(|m| (m.name, m.accuracy)).collect();
    assert_eq!(ours, NMAP_GUESSES);
}
