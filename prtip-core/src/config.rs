//! Scan configuration: timing templates and the validated settings an engine runs with.

use std::fmt;
use std::time::Duration;

/// nmap's default `--version-intensity`.
pub const DEFAULT_VERSION_INTENSITY: u8 = 7;
/// nmap's default `--max-os-tries`.
pub const DEFAULT_MAX_OS_TRIES: u32 = 5;

/// nmap's timing templates `-T0` .. `-T5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimingTemplate {
    Paranoid,
    Sneaky,
    Polite,
    Normal,
    Aggressive,
    Insane,
}

impl TimingTemplate {
    /// Parse `-T` values the way nmap does: a digit 0-5 or the template's name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "0" | "paranoid" => TimingTemplate::Paranoid,
            "1" | "sneaky" => TimingTemplate::Sneaky,
            "2" | "polite" => TimingTemplate::Polite,
            "3" | "normal" => TimingTemplate::Normal,
            "4" | "aggressive" => TimingTemplate::Aggressive,
            "5" | "insane" => TimingTemplate::Insane,
            _ => return None,
        })
    }

    /// The timing values nmap's template sets (see nmap's `-T` documentation).
    pub fn timing(self) -> Timing {
        let ms = Duration::from_millis;
        let base = Timing {
            min_rtt_timeout: ms(100),
            max_rtt_timeout: ms(10_000),
            initial_rtt_timeout: ms(1_000),
            max_retries: 10,
            scan_delay: Duration::ZERO,
            host_timeout: None,
            max_parallelism: None,
            min_rate: None,
            max_rate: None,
        };
        match self {
            TimingTemplate::Paranoid => Timing {
                initial_rtt_timeout: ms(300_000),
                scan_delay: ms(300_000),
                max_parallelism: Some(1),
                ..base
            },
            TimingTemplate::Sneaky => Timing {
                initial_rtt_timeout: ms(15_000),
                scan_delay: ms(15_000),
                max_parallelism: Some(1),
                ..base
            },
            TimingTemplate::Polite => Timing {
                scan_delay: ms(400),
                max_parallelism: Some(1),
                ..base
            },
            TimingTemplate::Normal => base,
            TimingTemplate::Aggressive => Timing {
                max_rtt_timeout: ms(1_250),
                initial_rtt_timeout: ms(500),
                max_retries: 6,
                ..base
            },
            TimingTemplate::Insane => Timing {
                min_rtt_timeout: ms(50),
                max_rtt_timeout: ms(300),
                initial_rtt_timeout: ms(250),
                max_retries: 2,
                host_timeout: Some(ms(900_000)),
                ..base
            },
        }
    }
}

/// Timing knobs after the template and explicit flags are combined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub min_rtt_timeout: Duration,
    pub max_rtt_timeout: Duration,
    pub initial_rtt_timeout: Duration,
    /// Retransmissions allowed for a probe that got no answer.
    pub max_retries: u32,
    /// Minimum delay between probes (`--scan-delay`).
    pub scan_delay: Duration,
    pub host_timeout: Option<Duration>,
    /// Upper bound on probes in flight; `None` lets the engine decide.
    pub max_parallelism: Option<u32>,
    /// Probes per second (`--min-rate`, `--max-rate`).
    pub min_rate: Option<f64>,
    pub max_rate: Option<f64>,
}

impl Default for Timing {
    fn default() -> Self {
        TimingTemplate::Normal.timing()
    }
}

/// Error in a time specification such as `--host-timeout 30s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeSpecError(pub String);

impl fmt::Display for TimeSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid time \"{}\": use a number with an optional unit ms, s, m or h (e.g. 500ms, 30s, 5m)",
            self.0
        )
    }
}

impl std::error::Error for TimeSpecError {}

/// Parse nmap's time syntax: a non-negative number followed by `ms`, `s`, `m`
/// or `h`; a bare number means seconds.
pub fn parse_time_spec(s: &str) -> Result<Duration, TimeSpecError> {
    let err = || TimeSpecError(s.to_string());
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(err());
    }
    let value: f64 = num.parse().map_err(|_| err())?;
    let scale = match unit {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(err()),
    };
    let secs = value * scale;
    // A week is far beyond any sensible timeout; refuse rather than overflow.
    if !secs.is_finite() || !(0.0..=604_800.0).contains(&secs) {
        return Err(err());
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_by_digit_and_name() {
        assert_eq!(TimingTemplate::parse("4"), Some(TimingTemplate::Aggressive));
        assert_eq!(
            TimingTemplate::parse("Insane"),
            Some(TimingTemplate::Insane)
        );
        assert_eq!(TimingTemplate::parse("6"), None);
        assert_eq!(TimingTemplate::parse(""), None);
    }

    #[test]
    fn template_values_match_nmap_documentation() {
        let t4 = TimingTemplate::Aggressive.timing();
        assert_eq!(t4.max_retries, 6);
        assert_eq!(t4.initial_rtt_timeout, Duration::from_millis(500));
        assert_eq!(t4.max_rtt_timeout, Duration::from_millis(1250));
        let t5 = TimingTemplate::Insane.timing();
        assert_eq!(t5.max_retries, 2);
        assert_eq!(t5.host_timeout, Some(Duration::from_secs(900)));
        assert_eq!(
            TimingTemplate::Polite.timing().scan_delay,
            Duration::from_millis(400)
        );
        assert_eq!(TimingTemplate::Normal.timing().max_retries, 10);
    }

    #[test]
    fn time_specs() {
        let ok = [
            ("500ms", Duration::from_millis(500)),
            ("30s", Duration::from_secs(30)),
            ("30", Duration::from_secs(30)),
            ("5m", Duration::from_secs(300)),
            ("1h", Duration::from_secs(3600)),
            ("1.5s", Duration::from_millis(1500)),
            ("0", Duration::ZERO),
        ];
        for (s, d) in ok {
            assert_eq!(parse_time_spec(s), Ok(d), "{s}");
        }
        for bad in ["", "s", "-1s", "10x", "1e9", "5mm", "1.2.3s", "9999999h"] {
            assert!(parse_time_spec(bad).is_err(), "{bad} should fail");
        }
    }
}
