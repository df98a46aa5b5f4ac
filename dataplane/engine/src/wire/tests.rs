//! Parser tests on literal frames, every malformed case, and a no-panic sweep.

use super::tcp_flags::*;
use super::*;
use crate::flow::{v4_mapped, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};
use crate::stored_key::StoredKey;
use synwall_testkit::frame::{
    icmp_message, udp_datagram, FrameSpec, IpPair, TcpFields, TcpFlags, TcpOptions,
};

/// Client to server, unpadded (the parser sees exactly the bytes written).
fn client(ips: IpPair) -> FrameSpec {
    FrameSpec::from_client(ips).unpadded()
}

/// An Ethernet frame around `l3` with 802.1Q tags `vlans`, outermost first.
fn eth(ethertype: u16, vlans: &[u16], l3: &[u8]) -> Vec<u8> {
    let tagged = vlans
        .iter()
        .fold(client(IpPair::v4(A, B)), |s, &v| s.with_vlan(v));
    tagged.ethernet(ethertype, l3)
}

/// An IPv4 packet (identification 1, no DF, TTL 64) with `l4` as given.
fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], l4: &[u8]) -> Vec<u8> {
    client(IpPair::v4(src, dst))
        .with_ip_id(1)
        .with_dont_fragment(false)
        .ip_packet(proto, l4)
}

/// An IPv6 packet from 2001::`src_last` to 2001::`dst_last` (hop limit 64), next header
/// `next`, then `rest` as given (extension headers, transport).
fn ipv6(next: u8, src_last: u8, dst_last: u8, rest: &[u8]) -> Vec<u8> {
    let mut src = [0u8; 16];
    src[0] = 0x20;
    src[1] = 0x01;
    src[15] = src_last;
    let mut dst = src;
    dst[15] = dst_last;
    client(IpPair::v6(src, dst)).ip_packet(next, rest)
}

/// A TCP segment, seq 1000, ack 2000, window 0xffff, with `options` as given (whole words).
fn tcp(sport: u16, dport: u16, flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut t = TcpFields::new(sport, dport, TcpFlags(flags));
    (t.seq, t.ack, t.window) = (1000, 2000, 0xffff);
    t.options = TcpOptions::NONE.raw(options);
    t.segment(payload)
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    udp_datagram(sport, dport, payload)
}

/// An ICMP message of type `icmp_type`, code 0, identifier `id`, sequence 1, then `body`.
fn icmp(icmp_type: u8, id: u16, body: &[u8]) -> Vec<u8> {
    let mut rest = id.to_be_bytes().to_vec();
    rest.extend_from_slice(&[0, 1]);
    rest.extend_from_slice(body);
    icmp_message(icmp_type, 0, &rest)
}

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 0, 2];

fn syn_frame() -> Vec<u8> {
    // MSS 1460, NOP, window scale 7, SACK permitted, NOP NOP.
    let opts = [2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 1, 1];
    eth(
        ETHERTYPE_IPV4,
        &[],
        &ipv4(PROTO_TCP, A, B, &tcp(40000, 80, SYN, &opts, &[])),
    )
}

#[test]
fn ipv4_tcp_syn_with_options() {
    let p = parse(&syn_frame()).unwrap();
    assert_eq!(p.kind, Kind::Ip);
    assert_eq!(p.key.src, v4_mapped(A));
    assert_eq!(
        (p.key.sport, p.key.dport, p.key.proto, p.key.family),
        (40000, 80, 6, 4)
    );
    assert_eq!(p.tcp.flags, SYN);
    assert_eq!((p.tcp.seq, p.tcp.ack, p.tcp.window), (1000, 2000, 0xffff));
    assert_eq!(
        (p.tcp.mss, p.tcp.wscale, p.tcp.sack_ok),
        (Some(1460), Some(7), true)
    );
    assert_eq!((p.l3_offset, p.l4_offset, p.payload_len), (14, 34, 0));
}

