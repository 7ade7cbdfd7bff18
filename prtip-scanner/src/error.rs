//! Errors of the scan engines; each Display is one line for the user.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot use source address {addr}: {source}")]
    SourceAddress {
        addr: std::net::IpAddr,
        source: io::Error,
    },
    #[error("cannot bind to interface {iface}: {source}")]
    Interface { iface: String, source: io::Error },
    #[error("out of local resources after repeated retries: {0}")]
    Resources(io::Error),
    #[error("sending packets failed: {0}")]
    Send(io::Error),
    #[error("receiving packets failed: {0}")]
    Receive(io::Error),
    #[error("cannot set up TLS for version detection: {0}")]
    Tls(String),
    #[error("no route to {addr}: {source}")]
    NoRoute {
        addr: std::net::IpAddr,
        source: io::Error,
    },
    #[error("cannot open raw sockets{}: {source}", on_interface(interface))]
    RawSockets {
        interface: Option<String>,
        source: io::Error,
    },
    #[error("cannot read random bytes for the scan's secret: {0}")]
    Random(io::Error),
    #[error("cannot read {path}: {source}")]
    Database { path: String, source: io::Error },
    #[error("{0}")]
    Unsupported(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(io::Error),
    #[error("writing results failed: {0}")]
    Output(io::Error),
}

fn on_interface(interface: &Option<String>) -> String {
    interface
        .as_ref()
        .map(|i| format!(" on {i}"))
        .unwrap_or_default()
}
