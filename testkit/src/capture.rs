//! `tcpdump` inside one namespace of a lab.

use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::lab::{Namespaces, Side};
use crate::process::{tempdir, wait_status};

/// A `tcpdump` capture running in a namespace, printing one line per packet
/// to a file; [`Capture::stop`] ends it (SIGINT, by pid) and returns the lines.
#[derive(Debug)]
pub struct Capture {
    child: Option<Child>,
    out: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Capture {
    /// `tcpdump -i <iface> -n -l -U <filter>` inside `side` of `lab`; returns
    /// once tcpdump reports that it listens (bounded wait).
    pub fn start(lab: &impl Namespaces, side: Side, iface: &str, filter: &str) -> Capture {
        Capture::start_with(lab, side, iface, &[], filter)
    }

    /// [`Capture::start`] with more tcpdump flags (`-v`, `-vv` for TTLs
    /// and checksums); a packet may then take more than one line.
    pub fn start_with(
        lab: &impl Namespaces,
        side: Side,
        iface: &str,
        flags: &[&str],
        filter: &str,
    ) -> Capture {
        let dir = tempdir();
        let out = dir.path().join("tcpdump.txt");
        let err = dir.path().join("tcpdump.err");
        let child = lab
            .cmd(side, "tcpdump")
            .args(["-i", iface, "-n", "-l", "-U"])
            .args(flags)
            .arg(filter)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("create tcpdump output"))
            .stderr(std::fs::File::create(&err).expect("create tcpdump stderr"))
            .spawn()
            .expect("spawn tcpdump");
        let mut cap = Capture {
            child: Some(child),
            out,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&err).unwrap_or_default();
            if text.contains("listening on") {
                break;
            }
            let exited = cap
                .child
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_some());
            assert!(
                !exited && Instant::now() < deadline,
                "tcpdump did not start: {text}"
            );
            thread::sleep(Duration::from_millis(20));
        }
        cap
    }

    /// Stop the capture and return its packet lines.
    pub fn stop(mut self) -> Vec<String> {
        if let Some(mut child) = self.child.take() {
            // Give the last packets a moment to be printed, then SIGINT our
            // child (`ip netns exec` execs tcpdump, so the pid is tcpdump's).
            thread::sleep(Duration::from_millis(300));
            if let Ok(pid) = libc::pid_t::try_from(child.id()) {
                // SAFETY: signalling a child we spawned and have not reaped yet.
                unsafe { libc::kill(pid, libc::SIGINT) };
            }
            assert!(
                wait_status(&mut child, Duration::from_secs(10)).is_some(),
                "tcpdump did not stop on SIGINT"
            );
        }
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(c) = self.child.take() {
            crate::process::kill(c);
        }
    }
}
