//! Script selection: `--script` rules against nmap's `scripts/script.db`.
//!
//! A `--script` value is a comma-separated list of rules. A rule is a
//! boolean expression over words (`default or safe`, `not intrusive`,
//! `http-* and safe`); a word is true for a script when it is one of the
//! script's categories, `all`, or a glob (`*`) matching its name. `and` and
//! `or` have the same precedence and group to the right, as in nmap's
//! grammar (`a and b or c` is `a and (b or c)`). A rule that selects nothing
//! from the database is tried as a file or a directory (ending in `/`),
//! directly or under `scripts/` of the data directory.

use crate::Error;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One line of script.db.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbEntry {
    /// Script name without `.nse`.
    pub name: String,
    pub categories: Vec<String>,
}

/// Reads `Entry { filename = "x.nse", categories = { "a", "b", } }` lines.
pub fn parse_db(text: &str) -> Vec<DbEntry> {
    text.lines().filter_map(parse_db_line).collect()
}

fn parse_db_line(line: &str) -> Option<DbEntry> {
    let rest = line.trim().strip_prefix("Entry")?;
    let file_at = rest.find("filename")?;
    let name = quoted(&rest[file_at..]).next()?;
    let name = name.strip_suffix(".nse").unwrap_or(name).to_string();
    let cats_at = rest.find("categories")?;
    let categories = quoted(&rest[cats_at..]).map(str::to_string).collect();
    Some(DbEntry { name, categories })
}

/// The double-quoted strings of `s`, in order.
fn quoted(s: &str) -> impl Iterator<Item = &str> {
    s.split('"').skip(1).step_by(2)
}

/// Expression tree of one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    Word(String),
    Const(bool),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    Word(String),
}

