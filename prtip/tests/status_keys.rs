//! A key pressed during a scan on a terminal prints nmap's status lines,
//! and the terminal's modes are as before once the scan ends.
//!
//! Network safety: only 127.0.0.1 is scanned.

mod common;

use common::prtip_path;
use prtip_testkit::prereq::require_tool;
use prtip_testkit::process::{describe, wait_output};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn a_key_prints_the_status_lines_and_the_terminal_is_restored() {
    // `script` (util-linux) runs the command on a pseudo-terminal fed from
    // its standard input.
    if !require_tool("script") {
        return;
    }
    let cmd = format!(
        "stty -a; {} -sT -n -Pn -p 1-8000 --max-rate 2000 127.0.0.1; stty -a",
        prtip_path()
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn script");
    std::thread::sleep(Duration::from_millis(1500));
    let mut keys = child.stdin.take().expect("stdin");
    keys.write_all(b" ").expect("a key");
    keys.flush().expect("sent");
    std::thread::sleep(Duration::from_millis(500));
    let out = wait_output(child, Duration::from_secs(30), "prtip on a terminal");
    drop(keys);
    let tty = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        tty.contains("hosts completed (1 up), 1 undergoing Connect Scan"),
        "no status line after a key:\n{tty}"
    );
    assert!(tty.contains("Connect Scan Timing: About "), "{tty}");
    // The same modes before and after: echo and line editing are back.
    let modes: Vec<&str> = tty.lines().filter(|l| l.contains("icanon")).collect();
    assert_eq!(modes.len(), 2, "{tty}");
    assert_eq!(modes[0], modes[1], "{tty}");
    assert!(
        !modes[1].contains("-icanon") && !modes[1].contains("-echo "),
        "{tty}"
    );
}
