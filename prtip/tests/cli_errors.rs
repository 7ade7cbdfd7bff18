//! Bad command lines: each gives exactly one line on stderr starting with
//! `prtip: `, a non-zero exit status (2 for usage errors) and never a panic.
//! Also `--help` and `-V`.
//!
//! Network safety: every case here is rejected before any packet is sent;
//! the only target that is syntactically valid is 127.0.0.1.

mod common;

use common::prtip;
use prtip_testkit::{
    prereq::{require_file, require_root, require_tool},
    process::{describe, run, tempdir},
    xml,
};
use std::io::Write;

/// Run prtip with `args` and check the one-line error contract.
fn check_error(args: &[&str], code: i32, needle: &str) {
    let out = run(prtip().args(args));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ctx = format!("prtip {args:?}\n{}", describe(&out));
    assert!(!stderr.contains("panicked"), "panic: {ctx}");
    assert_eq!(out.status.code(), Some(code), "exit status: {ctx}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one stderr line: {ctx}");
    assert!(lines[0].starts_with("prtip: "), "prefix: {ctx}");
    assert!(
        lines[0].contains(needle),
        "stderr should mention {needle:?}: {ctx}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing should be written to stdout: {ctx}"
    );
}

const LO: &str = "127.0.0.1";

#[test]
fn usage_errors_are_one_line_with_status_2() {
    #[rustfmt::skip]
    let cases: &[(&[&str], &str)] = &[
        // Unknown flags.
        (&["--frobnicate", LO], "--frobnicate"),
        (&["-sQ", LO], "unknown scan type -sQ"),
        (&["-sT", "-oX"], "-oX"),
        (&["-T"], "-T"),
        // nmap flags that are not implemented.
        (&["-sI", LO], "-sI (idle scan) is not supported yet"),
        (&["-sSA", LO], "choose one TCP scan type: -sS and -sA cannot be combined"),
        (&["-sF", "-sT", LO], "choose one TCP scan type: -sF and -sT cannot be combined"),
        (&["--scanflags", "SYNX", LO], "invalid --scanflags \"SYNX\""),
        (&["-sUQ", LO], "unknown scan type -sUQ"),
        (&["-A", LO], "-A (aggressive mode) is not supported yet"),
        // Scripts: a rule matching nothing, options without scripts, bad arguments.
        (&["-sT", "--script=no-such-script-xyz", LO], "'no-such-script-xyz' did not match a category, filename, or directory"),
        (&["-sT", "--script-timeout", "5s", LO], "--script-timeout and --script-args need -sC or --script"),
        (&["-sT", "-sC", "--script-args", "a={b", LO], "bad --script-args: unclosed '{' in --script-args"),
        (&["-PR", LO], "-PR (ARP ping) is not supported yet"),
        (&["-PS22,T:80", LO], "protocol prefixes (T:, U:) are not allowed here"),
        (&["-6", "-PP", "::1"], "only valid for IPv4"),
        (&["-sT", "-PE", LO], "-sT does not run yet"),
        (&["-sL", "-sS", LO], "-sL (list scan) sends nothing"),
        (&["-g", "0", LO], "invalid source port -g \"0\""),
        (&["--ttl", "256", LO], "invalid --ttl \"256\""),
        (&["-sT", "--badsum", LO], "cannot be combined with -sT"),
        // Families: a scan is IPv4 or, with -6, IPv6 (as in nmap).
        (&["-sT", "::1"], "an IPv6 address; scan IPv6 targets with -6"),
        (&["-6", "-sT", LO], "an IPv4 address; -6 scans IPv6 targets only"),
        (&["-6", "-sT", "2001:db8::/64"], "2^64 addresses are too many to scan"),
        (&["-6", "-O", "::1"], "-O with -6 is not supported yet"),
        (&["-6", "-sT", "-S", LO, "::1"], "-S 127.0.0.1 is an IPv4 address"),
        (&["-sT", "-S", "::1", LO], "-S ::1 is an IPv6 address"),
        (&["-6", "-sT", "-e", "lo", "fe80::1%nosuchif"], "the link-local targets are on nosuchif"),
        (&["-6", "-sT", "fe80::1%a", "fe80::2%b"], "link-local targets on two interfaces (a and b)"),
        (&["-sS", "-sT", LO], "choose one TCP scan type"),
        (&["-sV", "--version-intensity", "x", LO], "a number from 0 to 9"),
        (&["-sV", "--version-all", "--version-light", LO], "choose one of"),
        (&["-O", "--max-os-tries", "0", LO], "a number from 1 to 50"),
        (&["-O", "-sn", LO], "-O needs a port scan"),
        (&["-sT", "-p", "[1-1024]", LO], "not supported yet"),
        // Targets.
        (&["-sT", "10.0.0.300"], "10.0.0.300"),
        // A target's /33 is read as /32, as nmap does (bad_input.rs); an
        // exclusion's is refused, as nmap does.
        (&["-sT", "--exclude", "10.0.0.0/33", LO], "/33"),
        (&["-sT", "10.0.0.0/"], "10.0.0.0/"),
        (&["-sT", "/24"], "/24"),
        (&["-sT", "1.2.3.4-2"], "1.2.3.4-2"),
        (&["-sT", "1.2.3"], "1.2.3"),
        (&["-sT", "--", "-sU"], "-sU"),
        (&["-sT", "--exclude", "10.0.0.300", LO], "10.0.0.300"),
        // Ports.
        (&["-sT", "-p", "70000", LO], "70000"),
        (&["-sT", "-p", "99999999999999999999", LO], "out of range"),
        (&["-sT", "-p", "90-80", LO], "90-80"),
        (&["-sT", "-p", "U:nosuchservicename", LO], "no udp service"),
        (&["-sT", "--exclude-ports", "70000", LO], "--exclude-ports"),
        (&["-sT", "--exclude-ports", "nosuchservicename", LO], "nosuchservicename"),
        (&["-sT", "--exclude-ports", "1", "--exclude-ports", "2", LO], "only one --exclude-ports"),
        (&["-sT", "--defeat-icmp-ratelimit", LO], "--defeat-icmp-ratelimit"),
        // Refused for the privilege or for the option, depending on who runs the test.
        (&["-sS", "-sU", "--host-timeout", "5s", LO], "-sS"),
        (&["-sT", "-sU", "-sn", LO], "-sU"),
        (&["-sT", "-p", "", LO], "no ports"),
        (&["-sT", "-p", "80,,81", LO], "port specification"),
        (&["-sT", "-p", "T:", LO], "T:"),
        (&["-sT", "-p", "nosuchservicename", LO], "nosuchservicename"),
        (&["-sT", "-p", "80", "-F", LO], "-F"),
        (&["-sT", "--top-ports", "0", LO], "--top-ports"),
        (&["-sn", "-p", "80", LO], "-sn"),
        // Timing.
        (&["-sT", "-T9", LO], "-T9"),
        (&["-sT", "-Tfast", LO], "-Tfast"),
        (&["-sT", "--host-timeout", "5q", LO], "5q"),
        (&["-sT", "--host-timeout", "-1", LO], "--host-timeout"),
        (&["-sT", "--host-timeout", "nan", LO], "--host-timeout"),
        (&["-sT", "--host-timeout", "99999999999999999999h", LO], "--host-timeout"),
        (&["-sT", "--scan-delay", "abc", LO], "abc"),
        (&["-sT", "--scan-delay", "1e30s", LO], "--scan-delay"),
        (&["-sT", "--max-retries", "-1", LO], "--max-retries"),
        (&["-sT", "--max-retries", "99999999999", LO], "--max-retries"),
        (&["-sT", "--max-rate", "abc", LO], "--max-rate"),
        (&["-sT", "--max-rate", "nan", LO], "--max-rate"),
        (&["-sT", "--min-rate", "0", LO], "--min-rate"),
        (&["-sT", "--max-rate", "1e-30", "-p", "1", LO], "--max-rate"),
        (&["-sT", "--max-rate", "0", LO], "--max-rate"),
        (&["-sT", "--max-rate", "-5", LO], "--max-rate"),
        (&["-sT", "--max-rate", "inf", LO], "--max-rate"),
        (&["-sT", "--max-rate", "1e300", LO], "--max-rate"),
        (&["-sT", "--min-rate", "1e-30", LO], "--min-rate"),
        (&["-sT", "--min-rate", "-1", LO], "--min-rate"),
        (&["-sT", "--min-rate", "NaN", LO], "--min-rate"),
        (&["-sT", "--min-rate", "-inf", LO], "--min-rate"),
        (&["-sT", "--min-rate", "1e30", LO], "--min-rate"),
        (&["-sT", "--scan-delay", "-1ms", LO], "--scan-delay"),
        (&["-sT", "--scan-delay", "inf", LO], "--scan-delay"),
        (&["-sT", "--scan-delay", "NaN", LO], "--scan-delay"),
        (&["-sT", "--scan-delay", "8d", LO], "--scan-delay"),
        (&["-sT", "--scan-delay", "169h", LO], "--scan-delay"),
        (&["-sT", "--host-timeout", "inf", LO], "--host-timeout"),
        (&["-sT", "--host-timeout", "1e400", LO], "--host-timeout"),
        (&["-sT", "--max-scan-delay=-1", LO], "--max-scan-delay"),
        (&["-sT", "--max-scan-delay", "nan", LO], "--max-scan-delay"),
        (&["-sT", "-T-1", LO], "-T-1"),
        (&["-sT", "-T", "inf", LO], "-T"),
        (&["-sT", "-T", "1e30", LO], "-T"),
        (&["-sT", "--min-rate", "10", "--max-rate", "5", LO], "--max-rate"),
        // Files.
        (&["-sT", "-iL", "/nonexistent"], "/nonexistent"),
        (&["-sT", "-iL", "/"], "cannot read /"),
        (&["-sT", "--excludefile", "/nonexistent", LO], "/nonexistent"),
        (&["-sT", "-p", "1", "-oX", "/nonexistent/dir/x.xml", LO], "/nonexistent/dir/x.xml"),
        (&["-sT", "-p", "1", "-oN", "/nonexistent/dir/x.nmap", LO], "/nonexistent/dir/x.nmap"),
        (&["-sT", "-p", "1", "-oA", "/nonexistent/dir/x", LO], "/nonexistent/dir/x"),
        // Source, interface, memory report.
        (&["-sT", "-S", "notanip", LO], "notanip"),
        (&["-sT", "-S", "1.2.3", LO], "1.2.3"),
        (&["-sT", "-e", "", LO], "-e"),
        (&["-sT", "-e", "an-interface-name-far-too-long", LO], "-e"),
        (&["--mem-report=bogus", LO], "bogus"),
        (&["--mem-report=json:", LO], "--mem-report"),
        // No targets at all.
        (&[], "no targets"),
        (&["-sT"], "no targets"),
        (&["-sT", "-p", "80"], "no targets"),
    ];
    for (args, needle) in cases {
        check_error(args, 2, needle);
    }
}

