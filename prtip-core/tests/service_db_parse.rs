//! The nmap-service-probes grammar on crafted lines: every directive, odd
//! delimiters, escapes, and malformed lines reported as `file:line: reason`.

use prtip_core::result::Protocol;
use prtip_core::service_db::{render, ServiceDb};

const DB: &str = r#"# comment
Exclude T:9100-9107

Probe TCP NULL q||
totalwaitms 6000
tcpwrappedms 3000
match ssh m|^SSH-([\d.]+)-OpenSSH_([\w._-]+)\r?\n| p/OpenSSH/ v/$2/ i/protocol $1/ cpe:/a:openbsd:openssh:$2/
softmatch ftp m=^220[- ].*\r\n=i
match ftp m%^220 FooFTP (\d+)\r\n% p=FooFTP= v%$1% o|Unix| cpe:|a:foo:ftp:$1|a
match echo m@^\x00\xff\0ok$@s h/host/ d/switch/
Probe UDP Odd q#a\|b\#\x41\0\r\n\t\\# no-payload
rarity 9
ports 7,9-11
sslports 443
match odd m/^(?:ab|cd)(?=x)/
Probe TCP Later q|x|
fallback Odd,NULL
"#;

#[test]
fn every_directive_with_odd_delimiters() {
    let db = ServiceDb::parse(DB, "crafted");
    assert!(db.warnings().is_empty(), "{:?}", db.warnings());
    let c = db.counts();
    assert_eq!((c.probes, c.matches, c.softmatches), (3, 4, 1));
    assert_eq!(db.exclude(), Some("T:9100-9107"));

    let null = db.probe(Protocol::Tcp, "NULL").unwrap();
    assert_eq!(
        (null.totalwaitms, null.tcpwrappedms, null.line),
        (Some(6000), Some(3000), 4)
    );
    assert!(null.payload.is_empty() && !null.no_payload);

    let odd = db.probe(Protocol::Udp, "Odd").unwrap();
    assert_eq!(&*odd.payload, b"a|b#A\0\r\n\t\\");
    assert!(odd.no_payload);
    assert_eq!(odd.rarity, Some(9));
    let ports = odd.ports.as_ref().unwrap();
    assert!(ports.contains(7) && ports.contains(10) && !ports.contains(8));
    assert!(odd.sslports.as_ref().unwrap().contains(443));

    let later = db.probe(Protocol::Tcp, "Later").unwrap();
    let names: Vec<&str> = later
        .fallback()
        .iter()
        .map(|&i| db.probes()[usize::from(i)].name)
        .collect();
    assert_eq!(names, ["Odd", "NULL"]);

    let rules: Vec<_> = db.probe_rules(null).collect();
    assert_eq!(rules.len(), 4);
    assert!(rules[1].soft && rules[1].case_insensitive && !rules[1].dot_all);
    assert_eq!(rules[2].pattern, r"^220 FooFTP (\d+)\r\n");
    assert_eq!(
        rules[2].version_info,
        "p=FooFTP= v%$1% o|Unix| cpe:|a:foo:ftp:$1|a"
    );
    assert!(rules[3].dot_all && rules[3].line == 10);
}

#[test]
fn matching_order_softmatch_and_fields() {
    let db = ServiceDb::parse(DB, "crafted");
    let null = db.probe(Protocol::Tcp, "NULL").unwrap();

    let m = db
        .match_response(null, b"SSH-2.0-OpenSSH_9.2p1\r\n")
        .unwrap();
    assert_eq!(m.service, "ssh");
    assert_eq!(m.version.as_deref(), Some("9.2p1"));
    assert_eq!(m.info.as_deref(), Some("protocol 2.0"));
    assert_eq!(m.cpe, ["cpe:/a:openbsd:openssh:9.2p1"]);
    assert_eq!(m.line, 7);

    // The softmatch comes first; the ftp match after it still applies.
    let m = db.match_response(null, b"220 FooFTP 42\r\n").unwrap();
    assert_eq!((m.service, m.soft), ("ftp", false));
    assert_eq!(
        (m.product.as_deref(), m.version.as_deref()),
        (Some("FooFTP"), Some("42"))
    );
    assert_eq!(m.ostype.as_deref(), Some("Unix"));
    assert_eq!(m.cpe, ["cpe:/a:foo:ftp:42"]);

    // Only the softmatch: service known, no version.
    let m = db.match_response(null, b"220 other ftpd\r\n").unwrap();
    assert_eq!((m.service, m.soft, m.product), ("ftp", true, None));

    // After an ftp softmatch elsewhere, the echo rule is not even tried.
    assert!(db.match_response(null, b"\x00\xff\x00ok\n").is_some());
    assert!(db
        .match_response_after(null, b"\x00\xff\x00ok\n", Some("ftp"))
        .is_none());
    let m = db.match_response(null, b"\x00\xff\x00ok").unwrap();
    assert_eq!(
        (m.hostname.as_deref(), m.devicetype.as_deref()),
        (Some("host"), Some("switch"))
    );

    // Fallbacks: Later has no rules of its own; Odd's lookahead rule matches.
    let later = db.probe(Protocol::Tcp, "Later").unwrap();
    assert_eq!(db.match_response(later, b"cdx").unwrap().service, "odd");
    assert_eq!(db.match_response(later, b"cdy"), None);
    assert_eq!(
        db.match_response(later, b"SSH-1.99-OpenSSH_x\n")
            .unwrap()
            .probe,
        "NULL"
    );
}

