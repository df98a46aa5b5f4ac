//! Zone protection: the meter alone on a virtual clock, then the whole engine on literal
//! frames (a SYN flood beside an established flow, table-full without protection, half-open
//! sessions aging out at `tcp_init`). No EAL.

use super::*;
use crate::pipeline::test_engine::test_engine;
use crate::pipeline::{Engine, Verdict};
use crate::reasons::EndReason;
use crate::stats::CounterBlock;
use synwall_testkit::conv::{Side, TcpConversation};
use synwall_testkit::frame::{FrameSpec, IpPair, TcpFields, TcpFlags, TcpOptions};
use synwall_testkit::yaml::{VwireConfig, TRUST_PORT, UNTRUST_PORT};

const SEC: u64 = WINDOW_NS;
/// A clock that is not at a second boundary at start (as a real one).
const T0: u64 = 1_700_000_000 * SEC + 123_456_789;

fn limits(alarm: u32, activate: u32, maximal: u32) -> FloodLimits {
    FloodLimits {
        alarm,
        activate,
        maximal,
    }
}

/// Zone 0 meters SYN with `l`; zone 1 meters nothing.
fn protection(l: FloodLimits) -> (Protection, CounterBlock) {
    let mut syn_only = [None; Flood::COUNT];
    syn_only[Flood::Syn as usize] = Some(l);
    let config = ProtectionConfig {
        zones: vec![syn_only, [None; Flood::COUNT]],
    };
    let counters = CounterBlock::standalone();
    let p = Protection::new(&config, 0);
    p.publish(&counters, 2);
    (p, counters)
}

/// Offers `rate` SYNs per second, evenly spaced, for `seconds` from `start`; returns the
/// refusals of each second.
fn offer(p: &mut Protection, c: &CounterBlock, start: u64, rate: u64, seconds: u64) -> Vec<u64> {
    (0..seconds)
        .map(|s| {
            (0..rate)
                .filter(|i| {
                    let now = start + s * SEC + i * SEC / rate;
                    p.admit(0, Flood::Syn, now, c).is_err()
                })
                .count() as u64
        })
        .collect()
}

fn word(c: &CounterBlock, zone: usize, flood: Flood, w: usize) -> u64 {
    c.view().get(WorkerBlock::flood(zone, flood).unwrap() + w)
}

#[test]
fn below_the_alarm_rate_nothing_is_dropped_nor_alarmed() {
    let (mut p, c) = protection(limits(100, 200, 400));
    assert_eq!(offer(&mut p, &c, T0, 90, 5), vec![0; 5]);
    assert_eq!(word(&c, 0, Flood::Syn, FloodWord::ALLOWED), 450);
    assert_eq!(word(&c, 0, Flood::Syn, FloodWord::ALARMS), 0);
    assert_eq!(word(&c, 0, Flood::Syn, FloodWord::STATE), 0);
    assert_eq!(word(&c, 0, Flood::Syn, FloodWord::ENABLED), 1);
    // The sliding estimate of an even 90/s stays close to 90.
    let rate = word(&c, 0, Flood::Syn, FloodWord::RATE);
    assert!((85..=91).contains(&rate), "{rate}");
}

#[test]
fn above_the_alarm_rate_an_alarm_once_per_episode_and_no_drop() {
    let (mut p, c) = protection(limits(100, 200, 400));
    assert_eq!(offer(&mut p, &c, T0, 150, 3), vec![0; 3]);
    assert_eq!(word(&c, 0, Flood::Syn, FloodWord::ALARMS), 1);
    assert_eq!(
        word(&c, 0, Flood::Syn, FloodWord::STATE),
        FloodWord::STATE_ALARM
    );
    assert_eq!(word(&c, 0, Flood::Syn, FloodWord::ACTIVATIONS), 0);
    // Quiet for two seconds: the episode ends (the gauges follow without packets).
    p.tick(T0 + 5 * SEC, &c);
    assert_eq!(word(&c, 0, Flood::Syn, FloodWord::STATE), 0);
    assert_eq!(word(&c, 0, Flood::Syn, FloodWord::RATE), 0);
    // A second episode is a second alarm.
    offer(&mut p, &c, T0 + 6 * SEC, 150, 2);
    assert_eq!(word(&c, 0, Flood::Syn, FloodWord::ALARMS), 2);
}

