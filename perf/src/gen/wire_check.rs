//! Test support: every generated frame read back and checked by the test kit's parser
//! (`synwall_testkit::parse::verify`, written apart from the builders), plus what the
//! generator promises on top: frames padded to the Ethernet minimum, IPv4 without options,
//! only TCP, UDP and ICMP(v6).

use std::collections::HashMap;

use synwall_testkit::parse::verify;

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

fn octets(ip: std::net::IpAddr) -> Vec<u8> {
    match ip {
        std::net::IpAddr::V4(a) => a.octets().to_vec(),
        std::net::IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// Parses Ethernet (+ tags), IPv4 or IPv6, checking every length, the IPv4 header checksum
/// and the transport checksum; panics with the reason otherwise.
pub fn parse_and_verify(frame: &[u8]) -> Parsed {
    assert!(frame.len() >= 60, "frame below Ethernet minimum");
    let p = verify(frame).unwrap_or_else(|reason| panic!("{reason}: {frame:02x?}"));
    if p.spec.ips.family() == synwall_testkit::frame::IpFamily::V4 {
        assert_eq!(p.l4 - p.l3, 20, "IPv4 header without options");
    }
    assert!(
        matches!(p.protocol, 1 | 6 | 17 | 58),
        "unexpected protocol {}",
        p.protocol
    );
    Parsed {
        protocol: p.protocol,
        src: octets(p.spec.ips.src()),
        dst: octets(p.spec.ips.dst()),
        segment: p.segment().to_vec(),
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
