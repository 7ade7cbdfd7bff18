//! `--event-log FILE`: the scan's event stream as JSON lines, written by a
//! thread of its own and flushed whenever it has caught up with the scan.
//! The last line is always `scan_end` (after Ctrl-C and SIGTERM too), with
//! the number of events written and dropped.
//!
//! ## Event log (`--event-log`)
//!
//! One JSON object per line; `t` is seconds since the scan started and
//! `event` names the event. Absent values are `null`, never omitted.
//!
//! ```json
//! {"t":0.000,"event":"scan_start","scan":"syn","hosts":1,"ports":7}
//! {"t":0.000,"event":"phase_start","phase":"port scan"}
//! {"t":0.001,"event":"discovered","addr":"127.0.0.1","protocol":"tcp","port":2024}
//! {"t":0.003,"event":"host_up","addr":"127.0.0.1","reason":"localhost-response"}
//! {"t":0.003,"event":"port","addr":"127.0.0.1","protocol":"tcp","port":25,"state":"closed","reason":"reset"}
//! {"t":0.022,"event":"phase_end","phase":"port scan"}
//! {"t":0.033,"event":"scan_end","elapsed":0.032,"hosts_up":1,"hosts_down":0,"interrupted":false,"events":12,"dropped":0}
//! ```
//!
//! | event | fields |
//! |---|---|
//! | `scan_start` | `scan` (nmap's scan type), `hosts` (targets), `ports` (per host) |
//! | `phase_start`, `phase_end` | `phase`: `port scan` (the engine and the per-host stages after it) |
//! | `host_up`, `host_down` | `addr`, `reason` (nmap's reason names) |
//! | `port` | `addr`, `protocol`, `port`, `state`, `reason`: a port the outputs list |
//! | `extra_ports` | `addr`, `state`, `count`: ports collapsed into "Not shown" |
//! | `discovered` | `addr`, `protocol`, `port`: an open port the moment the SYN scan sees it |
//! | `retransmission` | `round` (1 = first resend), `pending` (probes without an answer) |
//! | `icmp_rate_limit` | `addr`: a UDP target rate-limits its ICMP errors (once per host) |
//! | `service` | `addr`, `protocol`, `port`, `name`, `product`, `version` (-sV) |
//! | `os` | `addr`, `name`, `accuracy` (-O's best guess) |
//! | `host_timeout` | `addr`: `--host-timeout` ran out |
//! | `warning`, `error` | `message`: what the user was warned of, why the scan failed |
//! | `scan_end` | `elapsed` (s), `hosts_up`, `hosts_down`, `interrupted`, `events` (lines before this one), `dropped` |
//!
//! Results (hosts, ports, services, OS) wait for the log, so a finished
//! scan's log holds every one of them; the engines' own events (ports
//! discovered, rounds, rate limits) are dropped and counted in `dropped`
//! rather than slow the scan.

use prtip_scanner::events::{Event, Events, Listener, Stamped, CAPACITY};
use std::io::{self, Write};
use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

/// The log's writer thread and the scan's end of the stream.
#[derive(Debug)]
pub struct EventLog {
    events: Events,
    writer: Option<JoinHandle<io::Result<()>>>,
}

impl EventLog {
    /// Creates `path` (as the outputs do) and starts the writer thread.
    pub fn open(path: &Path) -> io::Result<EventLog> {
        let _events = memprof::phase(memprof::Phase::Events);
        let out = crate::output::create_file(path)?;
        let (events, listener) = Events::channel(CAPACITY);
        let name = path.display().to_string();
        let writer = std::thread::Builder::new()
            .name("event-log".into())
            .spawn(move || {
                let _events = memprof::phase(memprof::Phase::Events);
                write_all(out, &listener).map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot write event log {name}: {e}"))
                })
            })?;
        Ok(EventLog {
            events,
            writer: Some(writer),
        })
    }

    /// Where the scan publishes.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// Writes the `scan_end` line and waits for the file to be complete.
    pub fn finish(mut self, end: Event) -> io::Result<()> {
        self.close(end)
    }

    fn close(&mut self, end: Event) -> io::Result<()> {
        let Some(writer) = self.writer.take() else {
            return Ok(());
        };
        self.events.publish_result(|| end);
        writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the event log's writer panicked")))
    }
}