fn tokens(rule: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in rule.chars() {
        if c == '(' || c == ')' || c.is_whitespace() {
            if !word.is_empty() {
                out.push(Tok::Word(std::mem::take(&mut word)));
            }
            match c {
                '(' => out.push(Tok::Open),
                ')' => out.push(Tok::Close),
                _ => {}
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push(Tok::Word(word));
    }
    out
}

/// Parses a whole rule; `None` when it is not an expression (then it can
/// only be a file or directory name).
fn parse_rule(rule: &str) -> Option<Expr> {
    let toks = tokens(rule);
    let mut at = 0;
    let e = expression(&toks, &mut at)?;
    (at == toks.len()).then_some(e)
}

fn expression(t: &[Tok], at: &mut usize) -> Option<Expr> {
    let left = value(t, at)?;
    match t.get(*at) {
        Some(Tok::Word(w)) if w == "and" || w == "or" => {
            *at += 1;
            let right = Box::new(expression(t, at)?);
            Some(if w == "and" {
                Expr::And(Box::new(left), right)
            } else {
                Expr::Or(Box::new(left), right)
            })
        }
        _ => Some(left),
    }
}

fn value(t: &[Tok], at: &mut usize) -> Option<Expr> {
    let tok = t.get(*at)?;
    *at += 1;
    match tok {
        Tok::Open => {
            let e = expression(t, at)?;
            (t.get(*at) == Some(&Tok::Close)).then(|| *at += 1)?;
            Some(e)
        }
        Tok::Close => None,
        Tok::Word(w) => match w.as_str() {
            "not" => Some(Expr::Not(Box::new(value(t, at)?))),
            "and" | "or" => None,
            "true" | "all" => Some(Expr::Const(true)),
            "false" => Some(Expr::Const(false)),
            _ => Some(Expr::Word(w.clone())),
        },
    }
}

/// nmap's name glob: `*` is any run of characters, an optional `.nse` is
/// ignored, everything else is literal.
fn glob_match(pattern: &str, name: &str) -> bool {
    let pattern = pattern.strip_suffix(".nse").unwrap_or(pattern);
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

fn eval(e: &Expr, entry: &DbEntry) -> bool {
    match e {
        Expr::Const(b) => *b,
        Expr::Word(w) => entry.categories.iter().any(|c| c == w) || glob_match(w, &entry.name),
        Expr::Not(x) => !eval(x, entry),
        Expr::And(a, b) => eval(a, entry) && eval(b, entry),
        Expr::Or(a, b) => eval(a, entry) || eval(b, entry),
    }
}

/// A script chosen to run: its name (the script id) and file, or the
/// source of one of prtip's built-in scripts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Chosen {
    pub id: String,
    pub path: PathBuf,
    pub builtin: Option<&'static str>,
}

/// The scripts `spec` (a `--script` value) selects from `scripts_dir`'s
/// script.db, sorted by id; a rule matching nothing that is not a file or
/// directory is an error naming it, as in nmap.
pub fn choose(spec: &str, scripts_dir: &Path) -> Result<Vec<Chosen>, Error> {
    let db_path = scripts_dir.join("script.db");
    let db = std::fs::read_to_string(&db_path).map_err(|e| Error::ScriptDb(db_path.clone(), e))?;
    choose_from(spec, &parse_db(&db), Some(scripts_dir), |entry| Chosen {
        id: entry.name.clone(),
        path: scripts_dir.join(format!("{}.nse", entry.name)),
        builtin: None,
    })
}

/// The same selection among prtip's built-in scripts (files and
/// directories named in `spec` are still read).
pub fn choose_builtin(spec: &str) -> Result<Vec<Chosen>, Error> {
    choose_from(spec, &crate::builtin::entries(), None, |entry| Chosen {
        id: entry.name.clone(),
        path: PathBuf::from(format!("prtip-builtin/{}.nse", entry.name)),
        builtin: crate::builtin::source(&entry.name),
    })
}

fn choose_from(
    spec: &str,
    entries: &[DbEntry],
    scripts_dir: Option<&Path>,
    make: impl Fn(&DbEntry) -> Chosen,
) -> Result<Vec<Chosen>, Error> {
    let mut chosen = BTreeSet::new();
    for rule in spec.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        let rule = rule.strip_prefix('+').unwrap_or(rule);
        let by_db = parse_rule(rule).map(|e| {
            entries
                .iter()
                .filter(|entry| eval(&e, entry))
                .map(&make)
                .collect::<Vec<_>>()
        });
        match by_db {
            Some(found) if !found.is_empty() => chosen.extend(found),
            _ => chosen.extend(by_path(rule, scripts_dir)?),
        }
    }
    Ok(chosen.into_iter().collect())
}

/// A rule naming a file (with or without `.nse`) or a directory (`dir/`),
/// as given or under the scripts directory.
fn by_path(rule: &str, scripts_dir: Option<&Path>) -> Result<Vec<Chosen>, Error> {
    let mut candidates = vec![PathBuf::from(rule), PathBuf::from(format!("{rule}.nse"))];
    if let Some(dir) = scripts_dir {
        candidates.push(dir.join(rule));
        candidates.push(dir.join(format!("{rule}.nse")));
    }
    for p in candidates {
        if p.is_file() {
            return Ok(vec![chosen_file(p)]);
        }
        if p.is_dir() {
            if !rule.ends_with('/') {
                return Err(Error::BareDirectory(rule.to_string()));
            }
            return dir_scripts(&p);
        }
    }
    Err(Error::NoMatch(rule.to_string()))
}

fn chosen_file(path: PathBuf) -> Chosen {
    let id = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| n.strip_suffix(".nse").unwrap_or(n).to_string())
        .unwrap_or_default();
    Chosen {
        id,
        path,
        builtin: None,
    }
}

fn dir_scripts(dir: &Path) -> Result<Vec<Chosen>, Error> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::ScriptDb(dir.to_path_buf(), e))?;
    Ok(rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "nse") && p.is_file())
        .map(chosen_file)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, cats: &[&str]) -> DbEntry {
        DbEntry {
            name: name.into(),
            categories: cats.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn sel(rule: &str, e: &DbEntry) -> bool {
        eval(&parse_rule(rule).expect("parses"), e)
    }

    #[test]
    fn db_lines() {
        let db = parse_db(
            "Entry { filename = \"http-title.nse\", categories = { \"default\", \"safe\", } }\n",
        );
        assert_eq!(db, vec![entry("http-title", &["default", "safe"])]);
    }

    #[test]
    fn expressions_group_to_the_right() {
        let e = entry("x", &["safe"]);
        // a and (b or c), as nmap's grammar reads it.
        assert!(!sel("default and safe or safe", &e));
        assert!(sel("safe or default and intrusive", &e));
        assert!(sel("not intrusive", &e));
        assert!(sel("(default or safe) and not intrusive", &e));
        assert!(parse_rule("default and").is_none());
        assert!(parse_rule("(safe").is_none());
    }

    #[test]
    fn globs() {
        assert!(glob_match("http-*", "http-title"));
        assert!(glob_match("*title", "http-title"));
        assert!(glob_match("h*-t*e", "http-title"));
        assert!(glob_match("http-title.nse", "http-title"));
        assert!(!glob_match("http-*", "ftp-anon"));
        assert!(!glob_match("ab*ba", "aba"));
    }
}
