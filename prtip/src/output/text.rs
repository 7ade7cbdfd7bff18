//! Formatting helpers shared by the text formats (normal, grepable, XML).

use std::fmt::Write as _;
use std::io;

use prtip_core::result::{HostResult, PortResult, PortState, RunInfo, RunStats};

/// A host's text on its way to the writer: held in a buffer that is written
/// out whenever it passes [`SPILL_BYTES`], so a host with every port open
/// (2-9 MB of text, depending on the format) is never held whole. The first
/// write error sticks: later text is dropped and [`Spill::finish`] returns it.
pub(crate) struct Spill<'w> {
    buf: String,
    out: &'w mut dyn io::Write,
    error: Option<io::Error>,
}

/// Buffered text that triggers a write; small enough not to matter, large
/// enough that a normal host is still written in one piece.
pub(crate) const SPILL_BYTES: usize = 16 << 10;

impl<'w> Spill<'w> {
    pub(crate) fn new(out: &'w mut dyn io::Write) -> Self {
        Spill {
            buf: String::new(),
            out,
            error: None,
        }
    }

    /// Writes the buffer out if it is full; called between ports.
    pub(crate) fn spill_if_full(&mut self) {
        if self.buf.len() >= SPILL_BYTES {
            self.drain();
        }
    }

    fn drain(&mut self) {
        if self.error.is_none() {
            if let Err(e) = self.out.write_all(self.buf.as_bytes()) {
                self.error = Some(e);
            }
        }
        self.buf.clear();
    }

    /// Writes the rest and flushes: once per host.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.drain();
        match self.error.take() {
            Some(e) => Err(e),
            None => self.out.flush(),
        }
    }
}

impl std::ops::Deref for Spill<'_> {
    type Target = String;
    fn deref(&self) -> &String {
        &self.buf
    }
}

impl std::ops::DerefMut for Spill<'_> {
    fn deref_mut(&mut self) -> &mut String {
        &mut self.buf
    }
}

/// The text `write` produces, as one string (for tests).
#[cfg(test)]
pub(crate) fn collect(write: impl FnOnce(&mut Spill<'_>)) -> String {
    let mut bytes = Vec::new();
    let mut spill = Spill::new(&mut bytes);
    write(&mut spill);
    spill.finish().expect("a Vec cannot fail");
    String::from_utf8(bytes).expect("UTF-8")
}

/// Our name and version where nmap writes "Nmap 7.93".
pub(crate) const NAME: &str = "prtip";
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Makes text from the network or the command line safe for a terminal or a
/// line-oriented file: control characters (C0, DEL, C1) become `\xNN`, as nmap
/// does for script output, so a banner cannot move the cursor, forge lines or
/// break a grepable record.
pub(crate) fn screen_safe(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_control(c) {
            let _ = write!(out, "\\x{:02X}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn is_control(c: char) -> bool {
    let v = u32::from(c);
    v < 0x20 || (0x7f..=0x9f).contains(&v)
}

/// nmap's `num_to_string_sigdigits`: `digits` significant digits, printed
/// with `%.*f` so small values keep their leading zeros (0.00026).
pub(crate) fn sigdigits(d: f64, digits: i32) -> String {
    let (value, shift) = if d == 0.0 || !d.is_finite() {
        (0.0, -digits)
    } else {
        let shift = d.abs().log10().floor() as i32 - digits + 1;
        let scale = 10f64.powi(shift);
        ((d / scale + 0.5).floor() * scale, shift)
    };
    let decimals = usize::try_from(-shift).unwrap_or(0);
    format!("{value:.decimals$}")
}

/// "1 IP address (1 host up) scanned in 0.05 seconds", nmap's wording and plurals.
pub(crate) fn done_summary(stats: &RunStats) -> String {
    let total = stats.hosts_total();
    format!(
        "{} {} ({} {} up) scanned in {:.2} seconds",
        total,
        if total == 1 {
            "IP address"
        } else {
            "IP addresses"
        },
        stats.hosts_up,
        if stats.hosts_up == 1 { "host" } else { "hosts" },
        stats.elapsed.as_secs_f64()
    )
}

/// nmap's `NameIP()`: "name (addr)" when a name is known, else "addr".
pub(crate) fn name_ip(host: &HostResult) -> String {
    match host.hostname.as_deref() {
        Some(name) if !name.is_empty() => format!("{} ({})", screen_safe(name), host.addr),
        _ => host.addr.to_string(),
    }
}

/// nmap's `getNmapServiceName`: "unknown" when nothing is known, an `ssl/`
/// prefix for TLS tunnels, and a `?` when -sV ran on an open port but the
/// name is only a guess (confidence 5 or less).
pub(crate) fn service_name(run: &RunInfo, port: &PortResult) -> String {
    let Some(svc) = &port.service else {
        return "unknown".to_owned();
    };
    let prefix = if svc.tunnel.as_deref() == Some("ssl") {
        "ssl/"
    } else {
        ""
    };
    if svc.name.is_empty() || svc.name == "unknown" {
        return format!("{prefix}unknown");
    }
    let guess = run.version_scan && port.state == PortState::Open && svc.conf <= 5;
    format!(
        "{prefix}{}{}",
        screen_safe(&svc.name),
        if guess { "?" } else { "" }
    )
}

/// `--reason` text for a port: "syn-ack", or "syn-ack ttl 64" when a TTL is known.
pub(crate) fn port_reason(port: &PortResult) -> String {
    if port.reason_ttl != 0 {
        format!("{} ttl {}", port.reason.as_str(), port.reason_ttl)
    } else {
        port.reason.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigdigits_match_nmap_latency_strings() {
        // Values taken from real nmap 7.93 runs against 127.0.0.1.
        assert_eq!(sigdigits(0.000262, 2), "0.00026");
        assert_eq!(sigdigits(0.000225, 2), "0.00022");
        assert_eq!(sigdigits(0.000175, 2), "0.00018");
        assert_eq!(sigdigits(0.0001, 2), "0.00010");
        assert_eq!(sigdigits(0.05, 2), "0.050");
        assert_eq!(sigdigits(1.234, 2), "1.2");
        assert_eq!(sigdigits(12.6, 2), "13");
        assert_eq!(sigdigits(0.0, 2), "0.00");
    }

    #[test]
    fn screen_safe_escapes_controls_only() {
        assert_eq!(screen_safe("plain é"), "plain é");
        assert_eq!(
            screen_safe("a\tb\nc\x1b[2J\u{7f}\u{85}"),
            "a\\x09b\\x0Ac\\x1B[2J\\x7F\\x85"
        );
    }

    #[test]
    fn summary_pluralises_like_nmap() {
        use std::time::{Duration, SystemTime};
        let mut s = RunStats {
            end: SystemTime::UNIX_EPOCH,
            elapsed: Duration::from_millis(50),
            hosts_up: 1,
            hosts_down: 0,
            interrupted: false,
        };
        assert_eq!(
            done_summary(&s),
            "1 IP address (1 host up) scanned in 0.05 seconds"
        );
        s.hosts_down = 255;
        s.hosts_up = 0;
        s.elapsed = Duration::from_millis(6620);
        assert_eq!(
            done_summary(&s),
            "255 IP addresses (0 hosts up) scanned in 6.62 seconds"
        );
        s.hosts_up = 2;
        assert_eq!(
            done_summary(&s),
            "257 IP addresses (2 hosts up) scanned in 6.62 seconds"
        );
    }
}
