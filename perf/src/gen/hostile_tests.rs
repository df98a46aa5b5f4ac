//! The hostile capture against the engine itself: every frame of known fate gets exactly that
//! fate, frame by frame (the replay test in `dataplane/daemon/tests/replay.rs` checks the
//! totals and the sessions' end records through `synwall replay`).

use std::sync::Arc;

use synwall_engine::config::Config;
use synwall_engine::pipeline::{Engine, EngineConfig, Verdict};
use synwall_engine::policy::Policy;
use synwall_engine::records::RecordRing;
use synwall_engine::stats::CounterBlock;
use synwall_testkit::yaml::VwireConfig;

use super::*;

fn engine(now: u64) -> Engine {
    // The replay test's config: allow everything both ways, default session settings.
    let yaml = VwireConfig::new()
        .section("session: { max_sessions: 65536 }")
        .allow_both_ways()
        .yaml();
    let config = Config::from_yaml_str(&yaml).expect("valid config");
    let policy = Policy::compile(&config)
        .expect("compiles")
        .with_app_default(synwall_engine::appid::is_default_port);
    Engine::new(
        EngineConfig::from_config(&config, Arc::new(policy), 0, 1),
        CounterBlock::standalone(),
        Arc::new(RecordRing::new(65_536)),
        now,
    )
}

#[test]
fn every_known_fate_is_what_the_engine_does() {
    let capture = hostile_capture();
    let mut e = engine(capture.frames[0].0);
    let mut wrong = Vec::new();
    for (i, ((ts, frame), fate)) in capture.frames.iter().zip(&capture.fates).enumerate() {
        let verdict = e.process(*ts, frame, 0);
        e.clear_emits();
        let expected = match fate {
            // Every frame comes in on port 0: forwarded, it leaves by its wire's port 1.
            Fate::Forward => Verdict::Forward(1),
            Fate::Drop(reason) => Verdict::Drop(*reason),
            Fate::Unknown => continue,
        };
        if verdict != expected {
            wrong.push(format!(
                "frame {i} ({} bytes): expected {expected:?}, got {verdict:?}: {:02x?}",
                frame.len(),
                &frame[..frame.len().min(80)]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn deterministic_per_seed() {
    let (a, b) = (hostile_capture(), hostile_capture());
    assert_eq!(a.frames, b.frames);
    assert_eq!(a.fates, b.fates);
    let other = HostileCapture::new(HOSTILE_SEED + 1);
    assert_eq!(other.frames.len(), a.frames.len());
    assert_ne!(
        other.frames, a.frames,
        "random and flipped bytes follow the seed"
    );
    assert_eq!(other.known_drops(), a.known_drops());
}

#[test]
fn shape_of_the_capture() {
    let c = hostile_capture();
    assert_eq!(c.frames.len(), c.fates.len());
    let hostile: usize = c.groups.iter().map(|g| g.frames).sum();
    let valid_frames = c.fates.iter().filter(|f| **f == Fate::Forward).count();
    assert!(hostile + c.sessions.len() * 2 <= c.frames.len() && valid_frames > 0);
    assert_eq!(
        c.groups
            .iter()
            .find(|g| g.name == "tcp-flags")
            .unwrap()
            .frames,
        256
    );
    // Time order, whole microseconds (exact in a microsecond pcap).
    assert!(c.frames.windows(2).all(|w| w[0].0 <= w[1].0));
    assert!(c.frames.iter().all(|(ts, _)| ts % 1000 == 0));
    // Every group of known fate has its drop reasons; fragments are among them.
    let drops = c.known_drops();
    for reason in [
        DropReason::FragmentOrphan,
        DropReason::FragmentOverlap,
        DropReason::FragmentTiny,
        DropReason::MalformedVlan,
        DropReason::MalformedIpv6ExtHeader,
        DropReason::MalformedIcmpInner,
        DropReason::LandAttack,
        DropReason::BadSourceAddress,
        DropReason::NonSyn,
        DropReason::Asymmetric,
    ] {
        assert!(drops.get(&reason).copied().unwrap_or(0) > 0, "{reason}");
    }
    assert_eq!(drops[&DropReason::NonSyn], 256 - 32);
    assert_eq!(drops[&DropReason::Asymmetric], 16);
    assert_eq!(c.sessions.len(), 11);
}
