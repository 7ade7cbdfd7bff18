//! -sV against real daemons (scripts/services starts them in a namespace of
//! their own), compared with nmap -sV on the same ports in the same test.
//!
//! Service names must equal nmap's for every port; product and version for
//! at least 95 % of them (nmap's own results vary in fields such as
//! memcached's uptime, which is extra info and not compared).

mod common;

use common::prtip_path;
use prtip_testkit::{
    prereq::{require_file, require_root, require_tool},
    process::{describe, run_timeout, tempdir},
    services::ServicesNetns,
    xml,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const PORTS: &str = "21,22,25,80,443,3306,5432,6379,11211";
const NETNS: &str = "prtip-svct";

#[derive(Debug, Clone, PartialEq, Eq)]
struct Svc {
    name: String,
    tunnel: Option<String>,
    product: Option<String>,
    version: Option<String>,
}

/// port -> service element of an nmap-format XML file (ports without one
/// left out; `method` is not compared).
fn services(xml: &str) -> BTreeMap<u16, Svc> {
    xml::port_services(xml)
        .into_iter()
        .filter_map(|(port, (_, svc))| {
            let s = svc?;
            Some((
                port,
                Svc {
                    name: s.name,
                    tunnel: s.tunnel,
                    product: s.product,
                    version: s.version,
                },
            ))
        })
        .collect()
}

fn scan_xml(d: &ServicesNetns, program: &str, dir: &Path, name: &str) -> String {
    scan_xml_of(d, program, dir, name, &["127.0.0.1"])
}

/// `program -sT -sV -n -Pn -p PORTS <target> -oX <dir/name>` in the
/// daemons' namespace; `target` is the address, after `-6` for ::1.
fn scan_xml_of(
    d: &ServicesNetns,
    program: &str,
    dir: &Path,
    name: &str,
    target: &[&str],
) -> String {
    let path = dir.join(name);
    let path_s = path.to_str().expect("utf-8 path");
    let out = run_timeout(
        d.cmd(program)
            .args(["-sT", "-sV", "-n", "-Pn", "-p", PORTS])
            .args(target)
            .args(["-oX", path_s]),
        Duration::from_secs(300),
    );
    assert!(out.status.success(), "{program}: {}", describe(&out));
    std::fs::read_to_string(&path).expect("xml written")
}

#[test]
fn versions_equal_nmap_on_real_daemons() {
    if !require_root()
        || !require_tool("nmap")
        || !require_file("/usr/share/nmap/nmap-service-probes")
    {
        return;
    }
    let Some(daemons) = ServicesNetns::up(NETNS) else {
        return;
    };
    let dir = tempdir();
    let theirs = services(&scan_xml(&daemons, "nmap", dir.path(), "nmap.xml"));
    let ours = services(&scan_xml(&daemons, prtip_path(), dir.path(), "prtip.xml"));
    let ports: Vec<u16> = PORTS.split(',').map(|p| p.parse().unwrap()).collect();
    let mut same_version = 0;
    for port in &ports {
        let (Some(t), Some(o)) = (theirs.get(port), ours.get(port)) else {
            panic!(
                "port {port}: nmap {:?}, prtip {:?}",
                theirs.get(port),
                ours.get(port)
            );
        };
        println!("{port}: nmap {t:?}\n{port}: prtip {o:?}");
        assert_eq!(
            (&o.name, &o.tunnel),
            (&t.name, &t.tunnel),
            "port {port}: service differs"
        );
        assert!(
            t.product.is_some(),
            "port {port}: nmap did not identify it: {t:?}"
        );
        if (&o.product, &o.version) == (&t.product, &t.version) {
            same_version += 1;
        }
    }
    let share = same_version as f64 / ports.len() as f64;
    println!(
        "product and version equal on {same_version} of {} ports",
        ports.len()
    );
    assert!(
        share >= 0.95,
        "only {same_version} of {} equal",
        ports.len()
    );

    // The same daemons over IPv6 (they listen on ::1 too, and nmap -6 -sV
    // names them as over IPv4: testkit/tests/ipv6_services.rs): the same
    // answers as prtip's over IPv4.
    let ours6 = services(&scan_xml_of(
        &daemons,
        prtip_path(),
        dir.path(),
        "prtip6.xml",
        &["-6", "::1"],
    ));
    assert_eq!(ours6, ours, "-sV over ::1 differs from -sV over 127.0.0.1");
    let theirs6 = services(&scan_xml_of(
        &daemons,
        "nmap",
        dir.path(),
        "nmap6.xml",
        &["-6", "::1"],
    ));
    for port in &ports {
        let (t, o) = (&theirs6[port], &ours6[port]);
        assert_eq!(
            (&o.name, &o.tunnel),
            (&t.name, &t.tunnel),
            "port {port} over ::1"
        );
    }

    // The same scan with nmap's data hidden (a private mount namespace with an
    // empty directory over it): the built-in database must still name every
    // service as nmap did.
    let builtin = services(&scan_builtin_xml(&daemons, dir.path()));
    for port in &ports {
        let (t, o) = (&theirs[port], builtin.get(port));
        println!("{port}: built-in {o:?}");
        let o = o.unwrap_or_else(|| panic!("port {port} missing with the built-in database"));
        assert_eq!(
            (&o.name, &o.tunnel),
            (&t.name, &t.tunnel),
            "port {port}: built-in database names it differently"
        );
        assert!(
            o.product.is_some(),
            "port {port}: no product from the built-in database"
        );
    }
}

fn scan_builtin_xml(d: &ServicesNetns, dir: &Path) -> String {
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let xml = dir.join("builtin.xml");
    let script = format!(
        "for d in /usr/share/nmap /usr/local/share/nmap; do [ -d $d ] && mount --bind '{}' $d; done; exec '{}' -sT -sV -n -Pn -p {PORTS} 127.0.0.1 -oX '{}'",
        empty.display(),
        prtip_path(),
        xml.display()
    );
    let out = run_timeout(
        d.cmd("unshare")
            .args(["-m", "sh", "-c", &script])
            .env_remove("NMAPDIR"),
        Duration::from_secs(300),
    );
    assert!(out.status.success(), "built-in scan: {}", describe(&out));
    std::fs::read_to_string(&xml).expect("xml written")
}
