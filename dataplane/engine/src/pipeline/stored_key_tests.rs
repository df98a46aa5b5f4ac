//! The table's compact keys through the engine: IPv4 and IPv6 flows side by side, answered,
//! aged out and replaced, with every live slot's flow key read back and the IPv6 address
//! pairs given back and reused; and a session found timed out by its own next packet.

use std::collections::HashSet;

use crate::flow::FlowKey;
use crate::pipeline::test_engine::test_engine;
use crate::pipeline::{Engine, Verdict};
use crate::reasons::EndReason;
use crate::stats::WorkerBlock;
use synwall_testkit::frame::{FrameSpec, IpPair};
use synwall_testkit::yaml::{vwire_yaml, ALLOW_OUT};

const S: u64 = 1_000_000_000;
pub(super) const T0: u64 = 1_700_000_000 * S;
const TRUST: u8 = 0;
const UNTRUST: u8 = 1;

/// The virtual wire, trust to untrust allowed (rule `allow-out`).
pub(super) fn config() -> String {
    vwire_yaml(&[ALLOW_OUT])
}

pub(super) fn engine(capacity: u32) -> Engine {
    test_engine(&config(), T0, |cfg| cfg.capacity = capacity).0
}

/// A UDP datagram for `key` (either family) with 8 bytes of payload, unpadded.
pub(super) fn udp(key: &FlowKey) -> Vec<u8> {
    let ips = IpPair::from_key_bytes(key.family == 6, key.src, key.dst);
    FrameSpec::from_client(ips)
        .unpadded()
        .udp(key.sport, key.dport, b"payload!")
}

/// Flow `n` of a round: even ones IPv4, odd ones IPv6; addresses and ports vary with `n`.
pub(super) fn flow(round: u16, n: u16) -> FlowKey {
    let (sport, dport) = (1024 + n, 5000 + round);
    if n.is_multiple_of(2) {
        let src = format!("10.0.{}.{}", n / 250, n % 250 + 1);
        FlowKey::from_ips(
            src.parse().unwrap(),
            "10.9.0.1".parse().unwrap(),
            sport,
            dport,
            17,
        )
    } else {
        let src = format!("2001:db8::{:x}", n + 1);
        FlowKey::from_ips(
            src.parse().unwrap(),
            "2001:db8:9::1".parse().unwrap(),
            sport,
            dport,
            17,
        )
    }
}

#[test]
fn ipv4_and_ipv6_flows_share_the_table_and_give_back_their_keys() {
    let mut e = engine(512);
    let mut now = T0;
    for round in 0..4u16 {
        let keys: Vec<FlowKey> = (0..500).map(|n| flow(round, n)).collect();
        for k in &keys {
            assert_eq!(
                e.process(now, &udp(k), TRUST),
                Verdict::Forward(UNTRUST),
                "{k}"
            );
        }
        for k in &keys {
            assert_eq!(
                e.process(now, &udp(&k.reversed()), UNTRUST),
                Verdict::Forward(TRUST)
            );
        }
        assert_eq!(e.active_sessions(), 500, "every answer found its session");
        assert_eq!(e.keys.len(), 250, "one address pair per IPv6 session");
        let expected: HashSet<FlowKey> = keys.iter().copied().collect();
        let live: HashSet<FlowKey> = e
            .sessions()
            .live_slots()
            .map(|slot| e.client_key(slot))
            .collect();
        assert_eq!(live, expected, "every slot reads back its client's key");
        e.sessions().check_index().unwrap();
        // Let them all age out (UDP: 30 s), then the next round reuses slots and pairs.
        now += 40 * S;
        while e.expire(now) > 0 {}
        assert_eq!((e.active_sessions(), e.keys.len()), (0, 0));
    }
    assert_eq!(
        e.keys.touched_bytes(),
        250 * 32,
        "freed pairs are reused before the store grows"
    );
}

/// A session whose timeout passed before the wheel reached it ends `aged-out` when its next
/// packet arrives, and that packet opens a new session: stage 3's straight path (IPv4, the
/// session in its candidate slot) never serves a timed-out session; the general path (IPv6
/// here) ages it out the same way.
#[test]
fn a_timed_out_session_ends_on_its_next_packet_which_opens_a_new_one() {
    for n in [0, 1] {
        let (mut e, counters) = test_engine(&config(), T0, |cfg| cfg.capacity = 64);
        let k = flow(0, n);
        assert_eq!(e.process(T0, &udp(&k), TRUST), Verdict::Forward(UNTRUST));
        assert_eq!(
            e.process(T0 + S, &udp(&k.reversed()), UNTRUST),
            Verdict::Forward(TRUST)
        );
        let slot = e.sessions().live_slots().next().expect("one session");
        let before = e.sessions().handle(slot).expect("live");
        // 31 s of silence after the answer (UDP times out after 30), and no `expire` call.
        assert_eq!(
            e.process(T0 + 32 * S, &udp(&k), TRUST),
            Verdict::Forward(UNTRUST)
        );
        let c = counters.view();
        assert_eq!(
            c.get(WorkerBlock::ENDS + EndReason::AgedOut.index()),
            1,
            "{k}"
        );
        assert_eq!(c.get(WorkerBlock::SESSIONS_CREATED), 2, "{k}");
        assert_eq!(e.active_sessions(), 1);
        assert!(!e.sessions().is_current(before), "the old session is gone");
        // Within its timeout the new session carries on.
        assert_eq!(
            e.process(T0 + 40 * S, &udp(&k.reversed()), UNTRUST),
            Verdict::Forward(TRUST)
        );
        assert_eq!(c.get(WorkerBlock::SESSIONS_CREATED), 2, "{k}");
    }
}
