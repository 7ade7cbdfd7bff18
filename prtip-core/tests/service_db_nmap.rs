//! The service DB against the nmap-service-probes installed on this machine
//! (read at run time; never copied into the repository).

use prtip_core::result::Protocol;
use prtip_core::service_db::{compile_check, Engine, Match, ServiceDb};
use prtip_testkit::{nmapdata, prereq::require_text};

const PATH: &str = nmapdata::SERVICE_PROBES;

/// The installed file, or `None` after a loud skip (a failure under CI).
fn installed() -> Option<String> {
    require_text(PATH)
}

#[test]
fn installed_file_parses_without_warnings() {
    let Some(text) = installed() else { return };
    let db = ServiceDb::parse(&text, PATH);
    let warnings: Vec<String> = db.warnings().iter().map(ToString::to_string).collect();
    assert!(warnings.is_empty(), "{warnings:#?}");
    let c = db.counts();
    println!("nmap-service-probes: {c:?}");
    // nmap 7.93's file.
    assert_eq!((c.probes, c.matches, c.softmatches), (148, 11721, 196));
    assert_eq!(db.exclude(), Some("T:9100-9107"));
    let null = db.probe(Protocol::Tcp, "NULL").expect("NULL probe");
    assert!(null.payload.is_empty());
    assert_eq!(null.totalwaitms, Some(6000));
    assert_eq!(null.tcpwrappedms, Some(3000));
    let get = db.probe(Protocol::Tcp, "GetRequest").expect("GetRequest");
    assert_eq!(&*get.payload, b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(get.rarity, Some(1));
    assert!(get.ports.as_ref().is_some_and(|p| p.contains(80)));
    assert!(get.sslports.as_ref().is_some_and(|p| p.contains(443)));
    let options = db.probe(Protocol::Tcp, "HTTPOptions").expect("HTTPOptions");
    assert_eq!(
        db.probes()[usize::from(options.fallback()[0])].name,
        "GetRequest"
    );
}

#[test]
fn every_installed_pattern_compiles_with_one_engine() {
    let Some(text) = installed() else { return };
    let db = ServiceDb::parse(&text, PATH);
    let (mut regex, mut backtrack, mut failed) = (0, 0, Vec::new());
    for r in db.rules() {
        match compile_check(r.pattern, r.case_insensitive, r.dot_all) {
            Ok(Engine::Regex) => regex += 1,
            Ok(Engine::Backtrack) => backtrack += 1,
            Err(e) => failed.push(format!("line {}: {e}", r.line)),
        }
    }
    println!("engines: regex {regex}, backtrack {backtrack}");
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(regex + backtrack, 11721 + 196);
}

#[test]
fn prefilter_coverage_of_installed_file() {
    let Some(text) = installed() else { return };
    let db = ServiceDb::parse(&text, PATH);
    let s = db.prefilter_stats();
    println!("prefilter: {s:?} of {} rules", 11721 + 196);
    assert!(s.with_prefix > 10_000, "{s:?}");
}

fn probe_match<'a>(db: &ServiceDb<'a>, probe: &str, response: &[u8]) -> Option<Match<'a>> {
    let p = db.probe(Protocol::Tcp, probe).expect("probe exists");
    db.match_response(p, response)
}

fn field(v: &Option<String>) -> Option<&str> {
    v.as_deref()
}

