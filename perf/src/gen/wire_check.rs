//! Test support: a frame parser and checksum verifier written independently of the
//! builders in `packet.rs` and `checksum.rs`, so that a bug there cannot hide itself.

use std::collections::HashMap;

use crate::gen::Frames;

/// One parsed frame: what the checks below need.
#[derive(Debug)]
pub struct Parsed {
    pub protocol: u8,
    /// Source and destination address bytes (4 or 16 each).
    pub src: Vec<u8>,
    pub dst: Vec<u8>,
    /// The transport segment, IP padding excluded.
    pub segment: Vec<u8>,
}

impl Parsed {
    pub fn ports(&self) -> (u16, u16) {
        (be16(&self.segment, 0), be16(&self.segment, 2))
    }
    pub fn tcp_seq_ack_flags_len(&self) -> (u32, u32, u8, u32) {
        let s = &self.segment;
        let header_len = usize::from(s[12] >> 4) * 4;
        (be32(s, 4), be32(s, 8), s[13], (s.len() - header_len) as u32)
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    (u16::from(b[at]) << 8) | u16::from(b[at + 1])
}

fn be32(b: &[u8], at: usize) -> u32 {
    (u32::from(be16(b, at)) << 16) | u32::from(be16(b, at + 2))
}

/// A different formulation of RFC 1071: 32-bit accumulator folded after every word, over
/// byte indexes. Returns the folded sum (0xffff when a checksummed block verifies).
fn folded_sum(blocks: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for block in blocks {
        let mut i = 0;
        while i < block.len() {
            let high = u32::from(block[i]) << 8;
            let low = if i + 1 < block.len() {
                u32::from(block[i + 1])
            } else {
                0
            };
            sum += high | low;
            sum = (sum & 0xffff) + (sum >> 16);
            i += 2;
        }
    }
    sum as u16
}

/// Parses Ethernet (+ one 802.1Q tag), IPv4 or IPv6, checking every length, the IPv4
/// header checksum and the transport checksum; panics with the reason otherwise.
pub fn parse_and_verify(frame: &[u8]) -> Parsed {
    assert!(frame.len() >= 60, "frame below Ethernet minimum");
    let mut at = 12;
    if be16(frame, at) == 0x8100 {
        at += 4;
    }
    let ethertype = be16(frame, at);
    let ip = &frame[at + 2..];
    let (protocol, src, dst, segment) = match ethertype {
        0x0800 => {
            assert_eq!(ip[0], 0x45, "IPv4 version/IHL");
            let total = usize::from(be16(ip, 2));
            assert!(total >= 20 && total <= ip.len(), "IPv4 total length");
            assert_eq!(folded_sum(&[&ip[..20]]), 0xffff, "IPv4 header checksum");
            (
                ip[9],
                ip[12..16].to_vec(),
                ip[16..20].to_vec(),
                &ip[20..total],
            )
        }
        0x86dd => {
            assert_eq!(ip[0] >> 4, 6, "IPv6 version");
            let payload = usize::from(be16(ip, 4));
            assert!(40 + payload <= ip.len(), "IPv6 payload length");
            (
                ip[6],
                ip[8..24].to_vec(),
                ip[24..40].to_vec(),
                &ip[40..40 + payload],
            )
        }
        other => panic!("unexpected ethertype {other:#06x}"),
    };
    let length = (segment.len() as u32).to_be_bytes();
    let pseudo_header = [&src[..], &dst[..], &[0, protocol], &length[..]].concat();
    match protocol {
        1 => assert_eq!(folded_sum(&[segment]), 0xffff, "ICMPv4 checksum"),
        6 | 17 | 58 => {
            assert_eq!(
                folded_sum(&[&pseudo_header, segment]),
                0xffff,
                "checksum of protocol {protocol}"
            );
            if protocol == 17 {
                assert_eq!(usize::from(be16(segment, 4)), segment.len(), "UDP length");
                assert_ne!(be16(segment, 6), 0, "UDP checksum present");
            }
        }
        other => panic!("unexpected protocol {other}"),
    }
    Parsed {
        protocol,
        src,
        dst,
        segment: segment.to_vec(),
    }
}

/// Checks that every TCP segment carries its sender's next sequence number and, with ACK,
/// the peer's next sequence number, per 5-tuple. A SYN without ACK starts a new connection
/// (tcp-reuse). A RST with seq 0 from a side that never sent is the closed-port answer of
/// RFC 9293 and is only checked for its ack.
pub fn assert_consistent_seq_ack(frames: &Frames) {
    // (client endpoint, server endpoint) -> next seq per endpoint.
    let mut next: HashMap<(Vec<u8>, u16), u32> = HashMap::new();
    for (index, (_, frame)) in frames.iter().enumerate() {
        let parsed = parse_and_verify(frame);
        if parsed.protocol != 6 {
            continue;
        }
        let (sport, dport) = parsed.ports();
        let (seq, ack, flags, len) = parsed.tcp_seq_ack_flags_len();
        let me = (parsed.src.clone(), sport);
        let peer = (parsed.dst.clone(), dport);
        let (syn, fin, rst, has_ack) = (
            flags & 2 != 0,
            flags & 1 != 0,
            flags & 4 != 0,
            flags & 16 != 0,
        );
        let closed_port_rst = rst && seq == 0 && !next.contains_key(&me);
        if syn && !has_ack {
            // A new connection, possibly on a reused 5-tuple.
            next.remove(&me);
            next.remove(&peer);
        } else if syn {
            assert!(!next.contains_key(&me), "frame {index}: second SYN-ACK");
        } else if !closed_port_rst {
            assert_eq!(Some(seq), next.get(&me).copied(), "frame {index}: seq");
        }
        if has_ack {
            assert_eq!(Some(ack), next.get(&peer).copied(), "frame {index}: ack");
        }
        if !closed_port_rst {
            next.insert(me, seq.wrapping_add(len + u32::from(syn) + u32::from(fin)));
        }
    }
}

/// The checkers must be able to fail, or the tests built on them prove nothing.
mod self_tests {
    use super::*;
    use crate::gen::scenarios::Scenario;
    use crate::gen::IpFamily;

    #[test]
    #[should_panic(expected = "checksum of protocol 6")]
    fn a_flipped_payload_bit_fails_the_checksum() {
        let mut frames = Scenario::TcpFin.frames(IpFamily::V6);
        let last = frames[3].1.len() - 1;
        frames[3].1[last] ^= 1;
        parse_and_verify(&frames[3].1);
    }

    #[test]
    #[should_panic(expected = "IPv4 header checksum")]
    fn a_changed_ttl_fails_the_header_checksum() {
        let mut frame = Scenario::TcpFin.frames(IpFamily::V4).remove(0).1;
        frame[22] -= 1;
        parse_and_verify(&frame);
    }

    #[test]
    #[should_panic(expected = "frame 3: ack")]
    fn a_dropped_segment_breaks_the_sequence() {
        let mut frames = Scenario::TcpFin.frames(IpFamily::V4);
        frames.remove(3); // the request: the server then acknowledges bytes never seen
        assert_consistent_seq_ack(&frames);
    }
}
