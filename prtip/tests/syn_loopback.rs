//! Stateless SYN scans (`-sS`) of 127.0.0.1 against listeners the tests open
//! themselves, checked against nmap run on the same ports in the same test,
//! against ndiff and against nmap's DTD; `--seed` and `--shard` behaviour.
//!
//! Needs root (raw sockets): without it every test skips loudly (fails under
//! CI=true). Network safety: only 127.0.0.1 is scanned. 127.0.0.1:2024
//! belongs to someone else and is never part of a port list.

mod common;

use common::prtip_ok;
use prtip_testkit::{
    loopback::{self, LoopbackPorts},
    prereq::{require_file, require_root, require_tool},
    process::{run_ok, tempdir},
    xml::{self, attr},
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Not ours: never scanned, never expected.
const FOREIGN_PORT: u16 = 2024;

/// Listeners plus released ports, and a few low ports, without 2024.
struct Ports {
    ours: LoopbackPorts,
    spec: String,
}

impl Ports {
    fn new(n_open: usize, n_closed: usize) -> Ports {
        let mut ours = LoopbackPorts::new(n_open, n_closed);
        ours.closed.retain(|&p| p != FOREIGN_PORT);
        assert!(!ours.open.contains(&FOREIGN_PORT));
        // Low ports too, so the list is longer than a handful (and nmap
        // collapses them into extraports); whatever listens there on this
        // machine is compared against nmap, not against an expectation.
        let spec = format!("1-40,{}", ours.spec());
        Ports { ours, spec }
    }
}

fn xml_arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn nmap_ok(args: &[&str]) -> std::process::Output {
    run_ok(Command::new("nmap").args(args))
}

/// The only host of an XML file (127.0.0.1, up).
fn single_host(path: &Path) -> (String, xml::Host) {
    xml::only_host_up(path, "127.0.0.1")
}

/// (port, state) of every port of a host, listed or collapsed: for
/// collapsed ports only the count per state is known, so the listed ports
/// are returned together with the extraports counts.
fn port_states(text: &str) -> (BTreeMap<u16, String>, BTreeMap<String, u64>) {
    let counts = xml::state_counts(text);
    assert_eq!(counts.len(), 1, "{text}");
    let hosts = xml::hosts(text);
    (
        hosts[0].ports.clone(),
        counts.into_values().next().unwrap_or_default(),
    )
}

/// Our own ports must be exactly as bound: listeners open (syn-ack), released
/// ports closed (reset).
fn assert_ours(host: &xml::Host, ports: &LoopbackPorts, text: &str) {
    for &p in &ports.open {
        assert_eq!(
            host.ports.get(&p).map(String::as_str),
            Some("open"),
            "listener {p}: {text}"
        );
        assert_eq!(
            host.reasons.get(&p).map(String::as_str),
            Some("syn-ack"),
            "{text}"
        );
    }
    for &p in &ports.closed {
        // Closed ports may be collapsed into extraports; when listed, they
        // must be closed with reason reset.
        if let Some(s) = host.ports.get(&p) {
            assert_eq!(s, "closed", "released port {p}: {text}");
            assert_eq!(
                host.reasons.get(&p).map(String::as_str),
                Some("reset"),
                "{text}"
            );
        }
    }
}

#[test]
fn same_ports_as_nmap_valid_xml_and_ndiff_agrees() {
    if !require_root() || !require_tool("nmap") || !require_tool("ndiff") {
        return;
    }
    let _g = loopback::lock();
    let ports = Ports::new(3, 3);
    let dir = tempdir();
    for pn in [true, false] {
        let ours = dir.path().join(format!("prtip-{pn}.xml"));
        let theirs = dir.path().join(format!("nmap-{pn}.xml"));
        let mut args = vec!["-sS", "-n"];
        if pn {
            args.push("-Pn");
        }
        args.extend(["-p", &ports.spec, "-oX"]);
        let mut a = args.clone();
        a.extend([xml_arg(&ours), "127.0.0.1"]);
        prtip_ok(&a);
        let mut b = args.clone();
        b.extend([xml_arg(&theirs), "127.0.0.1"]);
        nmap_ok(&b);

        let (text, host) = single_host(&ours);
        let (ntext, nhost) = single_host(&theirs);
        assert_ours(&host, &ports.ours, &text);
        assert_eq!(
            port_states(&text),
            port_states(&ntext),
            "-Pn {pn}: prtip vs nmap ports\n--- prtip ---\n{text}\n--- nmap ---\n{ntext}"
        );
        assert_eq!(host.reasons, nhost.reasons, "reasons: prtip vs nmap");
        assert_eq!(
            host.status_reason, nhost.status_reason,
            "host reason, -Pn {pn}"
        );
        assert_eq!(
            host.status_reason,
            if pn { "user-set" } else { "localhost-response" }
        );
        let i = text.find("<scaninfo ").expect("scaninfo");
        assert_eq!(attr(&text[i..], "type").as_deref(), Some("syn"), "{text}");
        assert_eq!(attr(&text[i..], "protocol").as_deref(), Some("tcp"));
        if require_tool("xmllint") && require_file(xml::NMAP_DTD) {
            xml::xmllint(&ours, true);
        }
        xml::ndiff_no_port_differences(&theirs, &ours);
    }
}

#[test]
fn reasons_are_syn_ack_and_reset_when_every_port_is_listed() {
    if !require_root() {
        return;
    }
    let _g = loopback::lock();
    let ports = LoopbackPorts::new(2, 2);
    let dir = tempdir();
    let xml = dir.path().join("out.xml");
    // -v raises the collapse threshold, but with four ports nothing collapses anyway.
    prtip_ok(&[
        "-sS",
        "-n",
        "-Pn",
        "--reason",
        "-p",
        &ports.spec(),
        "-oX",
        xml_arg(&xml),
        "127.0.0.1",
    ]);
    let (text, host) = single_host(&xml);
    assert_eq!(host.ports, ports.expected(), "{text}");
    for (p, state) in &host.ports {
        let want = if state == "open" { "syn-ack" } else { "reset" };
        assert_eq!(host.reasons[p], want, "port {p}: {text}");
    }
    // The reason TTL of a loopback reply is the kernel's default 64.
    assert!(text.contains("reason_ttl=\"64\""), "{text}");
}

#[test]
fn same_seed_gives_identical_results() {
    if !require_root() {
        return;
    }
    let _g = loopback::lock();
    let ports = Ports::new(3, 3);
    let dir = tempdir();
    let mut seen = Vec::new();
    for i in 0..2 {
        let xml = dir.path().join(format!("seed-{i}.xml"));
        prtip_ok(&[
            "-sS",
            "-n",
            "-Pn",
            "--seed",
            "1",
            "-p",
            &ports.spec,
            "-oX",
            xml_arg(&xml),
            "127.0.0.1",
        ]);
        let (text, host) = single_host(&xml);
        assert_ours(&host, &ports.ours, &text);
        seen.push((port_states(&text), host.reasons));
    }
    assert_eq!(seen[0], seen[1], "--seed 1 twice");
}

/// Runs one shard and returns (text, host).
fn shard(ports: &str, which: &str, seed: &str, dir: &Path, extra: &[&str]) -> (String, xml::Host) {
    let xml = dir.join(format!("shard-{}.xml", which.replace('/', "-")));
    let mut args = vec![
        "-sS",
        "-n",
        "-Pn",
        "-v",
        "--seed",
        seed,
        "--shard",
        which,
        "-p",
        ports,
        "-oX",
        xml_arg(&xml),
    ];
    args.extend(extra);
    args.push("127.0.0.1");
    prtip_ok(&args);
    single_host(&xml)
}

#[test]
fn two_shards_together_find_every_open_port() {
    if !require_root() {
        return;
    }
    let _g = loopback::lock();
    let ports = Ports::new(4, 4);
    let dir = tempdir();
    let full = dir.path().join("full.xml");
    prtip_ok(&[
        "-sS",
        "-n",
        "-Pn",
        "-p",
        &ports.spec,
        "-oX",
        xml_arg(&full),
        "127.0.0.1",
    ]);
    let (text, host) = single_host(&full);
    assert_ours(&host, &ports.ours, &text);
    let open = |h: &xml::Host| -> BTreeSet<u16> {
        h.ports
            .iter()
            .filter(|(_, s)| s.as_str() == "open")
            .map(|(p, _)| *p)
            .collect()
    };
    let want = open(&host);
    let (t1, s1) = shard(&ports.spec, "1/2", "7", dir.path(), &[]);
    let (t2, s2) = shard(&ports.spec, "2/2", "7", dir.path(), &[]);
    let union: BTreeSet<u16> = open(&s1).union(&open(&s2)).copied().collect();
    assert_eq!(union, want, "shard 1:\n{t1}\nshard 2:\n{t2}");
    // A port one shard saw answered is never contradicted by the other.
    for (p, s) in &s1.ports {
        if let Some(o) = s2.ports.get(p) {
            if s != "filtered" && o != "filtered" {
                assert_eq!(s, o, "port {p}");
            }
        }
    }
}

/// The answered ports of one shard (anything but filtered/no-response).
fn answered(h: &xml::Host) -> BTreeSet<u16> {
    h.ports
        .iter()
        .filter(|(_, s)| s.as_str() != "filtered")
        .map(|(p, _)| *p)
        .collect()
}

#[test]
fn shards_partition_the_probes_without_retries() {
    if !require_root() {
        return;
    }
    let _g = loopback::lock();
    // 200 low ports, each listed (-d raises nmap's collapse threshold), so
    // the ports a shard did not probe show up as filtered.
    let spec = "1-200";
    let dir = tempdir();
    let extra = ["-d", "--max-retries", "0"];
    let (t1, s1) = shard(spec, "1/2", "11", dir.path(), &extra);
    let (t2, s2) = shard(spec, "2/2", "11", dir.path(), &extra);
    let (a1, a2) = (answered(&s1), answered(&s2));
    assert_eq!(s1.ports.len(), 200, "{t1}");
    assert_eq!(s2.ports.len(), 200, "{t2}");
    assert!(
        a1.is_disjoint(&a2),
        "shards overlap: {:?}",
        a1.intersection(&a2)
    );
    assert_eq!(a1.len() + a2.len(), 200, "shards do not cover 1-200");
    assert!((60..=140).contains(&a1.len()), "shard 1 took {}", a1.len());
}

#[test]
fn shards_partition_the_probes_with_default_retries() {
    if !require_root() {
        return;
    }
    let _g = loopback::lock();
    let spec = "1-200";
    let dir = tempdir();
    let started = std::time::Instant::now();
    let (t1, s1) = shard(spec, "1/2", "11", dir.path(), &["-d"]);
    let (t2, s2) = shard(spec, "2/2", "11", dir.path(), &["-d"]);
    let (a1, a2) = (answered(&s1), answered(&s2));
    assert!(
        a1.is_disjoint(&a2),
        "each shard probed {} and {} of 200 ports, overlapping in {}\n{t1}\n{t2}",
        a1.len(),
        a2.len(),
        a1.intersection(&a2).count()
    );
    assert_eq!(a1.len() + a2.len(), 200);
    // Loopback answers every probe in round 0: no retry round should be needed.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "two shards took {:?}",
        started.elapsed()
    );
}

#[test]
fn shard_one_of_one_is_the_whole_scan() {
    if !require_root() {
        return;
    }
    let _g = loopback::lock();
    let ports = LoopbackPorts::new(2, 0);
    let dir = tempdir();
    let xml = dir.path().join("s.xml");
    prtip_ok(&[
        "-sS",
        "-n",
        "-Pn",
        "--shard",
        "1/1",
        "-p",
        &ports.spec(),
        "-oX",
        xml_arg(&xml),
        "127.0.0.1",
    ]);
    let (text, host) = single_host(&xml);
    assert_eq!(host.ports, ports.expected(), "{text}");
}
