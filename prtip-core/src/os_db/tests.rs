//! Reader and matcher on small databases written for these tests (the real
//! file is exercised by `tests/os_db_installed.rs`).

use super::*;

const POINTS: &str = "\
# crafted for prtip's tests
MatchPoints
SEQ(SP=10%GCD=20%TI=30)
OPS(O1=5%O2=5)
T1(R=40%DF=10%T=10%W=10%Q=10)
T2(R=40%DF=10%W=10)

";

fn db(entries: &str) -> String {
    format!("{POINTS}{entries}")
}

fn subject(text: &str) -> Fingerprint {
    Fingerprint::parse(text).expect("valid subject")
}

/// Line number (1-based) of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle")
        + 1
}

#[test]
fn reads_match_points_classes_cpes_and_tests() {
    let text = db("\
# a comment before the entry
Fingerprint Alpha OS 1.0
Class Alpha | AlphaOS | 1.X | general purpose
CPE cpe:/o:alpha:alphaos:1 auto
Class Alpha | embedded || router
CPE cpe:/h:alpha:box
SEQ(SP=0-5%GCD=1|>1000000%TI=Z|RD)
OPS(O1=M5B4ST11|%O2=)
# comments may sit inside an entry
T1(DF=Y%T=3B-45%W=<100%Q=)
T2(R=N)

Fingerprint Beta
Class Beta | BetaOS || switch
T1(R=Y%DF=N)
");
    let mut reader = OsDbReader::with_file_name(&text, "crafted-db");
    let entries: Vec<_> = reader.by_ref().collect();
    assert!(reader.warnings().is_empty(), "{:?}", reader.warnings());
    assert_eq!(reader.fingerprints_read(), 2);

    let points = reader.match_points().expect("MatchPoints");
    let names: Vec<_> = points.tests().iter().map(|t| t.name()).collect();
    assert_eq!(names, ["SEQ", "OPS", "T1", "T2"]);
    assert_eq!(points.test("T1").and_then(|t| t.weight("R")), Some(40));
    assert_eq!(points.test("T1").and_then(|t| t.weight("X")), None);

    let alpha = entries[0];
    assert_eq!(alpha.name(), "Alpha OS 1.0");
    assert_eq!(alpha.line(), line_of(&text, "Fingerprint Alpha"));
    let classes: Vec<_> = alpha.classes().collect();
    assert_eq!(
        classes,
        [
            OsClass {
                vendor: "Alpha",
                family: "AlphaOS",
                generation: "1.X",
                device_type: "general purpose"
            },
            OsClass {
                vendor: "Alpha",
                family: "embedded",
                generation: "",
                device_type: "router"
            },
        ]
    );
    let cpes: Vec<_> = alpha.cpes().collect();
    assert_eq!(cpes, ["cpe:/o:alpha:alphaos:1", "cpe:/h:alpha:box"]);
    let tests: Vec<_> = alpha.tests().map(|t| t.name()).collect();
    assert_eq!(tests, ["SEQ", "OPS", "T1", "T2"]);
    let seq = alpha.test("SEQ").expect("SEQ");
    assert_eq!(seq.get("GCD"), Some("1|>1000000"));
    let ops: Vec<_> = alpha.test("OPS").expect("OPS").attrs().collect();
    assert_eq!(ops, [("O1", "M5B4ST11|"), ("O2", "")]);
    assert_eq!(alpha.test("T2").and_then(|t| t.get("R")), Some("N"));

    assert_eq!(entries[1].name(), "Beta");
    assert_eq!(entries[1].cpes().count(), 0);
}

#[test]
fn malformed_entries_are_skipped_with_file_and_line() {
    let bad_entries = [
        (
            "Fingerprint Bad test name\nT-1(R=Y)\n",
            "T-1(R=Y)",
            "expected a test line",
        ),
        (
            "Fingerprint Unknown test\nT9(R=Y)\n",
            "T9(R=Y)",
            "T9 is not in MatchPoints",
        ),
        (
            "Fingerprint Unknown attr\nT1(R=Y%XX=1)\n",
            "XX=1",
            "T1.XX is not in MatchPoints",
        ),
        (
            "Fingerprint Dup attr\nT1(DF=Y%DF=N)\n",
            "DF=N",
            "T1.DF given twice",
        ),
        (
            "Fingerprint Dup test\nT1(DF=Y)\nT1(DF=N)\n",
            "T1(DF=N)",
            "T1 given twice",
        ),
        ("Fingerprint No paren\nT1(DF=Y\n", "T1(DF=Y", "missing ')'"),
        (
            "Fingerprint No equals\nT1(DF)\n",
            "T1(DF)",
            "not attribute=value",
        ),
        (
            "Fingerprint Bad range\nT1(T=45-3B)\n",
            "45-3B",
            "range is empty",
        ),
        (
            "Fingerprint Bad bound\nT1(W=>Z)\n",
            "W=>Z",
            "comparison needs a hex number",
        ),
        (
            "Fingerprint Bad char\nT1(W=1 2)\n",
            "W=1 2",
            "unexpected character",
        ),
        (
            "Fingerprint Short class\nClass A | B | C\nT1(DF=Y)\n",
            "Class A",
            "expected vendor",
        ),
        (
            "Fingerprint Empty family\nClass A || 1 | x\nT1(DF=Y)\n",
            "Class A ||",
            "must not be empty",
        ),
        (
            "Fingerprint Bad CPE\nCPE linux\nT1(DF=Y)\n",
            "CPE linux",
            "expected cpe:/",
        ),
        (
            "Fingerprint No tests\nClass A | B | C | D\n",
            "Fingerprint No tests",
            "no test lines",
        ),
        ("Fingerprint\nT1(DF=Y)\n", "Fingerprint\n", "without a name"),
    ];
    for (entry, needle, reason) in bad_entries {
        let text = db(&format!(
            "Fingerprint Good before\nT1(DF=Y)\n\n{entry}\nFingerprint Good after\nT1(DF=N)\n"
        ));
        let mut reader = OsDbReader::with_file_name(&text, "db.txt");
        let names: Vec<_> = reader.by_ref().map(|r| r.name()).collect();
        assert_eq!(names, ["Good before", "Good after"], "{entry}");
        assert_eq!(reader.entries_skipped(), 1, "{entry}");
        let warnings = reader.into_warnings();
        assert_eq!(warnings.len(), 1, "{entry}: {warnings:?}");
        let entry_at = text.find(entry).expect("entry in text");
        let needle_line = text[entry_at..]
            .find(needle)
            .map(|at| text[..entry_at + at].matches('\n').count() + 1)
            .expect("needle in entry");
        let shown = warnings[0].to_string();
        assert!(
            shown.starts_with(&format!("db.txt:{needle_line}: ")),
            "{entry}: {shown}"
        );
        assert!(shown.contains(reason), "{entry}: {shown}");
    }
}

#[test]
fn stray_lines_and_misplaced_sections_warn() {
    let text = "\
T1(R=Y)
Fingerprint Too early
T1(DF=Y)
MatchPoints
T1(R=10%DF=x)
T1(R=10%DF=5)
MatchPoints
T1(R=1)
Fingerprint Fine
T1(DF=Y)
";
    let mut reader = OsDbReader::new(text);
    let names: Vec<_> = reader.by_ref().map(|r| r.name()).collect();
    assert_eq!(names, ["Fine"]);
    let shown: Vec<_> = reader.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 4, "{shown:?}");
    assert!(
        shown[0].starts_with("nmap-os-db:1: line outside"),
        "{shown:?}"
    );
    assert!(
        shown[1].starts_with("nmap-os-db:2: Fingerprint before"),
        "{shown:?}"
    );
    assert!(
        shown[2].starts_with("nmap-os-db:5: MatchPoints T1.DF: weight"),
        "{shown:?}"
    );
    assert!(
        shown[3].starts_with("nmap-os-db:7: second MatchPoints"),
        "{shown:?}"
    );
    assert_eq!(
        reader
            .match_points()
            .and_then(|p| p.test("T1")?.weight("DF")),
        Some(5)
    );
}

