//! Heap budget: discovery only with chosen ping types (`-sn -PS22,80 -PE`)
//! of a /22 (1,024 hosts) across the namespace lab, in-process inside the
//! lab's scan namespace (as `heap_syn_lab22`). Every host must be found up
//! with the reason of one of its probes. Root only.
//! Run with `cargo test --features dhat-heap --test heap_ping_lab22`.
#![cfg(feature = "dhat-heap")]

mod common;

use prtip_testkit::{
    lab::{Namespaces, ScriptLab, Side},
    netns::NetnsGuard,
    process::tempdir,
};

memprof::install_global_allocator!();

#[test]
fn ping_types_over_a_slash22_stay_within_budget() {
    let budget = &prtip::budgets::PING_LAB22;
    let Some(lab) = ScriptLab::up("198.18.4.0/22", &[22, 80, 443], 0) else {
        return;
    };
    let dir = tempdir();
    let json = dir.path().join("ping.json");
    let argv = [
        "prtip",
        "-sn",
        "-n",
        "-PS22,80",
        "-PE",
        "-oJ",
        json.to_str().expect("utf8 path"),
        "198.18.4.0/22",
    ];
    let argv = argv.into_iter().map(std::ffi::OsString::from).collect();
    let netns = NetnsGuard::enter(&lab.netns_path(Side::Scanner));
    let (code, stats, elapsed) = common::profile_app(argv);
    drop(netns);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let text = std::fs::read_to_string(&json).expect("json output");
    let hosts: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"type\":\"host\""))
        .collect();
    assert_eq!(hosts.len(), 1024, "one line per address");
    // Every address listens on 22 and 80 and answers echo.
    let reasons = ["\"reason\":\"syn-ack\"", "\"reason\":\"echo-reply\""];
    let wrong: Vec<&&str> = hosts
        .iter()
        .filter(|l| !l.contains("\"status\":\"up\"") || !reasons.iter().any(|r| l.contains(r)))
        .take(5)
        .collect();
    assert!(wrong.is_empty(), "hosts not up by a ping: {wrong:?}");
    common::assert_within_budget(budget, &stats, elapsed);
    drop(lab);
}
