//! Writing one host costs the output formats no memory per port: a host with
//! every one of its 65,535 ports open (a tarpit that SYN-ACKs everything)
//! used to be formatted whole, 100-220 B per port per format (up to 14.7 MB
//! for JSON). Each format now writes the host in pieces, so its peak stays
//! at a few tens of KiB whatever the number of ports, and the text is the
//! same as for a host formatted in one piece.
//!
//! Counted with the `heapcount` allocator this test binary installs (the
//! dhat-heap build installs dhat's instead, so it skips this file).
#![cfg(not(feature = "dhat-heap"))]

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime};

use prtip::output::{GrepableSink, JsonSink, NormalFlavor, NormalSink, XmlSink};
use prtip_core::result::{
    HostResult, HostStatus, PortResult, PortState, PortTable, Protocol, Reason, ResultSink,
    RunInfo, ScanInfo, ServiceInfo,
};

#[global_allocator]
static GLOBAL: heapcount::Counting = heapcount::Counting;

/// Heap one format may use while writing one host, whatever its size.
const PER_HOST_BUDGET: usize = 64 << 10;

fn run_info() -> RunInfo {
    RunInfo {
        args: "prtip -sS -p- 198.18.4.1".into(),
        start: SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000),
        scans: vec![ScanInfo {
            scan_type: "syn",
            protocol: Protocol::Tcp,
            num_services: 65_535,
            services: "1-65535".into(),
            tcp_flags: None,
        }],
        verbose: 0,
        debug: 0,
        reason: true,
        port_scan: true,
        version_scan: false,
        os_scan: false,
        os_guess: false,
    }
}

/// `open` ports 1..=open, every eighth with a table name.
fn tarpit(open: u16) -> HostResult {
    let shown = (1..=open)
        .map(|p| {
            let mut r = PortResult::new(p, Protocol::Tcp, PortState::Open, Reason::SynAck);
            r.reason_ttl = 64;
            if p % 8 == 0 {
                r.service = Some(Box::new(ServiceInfo::from_table("http-alt")));
            }
            r
        })
        .collect();
    HostResult {
        addr: IpAddr::V4(Ipv4Addr::new(198, 18, 4, 1)),
        hostname: None,
        status: HostStatus::Up,
        reason: Reason::UserSet,
        latency: Some(Duration::from_micros(80)),
        start: SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000),
        end: SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_003),
        ports: PortTable {
            shown,
            extra: Vec::new(),
        },
        os: None,
        scripts: None,
    }
}

/// Bytes a sink writes for `host`, and its heap peak while doing so.
fn write_host<S: ResultSink>(sink: &mut S, host: &HostResult) -> usize {
    sink.begin(&run_info()).expect("begin");
    let (res, usage) = heapcount::thread_usage(|| sink.host(host));
    res.expect("host");
    usage.peak
}

/// A writer that counts bytes and keeps a copy only of a window of lines.
#[derive(Default)]
struct Tail {
    bytes: usize,
    text: Vec<u8>,
}

impl Write for Tail {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len();
        if self.text.len() < 4096 {
            self.text.extend_from_slice(&buf[..buf.len().min(4096)]);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn every_port_open_costs_no_heap_per_port_in_any_format() {
    let host = tarpit(u16::MAX);
    let mut peaks = Vec::new();
    let mut normal = NormalSink::new(Tail::default(), NormalFlavor::Stdout);
    peaks.push(("normal", write_host(&mut normal, &host)));
    let mut grepable = GrepableSink::new(Tail::default());
    peaks.push(("grepable", write_host(&mut grepable, &host)));
    let mut xml = XmlSink::new(Tail::default());
    peaks.push(("xml", write_host(&mut xml, &host)));
    let mut json = JsonSink::new(Tail::default());
    peaks.push(("json", write_host(&mut json, &host)));
    println!("heap peak while writing a host with 65,535 open ports: {peaks:?}");
    for (format, peak) in peaks {
        assert!(peak < PER_HOST_BUDGET, "{format}: {peak} B");
    }
    // The whole host reached the writer: at least one line per port.
    let written = normal.into_inner().bytes;
    assert!(written > 65_535 * 20, "normal output only {written} B");
}

#[test]
fn table_columns_are_as_wide_as_the_widest_row_even_when_written_in_pieces() {
    // The widest SERVICE cell comes last, long after the first rows were
    // written out: the padding of the first rows must already account for it.
    let mut host = tarpit(4000);
    if let Some(last) = host.ports.shown.last_mut() {
        last.service = Some(Box::new(ServiceInfo::from_table(
            "a-very-long-service-name",
        )));
    }
    let mut normal = NormalSink::new(Tail::default(), NormalFlavor::Stdout);
    write_host(&mut normal, &host);
    let tail = normal.into_inner();
    assert!(tail.bytes > 16 << 10, "the host was not written in pieces");
    let text = String::from_utf8_lossy(&tail.text);
    let header = text
        .lines()
        .find(|l| l.starts_with("PORT"))
        .expect("header");
    assert_eq!(
        header, "PORT     STATE SERVICE                  REASON",
        "{text}"
    );
    assert!(
        text.contains("\n1/tcp    open  unknown                  syn-ack ttl 64\n"),
        "{text}"
    );
}
