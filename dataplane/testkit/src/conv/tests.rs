use std::net::Ipv4Addr;

use super::*;
use crate::frame::{IpPair, TcpOptions};
use crate::parse::{verify, Transport};

fn conversation() -> TcpConversation {
    let ips = IpPair::V4 {
        src: Ipv4Addr::new(10, 0, 0, 1),
        dst: Ipv4Addr::new(10, 1, 0, 10),
    };
    TcpConversation::new(ips, 40000, 80, 1_000).with_isns(100, 5000)
}

/// (seq, ack, flags) of a frame without a VLAN tag or IP options.
fn seq_ack_flags(frame: &[u8]) -> (u32, u32, u8) {
    let tcp = &frame[34..];
    let word = |at: usize| u32::from_be_bytes([tcp[at], tcp[at + 1], tcp[at + 2], tcp[at + 3]]);
    (word(4), word(8), tcp[13])
}

#[test]
fn handshake_data_and_close_number_both_directions() {
    let mut conv = conversation();
    conv.handshake()
        .send(Side::Client, b"abc")
        .send(Side::Server, b"hello")
        .close(Side::Client);
    let got: Vec<_> = conv
        .frames()
        .iter()
        .map(|(_, f)| seq_ack_flags(f))
        .collect();
    assert_eq!(
        got,
        vec![
            (100, 0, 0x02),
            (5000, 101, 0x12),
            (101, 5001, 0x10),
            (101, 5001, 0x18),
            (5001, 104, 0x18),
            (104, 5006, 0x11),
            (5006, 105, 0x11),
            (105, 5007, 0x10),
        ]
    );
    let times: Vec<_> = conv.frames().iter().map(|(t, _)| *t).collect();
    assert_eq!(times[0], 1_000);
    assert_eq!(times[7], 1_000 + 7 * DEFAULT_GAP_NS);
}

#[test]
fn skip_and_idle_move_state_without_emitting() {
    let mut conv = conversation();
    conv.skip(Side::Client, 10)
        .idle(500)
        .send(Side::Client, b"x");
    assert_eq!(conv.frames().len(), 1);
    assert_eq!(conv.frames()[0].0, 1_500);
    assert_eq!(seq_ack_flags(&conv.frames()[0].1), (110, 5000, 0x18));
    assert_eq!(conv.next_seq(Side::Client), 111);
}

#[test]
fn sequence_numbers_wrap() {
    let mut conv = conversation().with_isns(u32::MAX, 0);
    conv.syn(Side::Client).send(Side::Client, b"ab");
    assert_eq!(seq_ack_flags(&conv.frames()[1].1).0, 0);
    assert_eq!(conv.next_seq(Side::Client), 2);
}

#[test]
fn deliver_hands_each_frame_once_on_its_senders_port() {
    let mut conv = conversation().with_device_ports(3, 7);
    conv.handshake();
    let got = conv.deliver(|at, frame, port| (at, seq_ack_flags(frame).2, port));
    assert_eq!(
        got,
        [
            (1_000, 0x02, 3),
            (1_000 + DEFAULT_GAP_NS, 0x12, 7),
            (1_000 + 2 * DEFAULT_GAP_NS, 0x10, 3)
        ]
    );
    assert!(conv.deliver(|_, _, _| ()).is_empty(), "nothing new");
    conv.rst(Side::Server);
    assert_eq!(conv.deliver(|_, f, p| (seq_ack_flags(f).2, p)), [(0x14, 7)]);
    assert_eq!(
        conv.senders(),
        [Side::Client, Side::Server, Side::Client, Side::Server]
    );
}

#[test]
fn segments_verify_and_carry_the_conversations_options_and_window() {
    let mut conv = conversation()
        .with_syn_options(TcpOptions::NONE)
        .with_window(65_535)
        .with_specs(|s| s.unpadded().with_ttl(9));
    conv.handshake().send(Side::Server, b"hi");
    let segments: Vec<_> = conv
        .frames()
        .iter()
        .map(|(_, f)| {
            let p = verify(f).unwrap();
            assert_eq!((p.spec.ttl, p.frame.len()), (9, p.end));
            p.tcp().unwrap()
        })
        .collect();
    assert_eq!(segments[0].options, TcpOptions::NONE);
    assert_eq!((segments[0].window, segments[2].window), (64_240, 65_535));
    assert_eq!((segments[3].src_port, segments[3].dst_port), (80, 40000));
}

#[test]
fn udp_datagrams_both_ways() {
    let ips = IpPair::v6([0x20; 16], [0x30; 16]);
    let mut conv = UdpConversation::new(ips, 5353, 53, 0).with_gap(10);
    conv.send(Side::Client, b"query")
        .send(Side::Server, b"answer");
    let got: Vec<_> = conv
        .frames()
        .iter()
        .map(|(at, f)| {
            let p = verify(f).unwrap();
            (*at, p.spec.ips.src(), p.transport, p.payload().to_vec())
        })
        .collect();
    let udp = |src_port, dst_port| Transport::Udp { src_port, dst_port };
    assert_eq!(
        got,
        [
            (0, ips.src(), udp(5353, 53), b"query".to_vec()),
            (10, ips.dst(), udp(53, 5353), b"answer".to_vec()),
        ]
    );
    assert_eq!(conv.deliver(|_, _, port| port), [0, 1]);
}
