//! Fragments through the engine, on literal IPv4 and IPv6 frames: the first fragment decides
//! through the session path and policy, the later ones follow; orphans, overlaps, tiny first
//! fragments, expiry and a full table are dropped and counted by reason.

use crate::flow::PROTO_UDP;
use crate::pipeline::test_engine::test_engine;
use crate::pipeline::{Engine, Verdict};
use crate::reasons::DropReason;
use crate::stats::{SegmentReader, WorkerBlock};
use synwall_testkit::frame::{udp_datagram, FrameSpec, IpPair, TcpFields, TcpFlags};
use synwall_testkit::yaml::{VwireConfig, ALLOW_OUT};

const S: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * S;
/// Trust side of the virtual wire.
const TRUST: u8 = 0;
const UNTRUST: u8 = 1;

const SERVICES: &str = r#"services:
  tftp: { protocol: udp, ports: ["69"] }
  telnet: { protocol: tcp, ports: ["23"] }"#;

/// The virtual wire; trust to untrust allowed but for TFTP and telnet.
fn config() -> String {
    VwireConfig::new()
        .section(SERVICES)
        .rule(
            "{ name: no-tftp, from: [trust], to: [untrust], service: [tftp, telnet], \
             action: deny }",
        )
        .rule(ALLOW_OUT)
        .yaml()
}

fn engine_with(fragments: u32) -> Engine {
    test_engine(&config(), T0, |cfg| {
        cfg.capacity = 1024;
        cfg.fragments = fragments;
    })
    .0
}

fn engine() -> Engine {
    engine_with(64)
}

fn drops(e: &Engine, reason: DropReason) -> u64 {
    SegmentReader::open(e.counters.segment())
        .unwrap()
        .sum(WorkerBlock::DROPS + reason.index())
}

/// An IPv4 fragment from 10.0.0.1 to 10.1.0.10: `data` at `offset` of datagram `id`.
fn v4(proto: u8, id: u16, offset: u16, more: bool, data: &[u8]) -> Vec<u8> {
    FrameSpec::from_client(IpPair::v4([10, 0, 0, 1], [10, 1, 0, 10]))
        .with_ip_id(id.into())
        .with_fragment(offset, more)
        .unpadded()
        .raw(proto, data)
}

