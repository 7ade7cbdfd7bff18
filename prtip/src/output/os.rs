//! nmap's rules for printing an OS detection result: which matches it
//! lists, the classification summary, the "not ideal" notes, and when it
//! shows the fingerprint. Every output format renders from [`OsView`], so
//! normal, XML, grepable and JSON output agree on what was found.

use prtip_core::result::{OsFailure, OsGuess, OsGuessClass, OsNotIdeal, OsReport, RunInfo};

/// nmap lists at most this many perfect matches before giving up.
const MAX_PERFECT_SHOWN: usize = 8;
/// At most this many guesses, each within 10 points of the best.
const MAX_GUESSES: usize = 10;
/// Distinct device types / families / CPEs nmap's summary lines can hold.
const MAX_CLASS_MEMBERS: usize = 8;

const UNRELIABLE: &str = "Warning: OSScan results may be unreliable because we could not find at least 1 open and 1 closed port";

/// The run's options that change what is printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OsPrinting {
    /// `--osscan-guess`.
    pub guess: bool,
    /// `-vv` or `-d`: nmap then shows the fingerprint and the reasons.
    pub talkative: bool,
    /// `-d`: list every perfect match however many.
    pub debug: bool,
}

impl OsPrinting {
    pub fn of(run: &RunInfo) -> Self {
        OsPrinting {
            guess: run.os_guess,
            talkative: run.verbose > 1 || run.debug > 0,
            debug: run.debug > 0,
        }
    }
}

/// What nmap prints of one host's OS result.
#[derive(Debug, Default)]
pub struct OsView<'a> {
    /// Lines of the normal output before "Network Distance", in order.
    pub lines: Vec<String>,
    /// The `<osmatch>` entries: every perfect match, or else the best guesses.
    pub matches: &'a [OsGuess],
    /// The fingerprint, when nmap would show it.
    pub fingerprint: Option<&'a str>,
    /// The perfect matches' names joined by `|`, for grepable output.
    pub grepable: Option<String>,
}

/// Applies nmap's printing rules to `os`.
pub fn view<'a>(os: &'a OsReport, printing: OsPrinting) -> OsView<'a> {
    let mut v = OsView::default();
    match &os.failure {
        Some(OsFailure::NoOpenPort) => {
            v.lines.push(UNRELIABLE.into());
            v.lines
                .push("OS detection needs an open TCP port and none was found.".into());
            return v;
        }
        Some(OsFailure::Failed(e)) => {
            v.lines.push(format!("OS detection failed: {e}"));
            return v;
        }
        None => {}
    }
    if !os.closed_port {
        v.lines.push(UNRELIABLE.into());
    }
    let reason = os.not_ideal.map(not_ideal_text);
    let guess = printing.guess || reason.is_some();
    // nmap asks for the fingerprint (prints it whatever the verbosity) only
    // when nothing matched well and the conditions were good; otherwise it
    // shows it with -d or -vv.
    let asks_for_fp = decide(&mut v, &os.candidates, guess, reason.as_deref(), printing);
    if asks_for_fp || printing.talkative {
        v.fingerprint = os.fingerprint.as_deref();
    }
    v
}

/// nmap's wording of each non-ideal condition.
fn not_ideal_text(n: OsNotIdeal) -> String {
    match n {
        OsNotIdeal::InsaneTiming => "Timing level 5 (Insane) used".into(),
        OsNotIdeal::NoClosedPort => "Missing a closed TCP port so results incomplete".into(),
        OsNotIdeal::Distance(d) => format!("Host distance ({d} network hops) is greater than five"),
        OsNotIdeal::NoUdpResponse => {
            "Didn't receive UDP response. Please try again with -sSU".into()
        }
    }
}