#[test]
fn ethernet_padding_is_not_payload() {
    let mut f = eth(
        ETHERTYPE_IPV4,
        &[],
        &ipv4(PROTO_TCP, A, B, &tcp(1, 2, ACK, &[], b"hi")),
    );
    f.resize(f.len() + 10, 0);
    let p = parse(&f).unwrap();
    assert_eq!(p.payload_len, 2);
    assert_eq!(p.ip_len, 42);
}

#[test]
fn ipv6_udp_and_vlans() {
    let f = eth(
        ETHERTYPE_IPV6,
        &[100, 200],
        &ipv6(PROTO_UDP, 1, 2, &udp(5353, 53, b"query")),
    );
    let p = parse(&f).unwrap();
    assert_eq!((p.vlan_count, p.vlans), (2, [100, 200]));
    assert_eq!(
        (p.key.family, p.key.proto, p.key.sport, p.key.dport),
        (6, 17, 5353, 53)
    );
    assert_eq!(p.payload_len, 5);
    assert_eq!(p.l3_offset, 22);
    let three = eth(
        ETHERTYPE_IPV6,
        &[1, 2, 3],
        &ipv6(PROTO_UDP, 1, 2, &udp(1, 2, b"")),
    );
    assert_eq!(parse(&three), Err(DropReason::MalformedVlan));
}

#[test]
fn non_ip_frames_pass_as_non_ip() {
    let arp = eth(0x0806, &[], &[0u8; 28]);
    assert_eq!(parse(&arp).unwrap().kind, Kind::NonIp);
}

#[test]
fn icmp_echo_keys_reverse() {
    let req = parse(&eth(
        ETHERTYPE_IPV4,
        &[],
        &ipv4(PROTO_ICMP, A, B, &icmp(8, 77, b"ping")),
    ))
    .unwrap();
    let rep = parse(&eth(
        ETHERTYPE_IPV4,
        &[],
        &ipv4(PROTO_ICMP, B, A, &icmp(0, 77, b"ping")),
    ))
    .unwrap();
    assert_eq!(req.icmp.kind, IcmpKind::EchoRequest);
    assert_eq!(rep.icmp.kind, IcmpKind::EchoReply);
    assert_eq!(req.key.reversed(), rep.key);
    let req6 = parse(&eth(
        ETHERTYPE_IPV6,
        &[],
        &ipv6(PROTO_ICMPV6, 1, 2, &icmp(128, 9, b"")),
    ))
    .unwrap();
    assert_eq!((req6.icmp.kind, req6.key.sport), (IcmpKind::EchoRequest, 9));
}

#[test]
fn icmp_error_carries_the_inner_flow() {
    let quoted = ipv4(PROTO_UDP, B, A, &udp(5000, 53, b"abcd"));
    let err = eth(
        ETHERTYPE_IPV4,
        &[],
        &ipv4(PROTO_ICMP, A, B, &icmp(3, 0, &quoted)),
    );
    let p = parse(&err).unwrap();
    assert_eq!(p.icmp.kind, IcmpKind::Error);
    let inner = p.inner.unwrap();
    assert_eq!(
        (inner.src, inner.sport, inner.dport, inner.proto),
        (v4_mapped(B), 5000, 53, 17)
    );
    let cut = eth(
        ETHERTYPE_IPV4,
        &[],
        &ipv4(PROTO_ICMP, A, B, &icmp(3, 0, &quoted[..22])),
    );
    assert_eq!(parse(&cut), Err(DropReason::MalformedIcmpInner));
    let quoted6 = ipv6(PROTO_TCP, 2, 1, &tcp(443, 50000, ACK, &[], b""));
    let p6 = parse(&eth(
        ETHERTYPE_IPV6,
        &[],
        &ipv6(PROTO_ICMPV6, 1, 2, &icmp(1, 0, &quoted6)),
    ))
    .unwrap();
    assert_eq!(p6.inner.unwrap().sport, 443);
}

