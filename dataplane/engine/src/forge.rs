//! Packets the firewall sends: TCP resets and ICMP unreachables, built so that real stacks
//! accept them (RFC 793 reset generation, correct IP, TCP and ICMP checksums).
//!
//! Every builder writes one Ethernet frame into the caller's buffer and returns its length,
//! or `None` when the buffer is too small or the offending frame does not qualify (not IP, not
//! TCP for a reset, an ICMP error or a non-initial fragment for an unreachable). Frames are
//! padded to the Ethernet minimum of 60 bytes (FCS excluded). VLAN tags are kept as they were.
//! No allocation, no panic on any input.

use crate::flow::{PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP};
use crate::wire::{tcp_flags, IcmpKind, Kind, Parsed, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use synwall_types::checksum::{finish, internet_checksum, pseudo_header_sum, sum_words};

/// Hop limit / TTL of forged packets.
pub const FORGED_TTL: u8 = 64;
/// Ethernet minimum frame length without FCS; shorter frames are zero-padded.
pub const MIN_FRAME: usize = 60;
/// The largest IPv6 ICMP error (RFC 4443 §2.4: must not exceed the minimum MTU).
pub const ICMPV6_ERROR_MAX: usize = 1280;

const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const TCP_HEADER: usize = 20;
const ICMP_HEADER: usize = 8;

/// Which unreachable to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unreachable {
    /// ICMP 3/13, ICMPv6 1/1.
    AdminProhibited,
    /// ICMP 3/3, ICMPv6 1/4.
    PortUnreachable,
}

impl Unreachable {
    /// (type, code) for IPv4 (`v6 == false`) or IPv6.
    pub const fn type_code(self, v6: bool) -> (u8, u8) {
        match (self, v6) {
            (Unreachable::AdminProhibited, false) => (3, 13),
            (Unreachable::PortUnreachable, false) => (3, 3),
            (Unreachable::AdminProhibited, true) => (1, 1),
            (Unreachable::PortUnreachable, true) => (1, 4),
        }
    }
}

/// The pseudo-header sum for a transport segment of `len` bytes (at most 64 KiB here).
fn pseudo(v6: bool, src: &[u8; 16], dst: &[u8; 16], proto: u8, len: usize) -> u64 {
    let (src, dst) = if v6 {
        (&src[..], &dst[..])
    } else {
        (&src[12..], &dst[12..])
    };
    pseudo_header_sum(src, dst, proto, len as u32)
}

/// Whether a packet's destination may be the source of an answer: a unicast address (not
/// IPv4 multicast, reserved or broadcast 224/3, not IPv6 multicast ff00::/8, not unspecified).
fn answerable(dst: &[u8; 16], v6: bool) -> bool {
    if v6 {
        dst[0] != 0xff && dst.iter().any(|&b| b != 0)
    } else {
        dst[12] < 224 && dst[12..] != [0, 0, 0, 0]
    }
}

/// Who the forged packet goes to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Toward {
    /// Back to the offending packet's sender: MACs, addresses and ports swapped.
    Sender,
    /// On to its destination, as if from its sender.
    Receiver,
}

