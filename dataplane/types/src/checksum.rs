//! The Internet checksum (RFC 1071) and the transport pseudo-header: the workspace's one
//! implementation. The engine writes it into the packets it forges (`forge`); the test kit
//! writes it into the frames it builds and checks it in the frames it reads back.
//!
//! One routine serves IPv4 and IPv6: the pseudo-header's one's-complement sum is the sum of
//! both addresses' 16-bit words, the protocol and the length, whatever the address width.
//! (IPv6 writes the length on 32 bits and the next header after 24 zero bits; those zeros add
//! nothing, so the sums are equal.)
//!
//! A block that carries its own checksum verifies when its checksum, computed over the block
//! with the field in place, is 0 (its folded sum is 0xffff).

/// Adds `data` to a running one's-complement sum as big-endian 16-bit words; an odd last
/// byte is padded with a zero. Sums of up to 2^48 bytes cannot overflow the accumulator.
/// Blocks added one after another must start at even offsets of the summed data.
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

/// TCP, UDP or ICMPv6 checksum of `segment` (its checksum field zeroed, or in place to
/// verify) under the pseudo-header. UDP senders replace a result of 0 by 0xffff (RFC 768).
pub fn transport_checksum(src: &[u8], dst: &[u8], protocol: u8, segment: &[u8]) -> u16 {
    let length = u32::try_from(segment.len()).unwrap_or(u32::MAX);
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
        // With the checksum in place, the header verifies.
        let mut filled = header;
        filled[10..12].copy_from_slice(&0xb861u16.to_be_bytes());
        assert_eq!(internet_checksum(&filled), 0);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(internet_checksum(&[0x12]), !0x1200);
        assert_eq!(internet_checksum(&[0x12, 0x34, 0x56]), !(0x1234 + 0x5600));
    }

    #[test]
    fn carries_fold_back_in() {
        // 65536 words of 0x0001 sum to 0x10000, which folds to 0x0001.
        let ones: Vec<u8> = (0..65_536).flat_map(|_| [0, 1]).collect();
        assert_eq!(internet_checksum(&ones), !0x0001);
        // Any number of 0xffff words is "negative zero": the checksum is 0.
        assert_eq!(internet_checksum(&[0xff; 100]), 0);
        // A carry out of the last fold: 0xffff + 0x0001 = 0x10000 -> 0x0001.
        assert_eq!(internet_checksum(&[0xff, 0xff, 0x00, 0x01]), !0x0001);
    }

    #[test]
    fn udp_over_ipv4_by_hand() {
        // 10.0.0.1 -> 10.0.0.2, UDP 1 -> 2, length 8, no data. Pseudo-header words 0a00 0001
        // 0a00 0002 0011 0008 and header words 0001 0002 0008 0000 sum to 0x1427.
        let udp = [0, 1, 0, 2, 0, 8, 0, 0];
        let sum = transport_checksum(&[10, 0, 0, 1], &[10, 0, 0, 2], 17, &udp);
        assert_eq!(sum, !0x1427);
        let mut filled = udp;
        filled[6..8].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(
            transport_checksum(&[10, 0, 0, 1], &[10, 0, 0, 2], 17, &filled),
            0
        );
    }

    #[test]
    fn pseudo_header_matches_both_wire_layouts() {
        // RFC 768's 12-byte IPv4 layout and RFC 8200's 40-byte IPv6 layout, summed as bytes.
        let (s4, d4) = ([192, 0, 2, 1], [198, 51, 100, 7]);
        let v4 = [&s4[..], &d4, &[0, 6], &1234u16.to_be_bytes()].concat();
        assert_eq!(pseudo_header_sum(&s4, &d4, 6, 1234), sum_words(0, &v4));
        let (s6, d6) = ([0x20; 16], [0xfe; 16]);
        let length = 70_000u32.to_be_bytes();
        let v6 = [&s6[..], &d6, &length, &[0, 0, 0, 58]].concat();
        assert_eq!(pseudo_header_sum(&s6, &d6, 58, 70_000), sum_words(0, &v6));
    }
}