impl Drop for EventLog {
    /// A scan that failed before its end still leaves a complete log.
    fn drop(&mut self) {
        let _ = self.close(Event::ScanEnd {
            elapsed: Duration::ZERO,
            hosts_up: 0,
            hosts_down: 0,
            interrupted: true,
        });
    }
}

/// Writes events until `scan_end`, flushing whenever none is waiting.
fn write_all(mut out: impl Write, listener: &Listener) -> io::Result<()> {
    let mut written = 0u64;
    loop {
        let next = match listener.try_recv() {
            Some(s) => Some(s),
            None => {
                out.flush()?;
                listener.recv()
            }
        };
        let Some(stamped) = next else {
            return out.flush();
        };
        let end = matches!(stamped.event, Event::ScanEnd { .. });
        write_line(&mut out, &stamped)?;
        if end {
            writeln!(
                out,
                ",\"events\":{written},\"dropped\":{}}}",
                listener.dropped()
            )?;
            return out.flush();
        }
        out.write_all(b"}\n")?;
        written += 1;
    }
}

/// One event as a JSON object, without its closing brace.
fn write_line(out: &mut impl Write, s: &Stamped) -> io::Result<()> {
    write!(out, "{{\"t\":{:.3},\"event\":", s.at.as_secs_f64())?;
    match &s.event {
        Event::ScanStart { scan, hosts, ports } => write!(
            out,
            "\"scan_start\",\"scan\":\"{scan}\",\"hosts\":{hosts},\"ports\":{ports}"
        ),
        Event::PhaseStart { phase } => write!(out, "\"phase_start\",\"phase\":\"{phase}\""),
        Event::PhaseEnd { phase } => write!(out, "\"phase_end\",\"phase\":\"{phase}\""),
        Event::HostUp { addr, reason } => {
            write!(out, "\"host_up\",\"addr\":\"{addr}\",\"reason\":\"{}\"", reason.as_str())
        }
        Event::HostDown { addr, reason } => write!(
            out,
            "\"host_down\",\"addr\":\"{addr}\",\"reason\":\"{}\"",
            reason.as_str()
        ),
        Event::HostListed { addr } => write!(out, "\"host_listed\",\"addr\":\"{addr}\""),
        Event::Port {
            addr,
            protocol,
            port,
            state,
            reason,
        } => write!(
            out,
            "\"port\",\"addr\":\"{addr}\",\"protocol\":\"{}\",\"port\":{port},\"state\":\"{}\",\"reason\":\"{}\"",
            protocol.as_str(),
            state.as_str(),
            reason.as_str()
        ),
        Event::Discovered {
            addr,
            protocol,
            port,
        } => write!(
            out,
            "\"discovered\",\"addr\":\"{addr}\",\"protocol\":\"{}\",\"port\":{port}",
            protocol.as_str()
        ),
        Event::ExtraPorts { addr, state, count } => write!(
            out,
            "\"extra_ports\",\"addr\":\"{addr}\",\"state\":\"{}\",\"count\":{count}",
            state.as_str()
        ),
        Event::Retransmission { round, pending } => write!(
            out,
            "\"retransmission\",\"round\":{round},\"pending\":{pending}"
        ),
        Event::IcmpRateLimit { addr } => write!(out, "\"icmp_rate_limit\",\"addr\":\"{addr}\""),
        other => write_detail(out, other),
    }
}

