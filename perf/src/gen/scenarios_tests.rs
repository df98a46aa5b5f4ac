//! Checks every scenario with a parser and a checksum routine written separately from the
//! builders, so a bug in `packet.rs` cannot hide itself.

use super::*;
use crate::gen::wire_check::{assert_consistent_seq_ack, parse_and_verify};

fn both_families() -> [IpFamily; 2] {
    [IpFamily::V4, IpFamily::V6]
}

#[test]
fn every_frame_of_every_scenario_has_valid_lengths_and_checksums() {
    for family in both_families() {
        for scenario in Scenario::ALL {
            let frames = scenario.frames(family);
            assert!(!frames.is_empty(), "{}", scenario.name());
            for (_, frame) in &frames {
                let parsed = parse_and_verify(frame);
                assert_eq!(
                    parsed.src.len(),
                    if family == IpFamily::V4 { 4 } else { 16 }
                );
            }
            assert!(
                frames.windows(2).all(|pair| pair[0].0 <= pair[1].0),
                "{} not in time order",
                scenario.name()
            );
        }
    }
}

#[test]
fn well_formed_conversations_have_consistent_seq_and_ack() {
    for family in both_families() {
        for scenario in [
            Scenario::TcpFin,
            Scenario::TcpRstClient,
            Scenario::TcpRstServer,
            Scenario::AgedOut,
            Scenario::TcpReuse,
        ] {
            assert_consistent_seq_ack(&scenario.frames(family));
        }
    }
}

#[test]
fn names_round_trip_and_are_unique() {
    for scenario in Scenario::ALL {
        assert_eq!(Scenario::from_name(scenario.name()), Some(*scenario));
    }
    assert_eq!(Scenario::ALL.len(), 11);
    assert_eq!(Scenario::from_name("nope"), None);
}

#[test]
fn tcp_reuse_opens_twice_on_one_five_tuple() {
    let frames = Scenario::TcpReuse.frames(IpFamily::V4);
    let syns: Vec<_> = frames
        .iter()
        .map(|(ts, f)| (ts, parse_and_verify(f)))
        .filter(|(_, p)| p.segment[13] == 0x02)
        .collect();
    assert_eq!(syns.len(), 2);
    assert_eq!(syns[0].1.ports(), syns[1].1.ports());
    assert_eq!(syns[0].1.src, syns[1].1.src);
    // The second SYN comes within TIME_WAIT (15 s) of the first connection's last segment.
    assert!(syns[1].0 - syns[0].0 < 15_000_000_000);
}

#[test]
fn non_syn_flags_are_the_five_asked_for_on_distinct_flows() {
    let frames = Scenario::NonSyn.frames(IpFamily::V4);
    let parsed: Vec<_> = frames.iter().map(|(_, f)| parse_and_verify(f)).collect();
    let flags: Vec<u8> = parsed.iter().map(|p| p.segment[13]).collect();
    assert_eq!(flags, vec![0x10, 0x18, 0x11, 0x04, 0x12]);
    let mut client_ports: Vec<u16> = parsed
        .iter()
        .map(|p| {
            if p.segment[13] == 0x12 {
                p.ports().1
            } else {
                p.ports().0
            }
        })
        .collect();
    client_ports.dedup();
    assert_eq!(client_ports.len(), 5);
}

#[test]
fn out_of_order_segments_are_all_ahead_of_the_acknowledged_point() {
    let frames = Scenario::OutOfOrder.frames(IpFamily::V6);
    let parsed: Vec<_> = frames.iter().map(|(_, f)| parse_and_verify(f)).collect();
    let (_, server_ack, _, _) = parsed[2].tcp_seq_ack_flags_len(); // final handshake ACK
    let (client_next, _, _, _) = parsed[2].tcp_seq_ack_flags_len();
    let data: Vec<_> = parsed[3..]
        .iter()
        .map(|p| p.tcp_seq_ack_flags_len())
        .collect();
    assert_eq!(data.len(), OUT_OF_ORDER_SEGMENTS);
    for (index, (seq, ack, _, len)) in data.iter().enumerate() {
        assert_eq!(*seq, client_next.wrapping_add(100 * (index as u32 + 1)));
        assert_eq!(*ack, server_ack);
        assert_eq!(*len, 100);
    }
}

