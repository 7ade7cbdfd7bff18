//! Heap budget: a UDP scan (`-sU -Pn -p 1-1000`) of a /22 (1,024 hosts,
//! 1,024,000 probes) across the namespace lab, with the target's ICMP limits
//! lifted, in-process inside the lab's scan namespace: the SYN /22's budget,
//! since memory must not grow with the number of hosts. Root only.
//! Run with `cargo test --features dhat-heap --test heap_udp_lab22`.
#![cfg(feature = "dhat-heap")]

mod common;

use prtip_testkit::lab::{Namespaces, ScriptLab, Side};

memprof::install_global_allocator!();

/// Answered on every address of the prefix; none has a payload field an
/// echo server would fail to echo correctly.
const OPEN: [u16; 3] = [7, 161, 500];

#[test]
fn udp_scan_of_a_slash22_stays_within_budget() {
    let Some(lab) = ScriptLab::up("198.18.4.0/22", &[22], 0) else {
        return;
    };
    lab.udp_echo(&OPEN);
    lab.ok(Side::Target, &["sysctl", "-qw", "net.ipv4.icmp_ratemask=0"]);
    common::udp_heap_scenario(
        &prtip::budgets::UDP_LAB22,
        &lab.netns_path(Side::Scanner),
        &["-p", "1-1000"],
        "198.18.4.0/22",
        &OPEN,
        (1024, 1000),
    );
}