/// The events that carry text from the network or the user.
fn write_detail(out: &mut impl Write, event: &Event) -> io::Result<()> {
    match event {
        Event::Service {
            addr,
            protocol,
            port,
            name,
            product,
            version,
        } => {
            write!(
                out,
                "\"service\",\"addr\":\"{addr}\",\"protocol\":\"{}\",\"port\":{port},\"name\":",
                protocol.as_str()
            )?;
            json(out, name)?;
            out.write_all(b",\"product\":")?;
            json(out, product)?;
            out.write_all(b",\"version\":")?;
            json(out, version)
        }
        Event::Os {
            addr,
            name,
            accuracy,
        } => {
            write!(out, "\"os\",\"addr\":\"{addr}\",\"accuracy\":{accuracy},\"name\":")?;
            json(out, name)
        }
        Event::HostTimeout { addr } => write!(out, "\"host_timeout\",\"addr\":\"{addr}\""),
        Event::Warning { message } | Event::Error { message } => {
            let kind = if matches!(event, Event::Warning { .. }) {
                "warning"
            } else {
                "error"
            };
            write!(out, "\"{kind}\",\"message\":")?;
            json(out, message)
        }
        Event::ScanEnd {
            elapsed,
            hosts_up,
            hosts_down,
            interrupted,
        } => write!(
            out,
            "\"scan_end\",\"elapsed\":{:.3},\"hosts_up\":{hosts_up},\"hosts_down\":{hosts_down},\"interrupted\":{interrupted}",
            elapsed.as_secs_f64()
        ),
        // Every other event is written by write_line.
        _ => Ok(()),
    }
}

/// A string (or null) as JSON, escaped by serde_json.
fn json(out: &mut impl Write, value: &(impl serde::Serialize + ?Sized)) -> io::Result<()> {
    serde_json::to_writer(out, value).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prtip_core::result::{PortState, Protocol, Reason};
    use std::net::{IpAddr, Ipv4Addr};

    const ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 5));

    fn lines(events: Vec<Event>) -> Vec<serde_json::Value> {
        let (bus, listener) = Events::channel(events.len() + 1);
        for e in events {
            bus.publish(|| e);
        }
        let mut out = Vec::new();
        write_all(&mut out, &listener).expect("written");
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(text.ends_with("}\n"), "{text}");
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    #[test]
    fn every_line_parses_and_the_last_counts_the_rest() {
        let end = Event::ScanEnd {
            elapsed: Duration::from_millis(1500),
            hosts_up: 1,
            hosts_down: 2,
            interrupted: true,
        };
        let got = lines(vec![
            Event::HostUp {
                addr: ADDR,
                reason: Reason::SynAck,
            },
            Event::Port {
                addr: ADDR,
                protocol: Protocol::Tcp,
                port: 80,
                state: PortState::OpenFiltered,
                reason: Reason::NoResponse,
            },
            Event::Service {
                addr: ADDR,
                protocol: Protocol::Udp,
                port: 53,
                name: "dns \"x\"\n".into(),
                product: None,
                version: Some("9.1".into()),
            },
            Event::Warning {
                message: "no --stats-every lines".into(),
            },
            end,
        ]);
        assert_eq!(got.len(), 5);
        assert_eq!(got[3]["event"], "warning");
        assert_eq!(got[3]["message"], "no --stats-every lines");
        assert_eq!(got[0]["event"], "host_up");
        assert_eq!(got[0]["reason"], "syn-ack");
        assert_eq!(got[1]["state"], "open|filtered");
        assert_eq!(got[1]["port"], 80);
        assert_eq!(got[2]["name"], "dns \"x\"\n");
        assert_eq!(got[2]["product"], serde_json::Value::Null);
        assert_eq!(got[4]["event"], "scan_end");
        assert_eq!(got[4]["elapsed"], 1.5);
        assert_eq!(got[4]["interrupted"], true);
        assert_eq!(got[4]["events"], 4);
        assert_eq!(got[4]["dropped"], 0);
    }

    #[test]
    fn a_log_dropped_without_finishing_still_ends_with_scan_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("events.jsonl");
        let log = EventLog::open(&path).expect("opened");
        let scanning = log.events().clone();
        scanning.publish_result(|| Event::PhaseStart { phase: "port scan" });
        drop(log);
        let text = std::fs::read_to_string(&path).expect("read");
        let last: serde_json::Value =
            serde_json::from_str(text.lines().last().expect("a line")).expect("JSON");
        assert_eq!(last["event"], "scan_end");
        assert_eq!(last["interrupted"], true);
        assert_eq!(last["events"], 1);
        // The scan's clone outlives the log: publishing is counted, never blocks.
        scanning.publish_result(|| Event::PhaseEnd { phase: "port scan" });
    }
}