#[test]
fn asymmetric_client_acks_a_syn_ack_that_is_not_in_the_capture() {
    let frames = Scenario::Asymmetric.frames(IpFamily::V4);
    let parsed: Vec<_> = frames.iter().map(|(_, f)| parse_and_verify(f)).collect();
    let flags: Vec<u8> = parsed.iter().map(|p| p.segment[13]).collect();
    assert_eq!(flags, vec![0x02, 0x10, 0x18, 0x12]);
    let (syn_seq, ..) = parsed[0].tcp_seq_ack_flags_len();
    let (ack_seq, ack_ack, ..) = parsed[1].tcp_seq_ack_flags_len();
    assert_eq!(ack_seq, syn_seq.wrapping_add(1));
    assert_eq!(ack_ack, synwall_testkit::conv::DEFAULT_SERVER_ISN + 1);
}

#[test]
fn broken_handshake_is_syn_bare_ack_rst() {
    let frames = Scenario::BrokenHandshake.frames(IpFamily::V4);
    let parsed: Vec<_> = frames.iter().map(|(_, f)| parse_and_verify(f)).collect();
    let segments: Vec<_> = parsed.iter().map(|p| p.tcp_seq_ack_flags_len()).collect();
    let (syn_seq, ..) = segments[0];
    assert_eq!(segments[0].2, 0x02);
    assert_eq!(
        (segments[1].1, segments[1].2),
        (syn_seq.wrapping_add(1), 0x10)
    );
    assert_eq!(
        (segments[2].0, segments[2].2),
        (syn_seq.wrapping_add(1), 0x04)
    );
}

#[test]
fn icmp_port_unreachable_quotes_the_udp_datagram() {
    for family in both_families() {
        let frames = Scenario::Icmp.frames(family);
        let parsed: Vec<_> = frames.iter().map(|(_, f)| parse_and_verify(f)).collect();
        let types: Vec<u8> = parsed.iter().map(|p| p.segment[0]).collect();
        let expected_types = match family {
            IpFamily::V4 => vec![8, 0, 8, 0, 17, 3],
            IpFamily::V6 => vec![128, 129, 128, 129, 17, 1],
        };
        assert_eq!(types[..4], expected_types[..4]);
        assert_eq!(parsed[4].protocol, 17);
        assert_eq!(types[5], expected_types[5]);
        let quoted = &parsed[5].segment[8..];
        let original = ip_packet_of(&frames[4].1);
        match family {
            IpFamily::V4 => assert_eq!(quoted, &original[..28]),
            IpFamily::V6 => assert_eq!(quoted, original),
        }
    }
}

#[test]
fn mixed_holds_every_other_scenario_from_distinct_clients() {
    let mixed = Scenario::Mixed.frames(IpFamily::V4);
    let others: usize = Scenario::ALL
        .iter()
        .filter(|&&s| s != Scenario::Mixed)
        .map(|s| s.frames(IpFamily::V4).len())
        .sum();
    assert_eq!(mixed.len(), others);
    assert_consistent_seq_ack_per_client_for_fin(&mixed);
}

/// The tcp-fin part of `mixed` (client 10.0.0.11) is still a consistent conversation after
/// interleaving.
fn assert_consistent_seq_ack_per_client_for_fin(mixed: &Frames) {
    let fin_only: Frames = mixed
        .iter()
        .filter(|(_, f)| {
            parse_and_verify(f).src == [10, 0, 0, 11] || parse_and_verify(f).dst == [10, 0, 0, 11]
        })
        .cloned()
        .collect();
    assert_eq!(fin_only.len(), Scenario::TcpFin.frames(IpFamily::V4).len());
    assert_consistent_seq_ack(&fin_only);
}

#[test]
fn scenarios_are_deterministic() {
    for scenario in Scenario::ALL {
        assert_eq!(scenario.frames(IpFamily::V6), scenario.frames(IpFamily::V6));
    }
}
