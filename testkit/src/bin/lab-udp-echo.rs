//! `prtip_testkit::lab::udp_echo` as a program, for benchmarks run from a
//! shell (`benchmarks/scripts/loss-vs-nmap.sh`):
//!
//! ```text
//! lab-udp-echo <target netns> <port,port,...> [seconds]     (default 3600)
//! ```
//!
//! starts the echo server in the namespace on those ports of every local
//! address, prints `ready`, and exits when the server does: at the end of
//! its lifetime, or when the namespace's processes are killed
//! (`scripts/lab down`).

use prtip_testkit::lab::{udp_echo_for, Namespaces, Side};
use std::time::Duration;

/// A lab known only by its target namespace's name.
struct Target(String);

impl Namespaces for Target {
    fn ns(&self, _side: Side) -> &str {
        &self.0
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [ns, ports] => Some((ns, ports, 3600)),
        [ns, ports, secs] => secs.parse().ok().map(|s| (ns, ports, s)),
        _ => None,
    };
    let Some((ns, ports, secs)) = parsed else {
        eprintln!("usage: lab-udp-echo <target netns> <port,port,...> [seconds]");
        std::process::exit(2);
    };
    let ports: Option<Vec<u16>> = ports.split(',').map(|p| p.parse().ok()).collect();
    let Some(ports) = ports else {
        eprintln!("lab-udp-echo: ports must be numbers separated by commas");
        std::process::exit(2);
    };
    let mut server = None;
    udp_echo_for(
        &Target(ns.clone()),
        &ports,
        Duration::from_secs(secs),
        |c| server = Some(c),
    );
    println!("ready");
    if let Some(mut c) = server {
        let _ = c.wait();
    }
}
