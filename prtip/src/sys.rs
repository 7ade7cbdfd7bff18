//! The binary's seam to the C library: local time as nmap prints it, the
//! interface-name limit, and opening output files without following
//! symbolic links. Everything else goes through prtip-scanner's `sys` module.

use std::ffi::CStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Longest interface name plus its NUL, as the kernel counts it.
pub(crate) const IFNAMSIZ: usize = libc::IFNAMSIZ;

/// Whether the process has rights its user may not: effective uid 0, or
/// any effective capability (`setcap` on the binary).
pub(crate) fn privileged() -> bool {
    // SAFETY: geteuid cannot fail and touches no memory of ours.
    let root = unsafe { libc::geteuid() } == 0;
    root || has_capabilities()
}

fn has_capabilities() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .is_some_and(|caps| caps != 0)
    })
}

/// Creates (truncates) `path` for writing, failing with `ELOOP` instead of
/// following it when it is a symbolic link.
pub(crate) fn create_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Whether `e` is the error [`create_nofollow`] gives for a symbolic link.
pub(crate) fn is_symlink_refusal(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

/// Format `unix_secs` in local time with strftime's `fmt`; `None` if the C
/// library cannot.
pub(crate) fn strftime_local(unix_secs: u64, fmt: &CStr) -> Option<String> {
    let secs = libc::time_t::try_from(unix_secs).ok()?;
    // SAFETY: `tm` is plain old data, so all-zero is a valid value that
    // localtime_r overwrites; both pointers are valid for the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::localtime_r(&secs, &mut tm) };
    if ok.is_null() {
        return None;
    }
    let mut buf = [0u8; 128];
    // SAFETY: buf is writable for its full length, fmt is NUL-terminated and
    // tm was filled by localtime_r above. strftime never writes past `max`.
    let n = unsafe {
        libc::strftime(
            buf.as_mut_ptr().cast::<libc::c_char>(),
            buf.len(),
            fmt.as_ptr(),
            &tm,
        )
    };
    if n == 0 {
        return None;
    }
    buf.get(..n)
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

/// The index of interface `name`, or of the interface numbered `name`
/// (`fe80::1%2`), as the scope of a link-local IPv6 address.
pub(crate) fn interface_index(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string for the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx != 0 {
        return Some(idx);
    }
    name.parse::<u32>().ok().filter(|&n| n != 0)
}

// --- Standard input as a keyboard (the status line on a keypress) ---

/// Standard input's terminal modes, as they were before prtip changed them.
pub(crate) type TermModes = libc::termios;

/// The modes to put back at exit, even one through `std::process::exit`
/// (a second Ctrl-C, the panic watchdog), which runs no destructor.
static SAVED_MODES: std::sync::Mutex<Option<TermModes>> = std::sync::Mutex::new(None);

extern "C" fn restore_saved_modes() {
    if let Ok(saved) = SAVED_MODES.try_lock() {
        if let Some(modes) = saved.as_ref() {
            restore_stdin(modes);
        }
    }
}

/// Whether standard input is a terminal. Asked of the descriptor:
/// `std::io::stdin()` would allocate its 8 KiB buffer for the whole run.
pub(crate) fn stdin_is_terminal() -> bool {
    // SAFETY: isatty only looks at the descriptor number.
    unsafe { libc::isatty(0) == 1 }
}

/// Puts standard input, a terminal, in cbreak mode: each key arrives at
/// once and is not echoed; Ctrl-C still interrupts. Returns the modes to
/// restore, `None` when standard input is no terminal.
pub(crate) fn stdin_keys_mode() -> Option<TermModes> {
    // SAFETY: termios is plain data; tcgetattr fills it or fails.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd 0 and a valid pointer to a termios of ours.
    if unsafe { libc::tcgetattr(0, &mut saved) } != 0 {
        return None;
    }
    let mut keys = saved;
    keys.c_lflag &= !(libc::ICANON | libc::ECHO);
    keys.c_cc[libc::VMIN] = 1;
    keys.c_cc[libc::VTIME] = 0;
    static AT_EXIT: std::sync::Once = std::sync::Once::new();
    // SAFETY: registers a function that takes no argument and never unwinds.
    AT_EXIT.call_once(|| unsafe {
        libc::atexit(restore_saved_modes);
    });
    *SAVED_MODES.lock().unwrap_or_else(|e| e.into_inner()) = Some(saved);
    // SAFETY: fd 0 and a valid pointer to a termios of ours.
    if unsafe { libc::tcsetattr(0, libc::TCSANOW, &keys) } != 0 {
        return None;
    }
    Some(saved)
}

/// Puts standard input's modes back.
pub(crate) fn restore_stdin(modes: &TermModes) {
    // SAFETY: fd 0 and a valid pointer to a termios of ours.
    unsafe { libc::tcsetattr(0, libc::TCSANOW, modes) };
}

/// Forgets the modes to restore at exit (they were restored).
pub(crate) fn forget_saved_modes() {
    *SAVED_MODES.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// What waiting for a key on standard input gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Pressed(u8),
    Nothing,
    /// Standard input ended or failed: stop reading it.
    Closed,
}

/// Waits up to `ms` milliseconds for one key on standard input.
pub(crate) fn read_key(ms: i32) -> Key {
    let mut p = libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd of ours.
    let n = unsafe { libc::poll(&mut p, 1, ms) };
    if n < 0 {
        return if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            Key::Nothing
        } else {
            Key::Closed
        };
    }
    if n == 0 {
        return Key::Nothing;
    }
    if p.revents & libc::POLLIN == 0 {
        return Key::Closed;
    }
    let mut b = 0u8;
    // SAFETY: reads at most one byte into `b`.
    let r = unsafe { libc::read(0, (&mut b as *mut u8).cast(), 1) };
    if r == 1 {
        Key::Pressed(b)
    } else {
        Key::Closed
    }
}
