//! The list scan (`-sL`): every target reported with status unknown,
//! nothing sent to it. Reverse DNS, when on, is the stages' (as for every
//! other scan), so the only packets of a list scan are DNS queries.

use super::hosts::report;
use crate::cancel::StopFlag;
use crate::error::ScanError;
use crate::plan::{Engine, HostJob, OnHost, ScanPlan};
use prtip_core::result::{HostStatus, PortTable, Reason};
use std::time::SystemTime;

/// Reports the targets, in order, and sends nothing.
#[derive(Debug)]
pub struct ListEngine {
    stop: StopFlag,
}

impl ListEngine {
    pub fn new(stop: StopFlag) -> ListEngine {
        ListEngine { stop }
    }
}

impl Engine for ListEngine {
    fn run(
        &self,
        jobs: &mut dyn Iterator<Item = HostJob>,
        _plan: ScanPlan,
        on_host: &mut OnHost<'_>,
    ) -> Result<(), ScanError> {
        for job in jobs {
            if self.stop.is_stopped() {
                break;
            }
            // nmap's reason for a host it never probed.
            let status = (HostStatus::Unknown, Reason::UserSet);
            let host = report(job, status, SystemTime::now(), PortTable::default());
            on_host(host).map_err(ScanError::Output)?;
        }
        Ok(())
    }

    fn probes_sent(&self) -> u64 {
        0
    }

    fn scan_type(&self) -> &'static str {
        "list"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::HostOutcome;
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn every_target_is_listed_in_order_as_unknown() {
        let jobs: Vec<HostJob> = (1..=3)
            .map(|n| HostJob {
                addr: IpAddr::V4(Ipv4Addr::new(198, 18, 0, n)),
                hostname: None,
                scope_id: 0,
            })
            .collect();
        let plan = ScanPlan {
            discovery: true,
            port_scan: false,
            max_per_state: 25,
            open_only: false,
        };
        let mut seen = Vec::new();
        let engine = ListEngine::new(StopFlag::new());
        engine
            .run(&mut jobs.into_iter(), plan, &mut |o| {
                if let HostOutcome::Done(h) = o {
                    seen.push((h.addr.to_string(), h.status, h.reason));
                }
                Ok(())
            })
            .expect("list");
        let want: Vec<_> = (1..=3)
            .map(|n| {
                let a = format!("198.18.0.{n}");
                (a, HostStatus::Unknown, Reason::UserSet)
            })
            .collect();
        assert_eq!(seen, want);
        assert_eq!(engine.probes_sent(), 0);
    }
}