#[test]
fn ipv6_extension_chain_and_fragments() {
    // Hop-by-hop (8 bytes) -> fragment (first, more) -> TCP.
    let t = tcp(1, 2, SYN, &[], b"");
    let mut chain = vec![44, 0, 1, 4, 0, 0, 0, 0];
    chain.extend_from_slice(&[PROTO_TCP, 0, 0x00, 0x01, 0, 0, 0, 42]);
    chain.extend_from_slice(&t);
    let p = parse(&eth(ETHERTYPE_IPV6, &[], &ipv6(0, 1, 2, &chain))).unwrap();
    assert_eq!(p.key.proto, PROTO_TCP);
    assert!(p.frag.is_fragment && p.frag.first && p.frag.more);
    assert_eq!(p.frag.id, 42);
    assert_eq!(p.key.sport, 1);
    // A later fragment: no transport header is read.
    let later = [PROTO_TCP, 0, 0x00, 0x08, 0, 0, 0, 42, 0xde, 0xad];
    let p = parse(&eth(ETHERTYPE_IPV6, &[], &ipv6(44, 1, 2, &later))).unwrap();
    assert!(p.frag.is_fragment && !p.frag.first);
    assert_eq!((p.frag.offset_bytes, p.key.sport, p.payload_len), (8, 0, 2));
    // Nine destination-options headers: too long a chain.
    let mut long = Vec::new();
    for _ in 0..9 {
        long.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
    }
    assert_eq!(
        parse(&eth(ETHERTYPE_IPV6, &[], &ipv6(60, 1, 2, &long))),
        Err(DropReason::MalformedIpv6ExtHeader)
    );
}

#[test]
fn ipv4_fragments() {
    let mut first = ipv4(PROTO_UDP, A, B, &udp(1, 2, &[0; 16]));
    first[6] = 0x20; // MF
    let p = parse(&eth(ETHERTYPE_IPV4, &[], &first)).unwrap();
    assert!(p.frag.is_fragment && p.frag.first);
    let mut later = ipv4(PROTO_UDP, A, B, &[1, 2, 3]);
    later[7] = 3; // offset 24 bytes
    let p = parse(&eth(ETHERTYPE_IPV4, &[], &later)).unwrap();
    assert_eq!(
        (p.frag.offset_bytes, p.frag.first, p.payload_len),
        (24, false, 3)
    );
    let mut tiny = ipv4(PROTO_TCP, A, B, &[0; 8]);
    tiny[6] = 0x20;
    assert_eq!(
        parse(&eth(ETHERTYPE_IPV4, &[], &tiny)),
        Err(DropReason::FragmentTiny)
    );
}

#[test]
fn fragment_lengths_and_limits() {
    // A first UDP fragment: the UDP length counts the whole datagram (1008 bytes), more than
    // this fragment holds; the ports are read and the payload stops at the fragment's end.
    let mut d = udp(5000, 53, &[7; 1000]);
    d.truncate(8 + 16);
    let mut first = ipv4(PROTO_UDP, A, B, &d);
    first[6] = 0x20;
    let p = parse(&eth(ETHERTYPE_IPV4, &[], &first)).unwrap();
    assert_eq!((p.key.dport, p.payload_len, p.frag.len), (53, 16, 24));
    // The same UDP length on an unfragmented packet is a lie.
    let whole = ipv4(PROTO_UDP, A, B, &d);
    assert_eq!(
        parse(&eth(ETHERTYPE_IPV4, &[], &whole)),
        Err(DropReason::MalformedUdp)
    );
    // Ping of death: offset 65528 plus 16 bytes of data ends past 65535.
    let mut pod = ipv4(PROTO_ICMP, A, B, &[0; 16]);
    pod[6..8].copy_from_slice(&(65528u16 / 8).to_be_bytes());
    assert_eq!(
        parse(&eth(ETHERTYPE_IPV4, &[], &pod)),
        Err(DropReason::MalformedIpv4Length)
    );
    pod.truncate(20 + 7);
    pod[2..4].copy_from_slice(&27u16.to_be_bytes());
    assert_eq!(parse(&eth(ETHERTYPE_IPV4, &[], &pod)).unwrap().frag.len, 7);
}

