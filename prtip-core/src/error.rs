//! The one error type of prtip-core.
//!
//! Every `Display` string is a complete one-line message for the user: it
//! names the offending token so the binary can print it after `prtip: ` and
//! exit with status 2 without adding context of its own.

use thiserror::Error;

/// Result alias used throughout prtip-core.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while parsing targets, ports and service tables.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A target expression that is neither an IPv4 range nor a usable hostname.
    #[error("invalid target \"{token}\": {reason}")]
    InvalidTarget {
        /// The expression as the user wrote it.
        token: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A `/n` suffix that is not a number in 0..=32 (0..=128 for IPv6).
    #[error("invalid CIDR prefix \"/{prefix}\" in \"{token}\"")]
    InvalidPrefix {
        /// The text after the last `/`.
        prefix: String,
        /// The whole expression.
        token: String,
    },

    /// An address literal of the other family than the scan's.
    #[error("invalid target \"{token}\": an {family} address; {hint}")]
    WrongFamily {
        /// The expression as the user wrote it.
        token: String,
        /// "IPv4" or "IPv6": the literal's family.
        family: &'static str,
        /// What to do instead.
        hint: &'static str,
    },

    /// An IPv6 block too large to sweep.
    #[error("invalid target \"{token}\": 2^{host_bits} addresses are too many to scan; the largest IPv6 block prtip scans is a /{max_prefix}")]
    TooManyAddresses {
        /// The expression as the user wrote it.
        token: String,
        /// Host bits of the block.
        host_bits: u32,
        /// The shortest netmask accepted.
        max_prefix: u32,
    },

    /// A hostname the resolver could not turn into an address of the scan's family.
    #[error("failed to resolve \"{name}\": {reason}")]
    Resolve {
        /// The hostname as typed.
        name: String,
        /// The resolver's explanation.
        reason: String,
    },

    /// A `-p` item that cannot be parsed.
    #[error("invalid port specification \"{token}\": {reason}")]
    InvalidPort {
        /// The offending item of the port list (or the whole list when empty).
        token: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A port range whose end is below its start (nmap rejects these too).
    #[error("invalid port range \"{token}\": {start} is greater than {end} (did you mean {end}-{start}?)")]
    ReversedPortRange {
        /// The range as written.
        token: String,
        /// Its first port.
        start: u32,
        /// Its last port.
        end: u32,
    },

    /// A services file without frequencies (the old `/etc/services` format),
    /// so "top ports" cannot be selected from it.
    #[error("{file}: no port frequencies in this services file; cannot select top ports")]
    NoFrequencies {
        /// Name of the file as the caller gave it.
        file: String,
    },

    /// An error in one line of a file (`-iL`, `--excludefile`).
    #[error("{file}:{line}: {source}")]
    InFile {
        /// Name of the file as the caller gave it (`-` for stdin).
        file: String,
        /// 1-based line number.
        line: usize,
        /// The error in that line.
        source: Box<Error>,
    },
}

impl Error {
    pub(crate) fn target(token: &str, reason: impl Into<String>) -> Self {
        Error::InvalidTarget {
            token: token.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn port(token: &str, reason: impl Into<String>) -> Self {
        Error::InvalidPort {
            token: token.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn in_file(self, file: &str, line: usize) -> Self {
        Error::InFile {
            file: file.to_owned(),
            line,
            source: Box::new(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_and_name_the_token() {
        let cases = [
            (
                Error::target("10.0.0.300", "octet 300 out of range (0-255)"),
                "invalid target \"10.0.0.300\": octet 300 out of range (0-255)",
            ),
            (
                Error::InvalidPrefix {
                    prefix: "33".into(),
                    token: "10.0.0.0/33".into(),
                },
                "invalid CIDR prefix \"/33\" in \"10.0.0.0/33\"",
            ),
            (
                Error::ReversedPortRange {
                    token: "90-80".into(),
                    start: 90,
                    end: 80,
                },
                "invalid port range \"90-80\": 90 is greater than 80 (did you mean 80-90?)",
            ),
            (
                Error::target("x y", "bad").in_file("hosts.txt", 7),
                "hosts.txt:7: invalid target \"x y\": bad",
            ),
        ];
        for (err, want) in cases {
            let got = err.to_string();
            assert_eq!(got, want);
            assert!(!got.contains('\n'));
        }
    }
}
