//! Real daemons (ssh 22, nginx http 80 + https 443, and the others of
//! `scripts/services`) in a network namespace of their own; or its UDP set
//! (dnsmasq 53, tftpd-hpa 69, chrony 123, snmpd 161) with
//! [`ServicesNetns::up_set`]. Each answers on IPv6 too (`::1`), with the
//! same configuration, when the kernel has IPv6.

use std::process::Command;
use std::time::Duration;

use crate::prereq::{missing, require_root, require_tool};
use crate::process::{describe, run_teardown, run_timeout};

/// The daemons of `scripts/services` in namespace `name`, without the veth
/// (`PRTIP_SVC_VETH=0`): they are reachable only at 127.0.0.1 and ::1
/// inside it.
/// `scripts/services down` runs on drop, also when the test fails.
#[derive(Debug)]
pub struct ServicesNetns {
    pub name: String,
    /// `scripts/services --set`: `tcp` or `udp`.
    pub set: &'static str,
}

impl ServicesNetns {
    /// `scripts/services` of this repository.
    pub fn script() -> std::path::PathBuf {
        crate::repo_path("scripts/services")
    }

    /// `scripts/services --netns <name> up`; None (after a loud skip, or a
    /// failure under CI) without root or `ip`, or when the daemons do not
    /// come up. `name`: at most 12 characters of `[a-z0-9_-]`.
    pub fn up(name: &str) -> Option<ServicesNetns> {
        Self::up_set(name, "tcp")
    }

    /// [`up`](Self::up) for one set of `scripts/services` (`tcp` or `udp`).
    pub fn up_set(name: &str, set: &'static str) -> Option<ServicesNetns> {
        if !require_root() || !require_tool("ip") {
            return None;
        }
        // From here on Drop runs `scripts/services down`, whatever happens.
        let svc = ServicesNetns {
            name: name.to_string(),
            set,
        };
        let out = run_timeout(
            Command::new(Self::script())
                .args(["--set", set, "--netns", name, "up"])
                .env("PRTIP_SVC_VETH", "0"),
            Duration::from_secs(600),
        );
        if !out.status.success() {
            eprintln!("{}", describe(&out));
            drop(svc);
            missing("real daemons (scripts/services up failed)");
            return None;
        }
        Some(svc)
    }

    /// `ip netns exec <name> <program>` (the daemons answer at 127.0.0.1
    /// and ::1).
    pub fn cmd(&self, program: &str) -> Command {
        crate::netns::cmd(&self.name, program)
    }

    /// Path of the namespace's handle, for [`crate::netns::NetnsGuard`].
    pub fn netns_path(&self) -> String {
        crate::netns::path(&self.name)
    }
}

impl Drop for ServicesNetns {
    fn drop(&mut self) {
        run_teardown(
            Command::new(Self::script()).args(["--set", self.set, "--netns", &self.name, "down"]),
            Duration::from_secs(120),
            &format!("scripts/services down for {}", self.name),
        );
    }
}
