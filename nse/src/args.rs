//! `--script-args` (and `--script-args-file`): `name=value` pairs separated
//! by commas (or newlines in a file), values plain or quoted, or `{...}`
//! tables of the same syntax; a bare value goes to the next array index.
//! They become `nmap.registry.args`, where `stdnse.get_script_args` reads
//! them.

use crate::Error;

/// One argument value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgValue {
    Str(String),
    Table(Vec<(Option<String>, ArgValue)>),
}

/// Parses a whole `--script-args` value.
pub fn parse(text: &str) -> Result<Vec<(Option<String>, ArgValue)>, Error> {
    let chars: Vec<char> = text.chars().collect();
    let mut at = 0;
    let items = items(&chars, &mut at, false)?;
    Ok(items)
}

fn bad(msg: &str) -> Error {
    Error::Args(msg.to_string())
}

fn skip_space(c: &[char], at: &mut usize) {
    while c.get(*at).is_some_and(|ch| ch.is_whitespace()) {
        *at += 1;
    }
}

/// Items up to the end (or the `}` closing a table when `nested`).
fn items(
    c: &[char],
    at: &mut usize,
    nested: bool,
) -> Result<Vec<(Option<String>, ArgValue)>, Error> {
    let mut out = Vec::new();
    loop {
        skip_space(c, at);
        match c.get(*at) {
            None if nested => return Err(bad("unclosed '{' in --script-args")),
            None => return Ok(out),
            Some('}') if nested => {
                *at += 1;
                return Ok(out);
            }
            Some(',') => {
                *at += 1;
                continue;
            }
            _ => {}
        }
        let first = value(c, at)?;
        skip_space(c, at);
        if c.get(*at) == Some(&'=') {
            *at += 1;
            let ArgValue::Str(key) = first else {
                return Err(bad("a table cannot be a --script-args name"));
            };
            skip_space(c, at);
            out.push((Some(key), value(c, at)?));
        } else {
            out.push((None, first));
        }
    }
}

fn value(c: &[char], at: &mut usize) -> Result<ArgValue, Error> {
    match c.get(*at) {
        Some('{') => {
            *at += 1;
            Ok(ArgValue::Table(items(c, at, true)?))
        }
        Some(&q) if q == '"' || q == '\'' => {
            *at += 1;
            let mut s = String::new();
            loop {
                match c.get(*at) {
                    None => return Err(bad("unclosed quote in --script-args")),
                    Some('\\') if c.get(*at + 1).is_some() => {
                        s.push(c[*at + 1]);
                        *at += 2;
                    }
                    Some(&ch) if ch == q => {
                        *at += 1;
                        return Ok(ArgValue::Str(s));
                    }
                    Some(&ch) => {
                        s.push(ch);
                        *at += 1;
                    }
                }
            }
        }
        _ => {
            let start = *at;
            while c
                .get(*at)
                .is_some_and(|&ch| !matches!(ch, ',' | '=' | '{' | '}' | '\n'))
            {
                *at += 1;
            }
            let s: String = c[start..*at].iter().collect();
            Ok(ArgValue::Str(s.trim().to_string()))
        }
    }
}

/// The arguments as a Lua table.
pub(crate) fn to_lua(
    lua: &mlua::Lua,
    items: &[(Option<String>, ArgValue)],
) -> mlua::Result<mlua::Table> {
    let t = lua.create_table()?;
    let mut next = 1;
    for (k, v) in items {
        let v = match v {
            ArgValue::Str(s) => mlua::Value::String(lua.create_string(s)?),
            ArgValue::Table(inner) => mlua::Value::Table(to_lua(lua, inner)?),
        };
        match k {
            Some(k) => t.set(k.as_str(), v)?,
            None => {
                t.set(next, v)?;
                next += 1;
            }
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> ArgValue {
        ArgValue::Str(v.into())
    }

    #[test]
    fn pairs_quotes_tables_and_bare_values() {
        let got = parse("user=admin, pass=\"a,b=c\" ,http.useragent={x=1,two},bare").unwrap();
        assert_eq!(
            got,
            vec![
                (Some("user".into()), s("admin")),
                (Some("pass".into()), s("a,b=c")),
                (
                    Some("http.useragent".into()),
                    ArgValue::Table(vec![(Some("x".into()), s("1")), (None, s("two"))])
                ),
                (None, s("bare")),
            ]
        );
    }

    #[test]
    fn unclosed_is_one_error() {
        assert_eq!(
            parse("a={b=1").unwrap_err().to_string(),
            "bad --script-args: unclosed '{' in --script-args"
        );
        assert!(parse("a=\"x").is_err());
    }
}
