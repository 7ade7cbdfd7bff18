//! Bounds-checked big-endian reads, shared by every view so that none of
//! them indexes a slice directly.

use std::net::{Ipv4Addr, Ipv6Addr};

#[inline]
pub(crate) fn array<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

#[inline]
pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    array(b, at).map(u16::from_be_bytes)
}

#[inline]
pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    array(b, at).map(u32::from_be_bytes)
}

#[inline]
pub(crate) fn ipv4(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    array::<4>(b, at).map(Ipv4Addr::from)
}

#[inline]
pub(crate) fn ipv6(b: &[u8], at: usize) -> Option<Ipv6Addr> {
    array::<16>(b, at).map(Ipv6Addr::from)
}