#[test]
fn between_activate_and_maximal_drops_are_proportional() {
    // activate 100, maximal 300: at 200/s half is dropped, at 250/s three quarters.
    for (rate, expect) in [(150u64, 0.25), (200, 0.5), (250, 0.75)] {
        let (mut p, c) = protection(limits(100, 100, 300));
        let drops = offer(&mut p, &c, T0, rate, 8);
        // The first second warms the window up; after it the estimate is the offered rate.
        let steady: u64 = drops[1..].iter().sum();
        let fraction = steady as f64 / (rate * 7) as f64;
        assert!(
            (fraction - expect).abs() < 0.05,
            "{rate}/s: dropped {fraction:.3}, expected about {expect} ({drops:?})"
        );
        assert_eq!(word(&c, 0, Flood::Syn, FloodWord::ACTIVATIONS), 1);
        assert_eq!(word(&c, 0, Flood::Syn, FloodWord::MAXIMAL_DROPS), 0);
        let red = word(&c, 0, Flood::Syn, FloodWord::RED_DROPS);
        assert_eq!(red, drops.iter().sum::<u64>());
        assert_eq!(
            word(&c, 0, Flood::Syn, FloodWord::ALLOWED) + red,
            rate * 8,
            "every attempt counted once"
        );
    }
}

#[test]
fn the_coin_is_deterministic_per_seed() {
    let run = || {
        let (mut p, c) = protection(limits(100, 100, 300));
        offer(&mut p, &c, T0, 200, 4)
    };
    assert_eq!(run(), run());
}

#[test]
fn above_the_maximal_rate_every_new_syn_is_dropped() {
    let (mut p, c) = protection(limits(100, 100, 300));
    let drops = offer(&mut p, &c, T0, 2000, 4);
    // In the first second the estimate climbs through activate and maximal; from then on the
    // previous second alone keeps it above maximal.
    assert!(drops[0] > 2000 - 300, "{drops:?}");
    assert_eq!(&drops[1..], &[2000, 2000, 2000]);
    assert!(word(&c, 0, Flood::Syn, FloodWord::MAXIMAL_DROPS) >= 3 * 2000);
    let state = word(&c, 0, Flood::Syn, FloodWord::STATE);
    assert_eq!(
        state,
        FloodWord::STATE_ALARM | FloodWord::STATE_ACTIVE | FloodWord::STATE_MAXIMAL
    );
    // The flood stops: the window drains and new SYNs pass again.
    let later = T0 + 6 * SEC;
    assert_eq!(p.admit(0, Flood::Syn, later, &c), Ok(()));
    assert_eq!(word(&c, 0, Flood::Syn, FloodWord::STATE), 0);
}

#[test]
fn unprotected_zones_and_floods_pass_untouched() {
    let (mut p, c) = protection(limits(0, 1, 1));
    for i in 0..1000 {
        let now = T0 + i * 1000;
        assert_eq!(p.admit(1, Flood::Syn, now, &c), Ok(()));
        assert_eq!(p.admit(0, Flood::Udp, now, &c), Ok(()));
        assert_eq!(p.admit(7, Flood::Syn, now, &c), Ok(()));
    }
    assert_eq!(word(&c, 1, Flood::Syn, FloodWord::ALLOWED), 0);
    assert_eq!(word(&c, 1, Flood::Syn, FloodWord::ENABLED), 0);
    let mut none = Protection::new(&ProtectionConfig::default(), 0);
    assert_eq!(none.admit(0, Flood::Syn, T0, &c), Ok(()));
}

