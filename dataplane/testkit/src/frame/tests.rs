use std::net::Ipv4Addr;

use super::*;
use crate::parse::{parse, verify, Transport};

fn v4_pair() -> IpPair {
    IpPair::V4 {
        src: Ipv4Addr::new(10, 0, 0, 1),
        dst: Ipv4Addr::new(10, 1, 0, 10),
    }
}

fn v6_pair() -> IpPair {
    let mut src = [0u8; 16];
    src[..2].copy_from_slice(&[0x20, 0x01]);
    let mut dst = src;
    src[15] = 1;
    dst[15] = 2;
    IpPair::v6(src, dst)
}

#[test]
fn tcp_syn_matches_hand_assembled_bytes() {
    let mut tcp = TcpFields::new(40000, 80, TcpFlags::SYN);
    tcp.seq = 0x0102_0304;
    tcp.options = TcpOptions::NONE.mss(1460).nop().window_scale(7);
    let frame = FrameSpec::from_client(v4_pair()).tcp(&tcp, &[]);
    #[rustfmt::skip]
    let expected_without_checksums: [u8; 62] = [
        0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,
        0x45, 0, 0, 48, 0, 0, 0x40, 0, 64, 6, 0xff, 0xff, 10, 0, 0, 1, 10, 1, 0, 10,
        0x9c, 0x40, 0, 80, 1, 2, 3, 4, 0, 0, 0, 0, 0x70, 0x02, 0xfa, 0xf0, 0xff, 0xff, 0, 0,
        2, 4, 0x05, 0xb4, 1, 3, 3, 7,
    ];
    let mut masked = frame.clone();
    masked[24..26].copy_from_slice(&[0xff, 0xff]);
    masked[50..52].copy_from_slice(&[0xff, 0xff]);
    assert_eq!(masked, expected_without_checksums);
    // The IPv4 header checksum of this exact header, computed separately: 0x26bd.
    assert_eq!(&frame[24..26], &[0x26, 0xbd]);
}

#[test]
fn short_frames_are_padded_and_lengths_exclude_padding() {
    let frame = FrameSpec::from_client(v4_pair()).udp(1, 2, b"x");
    assert_eq!(frame.len(), ETHERNET_MIN_FRAME);
    assert_eq!(u16::from_be_bytes([frame[16], frame[17]]), 20 + 8 + 1);
    assert_eq!(ip_packet_of(&frame).len(), 29);
    let spec = FrameSpec::from_client(v4_pair()).unpadded();
    assert_eq!(spec.udp(1, 2, b"x").len(), 14 + 29);
}

#[test]
fn vlan_tag_sits_before_the_ethertype() {
    let frame = FrameSpec::from_client(v4_pair())
        .with_vlan(100)
        .udp(1, 2, &[0; 40]);
    assert_eq!(&frame[12..18], &[0x81, 0x00, 0x00, 100, 0x08, 0x00]);
    assert_eq!(ip_packet_of(&frame).len(), 20 + 8 + 40);
}

#[test]
fn qinq_tags_outermost_first() {
    let spec = FrameSpec::from_client(v6_pair())
        .with_tag(ETHERTYPE_QINQ, 100)
        .with_vlan(200);
    let frame = spec.udp(1, 2, b"");
    assert_eq!(
        &frame[12..22],
        &[0x88, 0xa8, 0, 100, 0x81, 0x00, 0, 200, 0x86, 0xdd]
    );
    assert_eq!(spec.l2_len(), 22);
    assert_eq!(ip_packet_of(&frame).len(), 40 + 8);
}

#[test]
fn icmpv4_error_quotes_header_and_eight_bytes() {
    let client = FrameSpec::from_client(v4_pair());
    let original = client.udp(40000, 9999, &[0xaa; 100]);
    let error = client
        .reversed()
        .icmp_error(IcmpErrorKind::PortUnreachable, ip_packet_of(&original));
    let icmp = &error[14 + 20..];
    assert_eq!(&icmp[..2], &[3, 3]);
    assert_eq!(&icmp[8..], &ip_packet_of(&original)[..28]);
}

#[test]
fn ipv6_hop_by_hop_then_fragment_header_without_checksums() {
    let spec = FrameSpec::from_client(v6_pair())
        .with_hop_by_hop()
        .with_fragment(0, true)
        .with_ip_id(0x1234_5678)
        .without_checksums()
        .unpadded();
    let tcp = TcpFields::new(1, 2, TcpFlags::SYN);
    let frame = spec.tcp(&tcp, b"");
    let ip = &frame[14..];
    assert_eq!(&ip[4..8], &[0, 8 + 8 + 20, IPV6_HOP_BY_HOP, 64]);
    assert_eq!(&ip[40..48], &[IPV6_FRAGMENT, 0, 1, 4, 0, 0, 0, 0]);
    assert_eq!(
        &ip[48..56],
        &[IP_PROTO_TCP, 0, 0, 1, 0x12, 0x34, 0x56, 0x78]
    );
    assert_eq!(&ip[56 + 16..56 + 18], &[0, 0], "no checksum");
    assert_eq!(spec.headers_len(), 14 + 56);
}

