//! prtip's built-in scripts (used when nmap's scripts are not installed)
//! against a small HTTP server of this test: `http-title` prints what nmap's
//! own http-title prints for the same pages (nmap run in the same test),
//! its structure keeps the raw title, and `banner` (a service that speaks
//! first, unprintable bytes escaped) stays silent on a server that waits
//! for a request but prints an SMTP-like greeting.

use prtip_core::result::{PortState, Protocol, ScriptElem, ServiceInfo};
use prtip_nse::{HostInput, NseConfig, PortInput, ScriptEngine};
use prtip_testkit::prereq::require_tool;
use prtip_testkit::process::{run_timeout, tempdir};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Speaks only after a request, as a web server does (so nmap -sV names
/// it http): reads up to the blank line, then answers and closes.
fn answer(mut s: std::net::TcpStream, response: &str) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let ended = |g: &[u8]| g.windows(4).any(|w| w == b"\r\n\r\n");
    while !ended(&got) {
        match s.read(&mut buf) {
            Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    if ended(&got) {
        let _ = s.write_all(response.as_bytes());
    }
}

/// Answers every connection with `response` until `stop` is set.
fn serve(response: &'static str) -> (u16, Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    serve_on("127.0.0.1:0", response)
}

fn serve_on(
    addr: &str,
    response: &'static str,
) -> (u16, Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind(addr).expect("listener");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::spawn(move || {
        while !flag.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((s, _)) => {
                    std::thread::spawn(move || answer(s, response));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (port, stop, handle)
}

fn engine(spec: &str) -> ScriptEngine {
    let empty = tempdir();
    ScriptEngine::new(NseConfig {
        data_dirs: vec![empty.path().to_path_buf()],
        spec: spec.into(),
        args: String::new(),
        timeout: Some(Duration::from_secs(20)),
        memory_cap: 16 << 20,
        verbosity: 0,
        debugging: 0,
        ipv6: false,
    })
    .expect("built-in scripts load")
}

fn host(port: u16) -> HostInput {
    host_at("127.0.0.1", port, "http")
}

fn host_at(ip: &str, port: u16, service: &str) -> HostInput {
    HostInput {
        ip: ip.parse().expect("ip"),
        name: None,
        targetname: None,
        ports: vec![PortInput {
            number: port,
            protocol: Protocol::Tcp,
            state: PortState::Open,
            reason: "syn-ack".into(),
            service: Some(ServiceInfo::from_table(service)),
        }],
    }
}

/// nmap's http-title output attribute for `ip`:8080 (a port nmap's
/// shortport.http takes for HTTP without -sV).
fn nmap_title(ip: &str) -> String {
    let out = run_timeout(
        Command::new("nmap").args([
            "-sT",
            "-n",
            "-Pn",
            "-p",
            "8080",
            "--script",
            "http-title",
            ip,
            "-oX",
            "-",
        ]),
        Duration::from_secs(120),
    );
    let xml = String::from_utf8_lossy(&out.stdout).to_string();
    let at = xml
        .find("<script id=\"http-title\" output=\"")
        .expect("nmap ran http-title");
    let rest = &xml[at + "<script id=\"http-title\" output=\"".len()..];
    rest[..rest.find('"').expect("closing quote")]
        .replace("&apos;", "'")
        .replace("&quot;", "\"")
}

const TITLED: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n\
    <html><head><title>A\tvery\r\nlong title that goes on and on past sixty-five characters for sure</title></head></html>";
const UNTITLED: &str = "HTTP/1.1 200 OK\r\nServer: test\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n\r\n<html><body>hi</body></html>";

#[test]
fn builtin_http_title_says_what_nmaps_says() {
    // 127.0.0.2:8080, a loopback address nothing else on this machine uses.
    const IP: &str = "127.0.0.2";
    let e = engine("default");
    assert_eq!(e.script_ids(), ["http-title"]);
    for page in [TITLED, UNTITLED] {
        let (port, stop, handle) = serve_on(&format!("{IP}:8080"), page);
        let ours = e
            .run_host(&host_at(IP, port, "http-proxy"))
            .expect("a result");
        let out = &ours.of_port(Protocol::Tcp, port)[0];
        if require_tool("nmap") {
            assert_eq!(out.output, nmap_title(IP), "page {page:?}");
        }
        stop.store(true, Ordering::Relaxed);
        handle.join().expect("server thread");
        println!("built-in http-title: {:?}", out.output);
    }
}

#[test]
fn builtin_title_structure_and_banner() {
    let (port, stop, handle) = serve(TITLED);
    let e = engine("http-title,banner");
    assert_eq!(e.script_ids(), ["banner", "http-title"]);
    let r = e.run_host(&host(port)).expect("a result");
    stop.store(true, Ordering::Relaxed);
    handle.join().expect("server thread");
    let outs = r.of_port(Protocol::Tcp, port).to_vec();
    // The server speaks only after a request: banner prints nothing.
    assert_eq!(outs.len(), 1, "{outs:?}");
    assert_eq!(outs[0].id, "http-title");
    assert_eq!(
        outs[0].structured,
        Some(vec![ScriptElem::Elem {
            key: Some("title".into()),
            value: "A\tvery\r\nlong title that goes on and on past sixty-five characters for sure"
                .into()
        }])
    );
}

#[test]
fn builtin_banner_escapes_what_the_service_says_first() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = listener.local_addr().expect("addr").port();
    let handle = std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.write_all(b"220 hello\tthere\r\n");
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let e = engine("banner");
    let mut h = host(port);
    h.ports[0].service = None;
    let r = e.run_host(&h).expect("a result");
    handle.join().expect("server thread");
    let outs = r.of_port(Protocol::Tcp, port);
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].output, "220 hello\\x09there");
}