/// An IPv6 fragment from 2001:db8:100::1 to 2001:db8::10 (fragment header, then `data`).
fn v6(next: u8, id: u32, offset: u16, more: bool, data: &[u8]) -> Vec<u8> {
    let src = [
        0x20, 0x01, 0x0d, 0xb8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    ];
    let dst = [
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    FrameSpec::from_client(IpPair::v6(src, dst))
        .with_ip_id(id)
        .with_fragment(offset, more)
        .unpadded()
        .raw(next, data)
}

/// The first 24 bytes of a 48-byte UDP datagram to `dport`: its header and 16 bytes of data.
fn udp_start(dport: u16) -> Vec<u8> {
    let mut u = udp_datagram(40000, dport, &[0xab; 40]);
    u.truncate(24);
    u
}

/// The three fragments of a 48-byte UDP datagram: 0..24, 24..40, 40..48.
fn v4_datagram(id: u16, dport: u16) -> [Vec<u8>; 3] {
    [
        v4(PROTO_UDP, id, 0, true, &udp_start(dport)),
        v4(PROTO_UDP, id, 24, true, &[1; 16]),
        v4(PROTO_UDP, id, 40, false, &[2; 8]),
    ]
}

fn run(e: &mut Engine, now: u64, frames: &[Vec<u8>]) -> Vec<Verdict> {
    frames.iter().map(|f| e.process(now, f, TRUST)).collect()
}

/// Forwarded across the wire (every frame here comes in on `TRUST`).
const FORWARD: Verdict = Verdict::Forward(UNTRUST);
const fn drop(reason: DropReason) -> Verdict {
    Verdict::Drop(reason)
}

#[test]
fn allowed_first_fragment_lets_the_rest_follow() {
    let mut e = engine();
    assert_eq!(run(&mut e, T0, &v4_datagram(1, 53)), [FORWARD; 3]);
    assert_eq!(
        e.active_sessions(),
        1,
        "the first fragment opened the session"
    );
    assert!(e.frags.is_empty(), "the last fragment closed the datagram");
}

#[test]
fn denied_first_fragment_takes_the_rest_with_it() {
    let mut e = engine();
    let policy = drop(DropReason::Policy);
    assert_eq!(run(&mut e, T0, &v4_datagram(2, 69)), [policy; 3]);
    assert_eq!(drops(&e, DropReason::Policy), 3);
    // A TCP datagram refused by port, too.
    let mut t = TcpFields::new(40001, 23, TcpFlags(0x02));
    (t.seq, t.window) = (1, 0xffff);
    let syn = t.segment(&[0; 4]);
    let tcp = [v4(6, 3, 0, true, &syn), v4(6, 3, 24, false, &[0; 8])];
    assert_eq!(run(&mut e, T0, &tcp), [policy; 2]);
}

#[test]
fn orphans_out_of_order_and_expired_are_dropped() {
    let mut e = engine();
    let [first, middle, last] = v4_datagram(4, 53);
    let orphan = drop(DropReason::FragmentOrphan);
    // The later fragments arrive before the first: orphans (nothing is held back).
    assert_eq!(
        run(&mut e, T0, &[middle.clone(), last.clone()]),
        [orphan; 2]
    );
    assert_eq!(run(&mut e, T0, &[first]), [FORWARD]);
    // The rest of a datagram within the timeout follows; past it, it is an orphan.
    let [first, middle, last] = v4_datagram(5, 53);
    assert_eq!(run(&mut e, T0, &[first]), [FORWARD]);
    assert_eq!(run(&mut e, T0 + 9 * S, &[middle]), [FORWARD]);
    assert_eq!(run(&mut e, T0 + 10 * S, &[last]), [orphan]);
    assert_eq!(drops(&e, DropReason::FragmentOrphan), 3);
    assert!(e.frags.is_empty());
}

#[test]
fn overlapping_fragments_are_dropped_with_the_rest_of_their_datagram() {
    let mut e = engine();
    let [first, _, last] = v4_datagram(6, 53);
    // Teardrop-style: bytes 16..32 rewrite the end of the first fragment.
    let overlapping = v4(PROTO_UDP, 6, 16, true, &[9; 16]);
    let overlap = drop(DropReason::FragmentOverlap);
    assert_eq!(
        run(&mut e, T0, &[first.clone(), overlapping, last]),
        [FORWARD, overlap, overlap]
    );
    // A repeated first fragment (ports rewritten after the first passed) is an overlap too.
    let [first, ..] = v4_datagram(7, 53);
    let again = v4(PROTO_UDP, 7, 0, true, &udp_start(69));
    assert_eq!(run(&mut e, T0, &[first, again]), [FORWARD, overlap]);
    assert_eq!(drops(&e, DropReason::FragmentOverlap), 3);
}

#[test]
fn tiny_first_fragment_is_dropped_and_its_followers_are_orphans() {
    let mut e = engine();
    // 8 bytes of TCP: ports, but not the flags the policy and the tracker need.
    let tiny = v4(6, 8, 0, true, &[0x9c, 0x40, 0, 80, 0, 0, 0, 1]);
    let rest = v4(6, 8, 8, false, &[0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    assert_eq!(
        run(&mut e, T0, &[tiny, rest]),
        [
            drop(DropReason::FragmentTiny),
            drop(DropReason::FragmentOrphan)
        ]
    );
    assert_eq!(e.active_sessions(), 0);
}

#[test]
fn a_full_table_refuses_new_datagrams_until_one_leaves() {
    let mut e = engine_with(2);
    let firsts: Vec<Vec<u8>> = (10..13).map(|id| v4_datagram(id, 53)[0].clone()).collect();
    let full = drop(DropReason::FragmentTableFull);
    assert_eq!(run(&mut e, T0, &firsts), [FORWARD, FORWARD, full]);
    // The refused datagram opened no session; the two others keep theirs (one flow).
    assert_eq!(e.active_sessions(), 1);
    // Once the others' time is up, the table takes new datagrams again.
    assert_eq!(run(&mut e, T0 + 10 * S, &firsts[2..]), [FORWARD]);
    assert_eq!(drops(&e, DropReason::FragmentTableFull), 1);
}

#[test]
fn ipv6_fragments_follow_their_first() {
    let mut e = engine();
    let datagram = [
        v6(PROTO_UDP, 0x1234_5678, 0, true, &udp_start(53)),
        v6(PROTO_UDP, 0x1234_5678, 24, true, &[1; 16]),
        v6(PROTO_UDP, 0x1234_5678, 40, false, &[2; 8]),
    ];
    assert_eq!(run(&mut e, T0, &datagram), [FORWARD; 3]);
    assert!(e.frags.is_empty());
    // Denied by the policy: the followers are dropped with the policy's reason.
    let denied = [
        v6(PROTO_UDP, 77, 0, true, &udp_start(69)),
        v6(PROTO_UDP, 77, 24, false, &[1; 24]),
    ];
    let policy = drop(DropReason::Policy);
    assert_eq!(run(&mut e, T0, &denied), [policy; 2]);
    // An orphan and an overlap, as for IPv4.
    assert_eq!(
        run(&mut e, T0, &[v6(PROTO_UDP, 78, 8, false, &[0; 8])]),
        [drop(DropReason::FragmentOrphan)]
    );
    let overlapping = [
        v6(PROTO_UDP, 79, 0, true, &udp_start(53)),
        v6(PROTO_UDP, 79, 8, false, &[0; 40]),
    ];
    assert_eq!(
        run(&mut e, T0, &overlapping),
        [FORWARD, drop(DropReason::FragmentOverlap)]
    );
}

#[test]
fn same_id_in_another_family_or_protocol_is_another_datagram() {
    let mut e = engine();
    let [first, ..] = v4_datagram(20, 53);
    assert_eq!(run(&mut e, T0, &[first]), [FORWARD]);
    // Same addresses and id, protocol ICMP: not the UDP datagram's follower.
    assert_eq!(
        run(&mut e, T0, &[v4(1, 20, 24, false, &[0; 8])]),
        [drop(DropReason::FragmentOrphan)]
    );
}

#[test]
fn unfragmented_packets_do_not_touch_the_table() {
    let mut e = engine();
    let whole = v4(PROTO_UDP, 30, 0, false, &{
        let mut u = udp_start(53);
        u[4..6].copy_from_slice(&24u16.to_be_bytes());
        u
    });
    assert_eq!(run(&mut e, T0, &[whole]), [FORWARD]);
    assert!(e.frags.is_empty());
}