/// Writes the L2 header (with VLAN tags and the final ethertype of the original frame) and
/// an IP header with no options for `l4_len` transport bytes. Returns the L4 offset.
fn write_headers(
    frame: &[u8],
    p: &Parsed,
    toward: Toward,
    proto: u8,
    l4_len: usize,
    out: &mut [u8],
) -> Option<usize> {
    let l2 = usize::from(p.l3_offset);
    let v6 = p.key.family == 6;
    let ip_header = if v6 { IPV6_HEADER } else { IPV4_HEADER };
    let total = l2 + ip_header + l4_len;
    if l2 < 14 || out.len() < total.max(MIN_FRAME) || p.kind != Kind::Ip {
        return None;
    }
    if (v6 && p.ethertype != ETHERTYPE_IPV6) || (!v6 && p.ethertype != ETHERTYPE_IPV4) {
        return None;
    }
    // Back to the sender, the forged packet's source is the offending packet's destination:
    // never answer a packet sent to a multicast, broadcast or unspecified address (RFC 1122
    // 3.2.2 and 4.2.3.10, RFC 4443 2.4 e). The answer would come from an address no host may
    // send from (the parser itself drops such sources). Found by the `parse` fuzz target.
    if toward == Toward::Sender && !answerable(&p.key.dst, v6) {
        return None;
    }
    let eth = frame.get(..l2)?;
    out[..l2].copy_from_slice(eth);
    let (src, dst) = match toward {
        Toward::Sender => {
            out[..6].copy_from_slice(&eth[6..12]);
            out[6..12].copy_from_slice(&eth[..6]);
            (&p.key.dst, &p.key.src)
        }
        Toward::Receiver => (&p.key.src, &p.key.dst),
    };
    let ip = &mut out[l2..l2 + ip_header];
    if v6 {
        ip[..4].copy_from_slice(&[0x60, 0, 0, 0]);
        ip[4..6].copy_from_slice(&(l4_len as u16).to_be_bytes());
        ip[6] = proto;
        ip[7] = FORGED_TTL;
        ip[8..24].copy_from_slice(src);
        ip[24..40].copy_from_slice(dst);
    } else {
        let total_len = u16::try_from(IPV4_HEADER + l4_len).ok()?;
        ip[0] = 0x45;
        ip[1] = 0;
        ip[2..4].copy_from_slice(&total_len.to_be_bytes());
        // id 0, DF: these packets are never fragmented.
        ip[4..8].copy_from_slice(&[0, 0, 0x40, 0]);
        ip[8] = FORGED_TTL;
        ip[9] = proto;
        ip[10..12].copy_from_slice(&[0, 0]);
        ip[12..16].copy_from_slice(&src[12..]);
        ip[16..20].copy_from_slice(&dst[12..]);
        let sum = internet_checksum(ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
    }
    Some(l2 + ip_header)
}

/// Zero-pads a frame of `len` bytes to the Ethernet minimum; returns the final length.
fn pad(out: &mut [u8], len: usize) -> usize {
    let full = len.max(MIN_FRAME);
    out[len..full].fill(0);
    full
}

/// A bare TCP header with RST (and maybe ACK), checksummed.
fn tcp_reset(
    frame: &[u8],
    p: &Parsed,
    toward: Toward,
    seq: u32,
    ack: Option<u32>,
    out: &mut [u8],
) -> Option<usize> {
    if p.key.proto != PROTO_TCP || (p.frag.is_fragment && !p.frag.first) {
        return None;
    }
    let l4 = write_headers(frame, p, toward, PROTO_TCP, TCP_HEADER, out)?;
    let (src, dst, sport, dport) = match toward {
        Toward::Sender => (&p.key.dst, &p.key.src, p.key.dport, p.key.sport),
        Toward::Receiver => (&p.key.src, &p.key.dst, p.key.sport, p.key.dport),
    };
    let flags = tcp_flags::RST | if ack.is_some() { tcp_flags::ACK } else { 0 };
    let t = &mut out[l4..l4 + TCP_HEADER];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.unwrap_or(0).to_be_bytes());
    t[12] = ((TCP_HEADER / 4) as u8) << 4;
    t[13] = flags;
    t[14..20].fill(0); // window 0, checksum (below), urgent pointer 0
    let sum = finish(sum_words(
        pseudo(p.key.family == 6, src, dst, PROTO_TCP, TCP_HEADER),
        t,
    ));
    t[16..18].copy_from_slice(&sum.to_be_bytes());
    Some(pad(out, l4 + TCP_HEADER))
}

/// Sequence space the segment occupies: payload, plus one for SYN and one for FIN.
fn seg_len(p: &Parsed) -> u32 {
    let flags = p.tcp.flags;
    u32::from(p.payload_len)
        + u32::from(flags & tcp_flags::SYN != 0)
        + u32::from(flags & tcp_flags::FIN != 0)
}