#[test]
fn fragments_of_one_datagram_hash_to_one_worker() {
    let mut first = ipv4(PROTO_UDP, A, B, &udp(5000, 53, &[0; 16]));
    first[6] = 0x20;
    let mut later = ipv4(PROTO_UDP, A, B, &[0; 8]);
    later[7] = 3;
    let (f, l) = (
        eth(ETHERTYPE_IPV4, &[], &first),
        eth(ETHERTYPE_IPV4, &[], &later),
    );
    assert_eq!(flow_hash(&f), flow_hash(&l));
    let whole = eth(
        ETHERTYPE_IPV4,
        &[],
        &ipv4(PROTO_UDP, A, B, &udp(5000, 53, b"")),
    );
    assert_ne!(
        flow_hash(&whole),
        flow_hash(&l),
        "whole packets hash their ports"
    );
    // IPv6: a later fragment's next header may differ from the first's transport protocol.
    let mut first6 = vec![60, 0, 0x00, 0x01, 0, 0, 0, 9];
    first6.extend_from_slice(&[PROTO_UDP, 0, 1, 4, 0, 0, 0, 0]);
    first6.extend_from_slice(&udp(1, 2, &[0; 8]));
    let later6 = [60, 0, 0x00, 0x20, 0, 0, 0, 9, 1, 2, 3, 4];
    assert_eq!(
        flow_hash(&eth(ETHERTYPE_IPV6, &[], &ipv6(44, 1, 2, &first6))),
        flow_hash(&eth(ETHERTYPE_IPV6, &[], &ipv6(44, 1, 2, &later6)))
    );
}

#[test]
fn ipv6_fragments_beyond_the_fixed_header() {
    // A later fragment whose fragmentable part began with a destination-options header:
    // its bytes are data, not a header to walk.
    let later = [60, 0, 0x00, 0x10, 0, 0, 0, 9, 0xde, 0xad, 0xbe, 0xef];
    let p = parse(&eth(ETHERTYPE_IPV6, &[], &ipv6(44, 1, 2, &later))).unwrap();
    assert!(p.frag.is_fragment && !p.frag.first);
    assert_eq!((p.key.proto, p.frag.offset_bytes, p.frag.len), (60, 16, 4));
    // The first fragment: fragment header -> destination options -> TCP; `len` counts from
    // the fragment header on, options included.
    let mut first = vec![60, 0, 0x00, 0x01, 0, 0, 0, 9];
    first.extend_from_slice(&[PROTO_TCP, 0, 1, 4, 0, 0, 0, 0]);
    first.extend_from_slice(&tcp(1, 2, ACK, &[], b"abcd"));
    let p = parse(&eth(ETHERTYPE_IPV6, &[], &ipv6(44, 1, 2, &first))).unwrap();
    assert!(p.frag.is_fragment && p.frag.first && p.frag.more);
    assert_eq!(
        (p.key.proto, p.key.dport, p.frag.len),
        (PROTO_TCP, 2, 8 + 24)
    );
    // An atomic fragment (offset 0, no more: RFC 6946) is a whole packet.
    let mut atomic = vec![PROTO_UDP, 0, 0, 0, 0, 0, 0, 5];
    atomic.extend_from_slice(&udp(1, 2, b"x"));
    let p = parse(&eth(ETHERTYPE_IPV6, &[], &ipv6(44, 1, 2, &atomic))).unwrap();
    assert!(!p.frag.is_fragment);
    assert_eq!(p.key.dport, 2);
    // Offset 65528 plus 16 bytes: past the largest datagram.
    let mut big = vec![PROTO_UDP, 0, 0xff, 0xf8, 0, 0, 0, 5];
    big.extend_from_slice(&[0; 16]);
    assert_eq!(
        parse(&eth(ETHERTYPE_IPV6, &[], &ipv6(44, 1, 2, &big))),
        Err(DropReason::MalformedIpv6ExtHeader)
    );
}

