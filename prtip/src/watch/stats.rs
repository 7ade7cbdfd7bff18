//! `--stats-every TIME`: nmap's two status lines, printed on standard error
//! at each interval while the port scan runs:
//!
//! ```text
//! Stats: 0:00:02 elapsed; 0 hosts completed (1 up), 1 undergoing SYN Stealth Scan
//! SYN Stealth Scan Timing: About 19.84% done; ETC: 17:37 (0:00:08 remaining)
//! ```
//!
//! nmap writes them to standard output; prtip keeps standard output for the
//! results (`-oX -` stays well-formed). "Done" is the share of first probes
//! sent, as the progress bar counts them; "completed" hosts are the hosts
//! the engine has reported.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

/// Hosts the engine has reported so far, shared with the status thread.
#[derive(Debug, Default)]
pub struct HostCounts {
    pub done: AtomicU64,
    pub up: AtomicU64,
}

impl HostCounts {
    pub fn count(&self, up: bool) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if up {
            self.up.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What the status lines are computed from.
pub struct Source {
    /// nmap's scan type name (`syn`, `connect`, `udp`, ...).
    pub scan: &'static str,
    pub hosts: u64,
    /// First probes of the whole scan (hosts times ports).
    pub probes: u64,
    pub sent: Arc<dyn Fn() -> u64 + Send + Sync>,
    pub counts: Arc<HostCounts>,
    /// `-Pn`: every target counts as up, the ones not yet reported too (as
    /// in nmap's "(N up)").
    pub all_up: bool,
    /// Prints one block of lines (with the progress bar hidden).
    pub print: Arc<dyn Fn(&str) + Send + Sync>,
    /// When the scan started.
    pub started: Instant,
}

impl Source {
    /// Prints the status lines as they are now.
    pub fn print_status(&self) {
        (self.print)(&status(self, self.started.elapsed(), SystemTime::now()));
    }
}

/// The status thread; dropping it stops the thread.
#[derive(Debug)]
pub struct StatsTimer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl StatsTimer {
    pub fn start(every: Duration, src: Arc<Source>) -> std::io::Result<StatsTimer> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("stats".into())
            .spawn(move || {
                let (lock, cv) = &*flag;
                let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    let (guard, _) = cv
                        .wait_timeout(stopped, every)
                        .unwrap_or_else(|e| e.into_inner());
                    stopped = guard;
                    if *stopped {
                        return;
                    }
                    src.print_status();
                }
            })?;
        Ok(StatsTimer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for StatsTimer {
    fn drop(&mut self) {
        let (lock, cv) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").field("scan", &self.scan).finish()
    }
}

/// nmap's long name of a scan type, as in its status lines.
pub fn scan_title(scan: &str) -> &'static str {
    match scan {
        "syn" => "SYN Stealth Scan",
        "connect" => "Connect Scan",
        "udp" => "UDP Scan",
        "ack" => "ACK Scan",
        "window" => "Window Scan",
        "maimon" => "Maimon Scan",
        "null" => "NULL Scan",
        "fin" => "FIN Scan",
        "xmas" => "XMAS Scan",
        _ => "Scan",
    }
}

/// The status lines at `elapsed` into the scan, the wall clock being `now`.
fn status(src: &Source, elapsed: Duration, now: SystemTime) -> String {
    let title = scan_title(src.scan);
    let done = src.counts.done.load(Ordering::Relaxed);
    let undergoing = src.hosts.saturating_sub(done);
    let mut up = src.counts.up.load(Ordering::Relaxed);
    if src.all_up {
        up += undergoing;
    }
    let mut text = format!(
        "Stats: {} elapsed; {done} hosts completed ({up} up), {undergoing} undergoing {title}\n",
        clock(elapsed)
    );
    let sent = (src.sent)();
    if sent > 0 && src.probes > 0 {
        // Retransmissions push the count past the first probes: never 100%
        // before the scan has ended.
        let share = (sent as f64 / src.probes as f64).min(0.9999);
        let remaining = elapsed.mul_f64((1.0 - share) / share);
        let etc = crate::output::time::hour_minute(now + remaining);
        text.push_str(&format!(
            "{title} Timing: About {:.2}% done; ETC: {etc} ({} remaining)\n",
            share * 100.0,
            clock(remaining + Duration::from_millis(500))
        ));
    }
    text
}

/// H:MM:SS, as nmap prints elapsed and remaining times (whole seconds
/// elapsed; the remaining time is rounded by its caller).
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(sent: u64, probes: u64, hosts: u64) -> Source {
        let counts = Arc::new(HostCounts::default());
        counts.count(true);
        counts.count(false);
        Source {
            scan: "syn",
            hosts,
            probes,
            sent: Arc::new(move || sent),
            counts,
            all_up: false,
            print: Arc::new(|_| ()),
            started: Instant::now(),
        }
    }

    #[test]
    fn lines_read_as_nmaps() {
        let src = source(1984, 10_000, 4);
        let text = status(&src, Duration::from_secs(2), SystemTime::UNIX_EPOCH);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "Stats: 0:00:02 elapsed; 2 hosts completed (1 up), 2 undergoing SYN Stealth Scan"
        );
        // 2 s for 19.84%: 8.08 s to go.
        assert!(
            lines[1].starts_with("SYN Stealth Scan Timing: About 19.84% done; ETC: "),
            "{}",
            lines[1]
        );
        assert!(lines[1].ends_with(" (0:00:08 remaining)"), "{}", lines[1]);
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn nothing_sent_means_no_timing_line_and_retries_never_reach_100() {
        let text = status(&source(0, 100, 1), Duration::ZERO, SystemTime::now());
        assert_eq!(text.lines().count(), 1);
        let text = status(
            &source(300, 100, 1),
            Duration::from_secs(3661),
            SystemTime::now(),
        );
        assert!(text.contains("1:01:01 elapsed"), "{text}");
        assert!(text.contains("About 99.99% done"), "{text}");
        assert_eq!(scan_title("connect"), "Connect Scan");
        let mut pn = source(600, 1000, 5);
        pn.all_up = true;
        let text = status(&pn, Duration::from_secs(6), SystemTime::now());
        // 1 up reported, 3 not reported yet; 4 s to go, not 3.99.
        assert!(
            text.contains("2 hosts completed (4 up), 3 undergoing"),
            "{text}"
        );
        assert!(text.contains("About 60.00% done"), "{text}");
        assert!(text.contains("(0:00:04 remaining)"), "{text}");
    }

    #[test]
    fn the_timer_prints_at_its_interval_and_stops_when_dropped() {
        let printed = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&printed);
        let mut src = source(10, 100, 1);
        src.print = Arc::new(move |t| sink.lock().expect("lock").push(t.to_string()));
        let timer = StatsTimer::start(Duration::from_millis(100), Arc::new(src)).expect("thread");
        std::thread::sleep(Duration::from_millis(350));
        drop(timer);
        let n = printed.lock().expect("lock").len();
        assert!((2..=4).contains(&n), "{n} status blocks in 350 ms");
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(printed.lock().expect("lock").len(), n, "stopped");
    }
}