/// A RST back to the packet's sender (RFC 793, "Reset Generation"): if the packet had ACK, a
/// RST with seq = its ack; otherwise RST+ACK with seq 0 and ack = its seq + its length
/// (payload, SYN, FIN). MACs, addresses and ports swapped, VLAN tags kept.
pub fn tcp_reset_to_sender(frame: &[u8], parsed: &Parsed, out: &mut [u8]) -> Option<usize> {
    let t = &parsed.tcp;
    if t.flags & tcp_flags::ACK != 0 {
        tcp_reset(frame, parsed, Toward::Sender, t.ack, None, out)
    } else {
        let ack = t.seq.wrapping_add(seg_len(parsed));
        tcp_reset(frame, parsed, Toward::Sender, 0, Some(ack), out)
    }
}

/// A RST toward the packet's destination, as if from its sender: seq = its seq + its length
/// (payload, SYN, FIN); with ACK and ack = its ack if it had ACK.
pub fn tcp_reset_to_receiver(frame: &[u8], parsed: &Parsed, out: &mut [u8]) -> Option<usize> {
    let t = &parsed.tcp;
    let seq = t.seq.wrapping_add(seg_len(parsed));
    let ack = (t.flags & tcp_flags::ACK != 0).then_some(t.ack);
    tcp_reset(frame, parsed, Toward::Receiver, seq, ack, out)
}