#[test]
fn every_malformed_reason() {
    use DropReason::*;
    let ok_tcp = ipv4(PROTO_TCP, A, B, &tcp(1, 2, ACK, &[], b""));
    let cases: Vec<(Vec<u8>, DropReason)> = vec![
        (vec![0; 13], MalformedEthernet),
        (eth(ETHERTYPE_VLAN, &[], &[0, 1]), MalformedVlan),
        (eth(ETHERTYPE_IPV4, &[], &ok_tcp[..19]), MalformedIpv4Header),
        (
            eth(ETHERTYPE_IPV4, &[], &{
                let mut h = ok_tcp.clone();
                h[0] = 0x44;
                h
            }),
            MalformedIpv4Header,
        ),
        (
            eth(ETHERTYPE_IPV4, &[], &{
                let mut h = ok_tcp.clone();
                h[0] = 0x55;
                h
            }),
            MalformedIpv4Header,
        ),
        (
            eth(ETHERTYPE_IPV4, &[], &{
                let mut h = ok_tcp.clone();
                h[3] = 200;
                h
            }),
            MalformedIpv4Length,
        ),
        (
            eth(ETHERTYPE_IPV4, &[], &{
                let mut h = ok_tcp.clone();
                h[3] = 10;
                h
            }),
            MalformedIpv4Length,
        ),
        (
            eth(ETHERTYPE_IPV6, &[], &ipv6(PROTO_UDP, 1, 2, &[])[..30]),
            MalformedIpv6Header,
        ),
        (
            eth(ETHERTYPE_IPV6, &[], &{
                let mut h = ipv6(PROTO_UDP, 1, 2, &udp(1, 2, b""));
                h[5] = 99;
                h
            }),
            MalformedIpv6Header,
        ),
        (
            eth(ETHERTYPE_IPV6, &[], &ipv6(0, 1, 2, &[17, 3, 0, 0])),
            MalformedIpv6ExtHeader,
        ),
        (
            eth(ETHERTYPE_IPV4, &[], &ipv4(PROTO_TCP, A, B, &[0; 12])),
            MalformedTcp,
        ),
        (
            eth(
                ETHERTYPE_IPV4,
                &[],
                &ipv4(PROTO_TCP, A, B, &{
                    let mut t = tcp(1, 2, ACK, &[], b"");
                    t[12] = 0x40;
                    t
                }),
            ),
            MalformedTcp,
        ),
        (
            eth(
                ETHERTYPE_IPV4,
                &[],
                &ipv4(PROTO_TCP, A, B, &{
                    let mut t = tcp(1, 2, ACK, &[], b"");
                    t[12] = 0xf0;
                    t
                }),
            ),
            MalformedTcp,
        ),
        (
            eth(ETHERTYPE_IPV4, &[], &ipv4(PROTO_UDP, A, B, &[0; 6])),
            MalformedUdp,
        ),
        (
            eth(
                ETHERTYPE_IPV4,
                &[],
                &ipv4(PROTO_UDP, A, B, &{
                    let mut u = udp(1, 2, b"x");
                    u[5] = 50;
                    u
                }),
            ),
            MalformedUdp,
        ),
        (
            eth(
                ETHERTYPE_IPV4,
                &[],
                &ipv4(PROTO_UDP, A, B, &{
                    let mut u = udp(1, 2, b"x");
                    u[5] = 4;
                    u
                }),
            ),
            MalformedUdp,
        ),
        (
            eth(ETHERTYPE_IPV4, &[], &ipv4(PROTO_ICMP, A, B, &[8, 0, 0])),
            MalformedIcmp,
        ),
        (
            eth(
                ETHERTYPE_IPV4,
                &[],
                &ipv4(PROTO_ICMP, A, B, &icmp(11, 0, &[0x45])),
            ),
            MalformedIcmpInner,
        ),
        (
            eth(
                ETHERTYPE_IPV4,
                &[],
                &ipv4(PROTO_TCP, A, A, &tcp(1, 2, SYN, &[], b"")),
            ),
            LandAttack,
        ),
        (
            eth(
                ETHERTYPE_IPV4,
                &[],
                &ipv4(PROTO_TCP, [224, 0, 0, 1], B, &tcp(1, 2, SYN, &[], b"")),
            ),
            BadSourceAddress,
        ),
        (
            eth(
                ETHERTYPE_IPV4,
                &[],
                &ipv4(PROTO_TCP, [255; 4], B, &tcp(1, 2, SYN, &[], b"")),
            ),
            BadSourceAddress,
        ),
        (
            eth(
                ETHERTYPE_IPV4,
                &[],
                &ipv4(PROTO_TCP, [0; 4], B, &tcp(1, 2, SYN, &[], b"")),
            ),
            BadSourceAddress,
        ),
    ];
    for (i, (frame, reason)) in cases.iter().enumerate() {
        assert_eq!(parse(frame), Err(*reason), "case {i}");
    }
    // DHCP discover from 0.0.0.0 is allowed.
    let dhcp = eth(
        ETHERTYPE_IPV4,
        &[],
        &ipv4(PROTO_UDP, [0; 4], [255; 4], &udp(68, 67, b"")),
    );
    assert!(parse(&dhcp).is_ok());
}