#[test]
fn ipv4_fragment_field_and_no_transport_checksum() {
    let spec = FrameSpec::from_client(v4_pair())
        .with_ip_id(7)
        .with_fragment(24, true);
    let frame = spec.udp(5000, 53, &[1; 16]);
    assert_eq!(&frame[18..22], &[0, 7, 0x20, 3], "id 7, MF, offset 3 units");
    assert_eq!(&frame[34 + 6..34 + 8], &[0, 0], "UDP checksum left out");
    let p = verify(&frame).expect("a fragment's header checksum verifies");
    assert_eq!(
        p.spec.fragment,
        Some(Fragment {
            offset: 24,
            more: true
        })
    );
    assert_eq!(
        p.transport,
        Transport::Other,
        "a later fragment has no header"
    );
}

#[test]
fn raw_transport_ip_packet_and_ethernet() {
    let spec = FrameSpec::from_client(v4_pair()).unpadded();
    let raw = spec.raw(47, &[1, 2, 3]);
    assert_eq!((raw.len(), raw[14 + 9]), (14 + 23, 47));
    assert_eq!(spec.ip_packet(47, &[1, 2, 3]), &raw[14..]);
    assert_eq!(udp_datagram(1, 2, b"x"), [0, 1, 0, 2, 0, 9, 0, 0, b'x']);
    assert_eq!(icmp_message(8, 0, &[0, 7, 0, 1]), [8, 0, 0, 0, 0, 7, 0, 1]);
    let arp = spec.with_vlan(9).ethernet(0x0806, &[0; 28]);
    assert_eq!(&arp[12..18], &[0x81, 0, 0, 9, 0x08, 0x06]);
    assert_eq!(arp.len(), 18 + 28);
}

#[test]
fn tcp_options_in_order_padded_and_read_back() {
    let options = TcpOptions::NONE
        .mss(1460)
        .sack_permitted()
        .nop()
        .window_scale(7);
    assert_eq!(options.as_bytes(), &[2, 4, 5, 180, 4, 2, 1, 3, 3, 7]);
    assert_eq!(options.padded_len(), 12);
    let mut tcp = TcpFields::new(1, 2, TcpFlags::SYN);
    tcp.options = options;
    let segment = tcp.segment(b"data");
    assert_eq!(&segment[12..13], &[0x80], "data offset 8 words");
    assert_eq!(&segment[30..32], &[0, 0], "end-of-options padding");
    let back = TcpFields::read(&segment).unwrap();
    assert_eq!(back.options.mss_value(), Some(1460));
    assert_eq!(back.options.window_scale_value(), Some(7));
    assert!(back.options.has_sack_permitted());
    assert_eq!(back.segment(b"data"), segment);
    let handshake = TcpOptions::handshake(1460, 7);
    assert_eq!(
        handshake.as_bytes(),
        &[2, 4, 5, 180, 1, 1, 4, 2, 1, 3, 3, 7]
    );
}

/// Every shape the builder makes reads back into the spec and fields that made it, and
/// verifies; a flipped bit does not.
#[test]
fn frames_read_back_into_their_specs() {
    let mut tcp = TcpFields::new(40000, 443, TcpFlags::PSH | TcpFlags::ACK);
    (tcp.seq, tcp.ack, tcp.window, tcp.urgent) = (u32::MAX, 77, 1000, 5);
    tcp.options = TcpOptions::NONE.timestamps(1, 2).nop().nop();
    for ips in [v4_pair(), v6_pair()] {
        let base = FrameSpec::from_server(ips).with_ttl(3).with_ip_id(9);
        let specs = [
            base,
            base.with_vlan(5).with_dont_fragment(false),
            base.with_tag(ETHERTYPE_QINQ, 1).with_vlan(2).unpadded(),
            base.with_hop_by_hop(),
        ];
        for spec in specs {
            let frames = [
                (spec.tcp(&tcp, b"payload"), Transport::Tcp(tcp)),
                (
                    spec.udp(53, 5353, b""),
                    Transport::Udp {
                        src_port: 53,
                        dst_port: 5353,
                    },
                ),
                (
                    spec.icmp(11, 0, &[0; 12]),
                    Transport::Icmp {
                        icmp_type: 11,
                        code: 0,
                    },
                ),
            ];
            for (frame, transport) in frames {
                let p = verify(&frame).unwrap_or_else(|e| panic!("{e}: {spec:?}"));
                let mut expected = spec;
                match ips {
                    IpPair::V4 { .. } => expected.hop_by_hop = false,
                    IpPair::V6 { .. } => (expected.ip_id, expected.dont_fragment) = (0, false),
                }
                expected.pad_to_minimum = true;
                assert_eq!(p.spec, expected);
                assert_eq!(p.transport, transport);
                assert_eq!(p.l4, spec.headers_len());
                let mut flipped = frame.clone();
                flipped[p.end - 1] ^= 0x10;
                assert!(verify(&flipped).is_err(), "{transport:?}");
            }
        }
    }
    let frame = FrameSpec::from_client(v4_pair()).tcp(&tcp, b"payload");
    let p = parse(&frame).unwrap();
    assert_eq!(p.payload(), b"payload");
    assert_eq!(p.ports(), Some((40000, 443)));
}