#[test]
fn malformed_lines_warn_with_file_and_line() {
    let text = "\
match early m/x/
Probe TCP NULL q||
Probe SCTP X q||
Probe TCP Y q|unterminated
Probe TCP Z q|x| junk
match svc m/(unclosed/
match svc m/x/z
match svc m/x/ q/unknown field/
match svc m/x/ p/unterminated
match svc m|x|p/glued/
softmatch svc
rarity 0
rarity x
ports 1-x
totalwaitms soon
fallback Missing
frobnicate 1
Exclude 1
Exclude 2
match ok m/^ok/
";
    let db = ServiceDb::parse(text, "bad-probes");
    let got: Vec<String> = db.warnings().iter().map(ToString::to_string).collect();
    let lines: Vec<usize> = db.warnings().iter().map(|w| w.line).collect();
    assert_eq!(
        lines,
        [1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 19, 16],
        "{got:#?}"
    );
    assert!(got.iter().all(|w| w.starts_with("bad-probes:")), "{got:#?}");
    assert!(got[0].contains("before any Probe"), "{got:#?}");
    assert!(got[4].contains("bad pattern"), "{got:#?}");
    assert!(got[16].contains("unknown probe \"Missing\""), "{got:#?}");
    // The good lines survive.
    assert_eq!(db.counts().matches, 1);
    let null = db.probe(Protocol::Tcp, "NULL").unwrap();
    assert_eq!(db.match_response(null, b"ok!").unwrap().service, "ok");
}

#[test]
fn garbage_never_panics() {
    let mut text = String::new();
    for i in 0..2000u32 {
        let c = char::from_u32(32 + (i * 7919) % 95).unwrap();
        text.push(c);
        if i % 37 == 0 {
            text.push_str("\nmatch a m");
        }
        if i % 101 == 0 {
            text.push_str("\nProbe TCP P q");
        }
    }
    let db = ServiceDb::parse(&text, "fuzz");
    for p in db.probes() {
        let _ = db.match_response(p, text.as_bytes());
    }
}

#[test]
fn render_is_public_and_capped() {
    let caps: [Option<&[u8]>; 2] = [None, Some(b"v1\x07.2")];
    assert_eq!(render("ver $1", &caps), "ver v1.2");
    let long = vec![b'a'; 1000];
    assert_eq!(render("$1", &[None, Some(&long)]).len(), 80);
}

/// A hostile `--datadir` file: a pattern nested 50,000 deep used to overflow
/// the stack while the database loaded. Now the line is skipped with a
/// one-line `file:line` warning and the lines around it still load.
#[test]
fn deeply_nested_pattern_is_skipped_with_file_and_line() {
    let deep = format!(
        "match deep m/{}x{}/\n",
        "(".repeat(50_000),
        ")".repeat(50_000)
    );
    let stacked = format!("match deep m/x{}/\n", "{1}".repeat(20_000));
    let text = format!(
        "Probe TCP NULL q||\nmatch before m/^before/\n{deep}{stacked}match after m/^after/\n"
    );
    let db = ServiceDb::parse(&text, "/tmp/datadir/nmap-service-probes");
    let got: Vec<String> = db.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "/tmp/datadir/nmap-service-probes:3: bad pattern: parentheses nested deeper than 32",
            "/tmp/datadir/nmap-service-probes:4: bad pattern: quantifiers nested deeper than 32",
        ]
    );
    assert_eq!(db.counts().matches, 2);
    let null = db.probe(Protocol::Tcp, "NULL").unwrap();
    assert_eq!(
        db.match_response(null, b"before").unwrap().service,
        "before"
    );
    assert_eq!(db.match_response(null, b"after").unwrap().service, "after");
}
