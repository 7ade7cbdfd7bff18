//! `-sV -sC` on the real daemons (scripts/services), compared with nmap
//! `-sV -sC` on the same ports in the same test: for every script nmap
//! runs there that prtip can run, prtip prints the same output (XML
//! `output` attribute, per port). Results are compared as sets per port:
//! nmap prints scripts in the order they finish, prtip in its run order.
//! Run twice, plainly and with `-v` (which makes http-methods print).
//!
//! Not compared (listed, each with what prtip lacks): `ssl-cert` (parses
//! the certificate with the `openssl` module), `ssl-known-key` (openssl
//! digests), `ip-https-discover` (`socket:get_ssl_certificate`),
//! `ssh-hostkey` (openssl). The time-varying fields nmap prints on these
//! ports are all in ssl-cert's validity dates, so nothing compared needs
//! normalising; ssl-date prints "TLS randomness does not represent time"
//! for these servers, which is compared as is.

mod common;

use common::prtip_path;
use prtip_testkit::{
    prereq::{require_file, require_root, require_tool},
    process::{describe, run_timeout, tempdir},
    services::ServicesNetns,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

const PORTS: &str = "21,22,25,80,443";
const NETNS: &str = "prtip-svcnse";
const NOT_YET: &[&str] = &[
    "ssl-cert",
    "ssl-known-key",
    "ip-https-discover",
    "ssh-hostkey",
];

/// port -> {(script id, output attribute)} of an nmap-format XML file.
fn scripts(xml: &str) -> BTreeMap<u16, BTreeSet<(String, String)>> {
    let mut out = BTreeMap::new();
    for chunk in xml.split("<port protocol=\"tcp\" portid=\"").skip(1) {
        let Some((port, rest)) = chunk.split_once('"') else {
            continue;
        };
        let body = rest.split("</port>").next().unwrap_or("");
        let set: BTreeSet<(String, String)> = body
            .split("<script id=\"")
            .skip(1)
            .filter_map(|s| {
                let (id, rest) = s.split_once('"')?;
                let output = rest.split_once("output=\"")?.1.split_once('"')?.0;
                Some((id.to_string(), output.to_string()))
            })
            .filter(|(id, _)| !NOT_YET.contains(&id.as_str()))
            .collect();
        out.insert(port.parse().expect("port number"), set);
    }
    out
}

fn scan(d: &ServicesNetns, program: &str, dir: &Path, name: &str, extra: &[&str]) -> String {
    let path = dir.join(name);
    let path_s = path.to_str().expect("utf-8 path");
    let out = run_timeout(
        d.cmd(program)
            .args(["-sT", "-sV", "-sC", "-n", "-Pn", "-p", PORTS, "127.0.0.1"])
            .args(extra)
            .args(["-oX", path_s]),
        Duration::from_secs(300),
    );
    assert!(out.status.success(), "{program}: {}", describe(&out));
    let xml = std::fs::read_to_string(&path).expect("xml written");
    let valid = std::process::Command::new("xmllint")
        .args(["--noout", "--dtdvalid", "/usr/share/nmap/nmap.dtd", path_s])
        .status()
        .expect("xmllint runs");
    assert!(valid.success(), "{program}: XML not valid against nmap.dtd");
    xml
}

#[test]
fn default_scripts_equal_nmaps_on_real_daemons() {
    if !require_root()
        || !require_tool("nmap")
        || !require_tool("xmllint")
        || !require_file("/usr/share/nmap/scripts/script.db")
    {
        return;
    }
    let Some(daemons) = ServicesNetns::up(NETNS) else {
        return;
    };
    let dir = tempdir();
    // Plain, then -v: with -v nmap's scripts say more (http-methods lists
    // the methods), and prtip passes the verbosity to them.
    for (run, extra) in [("plain", &[][..]), ("verbose", &["-v"][..])] {
        let theirs = scripts(&scan(
            &daemons,
            "nmap",
            dir.path(),
            &format!("nmap-{run}.xml"),
            extra,
        ));
        let ours = scripts(&scan(
            &daemons,
            prtip_path(),
            dir.path(),
            &format!("prtip-{run}.xml"),
            extra,
        ));
        compare(run, &theirs, &ours);
    }
}

type Results = BTreeMap<u16, BTreeSet<(String, String)>>;

/// Asserts prtip's results equal nmap's per port, and that nmap printed
/// the scripts these daemons always give (so the comparison is not empty).
fn compare(run: &str, theirs: &Results, ours: &Results) {
    let compared: usize = theirs.values().map(BTreeSet::len).sum();
    for (port, t) in theirs {
        println!(
            "{run} {port}: nmap {t:?}\n{run} {port}: prtip {:?}",
            ours.get(port)
        );
        assert_eq!(
            ours.get(port),
            Some(t),
            "{run}: port {port}: script output differs"
        );
    }
    let ids: BTreeSet<&str> = theirs
        .values()
        .flat_map(|set| set.iter().map(|(id, _)| id.as_str()))
        .collect();
    let mut expected = vec![
        "http-server-header",
        "http-title",
        "smtp-commands",
        "ssl-date",
        "tls-alpn",
    ];
    if run == "verbose" {
        expected.push("http-methods");
    }
    for id in expected {
        assert!(ids.contains(id), "{run}: nmap printed no {id}: {theirs:?}");
    }
    println!("{run}: {compared} script results equal nmap's");
}
