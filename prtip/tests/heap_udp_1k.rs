//! Heap budget: a UDP scan of nmap's 1,000 most frequent UDP ports
//! (`-sU -Pn --top-ports 1000`) of one lab host, in-process inside the lab's
//! scanner namespace, with the target's ICMP limits lifted so the 997 closed
//! ports answer at once. Root only.
//! Run with `cargo test --features dhat-heap --test heap_udp_1k`.
#![cfg(feature = "dhat-heap")]

mod common;

use prtip_testkit::lab::{udp_echo, Lab, Namespaces, Side};

memprof::install_global_allocator!();

/// In nmap's top 1,000 UDP ports, and without a payload field an echo
/// server would fail to echo correctly (as DNS and NTP have).
const OPEN: [u16; 3] = [137, 161, 1900];

#[test]
fn udp_scan_of_the_top_thousand_stays_within_budget() {
    let Some(lab) = Lab::new() else { return };
    udp_echo(&lab, &OPEN, |c| lab.adopt(c));
    lab.ok(Side::Target, &["sysctl", "-qw", "net.ipv4.icmp_ratemask=0"]);
    common::udp_heap_scenario(
        &prtip::budgets::UDP_1K,
        &lab.netns_path(Side::Scanner),
        &["--top-ports", "1000"],
        Lab::TARGET_ADDR,
        &OPEN,
        (1, 1000),
    );
}