#[test]
fn rates_are_shared_between_workers_rounding_up() {
    assert_eq!(
        FloodLimits::share(10_000, 10_000, 40_000, 3),
        limits(3334, 3334, 13_334)
    );
    assert_eq!(FloodLimits::share(1, 1, 1, 4), limits(1, 1, 1));
    assert_eq!(FloodLimits::share(0, 5, 9, 0), limits(0, 5, 9));
}

#[test]
fn a_reload_keeps_the_window_of_floods_still_protected() {
    let (mut p, c) = protection(limits(100, 100, 300));
    offer(&mut p, &c, T0, 2000, 2);
    let mut config = ProtectionConfig {
        zones: vec![[None; Flood::COUNT]; 2],
    };
    config.zones[0][Flood::Syn as usize] = Some(limits(100, 100, 400));
    p.configure(&config);
    // Still a flood by the kept window: refused at once.
    assert!(p.admit(0, Flood::Syn, T0 + 2 * SEC, &c).is_err());
    p.configure(&ProtectionConfig::default());
    p.publish(&c, 2);
    assert_eq!(p.admit(0, Flood::Syn, T0 + 2 * SEC, &c), Ok(()));
    assert_eq!(word(&c, 0, Flood::Syn, FloodWord::ENABLED), 0);
}

// ---------------------------------------------------------------- the engine

const PROTECTED: &str = r#"
zone_protection:
  edge:
    flood:
      syn: { alarm_rate: 50, activate_rate: 100, maximal_rate: 200 }
      udp: { alarm_rate: 10, activate_rate: 10, maximal_rate: 10 }
zones:
  trust: { zone_protection_profile: edge }
"#;

/// The usual virtual wire, everything allowed both ways, and `extra` sections.
fn engine(extra: &str) -> (Engine, CounterBlock) {
    let yaml = VwireConfig::new().section(extra).allow_both_ways().yaml();
    test_engine(&yaml, T0, |_| {})
}

const CLIENT: [u8; 4] = [10, 77, 0, 1];
const SERVER: [u8; 4] = [10, 77, 0, 2];
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

/// IPv4 from `src` to `dst`, unpadded, identification 1.
fn spec(src: [u8; 4], dst: [u8; 4]) -> FrameSpec {
    FrameSpec::from_client(IpPair::v4(src, dst))
        .with_ip_id(1)
        .unpadded()
}

/// An IPv4 TCP segment (no options, window 65,535); also the snapshot tests' builder.
#[allow(clippy::too_many_arguments)]
pub(crate) fn tcp(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = TcpFields::new(sport, dport, TcpFlags(flags));
    (t.seq, t.ack, t.window) = (seq, ack, 0xffff);
    spec(src, dst).tcp(&t, payload)
}

fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Vec<u8> {
    spec(src, dst).udp(sport, dport, &[1, 2, 3, 4])
}

/// A SYN from a "random" source (hping3 --rand-source) to the server.
fn flood_syn(i: u32) -> Vec<u8> {
    let x = i.wrapping_mul(2_654_435_761);
    let src = [
        11 + (x >> 24) as u8 % 100,
        (x >> 16) as u8,
        (x >> 8) as u8,
        1 + x as u8 % 250,
    ];
    tcp(src, 1024 + (i % 60_000) as u16, SERVER, 80, SYN, x, 0, &[])
}

/// An established client-server flow (ISNs 1000 and 5000, no options, windows of 65,535
/// after the SYNs): its handshake through the engine at `now`.
fn handshake(e: &mut Engine, now: u64) -> TcpConversation {
    let mut talk = TcpConversation::new(IpPair::v4(CLIENT, SERVER), 40000, 80, now)
        .with_isns(1000, 5000)
        .with_syn_options(TcpOptions::NONE)
        .with_window(0xffff)
        .with_specs(FrameSpec::unpadded)
        .with_device_ports(TRUST_PORT, UNTRUST_PORT);
    talk.handshake();
    let v = talk.deliver(|_, frame, port| e.process(now, frame, port));
    assert_eq!(
        v,
        [
            Verdict::Forward(1),
            Verdict::Forward(0),
            Verdict::Forward(1)
        ]
    );
    talk
}