#[test]
fn no_input_panics() {
    let samples = [
        syn_frame(),
        eth(
            ETHERTYPE_IPV6,
            &[7],
            &ipv6(PROTO_UDP, 1, 2, &udp(1, 2, b"data")),
        ),
        eth(
            ETHERTYPE_IPV4,
            &[],
            &ipv4(
                PROTO_ICMP,
                A,
                B,
                &icmp(3, 0, &ipv4(PROTO_TCP, B, A, &tcp(1, 2, ACK, &[], b""))),
            ),
        ),
        eth(
            ETHERTYPE_IPV6,
            &[],
            &ipv6(0, 1, 2, &[44, 0, 1, 4, 0, 0, 0, 0, 6, 0, 0, 1, 0, 0, 0, 1]),
        ),
    ];
    let mut rng = synwall_testkit::Rng::xorshift(0x9e37_79b9_7f4a_7c15);
    for s in &samples {
        for cut in 0..=s.len() {
            let _ = parse(&s[..cut]);
        }
        for _ in 0..5000 {
            let mut f = s.clone();
            for _ in 0..(rng.next_u64() % 4 + 1) {
                let i = (rng.next_u64() as usize) % f.len();
                f[i] ^= 1 << (rng.next_u64() % 8);
            }
            let _ = parse(&f);
        }
    }
    for _ in 0..5000 {
        let len = (rng.next_u64() % 120) as usize;
        let f: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let _ = parse(&f);
    }
}