/// An ICMP destination unreachable (ICMPv6: type 1) back to the packet's sender, quoting its
/// IP header and the first 8 bytes after it (IPv4), or as much of it as keeps the error within
/// 1280 bytes (IPv6). Never about an ICMP error or a non-initial fragment (RFC 1122, 4443).
pub fn icmp_unreachable(
    frame: &[u8],
    parsed: &Parsed,
    kind: Unreachable,
    out: &mut [u8],
) -> Option<usize> {
    let is_icmp = matches!(parsed.key.proto, PROTO_ICMP | PROTO_ICMPV6);
    if (is_icmp && parsed.icmp.kind == IcmpKind::Error)
        || (parsed.frag.is_fragment && !parsed.frag.first)
    {
        return None;
    }
    let v6 = parsed.key.family == 6;
    let l3 = usize::from(parsed.l3_offset);
    let ip_end = l3 + usize::from(parsed.ip_len);
    let quote_len = if v6 {
        usize::from(parsed.ip_len).min(ICMPV6_ERROR_MAX - IPV6_HEADER - ICMP_HEADER)
    } else {
        let header = usize::from(parsed.l4_offset).checked_sub(l3)?;
        (header + 8).min(usize::from(parsed.ip_len))
    };
    let quote = frame.get(l3..(l3 + quote_len).min(ip_end))?;
    let proto = if v6 { PROTO_ICMPV6 } else { PROTO_ICMP };
    let icmp_len = ICMP_HEADER + quote.len();
    let l4 = write_headers(frame, parsed, Toward::Sender, proto, icmp_len, out)?;
    let (icmp_type, code) = kind.type_code(v6);
    let m = &mut out[l4..l4 + icmp_len];
    m[..ICMP_HEADER].copy_from_slice(&[icmp_type, code, 0, 0, 0, 0, 0, 0]);
    m[ICMP_HEADER..].copy_from_slice(quote);
    let acc = if v6 {
        pseudo(
            true,
            &parsed.key.dst,
            &parsed.key.src,
            PROTO_ICMPV6,
            icmp_len,
        )
    } else {
        0
    };
    let sum = finish(sum_words(acc, m));
    m[2..4].copy_from_slice(&sum.to_be_bytes());
    Some(pad(out, l4 + icmp_len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::v4_mapped;
    use crate::wire::{parse, tcp_flags::*};
    use synwall_testkit::frame::{
        FrameSpec, IpPair, TcpFields, TcpFlags, CLIENT_MAC, ETHERTYPE_QINQ, ETHERTYPE_VLAN,
        SERVER_MAC,
    };
    use synwall_testkit::parse::verify;

    const A4: [u8; 4] = [10, 0, 0, 1];
    const B4: [u8; 4] = [192, 0, 2, 80];

    fn a6(last: u8) -> [u8; 16] {
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        a[15] = last;
        a
    }

    /// Client to server, unpadded. TTL 57 (the forged packets must not copy it), IPv4
    /// identification 0x1234 without DF.
    fn v4() -> FrameSpec {
        FrameSpec::from_client(IpPair::v4(A4, B4))
            .with_ttl(57)
            .with_ip_id(0x1234)
            .with_dont_fragment(false)
            .unpadded()
    }

    /// Client to server, unpadded, hop limit 50.
    fn v6() -> FrameSpec {
        FrameSpec::from_client(IpPair::v6(a6(1), a6(2)))
            .with_ttl(50)
            .unpadded()
    }

    /// A segment 40000 -> 443, window 0x7210.
    fn tcp(spec: FrameSpec, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut t = TcpFields::new(40000, 443, TcpFlags(flags));
        (t.seq, t.ack, t.window) = (seq, ack, 0x7210);
        spec.tcp(&t, payload)
    }

    /// A datagram 5353 -> 53 of `payload_len` bytes counting up.
    fn udp(spec: FrameSpec, payload_len: usize) -> Vec<u8> {
        let payload: Vec<u8> = (0..payload_len).map(|i| i as u8).collect();
        spec.udp(5353, 53, &payload)
    }

    /// The IP header checksum (v4) and the transport checksum (with its pseudo-header where
    /// the protocol has one) of a forged frame, checked by the test kit.
    fn assert_checksums(out: &[u8]) {
        if let Err(reason) = verify(out) {
            panic!("{reason}: {out:02x?}");
        }
    }

    fn forge(
        frame: &[u8],
        f: impl Fn(&[u8], &Parsed, &mut [u8]) -> Option<usize>,
    ) -> (Vec<u8>, Parsed, Parsed) {
        let original = parse(frame).expect("test frame parses");
        let mut out = [0xeeu8; 2048];
        let len = f(frame, &original, &mut out).expect("forged");
        let forged = parse(&out[..len]).expect("forged frame parses");
        assert_checksums(&out[..len]);
        assert_eq!(forged.ttl, FORGED_TTL);
        (out[..len].to_vec(), original, forged)
    }

    /// Regression (parse fuzz target): a refused packet sent to a multicast or broadcast
    /// address drew an unreachable or a reset whose source was that group address.
    #[test]
    fn no_answer_to_packets_sent_to_groups_or_broadcast() {
        for dst in [
            [239, 1, 1, 1],
            [255, 255, 255, 255],
            [224, 0, 0, 1],
            [0, 0, 0, 0],
        ] {
            let to_dst = FrameSpec {
                ips: IpPair::v4(A4, dst),
                ..v4()
            };
            let frame = udp(to_dst, 8);
            let p = parse(&frame).expect("parses");
            let mut out = [0u8; 2048];
            for kind in [Unreachable::PortUnreachable, Unreachable::AdminProhibited] {
                assert_eq!(
                    icmp_unreachable(&frame, &p, kind, &mut out),
                    None,
                    "{dst:?}"
                );
            }
            let frame = tcp(to_dst, 1000, 0, SYN, &[]);
            let p = parse(&frame).expect("parses");
            assert_eq!(tcp_reset_to_sender(&frame, &p, &mut out), None, "{dst:?}");
            // On to the receiver, the source is the sender's own (valid) address.
            assert!(tcp_reset_to_receiver(&frame, &p, &mut out).is_some());
        }
        let mut group = a6(2);
        group[..2].copy_from_slice(&[0xff, 0x02]);
        let to_group = FrameSpec {
            ips: IpPair::v6(a6(1), group),
            ..v6()
        };
        let frame = tcp(to_group, 1000, 0, SYN, &[]);
        let p = parse(&frame).expect("parses");
        let mut out = [0u8; 2048];
        assert_eq!(tcp_reset_to_sender(&frame, &p, &mut out), None);
        let kind = Unreachable::PortUnreachable;
        assert_eq!(icmp_unreachable(&frame, &p, kind, &mut out), None);
        // A unicast destination is still answered.
        let frame = udp(v4(), 8);
        let p = parse(&frame).expect("parses");
        assert!(icmp_unreachable(&frame, &p, kind, &mut out).is_some());
    }

    #[test]
    fn reset_to_sender_of_a_syn_v4() {
        let frame = tcp(v4(), 1000, 0, SYN, &[]);
        let (out, orig, p) = forge(&frame, tcp_reset_to_sender);
        assert_eq!(out.len(), MIN_FRAME, "padded");
        assert_eq!(&out[..6], &CLIENT_MAC, "back to the client");
        assert_eq!(&out[6..12], &SERVER_MAC);
        assert_eq!(p.key, orig.key.reversed());
        assert_eq!(p.key.src, v4_mapped(B4));
        assert_eq!(p.tcp.flags, RST | ACK);
        assert_eq!((p.tcp.seq, p.tcp.ack), (0, 1001));
        assert_eq!(p.payload_len, 0);
        assert_eq!(p.ip_len, 40);
    }

    #[test]
    fn resets_for_a_data_segment_v4_with_vlan() {
        let tagged = v4().with_tag(ETHERTYPE_VLAN, 42);
        let frame = tcp(tagged, 5000, 9000, PSH | ACK, &[7; 10]);
        let (out, orig, p) = forge(&frame, tcp_reset_to_sender);
        assert_eq!((p.vlan_count, p.vlans[0]), (1, 42));
        assert_eq!(&out[..6], &CLIENT_MAC);
        assert_eq!(p.key, orig.key.reversed());
        assert_eq!(p.tcp.flags, RST, "seq from its ack, no ACK");
        assert_eq!((p.tcp.seq, p.tcp.ack), (9000, 0));

        let (out, orig, p) = forge(&frame, tcp_reset_to_receiver);
        assert_eq!((p.vlan_count, p.vlans[0]), (1, 42));
        assert_eq!(&out[..6], &SERVER_MAC, "on to the server");
        assert_eq!(&out[6..12], &CLIENT_MAC);
        assert_eq!(p.key, orig.key);
        assert_eq!(p.tcp.flags, RST | ACK);
        assert_eq!((p.tcp.seq, p.tcp.ack), (5010, 9000));
    }

    #[test]
    fn resets_v6_qinq_syn_fin_payload() {
        let qinq = v6()
            .with_tag(ETHERTYPE_QINQ, 100)
            .with_tag(ETHERTYPE_VLAN, 200);
        let frame = tcp(qinq, u32::MAX - 2, 0, SYN | FIN, &[1, 2, 3]);
        let (out, orig, p) = forge(&frame, tcp_reset_to_sender);
        assert_eq!(
            &out[12..14],
            &ETHERTYPE_QINQ.to_be_bytes(),
            "tags kept as they were"
        );
        assert_eq!((p.vlan_count, p.vlans), (2, [100, 200]));
        assert_eq!(p.key, orig.key.reversed());
        assert_eq!(p.key.family, 6);
        assert_eq!(p.tcp.flags, RST | ACK);
        // seq + 3 bytes + SYN + FIN, wrapping.
        assert_eq!((p.tcp.seq, p.tcp.ack), (0, 2));
        assert_eq!(out.len(), 14 + 8 + 40 + 20);

        let (_, orig, p) = forge(&frame, tcp_reset_to_receiver);
        assert_eq!(p.key, orig.key);
        assert_eq!(p.tcp.flags, RST);
        assert_eq!(p.tcp.seq, 2);
    }

    #[test]
    fn icmp_unreachable_v4_quotes_header_and_8_bytes() {
        let frame = udp(v4().with_tag(ETHERTYPE_VLAN, 7), 100);
        let kind = Unreachable::AdminProhibited;
        let (out, orig, p) = forge(&frame, |f, q, o| icmp_unreachable(f, q, kind, o));
        assert_eq!((p.vlan_count, p.vlans[0]), (1, 7));
        assert_eq!(&out[..6], &CLIENT_MAC);
        assert_eq!(p.key.proto, PROTO_ICMP);
        assert_eq!((p.key.src, p.key.dst), (orig.key.dst, orig.key.src));
        assert_eq!(
            (p.icmp.icmp_type, p.icmp.code, p.icmp.kind),
            (3, 13, IcmpKind::Error)
        );
        assert_eq!(p.inner, Some(orig.key));
        assert_eq!(p.ip_len as usize, 20 + 8 + 20 + 8);
        let quote = &out[p.l4_offset as usize + 8..];
        let l3 = orig.l3_offset as usize;
        assert_eq!(&quote[..28], &frame[l3..l3 + 28]);

        let kind = Unreachable::PortUnreachable;
        let (_, _, p) = forge(&frame, |f, q, o| icmp_unreachable(f, q, kind, o));
        assert_eq!((p.icmp.icmp_type, p.icmp.code), (3, 3));
    }

    #[test]
    fn icmp_unreachable_v6_stays_within_1280() {
        let frame = udp(v6(), 1400);
        let kind = Unreachable::PortUnreachable;
        let (out, orig, p) = forge(&frame, |f, q, o| icmp_unreachable(f, q, kind, o));
        assert_eq!(p.key.proto, PROTO_ICMPV6);
        assert_eq!(
            (p.icmp.icmp_type, p.icmp.code, p.icmp.kind),
            (1, 4, IcmpKind::Error)
        );
        assert_eq!(p.ip_len as usize, ICMPV6_ERROR_MAX);
        assert_eq!(p.inner, Some(orig.key));
        assert_eq!((p.key.src, p.key.dst), (orig.key.dst, orig.key.src));
        let quote = &out[p.l4_offset as usize + 8..];
        assert_eq!(quote, &frame[14..14 + 1232]);

        // A small packet is quoted whole.
        let frame = tcp(v6(), 1, 0, SYN, &[]);
        let kind = Unreachable::AdminProhibited;
        let (_, orig, p) = forge(&frame, |f, q, o| icmp_unreachable(f, q, kind, o));
        assert_eq!((p.icmp.icmp_type, p.icmp.code), (1, 1));
        assert_eq!(p.ip_len, 40 + 8 + orig.ip_len);
    }

    #[test]
    fn refusals() {
        let mut out = [0u8; 2048];
        let syn = tcp(v4(), 1, 0, SYN, &[]);
        let p = parse(&syn).unwrap();
        assert_eq!(
            tcp_reset_to_sender(&syn, &p, &mut out[..59]),
            None,
            "too small"
        );
        assert_eq!(tcp_reset_to_sender(&syn, &p, &mut out[..60]), Some(60));
        let datagram = udp(v4(), 4);
        let p = parse(&datagram).unwrap();
        assert_eq!(
            tcp_reset_to_sender(&datagram, &p, &mut out),
            None,
            "not TCP"
        );
        assert_eq!(tcp_reset_to_receiver(&datagram, &p, &mut out), None);
        assert_eq!(
            icmp_unreachable(&datagram, &p, Unreachable::PortUnreachable, &mut out[..60]),
            None
        );
        // No ICMP error about an ICMP error.
        let n = icmp_unreachable(&datagram, &p, Unreachable::PortUnreachable, &mut out).unwrap();
        let error = out[..n].to_vec();
        let p = parse(&error).unwrap();
        assert_eq!(
            icmp_unreachable(&error, &p, Unreachable::PortUnreachable, &mut out),
            None
        );
        // Non-IP.
        let arp = v4().ethernet(0x0806, &[0; 28]);
        let p = parse(&arp).unwrap();
        assert_eq!(tcp_reset_to_sender(&arp, &p, &mut out), None);
        assert_eq!(
            icmp_unreachable(&arp, &p, Unreachable::AdminProhibited, &mut out),
            None
        );
    }
}
