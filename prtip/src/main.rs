//! prtip: the command-line entry point. Everything else is in the library half.

memprof::install_global_allocator!();

fn main() -> std::process::ExitCode {
    prtip::app::run(std::env::args_os().collect())
}
