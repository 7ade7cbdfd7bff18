//! Local-time formatting the way nmap prints it, without a date crate.
//!
//! nmap formats with the C library (`ctime`, `strftime`) in local time, so we
//! do the same (see `crate::sys`); if the C library cannot convert a time, we fall
//! back to UTC computed by hand rather than printing nothing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (0 for times before it), as in nmap's XML `start=`.
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

/// `ctime` style without the newline: `Wed Nov 25 12:53:44 2026`.
pub(crate) fn ctime(t: SystemTime) -> String {
    strftime_local(t, c"%a %b %e %H:%M:%S %Y").unwrap_or_else(|| {
        let c = Civil::utc(unix_secs(t));
        format!(
            "{} {} {:>2} {:02}:{:02}:{:02} {}",
            c.weekday_name(),
            c.month_name(),
            c.day,
            c.hour,
            c.minute,
            c.second,
            c.year
        )
    })
}

/// The "Starting ... at" stamp: `2026-11-25 12:53 UTC`.
pub(crate) fn start_stamp(t: SystemTime) -> String {
    strftime_local(t, c"%Y-%m-%d %H:%M %Z").unwrap_or_else(|| {
        let c = Civil::utc(unix_secs(t));
        format!(
            "{}-{:02}-{:02} {:02}:{:02} UTC",
            c.year, c.month, c.day, c.hour, c.minute
        )
    })
}

/// Hours and minutes, as nmap's ETC: `17:37`.
pub(crate) fn hour_minute(t: SystemTime) -> String {
    strftime_local(t, c"%H:%M").unwrap_or_else(|| {
        let c = Civil::utc(unix_secs(t));
        format!("{:02}:{:02}", c.hour, c.minute)
    })
}

fn strftime_local(t: SystemTime, fmt: &std::ffi::CStr) -> Option<String> {
    crate::sys::strftime_local(unix_secs(t), fmt)
}

/// A UTC calendar date, used only when the C library fails.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
    weekday: u64,
}

impl Civil {
    fn utc(secs: u64) -> Civil {
        let days = secs / 86_400;
        let rem = secs % 86_400;
        // Howard Hinnant's days-to-civil algorithm.
        let z = days as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
            // 1970-01-01 was a Thursday.
            weekday: (days + 4) % 7,
        }
    }

    fn weekday_name(&self) -> &'static str {
        ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][(self.weekday % 7) as usize]
    }

    fn month_name(&self) -> &'static str {
        [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ][(self.month.clamp(1, 12) - 1) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_fallback_matches_known_date() {
        // 1795611224 is what nmap printed as "Wed Nov 25 12:53:44 2026" (UTC).
        let c = Civil::utc(1_795_611_224);
        assert_eq!((c.year, c.month, c.day), (2026, 11, 25));
        assert_eq!((c.hour, c.minute, c.second), (12, 53, 44));
        assert_eq!(c.weekday_name(), "Wed");
        assert_eq!(c.month_name(), "Nov");
        let c = Civil::utc(0);
        assert_eq!(
            (c.year, c.month, c.day, c.weekday_name()),
            (1970, 1, 1, "Thu")
        );
        let c = Civil::utc(951_782_400); // 2000-02-29
        assert_eq!((c.year, c.month, c.day), (2000, 2, 29));
    }

    #[test]
    fn ctime_has_nmap_shape() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_611_224);
        let s = ctime(t);
        // Local time may differ from UTC; the shape may not.
        assert_eq!(s.len(), "Wed Nov 25 12:53:44 2026".len(), "{s}");
        assert!(s.ends_with("2026"), "{s}");
        let s = start_stamp(t);
        assert!(s.starts_with("2026-11-2"), "{s}");
    }
}
