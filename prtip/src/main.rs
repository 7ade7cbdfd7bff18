//! prtip: the command-line entry point. Everything else is in the library half.

memprof::install_global_allocator!();

fn main() -> std::process::ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    prtip::panics::install();
    // The scan runs on a thread of its own so that the standard library never
    // creates the main thread's handle: that handle lives until exit behind an
    // interior pointer, which Valgrind's leak checker reports as "possibly lost".
    let scan = std::thread::Builder::new()
        .name("prtip".into())
        .spawn(move || prtip::app::run(argv));
    // This thread only waits from here on: it gives up its rights at once,
    // the scan thread once its sockets and files are open.
    let _ = prtip_scanner::sys::privs::drop_all();
    match scan.map(std::thread::JoinHandle::join) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => std::process::ExitCode::from(prtip::app::EXIT_FAILURE),
        Err(e) => {
            eprintln!("prtip: cannot start the scan thread: {e}");
            std::process::ExitCode::from(prtip::app::EXIT_FAILURE)
        }
    }
}
