//! The scan's event stream: what a person watching a scan wants to know
//! (phases, hosts up or down, ports found, retransmission rounds, `-sV` and
//! `-O` results, warnings), published by the engines and the binary and read
//! by one listener (`--event-log`).
//!
//! Memory stays bounded: events go through a channel of [`CAPACITY`] slots.
//! Diagnostic events from an engine's own threads ([`Events::publish`]) are
//! dropped and counted when the channel is full, so a slow listener never
//! slows the probe loops; results ([`Events::publish_result`]) wait for a
//! free slot instead, as the outputs already pace the hosts, so the event
//! log of a finished scan holds every host and port the outputs hold.
//!
//! With nobody listening, [`Events`] is `None` inside and publishing is one
//! branch: the event is never built (publishers pass a closure).

use prtip_core::result::{HostResult, HostStatus, PortState, Protocol, Reason, ServiceMethod};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Events the channel holds before publishers drop (or wait).
pub const CAPACITY: usize = 256;

/// One thing that happened during a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The scan starts: its type (nmap's name), targets and ports per host.
    ScanStart {
        scan: &'static str,
        hosts: u64,
        ports: u64,
    },
    /// A phase of the scan starts ("port scan", "service scan", ...).
    PhaseStart { phase: &'static str },
    /// A phase ends.
    PhaseEnd { phase: &'static str },
    /// A host is up, and why (nmap's reason).
    HostUp { addr: IpAddr, reason: Reason },
    /// A host is down, and why.
    HostDown { addr: IpAddr, reason: Reason },
    /// A host a list scan (`-sL`) names without probing it.
    HostListed { addr: IpAddr },
    /// The state of one port listed in the outputs.
    Port {
        addr: IpAddr,
        protocol: Protocol,
        port: u16,
        state: PortState,
        reason: Reason,
    },
    /// An open port, as soon as the engine sees it (nmap's "Discovered
    /// open port"); its host's `Port` event follows when the host is done.
    Discovered {
        addr: IpAddr,
        protocol: Protocol,
        port: u16,
    },
    /// Ports collapsed into a "Not shown" group of the outputs.
    ExtraPorts {
        addr: IpAddr,
        state: PortState,
        count: u32,
    },
    /// A retransmission round of the raw engines starts: `pending` probes
    /// have no answer yet and are sent again.
    Retransmission { round: u32, pending: u64 },
    /// A UDP target's ICMP errors come slower than the probes: its kernel
    /// rate-limits them, and its silent ports take longer to settle.
    IcmpRateLimit { addr: IpAddr },
    /// `-sV` identified a service.
    Service {
        addr: IpAddr,
        protocol: Protocol,
        port: u16,
        name: String,
        product: Option<String>,
        version: Option<String>,
    },
    /// `-O`'s best guess for a host.
    Os {
        addr: IpAddr,
        name: String,
        accuracy: u8,
    },
    /// `--host-timeout` ran out for a host.
    HostTimeout { addr: IpAddr },
    /// Something the user is warned about.
    Warning { message: String },
    /// The scan failed.
    Error { message: String },
    /// The scan ends; the last event of a log.
    ScanEnd {
        elapsed: Duration,
        hosts_up: u64,
        hosts_down: u64,
        interrupted: bool,
    },
}

/// An event and when it was published, from the start of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamped {
    pub at: Duration,
    pub event: Event,
}

#[derive(Debug)]
struct Bus {
    tx: SyncSender<Stamped>,
    start: Instant,
    dropped: AtomicU64,
}

/// Where a scan's publishers send events; cheap to clone. The default has
/// no listener and costs one branch per publication.
#[derive(Debug, Clone, Default)]
pub struct Events(Option<Arc<Bus>>);

/// The listener's end of the stream.
#[derive(Debug)]
pub struct Listener {
    rx: Receiver<Stamped>,
    bus: Arc<Bus>,
}

impl Events {
    /// No listener: every publication is a no-op.
    pub fn none() -> Events {
        Events(None)
    }

    /// A stream of at most `capacity` waiting events and its listener.
    pub fn channel(capacity: usize) -> (Events, Listener) {
        let (tx, rx) = mpsc::sync_channel(capacity);
        let bus = Arc::new(Bus {
            tx,
            start: Instant::now(),
            dropped: AtomicU64::new(0),
        });
        (
            Events(Some(Arc::clone(&bus))),
            Listener {
                rx,
                bus: Arc::clone(&bus),
            },
        )
    }

