//! Value expressions of reference fingerprints (`3B-45`, `>1000000`,
//! `M5B4|M218`, empty) and the one question asked of them: does an observed
//! value satisfy this expression?

use std::cmp::Ordering;

/// Whether `observed` (a value a scan measured, e.g. `41`) satisfies `expr`
/// (a reference fingerprint's value, e.g. `3B-45|80`).
///
/// - `a|b|c`: any alternative; an empty alternative (`|M109`) stands for an
///   empty observed value.
/// - `lo-hi`: hex numbers, bounds inclusive.
/// - `>x`, `<x`: hex numbers, strict.
/// - anything else: equal strings, except that two hex numbers are compared
///   as numbers, so `0A` equals `A`.
/// - an empty expression matches only an empty value, and an empty value
///   matches nothing but an empty alternative: nmap 7.93 read an empty value
///   as the number 0 in comparisons, a quirk later nmap releases dropped and
///   which no reference in the database depends on.
///
/// Numbers may have any number of digits; nothing overflows.
pub fn value_matches(expr: &str, observed: &str) -> bool {
    if expr.is_empty() {
        return observed.is_empty();
    }
    split_ascii(expr, b'|').any(|alternative| alternative_matches(alternative, observed))
}

fn alternative_matches(alternative: &str, observed: &str) -> bool {
    if observed.is_empty() || alternative.is_empty() {
        return observed.is_empty() && alternative.is_empty();
    }
    let observed_hex = is_hex(observed);
    if let Some(bound) = alternative.strip_prefix('>') {
        return observed_hex && is_hex(bound) && cmp_hex(observed, bound) == Ordering::Greater;
    }
    if let Some(bound) = alternative.strip_prefix('<') {
        return observed_hex && is_hex(bound) && cmp_hex(observed, bound) == Ordering::Less;
    }
    if let Some((lo, hi)) = split_once_ascii(alternative, b'-') {
        if is_hex(lo) && is_hex(hi) {
            return observed_hex
                && cmp_hex(observed, lo) != Ordering::Less
                && cmp_hex(observed, hi) != Ordering::Greater;
        }
    }
    if observed_hex && is_hex(alternative) {
        return cmp_hex(observed, alternative) == Ordering::Equal;
    }
    alternative == observed
}

/// `str::split` on an ASCII separator. The standard library's char searcher
/// costs a setup per call that dominated profiles on these few-byte fields.
pub(crate) fn split_ascii(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.bytes().position(|b| b == sep) {
            Some(i) => {
                rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// `str::split_once` on an ASCII separator, for the same reason.
pub(crate) fn split_once_ascii(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == sep)?;
    Some((&s[..i], &s[i + 1..]))
}

/// Non-empty and hex digits only.
pub(crate) fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Numeric order of two hex strings of any length (both must pass [`is_hex`]).
fn cmp_hex(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0').as_bytes();
    let b = b.trim_start_matches('0').as_bytes();
    a.len().cmp(&b.len()).then_with(|| {
        a.iter()
            .map(u8::to_ascii_uppercase)
            .cmp(b.iter().map(u8::to_ascii_uppercase))
    })
}

/// Why `expr` cannot be a reference value, if it cannot. Checked once per
/// entry while reading so that matching can trust the text.
pub(crate) fn check_expr(expr: &str) -> Result<(), String> {
    for alternative in split_ascii(expr, b'|') {
        if let Some(bound) = alternative
            .strip_prefix('>')
            .or_else(|| alternative.strip_prefix('<'))
        {
            if !is_hex(bound) {
                return Err(format!("\"{alternative}\": comparison needs a hex number"));
            }
        } else if let Some((lo, hi)) = split_once_ascii(alternative, b'-') {
            if !is_hex(lo) || !is_hex(hi) {
                return Err(format!(
                    "\"{alternative}\": range bounds must be hex numbers"
                ));
            }
            if cmp_hex(lo, hi) == Ordering::Greater {
                return Err(format!("\"{alternative}\": range is empty (low > high)"));
            }
        } else if let Some(bad) = alternative
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && *c != '+')
        {
            return Err(format!("\"{expr}\": unexpected character '{bad}'"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_strings_and_hex_numbers() {
        assert!(value_matches("M5B4ST11NW7", "M5B4ST11NW7"));
        assert!(!value_matches("M5B4ST11NW7", "M5B4ST11NW"));
        assert!(!value_matches("M5B4", "M5B4ST11"));
        assert!(value_matches("S+", "S+"));
        assert!(!value_matches("S+", "S"));
        assert!(value_matches("40", "40"));
        assert!(value_matches("0A", "a"), "hex numbers compare as numbers");
        assert!(value_matches("0", "000"));
        assert!(!value_matches("40", "41"));
    }

    #[test]
    fn ranges_are_inclusive_hex() {
        assert!(value_matches("3B-45", "3B"));
        assert!(value_matches("3B-45", "40"));
        assert!(value_matches("3B-45", "45"));
        assert!(!value_matches("3B-45", "3A"));
        assert!(!value_matches("3B-45", "46"));
        assert!(!value_matches("3B-45", "100"), "100 hex is not in 3B..45");
        assert!(!value_matches("3B-45", "Z"));
        assert!(!value_matches("3B-45", ""));
        assert!(value_matches("FA-104", "FF"));
        assert!(value_matches(
            "0-FFFFFFFFFFFFFFFFFFFF",
            "FFFFFFFFFFFFFFFFFFF0"
        ));
    }

    #[test]
    fn greater_and_less_than() {
        assert!(value_matches(">0", "1"));
        assert!(!value_matches(">0", "0"));
        assert!(!value_matches(">0", "G"));
        assert!(value_matches("<A", "9"));
        assert!(!value_matches("<A", "A"));
        assert!(value_matches("1|>1000000", "1000001"));
        assert!(value_matches("1|>1000000", "1"));
        assert!(!value_matches("1|>1000000", "2"));
        assert!(!value_matches(">1000000", ""));
    }

    #[test]
    fn alternatives_and_empty_values() {
        assert!(value_matches("I|RD", "RD"));
        assert!(value_matches("I|RD", "I"));
        assert!(!value_matches("I|RD", "R"));
        assert!(value_matches("", ""));
        assert!(!value_matches("", "0"));
        assert!(value_matches("|M109", ""));
        assert!(value_matches("|M109", "M109"));
        assert!(value_matches("M109|", ""));
        assert!(!value_matches("M109|M200", ""));
        assert!(value_matches("0-5|C8-D2", "CA"));
    }

    #[test]
    fn checks_reject_what_matching_cannot_read() {
        for good in [
            "", "3B-45", ">0", "<A", "S+", "M5B4|", "|M109", "Y|N", "0-0",
        ] {
            assert_eq!(check_expr(good), Ok(()), "{good}");
        }
        for bad in [">", "<Z", "3B-", "-3", "G-H", "45-3B", "A B", "x=y", "M5(4"] {
            assert!(check_expr(bad).is_err(), "{bad}");
        }
    }
}