#[test]
fn openssh_debian_banner() {
    let Some(text) = installed() else { return };
    let db = ServiceDb::parse(&text, PATH);
    let m = probe_match(&db, "NULL", b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n").expect("match");
    assert_eq!((m.service, m.soft, m.probe), ("ssh", false, "NULL"));
    assert_eq!(field(&m.product), Some("OpenSSH"));
    assert_eq!(field(&m.version), Some("9.2p1 Debian 2+deb12u3"));
    assert_eq!(field(&m.info), Some("protocol 2.0"));
    assert_eq!(field(&m.ostype), Some("Linux"));
    assert_eq!((m.hostname, m.devicetype), (None, None));
    assert_eq!(
        m.cpe,
        [
            "cpe:/a:openbsd:openssh:9.2p1",
            "cpe:/o:debian:debian_linux",
            "cpe:/o:linux:linux_kernel"
        ]
    );
}

#[test]
fn nginx_http_response() {
    let Some(text) = installed() else { return };
    let db = ServiceDb::parse(&text, PATH);
    let resp =
        b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\
        Content-Type: text/html\r\nContent-Length: 45\r\nConnection: close\r\n\r\n\
        <html><head><title>Welcome</title></head></html>";
    let m = probe_match(&db, "GetRequest", resp).expect("match");
    assert_eq!((m.service, m.soft), ("http", false));
    assert_eq!(field(&m.product), Some("nginx"));
    assert_eq!(field(&m.version), Some("1.22.1"));
    assert_eq!(m.cpe, ["cpe:/a:igor_sysoev:nginx:1.22.1"]);
    let stats = db.cache_stats();
    println!("after one HTTP response: {stats:?}");
    // nginx's rule is early in GetRequest; before it, prefilters skipped most.
    assert!(stats.prefilter_rejects > 10 * stats.compiles, "{stats:?}");
}

#[test]
fn unknown_http_server_walks_every_rule_with_few_regexes() {
    let Some(text) = installed() else { return };
    let db = ServiceDb::parse(&text, PATH);
    let resp = b"HTTP/1.1 200 OK\r\nServer: prtip-test/0.0\r\nContent-Length: 0\r\n\r\n";
    // nmap's file has no catch-all HTTP rule: an unknown server matches
    // nothing, after every rule of GetRequest and of its fallback NULL.
    let m = probe_match(&db, "GetRequest", resp);
    assert_eq!(m, None);
    let stats = db.cache_stats();
    let probe = db.probe(Protocol::Tcp, "GetRequest").unwrap();
    let null = db.probe(Protocol::Tcp, "NULL").unwrap();
    let tried = db.probe_rules(probe).count() + db.probe_rules(null).count();
    println!(
        "unknown HTTP server: {tried} rules, {} rejected by prefilter, {} compiled",
        stats.prefilter_rejects, stats.compiles
    );
    // The literals after the shared "HTTP/1.1 200 OK\r" (and inside `i`
    // patterns) leave fewer regexes than the cache holds: a second unknown
    // response compiles nothing.
    assert!(stats.compiles < 64 && stats.evictions == 0, "{stats:?}");
    let before = db.cache_stats().compiles;
    assert_eq!(probe_match(&db, "GetRequest", resp), None);
    assert_eq!(db.cache_stats().compiles, before);
    assert!(tried > 1000, "{tried}");
}

#[test]
fn postfix_smtp_banner() {
    let Some(text) = installed() else { return };
    let db = ServiceDb::parse(&text, PATH);
    let m = probe_match(
        &db,
        "NULL",
        b"220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n",
    )
    .expect("match");
    assert_eq!(m.service, "smtp");
    assert_eq!(field(&m.product), Some("Postfix smtpd"));
    assert_eq!(field(&m.hostname), Some("mail.example.org"));
    assert_eq!(m.cpe, ["cpe:/a:postfix:postfix"]);
}

#[test]
fn redis_error_reply() {
    let Some(text) = installed() else { return };
    let db = ServiceDb::parse(&text, PATH);
    let m = probe_match(
        &db,
        "GetRequest",
        b"-ERR wrong number of arguments for 'get' command\r\n",
    )
    .expect("match");
    assert_eq!(m.service, "redis");
    assert_eq!(field(&m.product), Some("Redis key-value store"));
    assert_eq!(m.version, None);
}

#[test]
fn unknown_response_and_tiny_cache() {
    let Some(text) = installed() else { return };
    let db = ServiceDb::parse(&text, PATH);
    db.set_cache_capacity(2);
    assert_eq!(
        probe_match(&db, "NULL", b"\x00\x01 nothing anyone wrote a rule for"),
        None
    );
    let m = probe_match(&db, "NULL", b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
    assert_eq!(m.map(|m| m.service), Some("ssh"));
    assert!(db.cache_stats().held <= 2);
}
