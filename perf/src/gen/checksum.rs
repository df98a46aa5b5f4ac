//! The Internet checksum (RFC 1071) and the transport pseudo-header.
//!
//! One implementation serves IPv4 and IPv6: the pseudo-header's one's-complement sum is the
//! sum of both addresses' 16-bit words, the protocol and the length, whatever the address
//! width. (IPv6 writes the length on 32 bits and the next header after 24 zero bits; those
//! zeros add nothing, so the sums are equal.)

/// Adds `data` to a running one's-complement sum as big-endian 16-bit words; an odd last
/// byte is padded with a zero. Sums of up to 2^48 bytes cannot overflow the accumulator.
pub fn sum_words(mut sum: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(2);
    for word in &mut words {
        sum += u64::from(u16::from_be_bytes([word[0], word[1]]));
    }
    if let [last] = words.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

/// Folds a running sum to 16 bits and complements it: the value to write in a header.
pub fn finish(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The checksum of `data` alone (IPv4 header, ICMPv4 message).
pub fn internet_checksum(data: &[u8]) -> u16 {
    finish(sum_words(0, data))
}

/// One's-complement sum of the pseudo-header of a transport segment of `length` bytes
/// between `src` and `dst` (4-byte or 16-byte addresses).
pub fn pseudo_header_sum(src: &[u8], dst: &[u8], protocol: u8, length: u32) -> u64 {
    let sum = sum_words(sum_words(0, src), dst);
    sum + u64::from(protocol) + u64::from(length >> 16) + u64::from(length & 0xffff)
}

/// TCP, UDP or ICMPv6 checksum of `segment` (its checksum field zeroed) under the
/// pseudo-header. UDP callers replace a result of 0 by 0xffff (RFC 768).
pub fn transport_checksum(src: &[u8], dst: &[u8], protocol: u8, segment: &[u8]) -> u16 {
    let length = u32::try_from(segment.len()).expect("segment longer than 4 GiB");
    finish(sum_words(
        pseudo_header_sum(src, dst, protocol, length),
        segment,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (folded).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&data), !0xddf2);
    }

    #[test]
    fn known_ipv4_header() {
        // A classic example header (Wikipedia, "IPv4 header checksum"): checksum b861.
        let header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(internet_checksum(&header), 0xb861);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(internet_checksum(&[0x12]), !0x1200);
        assert_eq!(internet_checksum(&[0x12, 0x34, 0x56]), !(0x1234 + 0x5600));
    }
}