/// Fills in what nmap prints for the matches; true when it would ask for
/// the fingerprint to be submitted.
fn decide<'a>(
    v: &mut OsView<'a>,
    candidates: &'a [OsGuess],
    guess: bool,
    reason: Option<&str>,
    printing: OsPrinting,
) -> bool {
    let perfect = candidates.iter().take_while(|m| m.is_perfect()).count();
    if perfect > MAX_PERFECT_SHOWN && !printing.debug {
        v.lines
            .push("Too many fingerprints match this host to give specific OS details".into());
        return false;
    }
    if candidates.is_empty() {
        match reason {
            None => v.lines.push("No OS matches for host (If you know what OS is running on it, see https://nmap.org/submit/ ).".into()),
            Some(r) => {
                v.lines.push(format!("OS fingerprint not ideal because: {r}"));
                v.lines.push("No OS matches for host".into());
            }
        }
        return reason.is_none();
    }
    v.lines
        .extend(classification_lines(candidates, perfect, guess));
    if perfect > 0 {
        v.matches = &candidates[..perfect];
        let names: Vec<&str> = v.matches.iter().map(|m| m.name.as_str()).collect();
        v.lines.push(format!("OS details: {}", names.join(", ")));
        v.grepable = Some(names.join("|"));
        return false;
    }
    if printing.talkative {
        if let Some(r) = reason {
            v.lines
                .push(format!("OS fingerprint not ideal because: {r}"));
        }
    }
    let best = candidates[0].fraction();
    let shown = candidates
        .iter()
        .take(MAX_GUESSES)
        .take_while(|m| m.fraction() > best - 0.10)
        .count();
    v.matches = &candidates[..shown];
    if guess {
        let list: Vec<String> = v
            .matches
            .iter()
            .map(|m| format!("{} ({}%)", m.name, m.accuracy))
            .collect();
        v.lines
            .push(format!("Aggressive OS guesses: {}", list.join(", ")));
    }
    v.lines.push(match reason {
        None => "No exact OS matches for host (If you know what OS is running on it, see https://nmap.org/submit/ ).".into(),
        Some(_) => "No exact OS matches for host (test conditions non-ideal).".into(),
    });
    reason.is_none()
}

/// Two classes are one when nmap would print them as one.
fn same_class(a: &OsGuessClass, b: &OsGuessClass) -> bool {
    a.device_type == b.device_type
        && a.vendor == b.vendor
        && a.family == b.family
        && a.generation == b.generation
}

/// "Device type:", "Running:" and "OS CPE:" as nmap's classification
/// summary prints them: classes of the perfect matches, or with `guess`
/// of every match within 10 points of the best (at most 10 unless perfect);
/// nothing when more than eight types, families or CPEs would be listed.
fn classification_lines(matches: &[OsGuess], perfect: usize, guess: bool) -> Vec<String> {
    let (classes, perfect_classes) = distinct_classes(matches, perfect);
    let Some(&(_, top)) = classes.first() else {
        return Vec::new();
    };
    let mut types: Vec<&str> = Vec::new();
    let mut cpes: Vec<&str> = Vec::new();
    let mut families: Vec<(String, Vec<&str>, f64)> = Vec::new();
    let mut overflow = false;
    for (n, (c, acc)) in classes.iter().enumerate() {
        if (!guess && n >= perfect_classes) || *acc <= top - 0.1 || (*acc < 1.0 && n > 9) {
            break;
        }
        overflow |= !add_new(&mut types, &c.device_type);
        for cpe in &c.cpe {
            overflow |= !add_new(&mut cpes, cpe);
        }
        let full = if c.vendor == c.family {
            c.family.clone()
        } else {
            format!("{} {}", c.vendor, c.family)
        };
        let generation = c.generation.as_deref();
        match families.iter().position(|(f, _, _)| *f == full) {
            Some(i) => {
                let gens = &mut families[i].1;
                if let Some(g) = generation.filter(|g| !gens.contains(g)) {
                    gens.push(g);
                }
            }
            None if families.len() >= MAX_CLASS_MEMBERS => {
                overflow = true;
                break;
            }
            None => families.push((full, generation.into_iter().collect(), *acc)),
        }
    }
    if overflow || families.is_empty() {
        return Vec::new();
    }
    summary_lines(&types, &families, &cpes, perfect_classes)
}