/// `n` data segments each way on the established flow, at `now`; all must be forwarded.
fn transfer(e: &mut Engine, now: u64, talk: &mut TcpConversation, n: u32) {
    for _ in 0..n {
        let data = [0x55u8; 100];
        talk.send(Side::Client, &data).send(Side::Server, &data);
        let v = talk.deliver(|_, frame, port| e.process(now, frame, port));
        assert_eq!(v, [Verdict::Forward(1), Verdict::Forward(0)]);
    }
}

fn drops(c: &CounterBlock, reason: DropReason) -> u64 {
    c.view().get(WorkerBlock::DROPS + reason.index())
}

/// Floods `per_second` SYNs for `seconds` from `start` in bursts of 32, with the established
/// flow's data between bursts; returns the flood's verdicts.
fn flood_beside_flow(
    e: &mut Engine,
    start: u64,
    per_second: u32,
    seconds: u32,
    talk: &mut TcpConversation,
) -> Vec<Verdict> {
    let total = per_second * seconds;
    let mut frames: Vec<Vec<u8>> = (0..total).map(flood_syn).collect();
    let mut out = Vec::new();
    for (b, chunk) in frames.chunks_mut(32).enumerate() {
        let now = start + (b as u64 * 32) * SEC / per_second as u64;
        let mut refs: Vec<&mut [u8]> = chunk.iter_mut().map(Vec::as_mut_slice).collect();
        let mut v = vec![Verdict::Forward(crate::verdict::NO_PORT); refs.len()];
        e.process_burst(now, &mut refs, &vec![0; v.len()], &mut v);
        out.extend(v);
        transfer(e, now, talk, 1);
        e.expire(now);
    }
    out
}

#[test]
fn syn_flood_is_dropped_and_the_established_flow_goes_on() {
    let (mut e, c) = engine(PROTECTED);
    let mut talk = handshake(&mut e, T0);
    let verdicts = flood_beside_flow(&mut e, T0 + SEC, 5000, 3, &mut talk);
    let refused = verdicts
        .iter()
        .filter(|v| **v == Verdict::Drop(DropReason::SynFlood))
        .count() as u64;
    let passed = verdicts.iter().filter(|v| v.forwards()).count() as u64;
    assert_eq!(refused + passed, 15_000, "only syn-flood drops");
    // At most about activate + (maximal - activate) / 2 SYNs a second get through.
    assert!(passed <= 3 * 200, "{passed} passed");
    assert_eq!(drops(&c, DropReason::SynFlood), refused);
    assert_eq!(drops(&c, DropReason::TableFull), 0);
    let syn = WorkerBlock::flood(0, Flood::Syn).unwrap();
    let v = c.view();
    assert_eq!(
        v.get(syn + FloodWord::ALLOWED),
        passed + 1,
        "the flow's own SYN too"
    );
    assert_eq!(
        v.get(syn + FloodWord::RED_DROPS) + v.get(syn + FloodWord::MAXIMAL_DROPS),
        refused
    );
    assert_eq!(v.get(syn + FloodWord::ALARMS), 1);
    assert_eq!(v.get(syn + FloodWord::ACTIVATIONS), 1);
    // One session per SYN let through, plus the established one.
    assert_eq!(e.active_sessions() as u64, passed + 1);
    // The established flow never noticed.
    transfer(&mut e, T0 + 4 * SEC, &mut talk, 10);
}

