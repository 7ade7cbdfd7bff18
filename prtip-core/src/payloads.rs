//! UDP payloads sent with each `-sU` probe: nmap's nmap-payloads, read at
//! run time, or prtip's own small file when nmap is not installed.
//!
//! PLACEHOLDER: the parser lands in a following commit; until then no port
//! has a payload and every probe is an empty datagram.

use crate::services::Loaded;
use std::ops::Range;

/// Bytes of a request that a well-behaved server copies into its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo {
    pub request: Range<usize>,
    pub reply: Range<usize>,
}

/// Where `payload` to `port` has a field its reply echoes, if anywhere.
pub fn echo_field(_port: u16, _payload: &[u8]) -> Option<Echo> {
    None
}

/// Payloads per UDP port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayloadDb {
    _private: (),
}

impl PayloadDb {
    /// Parses the text of an nmap-payloads file named `file` (for warnings).
    pub fn parse(_text: &str, _file: &str) -> Loaded<PayloadDb> {
        Loaded {
            value: PayloadDb::default(),
            warnings: Vec::new(),
        }
    }

    /// prtip's own payload file, for machines without nmap.
    pub fn builtin() -> PayloadDb {
        PayloadDb::default()
    }

    /// Every payload for `port`, in file order; none means an empty datagram.
    pub fn for_port(&self, _port: u16) -> impl Iterator<Item = &[u8]> + '_ {
        std::iter::empty()
    }
}
