//! `-O` end to end: prtip and nmap fingerprint the same lab host in the same
//! test; prtip's best guess must name nmap's top OS family, with a
//! generation among nmap's top three guesses (nmap's guesses for a Linux
//! namespace are near-ties, so the exact order is not stable), and its XML
//! must be valid against nmap's DTD. Root only.

mod common;

use common::PrtipIn;
use prtip_testkit::{
    lab::{Lab, Namespaces, Side},
    prereq::{require_file, require_root, require_tool},
    process::{describe, run, run_timeout, tempdir},
    xml::{self, attr},
};
use std::path::Path;

#[derive(Debug, Clone)]
#[allow(dead_code)] // `name` is there for the failure messages.
struct Guess {
    name: String,
    accuracy: u8,
    families: Vec<(String, String)>,
}

/// `<osmatch>` entries of an XML report, best first, with each class's
/// (osfamily, osgen).
fn osmatches(xml: &str) -> Vec<Guess> {
    xml::elements(xml, "osmatch")
        .map(|m| Guess {
            name: attr(m, "name").unwrap_or_default(),
            accuracy: attr(m, "accuracy")
                .and_then(|a| a.parse().ok())
                .unwrap_or(0),
            families: xml::elements(m, "osclass")
                .map(|c| {
                    (
                        attr(c, "osfamily").unwrap_or_default(),
                        attr(c, "osgen").unwrap_or_default(),
                    )
                })
                .collect(),
        })
        .collect()
}

fn scan(lab: &Lab, program: &str, dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let p = path.to_str().expect("utf-8");
    let mut cmd = if program == "nmap" {
        lab.cmd(Side::Scanner, "nmap")
    } else {
        lab.prtip()
    };
    cmd.args([
        "-O",
        "--osscan-guess",
        "-n",
        "-Pn",
        "-p",
        "80,81",
        Lab::TARGET_ADDR,
        "-oX",
        p,
    ]);
    let out = run_timeout(&mut cmd, std::time::Duration::from_secs(120));
    assert!(out.status.success(), "{program}: {}", describe(&out));
    println!("{program}:\n{}", String::from_utf8_lossy(&out.stdout));
    std::fs::read_to_string(&path).expect("xml")
}

#[test]
fn os_guess_agrees_with_nmap_in_the_lab() {
    if !require_tool("nmap")
        || !require_tool("xmllint")
        || !require_file("/usr/share/nmap/nmap-os-db")
    {
        return;
    }
    let Some(lab) = Lab::new() else { return };
    lab.listen(Lab::TARGET_ADDR, 80);
    let dir = tempdir();
    let theirs = osmatches(&scan(&lab, "nmap", dir.path(), "nmap.xml"));
    let ours_xml = scan(&lab, common::prtip_path(), dir.path(), "prtip.xml");
    xml::xmllint(&dir.path().join("prtip.xml"), true);
    let ours = osmatches(&ours_xml);
    assert!(!theirs.is_empty(), "nmap made no guess");
    let best = ours.first().expect("prtip made no guess");
    println!(
        "nmap top 3: {:?}\nprtip best: {best:?}",
        &theirs[..theirs.len().min(3)]
    );
    let nmap_family = &theirs[0].families.first().expect("nmap class").0;
    assert!(
        best.families.iter().any(|(f, _)| f == nmap_family),
        "prtip's best {best:?} is not in nmap's family {nmap_family}"
    );
    let top3_gens: Vec<&str> = theirs
        .iter()
        .take(3)
        .flat_map(|g| g.families.iter().map(|(_, gen)| gen.as_str()))
        .collect();
    assert!(
        best.families
            .iter()
            .any(|(f, gen)| f == nmap_family && top3_gens.contains(&gen.as_str())),
        "prtip's best {best:?}: no generation among nmap's top three {top3_gens:?}"
    );
    assert!(best.accuracy >= 85, "{best:?}");
    assert!(
        ours_xml.contains("<portused state=\"open\" proto=\"tcp\" portid=\"80\"/>"),
        "{ours_xml}"
    );
    assert!(ours_xml.contains("<distance value=\"1\"/>"), "{ours_xml}");
}

#[test]
fn os_detection_of_this_machine_reports_distance_zero() {
    if !require_root() || !require_file("/usr/share/nmap/nmap-os-db") {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    let out = run(common::prtip().args(["-O", "-n", "-p", &port, "127.0.0.1"]));
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Network Distance: 0 hops"), "{text}");
    assert!(text.contains("OS detection performed."), "{text}");
    assert!(
        text.contains("OS:SCAN(")
            || text.contains("OS details:")
            || text.contains("Aggressive OS guesses:"),
        "{text}"
    );
}

#[test]
fn osscan_limit_skips_hosts_without_a_known_closed_port() {
    if !require_root() || !require_file("/usr/share/nmap/nmap-os-db") {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    // Only the open port is scanned, so no closed port is known.
    let out = run(common::prtip().args(["-O", "--osscan-limit", "-n", "-p", &port, "127.0.0.1"]));
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Network Distance"), "{text}");
    assert!(!text.contains("OS:SCAN("), "{text}");
    assert!(text.contains(&format!("{port}/tcp open")), "{text}");
}