/// Distinct classes in match order, each with the score of the first match
/// that brought it; and how many came from perfect matches.
fn distinct_classes(matches: &[OsGuess], perfect: usize) -> (Vec<(&OsGuessClass, f64)>, usize) {
    let mut classes: Vec<(&OsGuessClass, f64)> = Vec::new();
    let mut perfect_classes = 0;
    for (i, m) in matches.iter().enumerate() {
        for c in &m.classes {
            if classes.iter().any(|(k, _)| same_class(k, c)) {
                continue;
            }
            if perfect_classes > 0 && i >= perfect {
                break;
            }
            classes.push((c, m.fraction()));
            if i < perfect {
                perfect_classes += 1;
            }
        }
    }
    (classes, perfect_classes)
}

fn summary_lines(
    types: &[&str],
    families: &[(String, Vec<&str>, f64)],
    cpes: &[&str],
    perfect_classes: usize,
) -> Vec<String> {
    let mut lines = vec![format!("Device type: {}", types.join("|"))];
    let running: Vec<String> = families
        .iter()
        .enumerate()
        .map(|(i, (fam, gens, acc))| {
            let mut s = fam.clone();
            if !gens.is_empty() {
                s.push(' ');
                s.push_str(&gens.join("|"));
            }
            if i >= perfect_classes {
                s.push_str(&format!(" ({}%)", (acc * 100.0).floor()));
            }
            s
        })
        .collect();
    let label = if perfect_classes == 0 {
        "Running (JUST GUESSING)"
    } else {
        "Running"
    };
    lines.push(format!("{label}: {}", running.join(", ")));
    if !cpes.is_empty() {
        lines.push(format!("OS CPE: {}", cpes.join(" ")));
    }
    lines
}

