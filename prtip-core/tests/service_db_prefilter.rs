//! The literal prefilter may only skip a rule whose pattern cannot match:
//! crafted rules whose literals sit where the extraction has to be careful
//! (past the 16 bytes the prefix checks, inside case-insensitive patterns,
//! behind optional parts and alternations), each matched by responses in
//! several letter cases.

use prtip_core::result::Protocol;
use prtip_core::service_db::ServiceDb;

const DB: &str = r#"Probe TCP GetRequest q|GET / HTTP/1.0\r\n\r\n|
match long m|^HTTP/1\.1 200 OK\r\nServer: Linux, (DSL-\w+) Ver ([A-Z]+)\r\n| p/$1/
match title m|^HTTP/1\.0 200 OK\r\n.*<title>Web Admin</title>|si p/title/
match mixed m|^HTTP/1\.0 404 Not Found\r\n(?:[^\r\n]+\r\n)*?Server: ([\w/.]+)\r\n|i p/$1/
match alt m=^(?:HTTP/1\.1 401 Denied|RTSP/1\.0 401 Denied)\r\nWWW-Authenticate: Basic realm"(\w+)"= p/$1/
match opt m|^HTTP/1\.1 500 x?yz-Proxy-Error\r\nVia: (\w+)| p/$1/
match nocase m|^banner:[ ]+HELLO-THERE world|i p/nocase/
match plain m|^HTTP/1\.1 200 OK\r\n.*X-Powered-By: Thing/([\d.]+)|s p/thing/ v/$1/
"#;

fn probe_match(db: &ServiceDb<'_>, response: &[u8]) -> Option<(String, Option<String>)> {
    let p = db.probe(Protocol::Tcp, "GetRequest").expect("probe");
    db.match_response(p, response)
        .map(|m| (m.product.clone().unwrap_or_default(), m.version.clone()))
}

/// Every letter flipped to the other case where the rule allows it.
fn flip_case(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|b| {
            if b.is_ascii_lowercase() {
                b.to_ascii_uppercase()
            } else {
                b.to_ascii_lowercase()
            }
        })
        .collect()
}

#[test]
fn literals_past_the_prefix_and_in_folded_patterns_never_reject_a_match() {
    let db = ServiceDb::parse(DB, "crafted");
    assert!(db.warnings().is_empty(), "{:?}", db.warnings());
    let cases: &[(&[u8], &str, bool)] = &[
        (
            b"HTTP/1.1 200 OK\r\nServer: Linux, DSL-2750U Ver EU\r\n",
            "DSL-2750U",
            false,
        ),
        (
            b"HTTP/1.0 200 OK\r\nDate: x\r\n\r\n<html><title>Web Admin</title>",
            "title",
            true,
        ),
        (
            b"HTTP/1.0 404 Not Found\r\nDate: x\r\nServer: tiny/1.0\r\n\r\n",
            "tiny/1.0",
            true,
        ),
        (
            b"RTSP/1.0 401 Denied\r\nWWW-Authenticate: Basic realm\"cam\"",
            "cam",
            false,
        ),
        (
            b"HTTP/1.1 401 Denied\r\nWWW-Authenticate: Basic realm\"box\"",
            "box",
            false,
        ),
        (b"HTTP/1.1 500 yz-Proxy-Error\r\nVia: squid", "squid", false),
        (
            b"HTTP/1.1 500 xyz-Proxy-Error\r\nVia: squid",
            "squid",
            false,
        ),
        (b"banner:   HELLO-THERE world", "nocase", true),
        (
            b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nX-Powered-By: Thing/2.5",
            "thing",
            false,
        ),
    ];
    for &(response, product, folds) in cases {
        let got = probe_match(&db, response);
        assert_eq!(
            got.as_ref().map(|g| g.0.as_str()),
            Some(product),
            "{:?}",
            String::from_utf8_lossy(response)
        );
        if folds {
            let flipped = flip_case(response);
            let got = probe_match(&db, &flipped);
            assert!(got.is_some(), "{:?}", String::from_utf8_lossy(&flipped));
        }
    }
    // And the prefilter did reject rules along the way: otherwise this
    // test would not exercise it.
    assert!(db.cache_stats().prefilter_rejects > 0);
}

#[test]
fn rules_are_skipped_when_their_inner_literal_is_absent() {
    let db = ServiceDb::parse(DB, "crafted");
    // Shares every rule's prefix up to 16 bytes but none of the rest.
    let resp = b"HTTP/1.1 200 OK\r\nServer: other\r\n\r\n";
    assert_eq!(probe_match(&db, resp), None);
    let s = db.cache_stats();
    assert_eq!(s.compiles, 0, "{s:?}");
    // Rejections are counted without the cache's lock, and still counted.
    assert!(s.prefilter_rejects > 0, "{s:?}");
    assert_eq!(s.passes, 1, "{s:?}");
}
