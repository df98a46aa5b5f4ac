use std::collections::{HashMap, HashSet};

use synwall_engine::capture::PcapReader;

use super::*;
use crate::gen::wire_check::{assert_consistent_seq_ack, parse_and_verify};
use crate::gen::Frames;

fn collect(profile: BulkProfile) -> Frames {
    let mut generator = BulkGenerator::new(profile).unwrap();
    let mut frames = Vec::new();
    while let Some((ts, frame)) = generator.next_frame() {
        frames.push((ts, frame.to_vec()));
    }
    assert_eq!(frames.len() as u64, profile.total_packets());
    frames
}

/// Each frame's sender: source address and port.
fn senders_of(frames: &Frames) -> Vec<(Vec<u8>, u16)> {
    frames
        .iter()
        .map(|(_, f)| {
            let p = parse_and_verify(f);
            (p.src.clone(), p.ports().0)
        })
        .collect()
}

fn tcp_profile(family: IpFamily) -> BulkProfile {
    BulkProfile {
        handshake: true,
        both_directions: true,
        size: FrameSize::Imix,
        family,
        window: 7,
        ..BulkProfile::new(30, 13, BulkProto::Tcp)
    }
}

#[test]
fn tcp_with_handshake_both_directions_is_valid_and_consistent() {
    for family in [IpFamily::V4, IpFamily::V6] {
        let frames = collect(tcp_profile(family));
        assert_eq!(frames.len(), 30 * (3 + 13));
        for (_, frame) in &frames {
            parse_and_verify(frame);
        }
        assert_consistent_seq_ack(&frames);
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let profile = tcp_profile(IpFamily::V4);
    assert_eq!(collect(profile), collect(profile));
    let reseeded = collect(BulkProfile { seed: 2, ..profile });
    assert_ne!(collect(profile), reseeded);
}

#[test]
fn imix_is_exactly_seven_four_one_per_flow_direction() {
    let profile = BulkProfile {
        size: FrameSize::Imix,
        both_directions: true,
        ..BulkProfile::new(5, 48, BulkProto::Udp)
    };
    let mut per_flow_direction: HashMap<(Vec<u8>, u16), HashMap<usize, u32>> = HashMap::new();
    for (_, frame) in collect(profile) {
        let parsed = parse_and_verify(&frame);
        let sender = (parsed.src.clone(), parsed.ports().0);
        *per_flow_direction
            .entry(sender)
            .or_default()
            .entry(frame.len())
            .or_default() += 1;
    }
    assert_eq!(per_flow_direction.len(), 10);
    for counts in per_flow_direction.values() {
        // 24 packets each way: two whole cycles. Capture lengths exclude the FCS.
        let expected = HashMap::from([(60, 14), (566, 8), (1514, 2)]);
        assert_eq!(counts, &expected);
    }
}

#[test]
fn fixed_size_counts_the_fcs_and_small_sizes_keep_whole_headers() {
    let v4 = collect(BulkProfile {
        size: FrameSize::Fixed(1518),
        ..BulkProfile::new(3, 2, BulkProto::Tcp)
    });
    assert!(v4.iter().all(|(_, frame)| frame.len() == 1514));
    let v6 = collect(BulkProfile {
        family: IpFamily::V6,
        ..BulkProfile::new(3, 2, BulkProto::Tcp)
    });
    assert!(v6.iter().all(|(_, frame)| frame.len() == 14 + 40 + 20));
}

#[test]
fn five_tuples_are_unique_and_v4_hosts_avoid_0_and_255() {
    let mut seen = HashSet::new();
    for index in 0..200_000u64 {
        let ips = flow_ips(IpFamily::V4, 7, index);
        let port = flow_client_port(7, index);
        let IpPair::V4 { src, .. } = ips else {
            unreachable!()
        };
        assert!((1..=254).contains(&src.octets()[3]));
        assert!(seen.insert((src, port)), "flow {index} repeats a client");
    }
}

#[test]
fn windows_interleave_flows_round_by_round() {
    let profile = BulkProfile {
        window: 4,
        ..BulkProfile::new(6, 2, BulkProto::Udp)
    };
    let senders = senders_of(&collect(profile));
    // Window 1: flows 0..4, twice; window 2: flows 4, 5, twice.
    assert_eq!(senders[0..4], senders[4..8]);
    assert_eq!(senders[8..10], senders[10..12]);
    assert_eq!(senders[..8].iter().collect::<HashSet<_>>().len(), 4);
    assert_eq!(senders.iter().collect::<HashSet<_>>().len(), 6);
}

/// `shuffle_rounds`: the first round opens a window's flows in order, every later round
/// visits each of them once, in a new order; a TCP flow's segments stay in their order (its
/// sequence and acknowledgement numbers stay consistent).
#[test]
fn shuffled_rounds_visit_every_flow_once_in_a_new_order() {
    let profile = BulkProfile {
        window: 50,
        shuffle_rounds: true,
        ..BulkProfile::new(120, 3, BulkProto::Udp)
    };
    let senders = senders_of(&collect(profile));
    let in_order = senders_of(&collect(BulkProfile {
        shuffle_rounds: false,
        ..profile
    }));
    let first_round: Vec<_> = senders[..50].to_vec();
    assert_eq!(
        first_round,
        in_order[..50],
        "the first round opens the flows in order"
    );
    for round in [&senders[50..100], &senders[100..150]] {
        let mut sorted = round.to_vec();
        sorted.sort();
        let mut expected = first_round.clone();
        expected.sort();
        assert_eq!(sorted, expected, "each flow of the window once");
        assert_ne!(round, &first_round[..], "in another order");
    }
    assert_ne!(
        senders[50..100],
        senders[100..150],
        "a new order each round"
    );
    // The last, shorter window (20 flows) too; and TCP stays consistent.
    let sorted = |r: &[(Vec<u8>, u16)]| {
        let mut r = r.to_vec();
        r.sort();
        r
    };
    assert_eq!(senders.len(), 360);
    assert_eq!(sorted(&senders[300..320]), sorted(&senders[340..360]));
    let tcp = collect(BulkProfile {
        shuffle_rounds: true,
        ..tcp_profile(IpFamily::V4)
    });
    assert_consistent_seq_ack(&tcp);
}

#[test]
fn cps_is_one_syn_per_flow() {
    let frames = collect(BulkProfile::cps(50, BulkProto::Tcp));
    let mut tuples = HashSet::new();
    for (_, frame) in &frames {
        let parsed = parse_and_verify(frame);
        assert_eq!(parsed.segment[13], 0x02);
        assert!(tuples.insert((parsed.src.clone(), parsed.ports())));
    }
    assert_eq!(frames.len(), 50);
}

#[test]
fn timestamps_advance_by_the_gap() {
    let profile = BulkProfile {
        gap_ns: 2_000,
        ..BulkProfile::new(3, 3, BulkProto::Udp)
    };
    let stamps: Vec<u64> = collect(profile).iter().map(|(ts, _)| *ts).collect();
    let expected: Vec<u64> = (0..9).map(|i| profile.start_ns + i * 2_000).collect();
    assert_eq!(stamps, expected);
}

#[test]
fn write_bulk_streams_a_readable_capture() {
    let profile = tcp_profile(IpFamily::V6);
    let mut writer = PcapWriter::new(Vec::new()).unwrap();
    assert_eq!(write_bulk(profile, &mut writer).unwrap(), 30 * 16);
    let bytes = writer.into_inner().unwrap();
    let mut reader = PcapReader::new(&bytes[..]).unwrap();
    let expected = collect(profile);
    let mut index = 0;
    while let Some(record) = reader.next_record().unwrap() {
        assert_eq!(record.data, &expected[index].1[..]);
        assert_eq!(record.timestamp_ns, expected[index].0);
        index += 1;
    }
    assert_eq!(index, expected.len());
}

#[test]
fn invalid_profiles_are_refused() {
    let base = BulkProfile::new(1, 1, BulkProto::Udp);
    let cases = [
        (BulkProfile { flows: 0, ..base }, ProfileError::NoFlows),
        (
            BulkProfile {
                flows: (1 << 32) + 1,
                ..base
            },
            ProfileError::TooManyFlows((1 << 32) + 1),
        ),
        (
            BulkProfile {
                packets_per_flow: 0,
                ..base
            },
            ProfileError::EmptyFlows,
        ),
        (
            BulkProfile { window: 0, ..base },
            ProfileError::BadWindow(0),
        ),
        (
            BulkProfile {
                size: FrameSize::Fixed(63),
                ..base
            },
            ProfileError::SizeOutOfRange(63),
        ),
    ];
    for (profile, error) in cases {
        assert_eq!(profile.validate(), Err(error));
    }
    let handshake_only = BulkProfile {
        packets_per_flow: 0,
        handshake: true,
        proto: BulkProto::Tcp,
        ..base
    };
    assert_eq!(handshake_only.validate(), Ok(()));
}
