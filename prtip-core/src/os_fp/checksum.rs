//! The Internet checksum (RFC 1071), over slices of any length.

/// Sum of big-endian 16-bit words; an odd trailing byte is padded with zero.
/// u64 so that no input length can overflow it.
pub(crate) fn sum_words(data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(2);
    let mut sum: u64 = chunks
        .by_ref()
        .map(|w| u64::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

/// Folds carries back in and complements.
pub(crate) fn finish(mut sum: u64) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The loop leaves at most 16 bits.
    !(sum as u16)
}

/// Checksum of a transport segment with the IPv4 pseudo-header.
pub(crate) fn transport(src: [u8; 4], dst: [u8; 4], proto: u8, segment: &[u8]) -> u16 {
    let len = segment.len() as u64;
    finish(sum_words(&src) + sum_words(&dst) + u64::from(proto) + len + sum_words(segment))
}

/// True when `header` (checksum field included) sums to all ones.
pub(crate) fn verifies(header: &[u8]) -> bool {
    finish(sum_words(header)) == 0
}
