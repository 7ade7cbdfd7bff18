//! The progress bar: drawn on stderr when it is a terminal, absent otherwise.

mod common;

use common::{prtip, prtip_path};
use prtip_testkit::{
    prereq::require_tool,
    process::{describe, run},
};

#[test]
fn no_progress_output_when_stderr_is_not_a_terminal() {
    let out = run(prtip().args([
        "-sT",
        "-n",
        "-p",
        "1-300",
        "--max-rate",
        "1000",
        "127.0.0.1",
    ]));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        out.stderr.is_empty(),
        "stderr must stay empty: {}",
        describe(&out)
    );
}

#[test]
fn progress_bar_is_drawn_on_a_terminal() {
    // `script` (util-linux) runs the command on a pseudo-terminal.
    if !require_tool("script") {
        return;
    }
    let cmd = format!("{} -sT -n -p 1-400 --max-rate 1000 127.0.0.1", prtip_path());
    let out = run(std::process::Command::new("script").args(["-qec", &cmd, "/dev/null"]));
    assert!(out.status.success(), "{}", describe(&out));
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(
        tty.contains("probes") && tty.contains("ETA"),
        "no progress bar on the terminal: {tty}"
    );
    assert!(tty.contains("prtip done"), "{tty}");
    // Rates as people read them: "835/s" or "3.5/s", never "834.9876/s".
    let rates: Vec<&str> = tty
        .split("probes, ")
        .skip(1)
        .filter_map(|rest| rest.split_once("/s").map(|(rate, _)| rate))
        .collect();
    assert!(!rates.is_empty(), "no rate on the bar: {tty}");
    for rate in rates {
        let decimals = rate.split_once('.').map_or(0, |(_, d)| d.len());
        assert!(
            decimals <= 1 && rate.chars().all(|c| c.is_ascii_digit() || ",.".contains(c)),
            "rate {rate:?}"
        );
    }
}
