//! A port list's positions, shared by the raw engines: the `i`-th port of
//! the list and the position of a port, from the list's ranges, without
//! expanding the list.

use prtip_core::ports::PortList;

/// Position of a port in the scan's port list, and back, without expanding it.
#[derive(Debug, Clone)]
pub struct PortIndex {
    /// (first port, last port, index of the first port)
    ranges: Vec<(u16, u16, u32)>,
    len: u32,
}

impl PortIndex {
    pub fn new(ports: &PortList) -> Self {
        let mut ranges = Vec::with_capacity(ports.ranges().len());
        let mut at = 0u32;
        for &(lo, hi) in ports.ranges() {
            ranges.push((lo, hi, at));
            at += u32::from(hi - lo) + 1;
        }
        PortIndex { ranges, len: at }
    }

    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `i`-th port.
    pub fn port(&self, i: u32) -> Option<u16> {
        let r = self.ranges.partition_point(|&(_, _, start)| start <= i);
        let &(lo, hi, start) = self.ranges.get(r.checked_sub(1)?)?;
        let p = u32::from(lo) + (i - start);
        (p <= u32::from(hi)).then_some(p as u16)
    }

    /// Index of `port`, if scanned.
    pub fn index(&self, port: u16) -> Option<u32> {
        let r = self.ranges.partition_point(|&(lo, _, _)| lo <= port);
        let &(lo, hi, start) = self.ranges.get(r.checked_sub(1)?)?;
        (port <= hi).then(|| start + u32::from(port - lo))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_index_round_trips() {
        let ports = PortList::from_ranges([(22, 22), (80, 81), (1000, 1999)]);
        let idx = PortIndex::new(&ports);
        assert_eq!(idx.len(), 1003);
        for (i, p) in ports.iter().enumerate() {
            assert_eq!(idx.port(i as u32), Some(p));
            assert_eq!(idx.index(p), Some(i as u32));
        }
        assert_eq!(idx.port(1003), None);
        assert_eq!(idx.index(23), None);
        assert_eq!(idx.index(2000), None);
        assert_eq!(idx.index(1), None);
    }
}
