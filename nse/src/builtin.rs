//! prtip's own scripts (`nse/scripts/`), compiled into the binary, for
//! machines without nmap's: chosen by the same rules, run by the same
//! driver, written against the `nmap` module only (no nselib).

use crate::select::DbEntry;

/// (id, categories, source).
const SCRIPTS: &[(&str, &[&str], &str)] = &[
    (
        "banner",
        &["discovery", "safe"],
        include_str!("../scripts/banner.nse"),
    ),
    (
        "http-title",
        &["default", "discovery", "safe"],
        include_str!("../scripts/http-title.nse"),
    ),
];

/// The built-in scripts as database entries.
pub fn entries() -> Vec<DbEntry> {
    SCRIPTS
        .iter()
        .map(|(id, cats, _)| DbEntry {
            name: (*id).to_string(),
            categories: cats.iter().map(|c| (*c).to_string()).collect(),
        })
        .collect()
}

/// The source of built-in script `id`.
pub fn source(id: &str) -> Option<&'static str> {
    SCRIPTS
        .iter()
        .find(|(n, _, _)| *n == id)
        .map(|(_, _, s)| *s)
}
