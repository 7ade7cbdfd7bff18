//! Two engines over the same hosts, as nmap runs `-sS -sU`: the first does
//! host discovery (and its TCP scan, if any), the second scans the hosts
//! found up, and each host is reported once with one port table.
//!
//! Hosts go through in chunks, so only a chunk's results wait in memory
//! between the two scans; within a chunk each engine still scans all its
//! hosts at once.

use crate::error::ScanError;
use crate::plan::{Engine, HostJob, HostOutcome, OnHost, ScanPlan};
use prtip_core::result::{HostResult, HostStatus};
use std::collections::VecDeque;
use std::sync::Arc;

/// Hosts per chunk: results held between the two scans are a few hundred
/// bytes a host (collapsed port states are counters).
const CHUNK: usize = 1024;

/// A first engine (discovery, maybe TCP) followed by a second (UDP).
#[derive(Debug)]
pub struct PairEngine {
    first: Arc<dyn Engine>,
    /// False when the first engine only finds hosts (`-sU` alone).
    first_scans_ports: bool,
    second: Arc<dyn Engine>,
}

impl PairEngine {
    pub fn new(first: Arc<dyn Engine>, first_scans_ports: bool, second: Arc<dyn Engine>) -> Self {
        PairEngine {
            first,
            first_scans_ports,
            second,
        }
    }

    /// What the first engine says of each host of `chunk`, in order.
    fn first_pass(&self, chunk: &[HostJob], plan: ScanPlan) -> Result<Vec<HostOutcome>, ScanError> {
        let mut found = Vec::with_capacity(chunk.len());
        let p = ScanPlan {
            port_scan: plan.port_scan && self.first_scans_ports,
            ..plan
        };
        self.first.run(&mut chunk.iter().cloned(), p, &mut |o| {
            found.push(o);
            Ok(())
        })?;
        Ok(found)
    }

    /// The second engine's results for the hosts of `firsts` that are up.
    fn second_pass(
        &self,
        firsts: &[HostOutcome],
        plan: ScanPlan,
    ) -> Result<VecDeque<HostOutcome>, ScanError> {
        let mut up = firsts.iter().filter_map(|o| match o {
            HostOutcome::Done(h) if h.status == HostStatus::Up => Some(HostJob {
                addr: h.addr,
                hostname: h.hostname.clone(),
                scope_id: 0,
            }),
            _ => None,
        });
        let mut got = VecDeque::new();
        if plan.port_scan {
            let p = ScanPlan {
                discovery: false,
                ..plan
            };
            self.second.run(&mut up, p, &mut |o| {
                got.push_back(o);
                Ok(())
            })?;
        }
        Ok(got)
    }
}

/// One host's report from both scans.
fn combine(first: HostResult, second: HostResult, plan: &ScanPlan) -> HostResult {
    HostResult {
        ports: first
            .ports
            .merge(second.ports, plan.max_per_state, plan.open_only),
        end: second.end,
        ..first
    }
}

impl Engine for PairEngine {
    fn run(
        &self,
        jobs: &mut dyn Iterator<Item = HostJob>,
        plan: ScanPlan,
        on_host: &mut OnHost<'_>,
    ) -> Result<(), ScanError> {
        if !(plan.discovery || self.first_scans_ports && plan.port_scan) {
            // -Pn with -sU alone: the second engine has the hosts to itself,
            // streamed, with no chunk held in between.
            return self.second.run(jobs, plan, on_host);
        }
        loop {
            let chunk: Vec<HostJob> = (&mut *jobs).take(CHUNK).collect();
            if chunk.is_empty() {
                return Ok(());
            }
            let firsts = self.first_pass(&chunk, plan)?;
            let mut seconds = self.second_pass(&firsts, plan)?;
            for first in firsts {
                let out = match first {
                    HostOutcome::Done(h) if h.status == HostStatus::Up && plan.port_scan => {
                        match seconds.pop_front() {
                            Some(HostOutcome::Done(s)) if s.addr == h.addr => {
                                HostOutcome::Done(combine(h, s, &plan))
                            }
                            Some(HostOutcome::TimedOut(j)) => HostOutcome::TimedOut(j),
                            // The scan stopped before this host was done.
                            _ => return Ok(()),
                        }
                    }
                    other => other,
                };
                on_host(out).map_err(ScanError::Output)?;
            }
        }
    }

    fn probes_sent(&self) -> u64 {
        self.first.probes_sent() + self.second.probes_sent()
    }

    fn scan_type(&self) -> &'static str {
        if self.first_scans_ports {
            self.first.scan_type()
        } else {
            self.second.scan_type()
        }
    }

    fn publish_to(&self, events: &crate::events::Events) {
        self.first.publish_to(events);
        self.second.publish_to(events);
    }
}
