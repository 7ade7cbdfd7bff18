//! Child processes with a bound on their run time: a test never hangs on a
//! child, and a clean-up command never panics.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Longest time any single child process may run before it is killed.
pub const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

/// Spawn `cmd` with captured output and wait at most `timeout`; on timeout the
/// child is killed and the test panics.
pub fn run_timeout(cmd: &mut Command, timeout: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {cmd:?}: {e}"));
    wait_output(child, timeout, &format!("{cmd:?}"))
}

/// [`run_timeout`] with [`CHILD_TIMEOUT`].
pub fn run(cmd: &mut Command) -> Output {
    run_timeout(cmd, CHILD_TIMEOUT)
}

/// [`run`], asserting that the command succeeded (exit status 0).
pub fn run_ok(cmd: &mut Command) -> Output {
    run_ok_timeout(cmd, CHILD_TIMEOUT)
}

/// [`run_timeout`], asserting that the command succeeded (exit status 0).
pub fn run_ok_timeout(cmd: &mut Command, timeout: Duration) -> Output {
    let out = run_timeout(cmd, timeout);
    assert!(out.status.success(), "{cmd:?} failed\n{}", describe(&out));
    out
}

/// Wait for a spawned child (stdout/stderr piped) with a bound; kill on timeout.
pub fn wait_output(mut child: Child, timeout: Duration, what: &str) -> Output {
    let out_reader = child.stdout.take().map(reader_thread);
    let err_reader = child.stderr.take().map(reader_thread);
    let status = wait_status(&mut child, timeout);
    let stdout = out_reader.map_or_else(Vec::new, |h| h.join().unwrap_or_default());
    let stderr = err_reader.map_or_else(Vec::new, |h| h.join().unwrap_or_default());
    match status {
        Some(status) => Output {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "{what} did not finish within {timeout:?} and was killed\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    }
}

/// Poll `child` until it exits or `timeout` passes (then kill it and return None).
pub fn wait_status(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Kill `child` and reap it (bounded): for `Drop`s.
pub fn kill(mut child: Child) {
    let _ = child.kill();
    let _ = wait_status(&mut child, Duration::from_secs(5));
}

/// Run a clean-up command from a `Drop`: output discarded, never a panic,
/// and at most `limit` (reported when exceeded).
pub fn run_teardown(cmd: &mut Command, limit: Duration, what: &str) {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Ok(mut child) = child {
        if wait_status(&mut child, limit).is_none() {
            eprintln!("{what} timed out");
        }
    }
}

fn reader_thread<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Status, stdout and stderr as text, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A fresh temporary directory, removed on drop.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("prtip-test-")
        .tempdir()
        .expect("create a temporary directory")
}
