//! prtip's built-in probe database: it parses cleanly, every pattern
//! compiles, it covers at least 15 services, and real responses (captured
//! from the daemons the -sV tests run) are identified.

use std::collections::BTreeSet;

use prtip_core::result::Protocol;
use prtip_core::service_db::{compile_check, ServiceDb, BUILTIN_NAME, BUILTIN_PROBES};

fn db() -> ServiceDb<'static> {
    ServiceDb::parse(BUILTIN_PROBES, BUILTIN_NAME)
}

#[test]
fn parses_without_warnings_and_every_pattern_compiles() {
    let db = db();
    assert!(db.warnings().is_empty(), "{:?}", db.warnings());
    for r in db.rules() {
        compile_check(r.pattern, r.case_insensitive, r.dot_all)
            .unwrap_or_else(|e| panic!("line {}: {e}", r.line));
    }
    let services: BTreeSet<&str> = db.rules().map(|r| r.service).collect();
    assert!(
        services.len() >= 15,
        "only {} services: {services:?}",
        services.len()
    );
    assert_eq!(db.exclude(), Some("T:9100-9107"));
}

/// (probe, response, service, product, version)
type Case = (
    &'static str,
    &'static [u8],
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

const CASES: &[Case] = &[
    (
        "NULL",
        b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
        "ssh",
        Some("OpenSSH"),
        Some("9.2p1 Debian 2+deb12u3"),
    ),
    (
        "NULL",
        b"220 (vsFTPd 3.0.3)\r\n",
        "ftp",
        Some("vsftpd"),
        Some("3.0.3"),
    ),
    (
        "NULL",
        b"220 mail.example ESMTP Exim 4.96 Wed, 25 Nov 2026 15:00:00 +0000\r\n",
        "smtp",
        Some("Exim smtpd"),
        Some("4.96"),
    ),
    (
        "NULL",
        b"Z\0\0\0\x0a5.5.5-10.11.6-MariaDB-0+deb12u1\0\x08\0\0\0",
        "mysql",
        Some("MariaDB"),
        Some("10.11.6"),
    ),
    ("NULL", b"RFB 003.008\n", "vnc", Some("VNC"), None),
    (
        "GetRequest",
        b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: x\r\n\r\n",
        "http",
        Some("nginx"),
        Some("1.22.1"),
    ),
    (
        "SSLSessionReq",
        b"\x16\x03\x03\x00\x5d\x02\x00\x00\x59\x03\x03",
        "ssl",
        None,
        None,
    ),
    (
        "SSLSessionReq",
        b"\x15\x03\x03\x00\x02\x02\x28",
        "ssl",
        None,
        None,
    ),
    (
        "RedisPing",
        b"+PONG\r\n",
        "redis",
        Some("Redis key-value store"),
        None,
    ),
    (
        "MemcachedVersion",
        b"VERSION 1.6.18\r\n",
        "memcached",
        Some("Memcached"),
        Some("1.6.18"),
    ),
    (
        "PostgresStartup",
        b"E\0\0\0\x64SFATAL\0VFATAL\0C28000\0Mrole \"prtip-probe\" does not exist\0",
        "postgresql",
        Some("PostgreSQL DB"),
        None,
    ),
    (
        "PostgresStartup",
        b"R\0\0\0\x08\0\0\0\0E\0\0\0gSFATAL\0VFATAL\0C28000\0Mrole \"prtip-probe\" does not exist\0",
        "postgresql",
        Some("PostgreSQL DB"),
        None,
    ),
];

#[test]
fn captured_responses_are_identified() {
    let db = db();
    for (probe, response, service, product, version) in CASES {
        let p = db.probe(Protocol::Tcp, probe).expect(probe);
        let m = db
            .match_response(p, response)
            .unwrap_or_else(|| panic!("{probe}: no match for {response:?}"));
        assert_eq!(m.service, *service, "{response:?}");
        assert!(!m.soft, "{response:?} only softmatched");
        assert_eq!(m.product.as_deref(), *product, "{response:?}");
        assert_eq!(m.version.as_deref(), *version, "{response:?}");
    }
}

#[test]
fn probe_payloads_are_well_formed() {
    let db = db();
    let hello = &db.probe(Protocol::Tcp, "SSLSessionReq").unwrap().payload;
    // TLS record length and handshake length agree with the bytes sent.
    assert_eq!(
        usize::from(u16::from_be_bytes([hello[3], hello[4]])),
        hello.len() - 5
    );
    let hs = u32::from_be_bytes([0, hello[6], hello[7], hello[8]]) as usize;
    assert_eq!(hs, hello.len() - 9);
    let pg = &db.probe(Protocol::Tcp, "PostgresStartup").unwrap().payload;
    assert_eq!(
        u32::from_be_bytes([pg[0], pg[1], pg[2], pg[3]]) as usize,
        pg.len()
    );
}