/// Regression (parse fuzz target, jumbo mode): in a buffer over 64 KiB, an IPv6 packet with
/// the largest payload length wrapped the 16-bit `ip_len` (65575 became 39).
#[test]
fn packets_ending_past_16_bit_offsets_are_refused() {
    let mut l3 = vec![0x60, 0, 0, 0, 0xff, 0xff, 59, 64];
    l3.extend_from_slice(&[0xfd; 16]);
    l3.extend_from_slice(&[0xfe; 16]);
    let mut frame = eth(ETHERTYPE_IPV6, &[], &l3);
    frame.resize(14 + 40 + 65_535, 0);
    assert_eq!(parse(&frame), Err(DropReason::MalformedIpv6Header));
    // The largest payload that still fits is parsed, with consistent lengths.
    frame[18..20].copy_from_slice(&(65_535u16 - 14 - 40).to_be_bytes());
    let p = parse(&frame).expect("fits");
    assert_eq!(p.l3_offset as usize + p.ip_len as usize, 65_535);
    // IPv4 behind two VLAN tags, with the largest total length.
    let mut v4 = vec![
        0x45, 0, 0xff, 0xff, 0, 0, 0, 0, 64, 59, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    v4.resize(65_535, 0);
    let frame = eth(ETHERTYPE_IPV4, &[1, 2], &v4);
    assert_eq!(parse(&frame), Err(DropReason::MalformedIpv4Length));
}

/// The straight-line path for the common frame (`plain.rs`) answers exactly as the full parser
/// on the frames it takes, and leaves every other frame to it: common frames, each cut short,
/// each with every byte set to values that matter to a check (and random bit flips), each
/// stretched into a jumbo frame.
#[test]
fn plain_path_agrees_with_the_full_parser() {
    let common = [
        eth(
            ETHERTYPE_IPV4,
            &[],
            &ipv4(PROTO_UDP, A, B, &udp(1, 53, b"data")),
        ),
        eth(
            ETHERTYPE_IPV4,
            &[],
            &ipv4(PROTO_TCP, A, B, &tcp(80, 1, ACK, &[], b"x")),
        ),
        syn_frame(),
        // Timestamps on a mid-stream segment, and an option list that ends badly.
        eth(
            ETHERTYPE_IPV4,
            &[],
            &ipv4(
                PROTO_TCP,
                B,
                A,
                &tcp(
                    2,
                    3,
                    PSH | ACK,
                    &[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2],
                    b"yz",
                ),
            ),
        ),
        eth(
            ETHERTYPE_IPV4,
            &[],
            &ipv4(PROTO_TCP, A, B, &tcp(2, 3, SYN, &[2, 4, 5], b"")),
        ),
        // IPv6: UDP, TCP with options and payload, each direction of a flow (the canonical
        // orientation both ways), and a hop-by-hop header the path leaves to the full parser.
        eth(
            ETHERTYPE_IPV6,
            &[],
            &ipv6(PROTO_UDP, 1, 2, &udp(1, 53, b"data")),
        ),
        eth(
            ETHERTYPE_IPV6,
            &[],
            &ipv6(PROTO_UDP, 2, 1, &udp(53, 1, b"")),
        ),
        eth(
            ETHERTYPE_IPV6,
            &[],
            &ipv6(
                PROTO_TCP,
                9,
                3,
                &tcp(443, 5, PSH | ACK, &[2, 4, 5, 0xb4], b"xyz"),
            ),
        ),
        eth(
            ETHERTYPE_IPV6,
            &[],
            &ipv6(
                0,
                1,
                2,
                &[PROTO_UDP, 0, 1, 4, 0, 0, 0, 0, 0, 1, 0, 53, 0, 8, 0, 0],
            ),
        ),
        // The unspecified source: refused, but for DHCP.
        eth(
            ETHERTYPE_IPV4,
            &[],
            &ipv4(PROTO_UDP, [0; 4], B, &udp(68, 53, b"q")),
        ),
        eth(
            ETHERTYPE_IPV4,
            &[],
            &ipv4(PROTO_UDP, [0; 4], [255; 4], &udp(68, 67, b"q")),
        ),
    ];
    let (mut taken, mut taken6, mut deferred) = (0, 0, 0);
    let mut check = |f: &[u8]| {
        let mut p = Parsed::default();
        let taken_as = if let Some(Common { hashed, flow }) = plain::parse4(f, &mut p) {
            Some((hashed, StoredKey::canonical_v4(&flow)))
        } else {
            plain::parse6(f, &mut p).map(|c| {
                let probe = StoredKey::canonical_v6(c.hashed.hash, c.ports, c.proto);
                (c.hashed, probe)
            })
        };
        if let Some((hashed, probe)) = taken_as {
            taken += 1;
            taken6 += usize::from(p.key.family == 6);
            assert_eq!(Ok(p), parse_full(f), "plain path differs on {f:02x?}");
            assert_eq!(
                hashed,
                p.key.hashed(),
                "plain path's hash differs on {f:02x?}"
            );
            assert_eq!(
                probe,
                StoredKey::probe(&p.key, hashed.reversed, hashed.hash),
                "plain path's flow differs on {f:02x?}"
            );
        } else {
            assert_eq!(p, Parsed::default(), "plain path wrote on {f:02x?}");
        }
        assert_eq!(parse(f), parse_full(f), "parse differs on {f:02x?}");
        // The engine's staged parse, deferred result written afterwards, is the same again.
        let mut q = Parsed::default();
        let mut staged_segment = crate::tcp::Segment {
            flags: 0xff,
            ..Default::default()
        };
        let untouched = staged_segment;
        let staged = if let Some(c) = parse_common(f, &mut q, &mut staged_segment) {
            Some(c.hashed)
        } else if let Some(c) = parse_common6(f, &mut q, &mut staged_segment) {
            let (src, dst) = common6_addresses(f).expect("the frame's addresses");
            let key = parse_full(f).expect("a frame the path took parses").key;
            assert_eq!((src, dst), (&key.src, &key.dst));
            Some(c.hashed)
        } else {
            None
        };
        if let Some(hashed) = staged {
            deferred += 1;
            assert_eq!(q, Parsed::default(), "deferred parse wrote on {f:02x?}");
            materialise(f, &mut q);
            assert_eq!(Ok(q), parse_full(f), "staged parse differs on {f:02x?}");
            assert_eq!(hashed, q.key.hashed(), "staged hash on {f:02x?}");
            let segment = match q.key.proto {
                PROTO_TCP => crate::tcp::Segment {
                    wscale: None,
                    ..q.segment()
                },
                _ => untouched,
            };
            assert_eq!(staged_segment, segment, "staged segment on {f:02x?}");
        } else {
            let other = parse_other(f, &mut q).map(|hashed| (hashed, q));
            let full = parse_full(f).map(|p| (p.key.hashed(), p));
            assert_eq!(other, full, "staged parse differs on {f:02x?}");
        }
    };
    let mut rng = synwall_testkit::Rng::xorshift(0x2545_f491_4f6c_dd1d);
    for s in &common {
        check(s);
        for cut in 0..s.len() {
            check(&s[..cut]);
        }
        for i in 0..s.len() {
            for v in [
                0,
                1,
                0x06,
                0x11,
                0x3f,
                0x40,
                0x2c,
                0x3a,
                0x45,
                0x60,
                0x80,
                0xe0,
                0xff,
                s[i] ^ 0x20,
            ] {
                let mut f = s.clone();
                f[i] = v;
                check(&f);
            }
        }
        for _ in 0..3000 {
            let mut f = s.clone();
            for _ in 0..(rng.next_u64() % 3 + 1) {
                let i = (rng.next_u64() as usize) % f.len();
                f[i] ^= 1 << (rng.next_u64() % 8);
            }
            check(&f);
        }
        let mut jumbo = s.clone();
        jumbo.resize(70_000, 0);
        jumbo[16..18].copy_from_slice(&65_535u16.to_be_bytes());
        check(&jumbo);
        jumbo[16..18].copy_from_slice(&(65_535u16 - 14).to_be_bytes());
        check(&jumbo);
        // IPv6's payload length.
        jumbo[18..20].copy_from_slice(&65_535u16.to_be_bytes());
        check(&jumbo);
        jumbo[18..20].copy_from_slice(&(65_535u16 - 54).to_be_bytes());
        check(&jumbo);
    }
    // The path is taken (the test would pass vacuously otherwise).
    assert!(taken > 5 * 1000, "plain path taken {taken} times");
    assert!(taken6 > 2 * 1000, "IPv6 plain path taken {taken6} times");
    assert!(deferred > 1000, "parse deferred {deferred} times");
}
