//! nmap-style OS fingerprinting (second generation, `-O`): the probes, what
//! their replies are reduced to, and the computation of every test line
//! from those replies. Pure functions; the engine that sends and receives
//! lives in `prtip-scanner`. Packets are built and read by [`crate::wire`],
//! like every other packet prtip handles; this module only chooses field
//! values and decides what a reply means.
//!
//! The probe set and the meaning of each test follow the Nmap book's chapter
//! "TCP/IP Fingerprinting Methods Supported by Nmap"; the output is a
//! [`Fingerprint`](crate::os_db::Fingerprint) that `os_db::best_matches` can
//! score, in nmap's test order (`SEQ OPS WIN ECN T1..T7 U1 IE`).
//!
//! Flow: [`ProbePlan`] decides ports, sequence numbers and ids and builds
//! each [`Probe`] with [`ProbePlan::build`]; replies are parsed with
//! [`parse_os_reply`] and attributed with [`ProbePlan::classify`]; the engine
//! stores them in [`Observations`] together with the SEQ probes' send times;
//! [`compute`] turns that into the fingerprint and [`render_wrapped`] prints
//! it the way nmap's `TCP/IP fingerprint:` block does.

mod lines;
mod obs;
mod probes;
mod render;
mod reply;
mod seq;
mod val;

pub use lines::{crc32, initial_ttl_guess, tcp_options_string};
pub use obs::{Observations, ProbeNumbers};
pub use probes::{Probe, ProbePlan, MAX_PROBE_LEN, PROBE_COUNT, U1_IP_ID, U1_PAYLOAD_LEN};
pub use render::{compute, compute_with_scan, render_plain, render_wrapped, ScanInfo};
pub use reply::{parse_os_reply, EchoInfo, IpInfo, OsReply, ReplyBody, TcpInfo, UnreachInfo};
pub use seq::{ipid_class, IpIdSource};
pub use val::Val;