#[test]
fn half_open_sessions_age_out_at_tcp_init() {
    let (mut e, c) = engine(&format!(
        "{PROTECTED}session:\n  timeouts: {{ tcp_init: 2 }}\n"
    ));
    let mut talk = handshake(&mut e, T0);
    let start = T0 + SEC;
    let verdicts = flood_beside_flow(&mut e, start, 1000, 2, &mut talk);
    let passed = verdicts.iter().filter(|v| v.forwards()).count();
    assert_eq!(e.active_sessions(), passed + 1);
    assert!(passed > 100, "{passed}");
    // The flood ends at start + 2 s; tcp_init (2 s) later every half-open session is gone,
    // wheel-tick and expiry-budget slack included.
    let mut now = start + 2 * SEC;
    while now < start + 4 * SEC + SEC / 2 {
        transfer(&mut e, now, &mut talk, 1);
        e.expire(now);
        now += crate::pipeline::TICK_NS;
    }
    assert_eq!(e.active_sessions(), 1, "only the established flow is left");
    let aged = c.view().get(WorkerBlock::ENDS + EndReason::AgedOut.index());
    assert_eq!(aged, passed as u64);
    // The rate gauge drained too.
    let syn = WorkerBlock::flood(0, Flood::Syn).unwrap();
    assert_eq!(c.view().get(syn + FloodWord::RATE), 0);
    assert_eq!(c.view().get(syn + FloodWord::STATE), 0);
}

#[test]
fn without_protection_the_flood_fills_the_table_and_the_flow_goes_on() {
    let (mut e, c) = engine("session:\n  max_sessions: 256\n");
    let mut talk = handshake(&mut e, T0);
    let verdicts = flood_beside_flow(&mut e, T0 + SEC, 2000, 1, &mut talk);
    let full = verdicts
        .iter()
        .filter(|v| **v == Verdict::Drop(DropReason::TableFull))
        .count();
    assert_eq!(e.active_sessions(), 256);
    assert_eq!(full, 2000 - 255);
    assert_eq!(drops(&c, DropReason::TableFull), full as u64);
    assert_eq!(drops(&c, DropReason::SynFlood), 0);
    transfer(&mut e, T0 + 2 * SEC, &mut talk, 10);
}

#[test]
fn other_floods_and_zones() {
    let (mut e, c) = engine(PROTECTED);
    // UDP from trust: 10 a second at most (activate = maximal: no random band).
    let v: Vec<Verdict> = (0..50u16)
        .map(|i| e.process(T0, &udp(CLIENT, 2000 + i, SERVER, 53), 0))
        .collect();
    assert_eq!(v.iter().filter(|v| v.forwards()).count(), 10);
    assert_eq!(drops(&c, DropReason::UdpFlood), 40);
    // The untrust zone has no profile: its SYNs are not metered.
    for i in 0..500u32 {
        let x = i.wrapping_mul(2_654_435_761);
        let src = [
            11 + (x >> 24) as u8 % 100,
            (x >> 16) as u8,
            (x >> 8) as u8,
            1,
        ];
        let syn = tcp(src, 1024 + i as u16, CLIENT, 22, SYN, x, 0, &[]);
        assert_eq!(e.process(T0, &syn, 1), Verdict::Forward(0));
    }
    // Non-SYN segments never count as SYNs: they are non-syn drops before metering.
    for i in 0..500u32 {
        let ack = tcp(CLIENT, 3000 + i as u16, SERVER, 80, ACK, i, 1, &[]);
        assert_eq!(e.process(T0, &ack, 0), Verdict::Drop(DropReason::NonSyn));
    }
    let syn = WorkerBlock::flood(0, Flood::Syn).unwrap();
    assert_eq!(c.view().get(syn + FloodWord::ALLOWED), 0);
}

#[test]
fn set_protection_applies_new_limits() {
    let (mut e, _) = engine(PROTECTED);
    let burst = |e: &mut Engine, from: u32, now: u64| {
        (from..from + 400)
            .filter(|&i| e.process(now, &flood_syn(i), 0) == Verdict::Forward(1))
            .count()
    };
    assert!(burst(&mut e, 0, T0) <= 200);
    e.set_protection(ProtectionConfig::default());
    assert_eq!(burst(&mut e, 1000, T0), 400);
}
