//! The Internet checksum (RFC 1071) and the IPv4 / IPv6 pseudo-headers.
//!
//! This is the only checksum code in prtip: the builders, the SYN template's
//! precomputed partial sums and the OS-detection parser all use it, so a
//! probe and its template can never disagree about a carry.
//!
//! Sums are carried as `u32` partial sums that are kept small (at most
//! 17 bits after [`sum`]), so callers may add a handful of them, plus a few
//! 16-bit words, before calling [`fold`] without any risk of overflow.

use std::net::{Ipv4Addr, Ipv6Addr};

/// One's-complement partial sum of `data` as big-endian 16-bit words; an
/// odd trailing byte is padded with a zero byte (RFC 1071 §4.1).
///
/// The result is folded to 16 bits (not complemented), so any number of
/// bytes is fine and results can be added together.
#[inline]
pub fn sum(data: &[u8]) -> u32 {
    let mut words = data.chunks_exact(2);
    // u64: no input a slice can hold overflows it (2^48 words of 0xffff).
    let mut acc: u64 = words
        .by_ref()
        .map(|w| u64::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    if let [last] = words.remainder() {
        acc += u64::from(*last) << 8;
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    // The loop leaves at most 16 bits.
    acc as u32
}

/// Folds the carries of a partial sum back in and complements it: the
/// value that goes into a checksum field.
///
/// Two folds suffice for any `u32`: the first leaves at most `0x1_fffe`,
/// the second at most `0xffff`.
#[inline]
pub const fn fold(mut s: u32) -> u16 {
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    !(s as u16)
}

/// The checksum of `data` alone (IPv4 header, ICMPv4 message).
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    fold(sum(data))
}

/// True when `data`, checksum field included, sums to all ones: the
/// receiver's test of RFC 1071 §1.
#[inline]
pub fn verifies(data: &[u8]) -> bool {
    checksum(data) == 0
}

/// Partial sum of the IPv4 pseudo-header (RFC 9293 §3.1, RFC 768): source,
/// destination, zero byte, protocol, upper-layer length.
#[inline]
pub fn ipv4_pseudo_sum(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: u16) -> u32 {
    sum(&src.octets()) + sum(&dst.octets()) + u32::from(proto) + u32::from(len)
}

/// Partial sum of the IPv6 pseudo-header (RFC 8200 §8.1): source (16),
/// destination (16), upper-layer length (32 bits), three zero bytes, next
/// header. The length is that of the upper-layer header plus data, without
/// any extension header in front of it.
#[inline]
pub fn ipv6_pseudo_sum(src: &Ipv6Addr, dst: &Ipv6Addr, len: u32, next_header: u8) -> u32 {
    let [l0, l1, l2, l3] = len.to_be_bytes();
    let len_sum = u32::from(u16::from_be_bytes([l0, l1])) + u32::from(u16::from_be_bytes([l2, l3]));
    sum(&src.octets()) + sum(&dst.octets()) + len_sum + u32::from(next_header)
}

/// Checksum of a TCP / UDP segment behind an IPv4 header. `None` if the
/// segment is longer than an IPv4 packet can carry.
#[inline]
pub fn ipv4_transport(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, segment: &[u8]) -> Option<u16> {
    let len = u16::try_from(segment.len()).ok()?;
    Some(fold(ipv4_pseudo_sum(src, dst, proto, len) + sum(segment)))
}

/// Checksum of an upper-layer message (TCP, UDP, ICMPv6) behind IPv6
/// headers. `None` if it is longer than a jumbogram can carry.
#[inline]
pub fn ipv6_transport(src: &Ipv6Addr, dst: &Ipv6Addr, next: u8, upper: &[u8]) -> Option<u16> {
    let len = u32::try_from(upper.len()).ok()?;
    Some(fold(ipv6_pseudo_sum(src, dst, len, next) + sum(upper)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to 0x2ddf0, folds to
        // 0xddf2; its complement is the checksum.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(sum(&data), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(&[0x12]), 0x1200);
        assert_eq!(sum(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }

    #[test]
    fn long_input_does_not_overflow() {
        let ones = vec![0xffu8; 1 << 20];
        assert_eq!(sum(&ones), 0xffff);
        assert!(verifies(&ones));
    }

    #[test]
    fn fold_handles_the_largest_sums() {
        assert_eq!(fold(0), 0xffff);
        assert_eq!(fold(0xffff), 0);
        assert_eq!(fold(0xffff_ffff), 0);
        assert_eq!(fold(0x1_fffe), 0);
    }

    #[test]
    fn ipv6_pseudo_header_counts_every_field() {
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        let dst: Ipv6Addr = "2001:db8::2".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        // 0x2001 + 0x0db8 + 1, twice (with 2 for dst), + length words + NH.
        let want = 2 * (0x2001 + 0x0db8) + 1 + 2 + 0x0001 + 0x0002 + 58;
        assert_eq!(ipv6_pseudo_sum(&src, &dst, 0x0001_0002, 58), want);
    }
}
