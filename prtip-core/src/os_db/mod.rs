//! nmap's OS fingerprint database (`nmap-os-db`) and the matcher that
//! ranks its entries against a scanned host's fingerprint.
//!
//! Memory is the design constraint (see DESIGN.md, "OS DB"): the file is
//! about 5 MB of text holding some 5,700 reference fingerprints, and a scan
//! needs only the best few. So nothing is loaded:
//!
//! - [`OsDbReader`] walks the text (which the binary memory-maps) once and
//!   yields each entry as a [`Reference`]: the name and the slice of text it
//!   occupies, checked on the way. Malformed entries become `file:line:
//!   reason` warnings and are skipped.
//! - [`best_matches`] scores every reference as it passes (nmap's rule: the
//!   `MatchPoints` weights of attributes that match, over the weights of
//!   attributes present in both fingerprints) and keeps only the best `n`;
//!   classes and CPEs are collected for those `n` alone.
//!
//! Subject fingerprints ([`Fingerprint`]) are what a scan measured, in the
//! form nmap prints them, e.g. `SEQ(SP=105%GCD=1%ISR=10B%TI=Z)`.

mod expr;
mod fingerprint;
mod matcher;
mod reader;

#[cfg(test)]
mod tests;

pub use expr::value_matches;
pub use fingerprint::{Fingerprint, FingerprintError, SubjectTest};
pub use matcher::{best_matches, best_matches_in, score, OsMatch, Score};
pub use reader::{
    MatchPoints, OsClass, OsDbReader, OsDbWarning, RefTest, Reference, TestPoints,
    DEFAULT_FILE_NAME,
};