    /// Whether anyone listens.
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Publishes the event `make` builds, dropping (and counting) it when
    /// the channel is full; `make` runs only when someone listens.
    #[inline]
    pub fn publish(&self, make: impl FnOnce() -> Event) {
        if let Some(bus) = &self.0 {
            let stamped = bus.stamp(make());
            if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
                bus.tx.try_send(stamped)
            {
                bus.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Publishes a result, waiting for a free slot (back-pressure); it is
    /// counted as dropped only when the listener has gone.
    pub fn publish_result(&self, make: impl FnOnce() -> Event) {
        if let Some(bus) = &self.0 {
            if bus.tx.send(bus.stamp(make())).is_err() {
                bus.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A host as an engine reports it: up or down, then its ports.
    pub fn host_scanned(&self, host: &HostResult) {
        if !self.is_on() {
            return;
        }
        let addr = host.addr;
        let reason = host.reason;
        self.publish_result(|| match host.status {
            HostStatus::Up => Event::HostUp { addr, reason },
            HostStatus::Down => Event::HostDown { addr, reason },
            HostStatus::Unknown => Event::HostListed { addr },
        });
        for p in &host.ports.shown {
            self.publish_result(|| Event::Port {
                addr,
                protocol: p.protocol,
                port: p.port,
                state: p.state,
                reason: p.reason,
            });
        }
        for e in &host.ports.extra {
            self.publish_result(|| Event::ExtraPorts {
                addr,
                state: e.state,
                count: e.count,
            });
        }
    }

    /// What the stages found on a host: services `-sV` identified and
    /// `-O`'s best guess.
    pub fn host_detected(&self, host: &HostResult) {
        if !self.is_on() {
            return;
        }
        let addr = host.addr;
        for p in &host.ports.shown {
            let Some(s) = p.service.as_deref() else {
                continue;
            };
            if s.method != ServiceMethod::Probed {
                continue;
            }
            self.publish_result(|| Event::Service {
                addr,
                protocol: p.protocol,
                port: p.port,
                name: s.name.clone(),
                product: s.product.clone(),
                version: s.version.clone(),
            });
        }
        if let Some(best) = host.os.as_deref().and_then(|os| os.candidates.first()) {
            self.publish_result(|| Event::Os {
                addr,
                name: best.name.clone(),
                accuracy: best.accuracy,
            });
        }
    }
}

impl Bus {
    fn stamp(&self, event: Event) -> Stamped {
        Stamped {
            at: self.start.elapsed(),
            event,
        }
    }
}

impl Listener {
    /// The next event, waiting for it; `None` once every publisher is gone.
    pub fn recv(&self) -> Option<Stamped> {
        self.rx.recv().ok()
    }

    /// The next event if one is waiting.
    pub fn try_recv(&self) -> Option<Stamped> {
        self.rx.try_recv().ok()
    }

    /// Events dropped so far because the channel was full.
    pub fn dropped(&self) -> u64 {
        self.bus.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_built_without_a_listener() {
        let events = Events::none();
        events.publish(|| unreachable!("built without a listener"));
        events.publish_result(|| unreachable!("built without a listener"));
        assert!(!events.is_on());
    }

    #[test]
    fn detection_results_are_probed_services_and_the_best_os_guess() {
        use prtip_core::result::{OsGuess, OsReport, PortResult, PortTable, ServiceInfo};
        let addr = IpAddr::V4(std::net::Ipv4Addr::new(198, 18, 4, 1));
        let port = |n, service: ServiceInfo| {
            let mut p = PortResult::new(n, Protocol::Tcp, PortState::Open, Reason::SynAck);
            p.service = Some(Box::new(service));
            p
        };
        let mut ssh = ServiceInfo::from_table("ssh");
        ssh.method = ServiceMethod::Probed;
        ssh.product = Some("OpenSSH".into());
        let guess = |name: &str, accuracy| OsGuess {
            name: name.into(),
            accuracy,
            ..OsGuess::default()
        };
        let host = HostResult {
            addr,
            hostname: None,
            status: HostStatus::Up,
            reason: Reason::SynAck,
            latency: None,
            start: std::time::SystemTime::UNIX_EPOCH,
            end: std::time::SystemTime::UNIX_EPOCH,
            ports: PortTable {
                // A name from the table is no detection result.
                shown: vec![port(22, ssh), port(80, ServiceInfo::from_table("http"))],
                extra: Vec::new(),
            },
            os: Some(Box::new(OsReport {
                candidates: vec![guess("Linux 5.0 - 5.14", 98), guess("Linux 4.15", 95)],
                ..OsReport::default()
            })),
            scripts: None,
        };
        let (events, listener) = Events::channel(8);
        events.host_detected(&host);
        let got: Vec<_> = std::iter::from_fn(|| listener.try_recv())
            .map(|s| s.event)
            .collect();
        assert_eq!(
            got,
            vec![
                Event::Service {
                    addr,
                    protocol: Protocol::Tcp,
                    port: 22,
                    name: "ssh".into(),
                    product: Some("OpenSSH".into()),
                    version: None,
                },
                Event::Os {
                    addr,
                    name: "Linux 5.0 - 5.14".into(),
                    accuracy: 98,
                },
            ]
        );
    }

    #[test]
    fn a_full_channel_drops_and_counts_diagnostics() {
        let (events, listener) = Events::channel(2);
        for round in 0..5 {
            events.publish(|| Event::Retransmission { round, pending: 1 });
        }
        assert_eq!(listener.dropped(), 3);
        let rounds: Vec<_> = std::iter::from_fn(|| listener.try_recv())
            .map(|s| s.event)
            .collect();
        assert_eq!(
            rounds,
            vec![
                Event::Retransmission {
                    round: 0,
                    pending: 1
                },
                Event::Retransmission {
                    round: 1,
                    pending: 1
                },
            ]
        );
    }

    #[test]
    fn results_wait_for_the_listener_and_count_when_it_is_gone() {
        let (events, listener) = Events::channel(1);
        let publisher = std::thread::spawn(move || {
            for round in 0..50 {
                events.publish_result(|| Event::Retransmission { round, pending: 0 });
            }
        });
        let got: Vec<_> = (0..50).filter_map(|_| listener.recv()).collect();
        publisher.join().expect("publisher");
        assert_eq!(got.len(), 50);
        assert_eq!(listener.dropped(), 0);
        let (events, listener) = Events::channel(1);
        drop(listener);
        events.publish_result(|| Event::PhaseStart { phase: "x" });
        events.publish(|| Event::PhaseStart { phase: "x" });
        let Events(Some(bus)) = &events else {
            panic!("a listener was made");
        };
        assert_eq!(bus.dropped.load(Ordering::Relaxed), 2);
    }
}