#[test]
fn bad_line_in_target_file_names_file_and_line() {
    let dir = tempdir();
    let list = dir.path().join("targets.txt");
    let mut f = std::fs::File::create(&list).expect("create list");
    writeln!(f, "# a comment\n127.0.0.1\n\n10.0.0.300").expect("write list");
    drop(f);
    let needle = format!("{}:4", list.display());
    check_error(
        &["-sT", "-iL", list.to_str().expect("utf-8 path")],
        2,
        &needle,
    );
}

#[test]
fn bad_line_in_exclude_file_is_a_usage_error() {
    let dir = tempdir();
    let list = dir.path().join("exclude.txt");
    std::fs::write(&list, "127.0.0.2\n127.0.0.300\n").expect("write list");
    check_error(
        &[
            "-sT",
            "--excludefile",
            list.to_str().expect("utf-8 path"),
            LO,
        ],
        2,
        "127.0.0.300",
    );
}

#[test]
fn non_utf8_argument_is_one_line() {
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"\xff\xfe");
    let out = run(prtip().arg("-sT").arg(bad));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert_eq!(stderr.lines().count(), 1, "{}", describe(&out));
    assert!(stderr.starts_with("prtip: "), "{}", describe(&out));
    assert!(!stderr.contains("panicked"), "{}", describe(&out));
}

