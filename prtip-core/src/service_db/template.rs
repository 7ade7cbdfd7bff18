//! Version-field templates: `p/$1/`, `v/$P(2)/`, `i/$SUBST(1,"_",".")/`,
//! `h/$I(1,">")/`.

/// Longest rendered field, in characters. Captures come from the network and
/// may be kilobytes long; nmap also truncates its version fields.
pub const FIELD_CAP: usize = 80;

/// Renders `template`, substituting captures (`captures[n]` is group `n`;
/// index 0 is the whole match; `None` is a group that did not take part).
///
/// The result has control characters removed and is at most [`FIELD_CAP`]
/// characters long. Bytes that are not UTF-8 become U+FFFD. An unknown or
/// malformed `$` construct is copied literally, as the file's author wrote it,
/// rather than failing the whole match.
pub fn render(template: &str, captures: &[Option<&[u8]>]) -> String {
    let mut out = Vec::with_capacity(template.len().min(FIELD_CAP));
    render_bytes(template.as_bytes(), captures, &mut out);
    finish(&out, FIELD_CAP)
}

/// Longest rendered CPE: they name vendor, product and version, so they may
/// be longer than a field but are still bounded.
const CPE_CAP: usize = 256;

/// Renders the body of `cpe:/<body>/` into `cpe:/...`, lowercased (CPE names
/// are lowercase) and with spaces turned into underscores.
pub(crate) fn render_cpe(body: &str, captures: &[Option<&[u8]>]) -> String {
    let mut out = b"cpe:/".to_vec();
    render_bytes(body.as_bytes(), captures, &mut out);
    out.make_ascii_lowercase();
    finish(&out, CPE_CAP).replace(' ', "_")
}

fn finish(bytes: &[u8], cap: usize) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .filter(|c| !c.is_control())
        .take(cap)
        .collect::<String>()
        .trim()
        .to_owned()
}

fn capture<'c>(captures: &[Option<&'c [u8]>], n: usize) -> &'c [u8] {
    captures.get(n).copied().flatten().unwrap_or_default()
}

fn render_bytes(t: &[u8], captures: &[Option<&[u8]>], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < t.len() {
        if t[i] != b'$' {
            out.push(t[i]);
            i += 1;
            continue;
        }
        let rest = &t[i + 1..];
        if let Some(&d) = rest.first().filter(|d| d.is_ascii_digit()) {
            out.extend_from_slice(capture(captures, usize::from(d - b'0')));
            i += 2;
            continue;
        }
        match helper(rest, captures, out) {
            Some(len) => i += 1 + len,
            None => {
                out.push(b'$');
                i += 1;
            }
        }
    }
}

/// Expands `P(..)`, `SUBST(..)` or `I(..)` at the start of `t`; returns the
/// bytes consumed, or `None` when `t` does not hold a well-formed helper.
fn helper(t: &[u8], captures: &[Option<&[u8]>], out: &mut Vec<u8>) -> Option<usize> {
    let open = t.iter().position(|&b| b == b'(')?;
    let name = &t[..open];
    let (args, len) = split_args(&t[open + 1..])?;
    let consumed = open + 1 + len;
    let n: usize = std::str::from_utf8(args.first()?)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cap = capture(captures, n);
    match (name, args.len()) {
        (b"P", 1) => out.extend(cap.iter().filter(|b| (0x20..0x7f).contains(*b))),
        (b"SUBST", 3) => {
            let (from, to) = (unquote(&args[1])?, unquote(&args[2])?);
            if from.is_empty() {
                out.extend_from_slice(cap);
            } else {
                let mut k = 0;
                while k < cap.len() {
                    if cap[k..].starts_with(&from) {
                        out.extend_from_slice(&to);
                        k += from.len();
                    } else {
                        out.push(cap[k]);
                        k += 1;
                    }
                }
            }
        }
        (b"I", 2) => {
            if cap.is_empty() || cap.len() > 8 {
                return None;
            }
            let big = match unquote(&args[1])?.as_slice() {
                b">" => true,
                b"<" => false,
                _ => return None,
            };
            let fold = |acc: u64, &b: &u8| (acc << 8) | u64::from(b);
            let v = if big {
                cap.iter().fold(0, fold)
            } else {
                cap.iter().rev().fold(0, fold)
            };
            out.extend_from_slice(v.to_string().as_bytes());
        }
        _ => return None,
    }
    Some(consumed)
}

/// Splits `a, "b,c", d)` at top-level commas up to the closing parenthesis,
/// honouring double quotes; returns the raw arguments and bytes consumed.
fn split_args(t: &[u8]) -> Option<(Vec<Vec<u8>>, usize)> {
    let mut args = Vec::new();
    let mut cur = Vec::new();
    let mut quoted = false;
    let mut i = 0;
    while i < t.len() {
        let b = t[i];
        match b {
            b'\\' if quoted && i + 1 < t.len() => {
                cur.extend_from_slice(&t[i..i + 2]);
                i += 2;
                continue;
            }
            b'"' => quoted = !quoted,
            b',' if !quoted => args.push(std::mem::take(&mut cur)),
            b')' if !quoted => {
                args.push(cur);
                return Some((args, i + 1));
            }
            _ => {}
        }
        if b != b',' || quoted {
            cur.push(b);
        }
        i += 1;
    }
    None
}

/// `"..."` with C escapes (`\r`, `\n`, `\t`, `\\`, `\"`, `\xHH`) decoded.
fn unquote(arg: &[u8]) -> Option<Vec<u8>> {
    let s = arg.trim_ascii().strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' && i + 1 < s.len() {
            i += 1;
            out.push(match s[i] {
                b'r' => b'\r',
                b'n' => b'\n',
                b't' => b'\t',
                b'0' => 0,
                b'x' => {
                    let hex = std::str::from_utf8(s.get(i + 1..i + 3)?).ok()?;
                    i += 2;
                    u8::from_str_radix(hex, 16).ok()?
                }
                other => other,
            });
        } else {
            out.push(s[i]);
        }
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps<'a>(v: &[&'a [u8]]) -> Vec<Option<&'a [u8]>> {
        v.iter().map(|c| Some(*c)).collect()
    }

    #[test]
    fn substitutions_and_helpers() {
        let c = caps(&[b"all", b"9.2p1", b"a\x01b\xffc", b"1_2_3", b"\x01\x02"]);
        assert_eq!(render("$1 Debian $1", &c), "9.2p1 Debian 9.2p1");
        assert_eq!(render("$P(2)", &c), "abc");
        assert_eq!(render(r#"$SUBST(3,"_",".")"#, &c), "1.2.3");
        assert_eq!(render(r#"$SUBST(3, "_", "\r\n")"#, &c), "123");
        assert_eq!(render(r#"$I(4,">")"#, &c), "258");
        assert_eq!(render(r#"$I(4,"<")"#, &c), "513");
        assert_eq!(render("cost $5 and $9", &c), "cost  and");
        assert_eq!(render("$Q(1) $", &c), "$Q(1) $");
        assert_eq!(render("$2", &c), "ab\u{fffd}c", "control byte dropped");
    }

    #[test]
    fn capped_and_cpe_lowercased() {
        let long = [b'x'; 500];
        let c = caps(&[b"", &long, b"Nginx Pro"]);
        assert_eq!(render("$1", &c).len(), FIELD_CAP);
        assert_eq!(render_cpe("a:igor:$2", &c), "cpe:/a:igor:nginx_pro");
    }
}
