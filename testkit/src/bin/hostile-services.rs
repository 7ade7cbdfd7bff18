//! The hostile services of `prtip_testkit::hostile` as a program, for
//! measurements run from a shell (`benchmarks/scripts/hostile-services.sh`):
//!
//! ```text
//! hostile-services trickle=10001 flood=10002 hang=20000-20999 ...
//! ```
//!
//! binds each service on 127.0.0.1 of the namespace it runs in (start it
//! with `ip netns exec`), prints `ready` once every port listens, and
//! serves until it is killed or `MAX_LIFETIME` has passed.

use prtip_testkit::hostile::{hang, Hostile, MAX_LIFETIME};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

fn usage() -> ! {
    let names: Vec<&str> = Hostile::ALL.iter().map(|h| h.name()).collect();
    eprintln!(
        "usage: hostile-services NAME=PORT... | hang=FIRST-LAST ... (NAME: {})",
        names.join(", ")
    );
    std::process::exit(2);
}

fn main() {
    let stop = Arc::new(AtomicBool::new(false));
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        usage();
    }
    for arg in &args {
        let Some((name, ports)) = arg.split_once('=') else {
            usage()
        };
        if name == "hang" {
            let Some((first, last)) = ports.split_once('-') else {
                usage()
            };
            let (Ok(first), Ok(last)) = (first.parse::<u16>(), last.parse::<u16>()) else {
                usage()
            };
            let ports: Vec<u16> = (first..=last).collect();
            hang(&ports, Arc::clone(&stop));
            continue;
        }
        let (Some(service), Ok(port)) = (Hostile::from_name(name), ports.parse::<u16>()) else {
            usage()
        };
        service.serve(port, Arc::clone(&stop));
    }
    println!("ready");
    std::thread::sleep(MAX_LIFETIME);
}