#[test]
fn memory_report_file_error_is_a_usage_error() {
    // Checked before any probe is sent, like the -o* files.
    let out = run(prtip().args([
        "-sT",
        "-n",
        "-Pn",
        "-p",
        "1",
        "--mem-report=json:/nonexistent/dir/m.json",
        LO,
    ]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(!stderr.contains("panicked"), "{}", describe(&out));
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("prtip: "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", describe(&out));
    assert!(
        errors[0].contains("/nonexistent/dir/m.json"),
        "{}",
        describe(&out)
    );
}

#[test]
fn help_prints_man_page_sections() {
    for flag in ["--help", "-h"] {
        let out = run(prtip().arg(flag));
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        assert!(out.stderr.is_empty(), "{}", describe(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "TARGET SPECIFICATION",
            "HOST DISCOVERY",
            "SCAN TECHNIQUES",
            "PORT SPECIFICATION",
            "TIMING AND PERFORMANCE",
            "OUTPUT",
            "EXIT STATUS",
            "EXAMPLES",
        ] {
            assert!(
                text.lines().any(|l| l == section),
                "{flag}: missing section {section}:\n{text}"
            );
        }
        for option in ["-sT", "-Pn", "-p <ports>", "-oX", "-oA", "--mem-report"] {
            assert!(text.contains(option), "{flag}: {option} undocumented");
        }
    }
}

#[test]
fn help_wins_over_other_errors() {
    // nmap-style: --help prints help even next to bad values.
    let out = run(prtip().args(["--help", "-T9"]));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("SYNOPSIS"));
}

#[test]
fn version_prints_the_version() {
    for flag in ["-V", "--version"] {
        let out = run(prtip().arg(flag));
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.trim(),
            format!("prtip {}", env!("CARGO_PKG_VERSION")),
            "{flag}"
        );
    }
}

/// `-oN /dev/full`: writing fails (ENOSPC) when the report begins.
fn full_disk_run(extra: &[&str]) -> Option<std::process::Output> {
    if !require_file("/dev/full") {
        return None;
    }
    let mut args = vec!["-sT", "-n", "-Pn", "-p", "1", "-oN", "/dev/full"];
    args.extend(extra);
    args.push(LO);
    Some(run(prtip().args(&args)))
}

/// `-sS` without CAP_NET_RAW: one line naming the capability and the ways out.
/// setpriv (util-linux) drops the capability from a root process.
#[test]
fn syn_scan_without_cap_net_raw_names_the_capability() {
    if !require_root() || !require_tool("setpriv") {
        return;
    }
    let out = run(std::process::Command::new("setpriv")
        .args(["--bounding-set=-net_raw", "--inh-caps=-net_raw"])
        .arg(common::prtip_path())
        .args(["-sS", "-p", "80", LO]));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", describe(&out));
    for needle in ["CAP_NET_RAW", "root", "setcap cap_net_raw", "-sT"] {
        assert!(lines[0].contains(needle), "missing {needle}: {}", lines[0]);
    }
    // Without a scan type the same process falls back to a connect scan, with a notice.
    let out = run(std::process::Command::new("setpriv")
        .args(["--bounding-set=-net_raw", "--inh-caps=-net_raw"])
        .arg(common::prtip_path())
        .args(["-n", "-p", "1", "-oX", "-", LO]));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("connect scan"),
        "{}",
        describe(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(r#"type="connect""#),
        "{}",
        describe(&out)
    );
}

/// `-sU` without CAP_NET_RAW: one line naming the capability and the way
/// to grant it; there is no unprivileged UDP scan to fall back to.
#[test]
fn udp_scan_without_cap_net_raw_names_the_capability() {
    if !require_root() || !require_tool("setpriv") {
        return;
    }
    for flags in [&["-sU"][..], &["-sTU"], &["-sT", "-sU", "-sV"]] {
        let out = run(std::process::Command::new("setpriv")
            .args(["--bounding-set=-net_raw", "--inh-caps=-net_raw"])
            .arg(common::prtip_path())
            .args(flags)
            .args(["-p", "53", LO]));
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", describe(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{flags:?}: {}", describe(&out));
        for needle in [
            "prtip: -sU",
            "CAP_NET_RAW",
            "root",
            "setcap cap_net_raw+eip",
        ] {
            assert!(lines[0].contains(needle), "missing {needle}: {}", lines[0]);
        }
        assert!(out.stdout.is_empty(), "{}", describe(&out));
    }
}

/// `U:` ports without `-sU` are ignored with one warning, as nmap does, and
/// the TCP scan runs (one connect to 127.0.0.1).
#[test]
fn udp_ports_without_udp_scan_are_ignored_with_a_warning() {
    let out = run(prtip().args(["-sT", "-n", "-Pn", "-p", "T:1,U:53", "-oX", "-", LO]));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("U:")).collect();
    assert_eq!(warnings.len(), 1, "{}", describe(&out));
    assert!(
        warnings[0].starts_with("prtip: warning: "),
        "{}",
        describe(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let scans: Vec<&str> = xml::elements(&stdout, "scaninfo").collect();
    assert_eq!(scans.len(), 1, "{stdout}");
    assert_eq!(xml::attr(scans[0], "services").as_deref(), Some("1"));
    assert!(!stdout.contains("protocol=\"udp\""), "{stdout}");
}

/// A privileged prtip refuses an output path that is a symbolic link
/// (one line naming it, exit 2) and leaves the link's target untouched.
#[test]
fn privileged_output_refuses_symlinks() {
    if !require_root() {
        return;
    }
    let dir = tempdir();
    let target = dir.path().join("precious");
    std::fs::write(&target, "keep me\n").expect("write target");
    for (flag, name) in [("-oX", "x.xml"), ("-oN", "x.nmap"), ("-oA", "all")] {
        let link = dir.path().join(name);
        let opened = if flag == "-oA" {
            dir.path().join("all.nmap")
        } else {
            link.clone()
        };
        let _ = std::fs::remove_file(&opened);
        std::os::unix::fs::symlink(&target, &opened).expect("symlink");
        check_error(
            &[
                "-sT",
                "-n",
                "-Pn",
                "-p",
                "1",
                flag,
                link.to_str().expect("utf-8"),
                LO,
            ],
            2,
            &format!("{}: it is a symbolic link", opened.display()),
        );
        let kept = std::fs::read_to_string(&target).expect("read target");
        assert_eq!(kept, "keep me\n", "{flag} wrote through the link");
    }
}

/// A scan that fails while opening its raw sockets (no such interface)
/// must not have replaced an earlier run's output file.
#[test]
fn failed_engine_setup_leaves_old_output_intact() {
    if !require_root() {
        return;
    }
    let dir = tempdir();
    let old = dir.path().join("old.nmap");
    std::fs::write(&old, "an earlier run\n").expect("write old output");
    let out = run(prtip().args([
        "-sS",
        "-e",
        "nosuchif0",
        "-p",
        "1",
        "-oN",
        old.to_str().expect("utf-8"),
        LO,
    ]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(stderr.lines().count(), 1, "{}", describe(&out));
    assert!(stderr.contains("nosuchif0"), "{}", describe(&out));
    let kept = std::fs::read_to_string(&old).expect("read old output");
    assert_eq!(kept, "an earlier run\n", "{}", describe(&out));
}

#[test]
fn full_disk_is_one_line_and_status_1() {
    let Some(out) = full_disk_run(&[]) else {
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(!stderr.contains("panicked"), "{}", describe(&out));
    assert_eq!(stderr.lines().count(), 1, "{}", describe(&out));
    assert!(stderr.starts_with("prtip: "), "{}", describe(&out));
}

#[test]
fn full_disk_error_names_the_file() {
    let Some(out) = full_disk_run(&[]) else {
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/dev/full"), "{}", describe(&out));
}

#[test]
fn failing_output_leaves_the_other_files_complete() {
    let dir = tempdir();
    let xml_path = dir.path().join("ok.xml");
    let json = dir.path().join("ok.json");
    let Some(out) = full_disk_run(&[
        "-oX",
        xml_path.to_str().expect("utf-8"),
        "-oJ",
        json.to_str().expect("utf-8"),
    ]) else {
        return;
    };
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = std::fs::read_to_string(&xml_path).expect("read xml");
    assert!(
        text.trim_end().ends_with("</nmaprun>"),
        "XML left unfinished:\n{text}"
    );
    if require_tool("xmllint") && require_file(xml::NMAP_DTD) {
        xml::xmllint(&xml_path, true);
    }
    let lines = std::fs::read_to_string(&json).expect("read json");
    let last = lines.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("last JSON line {last:?} does not parse: {e}"));
    assert_eq!(v["type"], "stats", "{lines}");
}

#[test]
fn repeated_flags_are_accepted_like_nmap() {
    let out = run(prtip().args([
        "-sT", "-sT", "-n", "-n", "-Pn", "-Pn", "--open", "--open", "--reason", "--reason", "-p",
        "1", LO,
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
}
