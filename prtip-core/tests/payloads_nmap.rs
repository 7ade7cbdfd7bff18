//! The payload database against the nmap-payloads installed on this machine
//! (read at run time; never copied into the repository).

use prtip_core::payloads::{echo_field, PayloadDb};
use prtip_testkit::{nmapdata, prereq::require_text};

const PATH: &str = "/usr/share/nmap/nmap-payloads";

// Counted independently of the parser from nmap 7.93's file, where every
// entry's `udp` and port list share a line:
//   grep -c '^udp ' nmap-payloads                                  -> 63
//   grep '^udp ' nmap-payloads | awk '{print $2}' | tr , '\n' \
//     | awk -F- '{hi = $2 == "" ? $1 : $2; for (p = $1; p <= hi; p++) print p}' \
//     | sort -n | uniq -c                      -> 33,053 lines (distinct ports),
//                                                 counts summing to 33,077
const ENTRIES: usize = 63;
const PORTS: usize = 33_053;
const PORT_PAYLOAD_PAIRS: usize = 33_077;
/// Every port with more than one payload, from the same `uniq -c`.
const SHARED: [(u16, usize); 20] = [
    (53, 2),
    (69, 2),
    (111, 2),
    (123, 2),
    (137, 3),
    (161, 2),
    (260, 2),
    (500, 2),
    (623, 2),
    (1194, 3),
    (2049, 2),
    (3401, 2),
    (5353, 4),
    (9987, 2),
    (17185, 2),
    (26198, 2),
    (34555, 2),
    (44400, 2),
    (48899, 2),
    (64738, 2),
];

#[test]
fn installed_file_parses_without_warnings() {
    assert!(PATH.starts_with(nmapdata::DATADIR));
    let Some(text) = require_text(PATH) else {
        return;
    };
    let loaded = PayloadDb::parse(&text, PATH);
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert!(warnings.is_empty(), "{warnings:#?}");
    let db = loaded.value;
    println!(
        "nmap-payloads: {} payloads, {} ports, {} heap bytes",
        db.len(),
        db.port_count(),
        db.heap_bytes()
    );
    assert_eq!((db.len(), db.port_count()), (ENTRIES, PORTS));

    let per_port: Vec<usize> = (0..=u16::MAX).map(|p| db.for_port(p).count()).collect();
    assert_eq!(per_port.iter().sum::<usize>(), PORT_PAYLOAD_PAIRS);
    assert_eq!(per_port.iter().filter(|&&n| n > 0).count(), PORTS);
    let shared: Vec<(u16, usize)> = (0..=u16::MAX)
        .zip(per_port)
        .filter(|&(_, n)| n > 1)
        .collect();
    assert_eq!(shared, SHARED);
}

#[test]
fn installed_file_payload_bytes_and_order() {
    let Some(text) = require_text(PATH) else {
        return;
    };
    let db = PayloadDb::parse(&text, PATH).value;
    let first = |port| db.for_port(port).next().unwrap_or_default();
    assert_eq!(first(7), b"\r\n\r\n");
    // A comment between strings, and `\0` escapes.
    assert_eq!(first(3283), b"\x00\x14\x00\x01\x03");
    // `\x00` followed by the digit 2 in a 625-character line.
    assert!(first(8767).windows(3).any(|w| w == b"\x002x"));
    // 1194 is in the DCE/RPC range 1025-1199 (earlier in the file) and has
    // two OpenVPN entries of its own.
    let vpn: Vec<&[u8]> = db.for_port(1194).collect();
    assert_eq!(vpn[0], first(1100));
    assert!(vpn[1].starts_with(b"8d\xc1x") && vpn[2].starts_with(b"\x38\x01\x02"));
    // The DNS status request, then version.bind; mDNS adds its own two.
    let dns: Vec<&[u8]> = db.for_port(53).collect();
    assert_eq!(dns[0], [0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert!(dns[1].ends_with(b"\x07version\x04bind\x00\x00\x10\x00\x03"));
    let mdns: Vec<&[u8]> = db.for_port(5353).collect();
    assert_eq!(&mdns[..2], &dns[..]);
    assert!(dns.iter().chain(&mdns).all(|p| echo_field(53, p).is_some()));
    // Two NTP payloads: a 48-byte client request and a mode-1 one.
    let ntp: Vec<&[u8]> = db.for_port(123).collect();
    assert_eq!((ntp[0].len(), ntp[0][0] & 7), (48, 3));
    assert!(echo_field(123, ntp[0]).is_some());
    assert!(echo_field(123, ntp[1]).is_none());
    // The IKE entry ends with `source 500`: kept, keyword ignored.
    assert_eq!(db.for_port(500).next().map(<[u8]>::len), Some(192));
    assert_eq!(db.for_port(65535).count(), 1);
    assert_eq!(db.for_port(32767).count(), 0);
}

#[test]
fn truncations_of_the_installed_file_never_panic() {
    let Some(text) = require_text(PATH) else {
        return;
    };
    let full = PayloadDb::parse(&text, PATH).value;
    for end in (0..=text.len()).step_by(97) {
        let Some(part) = text.get(..end) else {
            continue;
        };
        let loaded = PayloadDb::parse(part, PATH);
        assert!(loaded.value.len() <= full.len(), "at {end}");
        assert!(
            loaded.warnings.len() <= 1,
            "at {end}: {:?}",
            loaded.warnings
        );
    }
}
