//! The real daemons of `scripts/services` answer over IPv6 (`::1` in their
//! namespace) exactly as over IPv4: `nmap -6 -sV` and `nmap -sV` identify
//! every service the same way (tftpd, which nmap cannot identify, is asked
//! for a file directly).
//!
//! Root only (namespaces, daemons on ports < 1024): without root, `ip` or
//! nmap the tests skip loudly (fail under CI=true), as on a kernel without
//! IPv6.
//!
//! Network safety: only 127.0.0.1 and ::1 inside the tests' own namespaces.

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::process::Output;
use std::thread;
use std::time::Duration;

use prtip_testkit::lab::kernel_has_ipv6;
use prtip_testkit::netns::NetnsGuard;
use prtip_testkit::prereq::{missing, require_tool};
use prtip_testkit::process::{describe, run_timeout};
use prtip_testkit::services::ServicesNetns;
use prtip_testkit::xml::{self, Service};

/// Every port of the TCP set.
const TCP_PORTS: &str = "21,22,25,80,443,3306,5432,6379,11211";
/// The UDP set but tftpd (69), which nmap leaves open|filtered after a
/// hundred seconds of probes; see `tftp_reply`.
const UDP_PORTS: &str = "53,123,161";
/// Each -sV scan takes about 15 s on an idle machine.
const SCAN_TIMEOUT: Duration = Duration::from_secs(300);

/// `nmap -sV` (with `-sU` for the UDP set) of `addr` inside the namespace
/// (`-6` for an IPv6 address): port -> (state, service), with memcached's
/// uptime (which grows between the two scans) cut out of its extra info.
fn version_scan(svc: &ServicesNetns, addr: &str) -> BTreeMap<u16, (String, Option<Service>)> {
    let mut cmd = svc.cmd("nmap");
    if addr.contains(':') {
        cmd.arg("-6");
    }
    let ports = if svc.set == "udp" {
        cmd.arg("-sU");
        UDP_PORTS
    } else {
        TCP_PORTS
    };
    cmd.args(["-n", "-Pn", "-sV", "-oX", "-", "-p", ports, addr]);
    let out: Output = run_timeout(&mut cmd, SCAN_TIMEOUT);
    assert!(out.status.success(), "nmap -sV {addr}\n{}", describe(&out));
    let mut table = xml::port_services(&String::from_utf8_lossy(&out.stdout));
    for (_, service) in table.values_mut() {
        if let Some(s) = service.as_mut() {
            s.extrainfo = s.extrainfo.take().map(|e| without_uptime(&e));
        }
    }
    table
}

/// `uptime 12 seconds` -> `uptime N seconds`.
fn without_uptime(extrainfo: &str) -> String {
    match extrainfo.split_once("uptime ") {
        Some((head, tail)) => {
            let rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
            format!("{head}uptime N{rest}")
        }
        None => extrainfo.to_string(),
    }
}

/// The set `set` of `scripts/services` in a namespace of this process;
/// None after a loud skip (a failure under CI).
fn daemons(set: &'static str) -> Option<ServicesNetns> {
    if !require_tool("nmap") {
        return None;
    }
    if !kernel_has_ipv6() {
        missing("IPv6 in the kernel");
        return None;
    }
    // At most 12 characters: "v6" + the set's initial + pid (<= 7 digits).
    let name = format!("v6{}{}", &set[..1], std::process::id());
    ServicesNetns::up_set(&name, set)
}

/// Scan 127.0.0.1 and ::1 at once (the daemons serve both); every one of
/// the `n` ports is open with a product over IPv4, and IPv6 gives the same
/// table.
fn assert_same_versions(svc: &ServicesNetns, n: usize) {
    let (v4, v6) = thread::scope(|s| {
        let v4 = s.spawn(|| version_scan(svc, "127.0.0.1"));
        let v6 = s.spawn(|| version_scan(svc, "::1"));
        (v4.join().expect("IPv4 scan"), v6.join().expect("IPv6 scan"))
    });
    assert_eq!(v4.len(), n, "{v4:?}");
    for (port, (state, service)) in &v4 {
        assert_eq!(state, "open", "{port} over IPv4");
        let product = service.as_ref().and_then(|s| s.product.as_ref());
        assert!(
            product.is_some(),
            "{port}: no product over IPv4: {service:?}"
        );
    }
    assert_eq!(v4, v6);
}

/// tftpd's reply to a read request for a file it cannot have, sent to
/// `addr` port 69 from inside the namespace; it must come from `addr`.
fn tftp_reply(svc: &ServicesNetns, addr: &str) -> Vec<u8> {
    let path = svc.netns_path();
    let server = SocketAddr::new(addr.parse().expect("an IP address"), 69);
    thread::spawn(move || {
        let _ns = NetnsGuard::enter(&path);
        let any = if server.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        };
        let sock = UdpSocket::bind(any).expect("bind");
        let wait = Some(Duration::from_secs(3));
        sock.set_read_timeout(wait).expect("read timeout");
        let request = b"\x00\x01prtip-none\x00octet\x00";
        sock.send_to(request, server).expect("send");
        let mut buf = [0u8; 128];
        let (n, from) = sock.recv_from(&mut buf).expect("a TFTP reply");
        // TFTP answers from a port of its own, but from the same address.
        assert_eq!(from.ip(), server.ip());
        buf[..n].to_vec()
    })
    .join()
    .expect("TFTP thread")
}

#[test]
fn tcp_daemons_are_identified_the_same_over_ipv6() {
    let Some(svc) = daemons("tcp") else { return };
    assert_same_versions(&svc, 9);
}

#[test]
fn udp_daemons_answer_the_same_over_ipv6() {
    let Some(svc) = daemons("udp") else { return };
    assert_same_versions(&svc, 3);
    let v4 = tftp_reply(&svc, "127.0.0.1");
    // An ERROR packet (opcode 5), the same on both families.
    assert_eq!(v4[..2], [0, 5], "{v4:?}");
    assert_eq!(tftp_reply(&svc, "::1"), v4);
}

#[test]
fn memcached_uptime_is_cut_out() {
    assert_eq!(without_uptime("uptime 12 seconds"), "uptime N seconds");
    assert_eq!(without_uptime("protocol 2.0"), "protocol 2.0");
}