/// Adds `item` unless present; false when the list is already full.
fn add_new<'a>(list: &mut Vec<&'a str>, item: &'a str) -> bool {
    if list.contains(&item) {
        return true;
    }
    if list.len() >= MAX_CLASS_MEMBERS {
        return false;
    }
    list.push(item);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(family: &str, gen: &str, cpe: &str) -> OsGuessClass {
        OsGuessClass {
            device_type: "general purpose".into(),
            vendor: "Linux".into(),
            family: family.into(),
            generation: Some(gen.to_string()).filter(|g| !g.is_empty()),
            accuracy: 100,
            cpe: vec![cpe.into()],
        }
    }

    fn guess(name: &str, matched: u32, classes: Vec<OsGuessClass>) -> OsGuess {
        OsGuess {
            name: name.into(),
            accuracy: u8::try_from(matched * 100 / 1000).unwrap_or(0),
            line: 1,
            matched,
            possible: 1000,
            classes,
        }
    }

    fn report(candidates: Vec<OsGuess>) -> OsReport {
        OsReport {
            candidates,
            closed_port: true,
            fingerprint: Some("OS:SCAN(V=x)".into()),
            ..OsReport::default()
        }
    }

    #[test]
    fn perfect_matches_are_details_and_grepable() {
        let os = report(vec![
            guess(
                "Linux 5.0",
                1000,
                vec![class("Linux", "5.X", "cpe:/o:linux:linux_kernel:5")],
            ),
            guess(
                "Linux 4.0",
                960,
                vec![class("Linux", "4.X", "cpe:/o:linux:linux_kernel:4")],
            ),
        ]);
        let v = view(&os, OsPrinting::default());
        assert_eq!(
            v.lines,
            [
                "Device type: general purpose",
                "Running: Linux 5.X",
                "OS CPE: cpe:/o:linux:linux_kernel:5",
                "OS details: Linux 5.0",
            ]
        );
        assert_eq!(v.matches.len(), 1);
        assert_eq!(v.grepable.as_deref(), Some("Linux 5.0"));
        // A perfect match never asks for the fingerprint; -vv shows it.
        assert_eq!(v.fingerprint, None);
        let talkative = OsPrinting {
            talkative: true,
            ..OsPrinting::default()
        };
        assert!(view(&os, talkative).fingerprint.is_some());
    }

    #[test]
    fn guesses_within_ten_points_and_the_fingerprint_is_asked_for() {
        let os = report(vec![
            guess("A", 950, vec![class("Linux", "5.X", "cpe:a")]),
            guess("B", 900, vec![class("Linux", "4.X", "cpe:b")]),
            guess("C", 840, vec![class("Linux", "3.X", "cpe:c")]),
        ]);
        let printing = OsPrinting {
            guess: true,
            ..OsPrinting::default()
        };
        let v = view(&os, printing);
        assert_eq!(v.matches.len(), 2, "C is more than 10 points behind A");
        assert!(v
            .lines
            .contains(&"Aggressive OS guesses: A (95%), B (90%)".to_string()));
        assert!(v
            .lines
            .contains(&"Running (JUST GUESSING): Linux 5.X|4.X (95%)".to_string()));
        assert_eq!(v.grepable, None);
        assert!(
            v.fingerprint.is_some(),
            "no exact match in ideal conditions"
        );
        // Without --osscan-guess the guesses stay data, not lines.
        let quiet = view(&os, OsPrinting::default());
        assert!(!quiet.lines.iter().any(|l| l.starts_with("Aggressive")));
        assert_eq!(quiet.matches.len(), 2);
    }

    #[test]
    fn non_ideal_conditions_guess_and_keep_the_fingerprint_back() {
        let mut os = report(vec![guess("A", 950, vec![class("Linux", "5.X", "cpe:a")])]);
        os.closed_port = false;
        os.not_ideal = Some(OsNotIdeal::NoClosedPort);
        let v = view(&os, OsPrinting::default());
        assert_eq!(v.lines[0], UNRELIABLE);
        assert!(v
            .lines
            .iter()
            .any(|l| l.starts_with("Aggressive OS guesses: A")));
        assert_eq!(
            v.lines.last().map(String::as_str),
            Some("No exact OS matches for host (test conditions non-ideal).")
        );
        assert_eq!(v.fingerprint, None);
    }

    #[test]
    fn too_many_perfect_matches_say_so_unless_debugging() {
        let many: Vec<OsGuess> = (0..9)
            .map(|i| guess(&format!("OS {i}"), 1000, vec![class("Linux", "", "cpe:x")]))
            .collect();
        let os = report(many);
        let v = view(&os, OsPrinting::default());
        assert_eq!(
            v.lines,
            ["Too many fingerprints match this host to give specific OS details"]
        );
        assert!(v.matches.is_empty());
        let debug = OsPrinting {
            debug: true,
            ..OsPrinting::default()
        };
        assert_eq!(view(&os, debug).matches.len(), 9);
    }

    #[test]
    fn failures_print_one_reason() {
        let mut os = OsReport {
            failure: Some(OsFailure::NoOpenPort),
            ..OsReport::default()
        };
        assert_eq!(
            view(&os, OsPrinting::default()).lines,
            [
                UNRELIABLE,
                "OS detection needs an open TCP port and none was found."
            ]
        );
        os.failure = Some(OsFailure::Failed("no route to 198.18.0.1: x".into()));
        assert_eq!(
            view(&os, OsPrinting::default()).lines,
            ["OS detection failed: no route to 198.18.0.1: x"]
        );
    }

    #[test]
    fn no_matches_ask_for_the_fingerprint_only_in_ideal_conditions() {
        let mut os = report(Vec::new());
        let v = view(&os, OsPrinting::default());
        assert!(v.lines[0].starts_with("No OS matches for host (If you know"));
        assert!(v.fingerprint.is_some());
        os.not_ideal = Some(OsNotIdeal::Distance(7));
        let v = view(&os, OsPrinting::default());
        assert_eq!(
            v.lines,
            [
                "OS fingerprint not ideal because: Host distance (7 network hops) is greater than five",
                "No OS matches for host"
            ]
        );
        assert_eq!(v.fingerprint, None);
    }
}