#[test]
fn crlf_and_no_final_newline() {
    let text = db("Fingerprint Windowsy\r\nClass A | B || C\r\nT1(DF=Y%Q=)\r\nT2(R=N)")
        .replace('\n', "\r\n")
        .replace("\r\r\n", "\r\n");
    let mut reader = OsDbReader::new(&text);
    let entries: Vec<_> = reader.by_ref().collect();
    assert!(reader.warnings().is_empty(), "{:?}", reader.warnings());
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].test("T1").and_then(|t| t.get("Q")), Some(""));
    assert_eq!(entries[0].test("T2").and_then(|t| t.get("R")), Some("N"));
}

#[test]
fn scores_like_nmap() {
    let text = db("\
Fingerprint Exact
Class A | A || x
SEQ(SP=0-5%GCD=1|>1000000%TI=Z)
T1(DF=Y%T=3B-45%W=<100%Q=)
T2(R=N)

Fingerprint Half
Class B | B || x
SEQ(SP=6-A%GCD=1%TI=Z)
");
    let mut reader = OsDbReader::new(&text);
    let exact = reader.next().expect("Exact");
    let half = reader.next().expect("Half");
    let points = reader.match_points().expect("MatchPoints").clone();

    let s = subject("SEQ(SP=3%GCD=2000000%TI=Z)\nT1(R=Y%DF=Y%T=40%W=FF%Q=)\nT2(R=N)\nT9(X=1)");
    // SEQ 10+20+30, T1 DF10 + T10 + W10 + Q10 (R unstated: not compared), T2 R40.
    assert_eq!(
        score(&points, &exact, &s),
        Score {
            matched: 140,
            possible: 140
        }
    );
    // SP (10) and GCD (20) miss, TI (30) matches.
    assert_eq!(
        score(&points, &half, &s),
        Score {
            matched: 30,
            possible: 60
        }
    );

    // A response where the reference expects none costs R's weight, and the
    // reference's other T2 attributes are not comparable.
    let s = subject("T2(R=Y%DF=Y%W=0)");
    assert_eq!(
        score(&points, &exact, &s),
        Score {
            matched: 0,
            possible: 40
        }
    );
    // Attributes missing on either side are not counted.
    let s = subject("T1(DF=Y%W=100%ZZ=1)");
    assert_eq!(
        score(&points, &exact, &s),
        Score {
            matched: 10,
            possible: 20
        }
    );
    assert_eq!(score(&points, &half, &s), Score::default());
}

#[test]
fn percent_rounds_down_like_nmap() {
    assert_eq!(
        Score {
            matched: 57,
            possible: 100
        }
        .percent(),
        56,
        "0.57 * 100 < 57 in f64"
    );
    assert_eq!(
        Score {
            matched: 199,
            possible: 200
        }
        .percent(),
        99
    );
    assert_eq!(
        Score {
            matched: 2,
            possible: 3
        }
        .percent(),
        66
    );
    assert_eq!(
        Score {
            matched: 5,
            possible: 5
        }
        .percent(),
        100
    );
    assert_eq!(
        Score {
            matched: 0,
            possible: 0
        }
        .percent(),
        0
    );
    assert!(Score {
        matched: 1,
        possible: 2
    }
    .cmp_accuracy(Score {
        matched: 2,
        possible: 4
    })
    .is_eq());
}

#[test]
fn keeps_best_n_in_order_one_per_name() {
    // Scores against the subject below: W matches (10) or not, DF likewise.
    let text = db("\
Fingerprint P1
T1(DF=Y%W=1)
Fingerprint Low
T1(DF=N%W=2)
Fingerprint Mid
T1(DF=Y%W=2)
Fingerprint P2
T1(DF=Y%W=0-5)
Fingerprint Dup
T1(DF=N%W=2)
Fingerprint Dup
T1(DF=Y%W=1)
Fingerprint Unrelated
SEQ(SP=1)
");
    let s = subject("T1(DF=Y%W=1)");
    let (all, warnings) = best_matches(&text, &s, 10);
    assert!(warnings.is_empty(), "{warnings:?}");
    let ranked: Vec<_> = all.iter().map(|m| (m.name, m.accuracy)).collect();
    // Ties keep file order; "Dup" appears once, with its better score;
    // "Unrelated" shares nothing with the subject and is no candidate.
    assert_eq!(
        ranked,
        [
            ("P1", 100),
            ("P2", 100),
            ("Dup", 100),
            ("Mid", 50),
            ("Low", 0)
        ]
    );

    let (top2, _) = best_matches(&text, &s, 2);
    let names: Vec<_> = top2.iter().map(|m| m.name).collect();
    assert_eq!(
        names,
        ["P1", "P2"],
        "a tie with the last does not displace it"
    );
    assert!(best_matches(&text, &s, 0).0.is_empty());
}

#[test]
fn matches_carry_classes_and_cpes() {
    let text = db("\
Fingerprint Gamma 2
Class Gamma | GammaOS | 2.X | general purpose
CPE cpe:/o:gamma:gammaos:2 auto
T1(DF=Y)
");
    let (matches, _) = best_matches(&text, &subject("T1(DF=Y)"), 3);
    assert_eq!(matches.len(), 1);
    let m = &matches[0];
    assert_eq!(
        m.score,
        Score {
            matched: 10,
            possible: 10
        }
    );
    assert_eq!(m.line, line_of(&text, "Fingerprint Gamma"));
    assert_eq!(m.classes[0].family, "GammaOS");
    assert_eq!(
        m.classes[0].to_string(),
        "Gamma | GammaOS | 2.X | general purpose"
    );
    assert_eq!(m.cpes, ["cpe:/o:gamma:gammaos:2"]);
}

#[test]
fn garbage_never_panics() {
    let samples = [
        "",
        "\n\n\n",
        "MatchPoints",
        "MatchPoints\n(((\n)))\n%%%\nFingerprint x\n(=)\n",
        "Fingerprint \u{e9}\u{e9}\nClass |||\nCPE\nT1(\u{e9}=\u{e9})",
        "MatchPoints\nT1(R=99999999999)\nFingerprint a\nT1(R=Y)",
    ];
    for text in samples {
        let mut reader = OsDbReader::new(text);
        let _ = reader.by_ref().count();
        let _ = best_matches(text, &subject("T1(R=Y)"), 5);
    }
}
