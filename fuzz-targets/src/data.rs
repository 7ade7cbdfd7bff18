//! nmap-services and nmap-payloads, read from `--datadir` like the probe
//! and OS databases.

use std::hint::black_box;

use prtip_core::payloads::{echo_field, PayloadDb, MAX_PAYLOAD};
use prtip_core::ports::{PortList, PortSpec};
use prtip_core::result::Protocol;
use prtip_core::services::{top_ports, top_ports_within, ServiceNames};

use crate::{assert_one_line, text};

/// Top-ports selection, port names and `-p` service names, all from one
/// arbitrary nmap-services text.
pub fn services(data: &[u8]) {
    let text = text(data);
    for n in [1, 7, 1000] {
        if let Ok(top) = top_ports(&text, "fuzz", Protocol::Tcp, n) {
            assert!(top.value.len() <= n);
            for w in &top.warnings {
                assert_one_line("an nmap-services warning", &w.to_string());
            }
        }
    }
    let low = PortList::from_ranges([(1, 1024)]);
    if let Ok(top) = top_ports_within(&text, "fuzz", Protocol::Udp, 10, &low) {
        assert!(top.value.len() <= 10);
        assert!(top.value.iter().all(|p| low.contains(p)));
    }
    let names = ServiceNames::load(&text, "fuzz", Protocol::Tcp, &PortList::all()).value;
    assert!(names.len() <= 65_536);
    // Every port would be slow per input; the low ports hold nearly all
    // names, and a name found anywhere must be a usable one.
    for port in 0..=1024 {
        if let Some(name) = names.name(port, Protocol::Tcp) {
            assert!(!name.is_empty() && !name.contains(char::is_whitespace));
        }
        assert!(names.name(port, Protocol::Udp).is_none());
    }
    if let Ok(spec) = PortSpec::parse("ssh,http*,?tp,U:domain", Some(&text)) {
        assert!(!spec.is_empty());
    }
}

/// The nmap-payloads parser: whatever it keeps stays within a UDP
/// datagram, and the echo fields it finds lie inside their payloads.
pub fn payloads(data: &[u8]) {
    let text = text(data);
    let loaded = PayloadDb::parse(&text, "fuzz");
    for w in &loaded.warnings {
        assert_one_line("an nmap-payloads warning", &w.to_string());
    }
    let db = &loaded.value;
    assert!(db.port_count() <= 65_536);
    if db.is_empty() {
        // A port is listed only for the payloads it gets.
        assert_eq!(db.port_count(), 0);
    }
    black_box(db.heap_bytes());
    // Each port costs a pass over the ranges, so look at a sample: the
    // ports with echo fields, the extremes, and a few from the input.
    let mut ports = vec![0, 7, 53, 111, 123, 161, 500, 5353, 65_535];
    ports.extend(
        data.chunks_exact(2)
            .take(8)
            .map(|c| u16::from_be_bytes([c[0], c[1]])),
    );
    for port in ports {
        for payload in db.for_port(port) {
            assert!(payload.len() <= MAX_PAYLOAD);
            if let Some(echo) = echo_field(port, payload) {
                assert!(echo.request.start <= echo.request.end);
                assert!(echo.request.end <= payload.len());
                assert_eq!(echo.request.len(), echo.reply.len());
            }
        }
    }
}
