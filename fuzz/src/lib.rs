//! synwall's fuzz targets' bodies, kept in a library so that the seed generator and the unit
//! tests below run them too. Each `fuzz_targets/NAME.rs` is one line calling into here.

pub mod engine;
pub mod frames;
pub mod seeds;

use std::cell::RefCell;
use std::sync::Arc;

use synwall_engine::config::Config;
use synwall_engine::forge::{self, Unreachable};
use synwall_engine::pipeline::{owner_worker, Engine, EngineConfig, Verdict, EMIT_BYTES};
use synwall_engine::policy::Policy;
use synwall_engine::records::RecordRing;
use synwall_engine::stats::CounterBlock;
use synwall_engine::wire::{self, IcmpKind, Kind, Parsed, MAX_VLANS};

/// The `parse` target: the wire parser on raw bytes. Besides not panicking, a parsed frame
/// must be consistent: every offset and length lies inside the frame and in header order, the
/// result does not change with Ethernet padding, the flow hash is symmetric, and the packets
/// the engine would forge in answer (resets, unreachables) are themselves valid frames. And
/// the straight-line path for the common frame answers as the full parser does, on every input.
///
/// `data[0] & 0x80` pads the frame to a jumbo length (past 64 KiB) so that offsets beyond
/// `u16` are exercised without the fuzzer having to grow inputs that far.
pub fn parse(data: &[u8]) {
    let Some((&mode, frame)) = data.split_first() else {
        return;
    };
    let owned;
    let frame = if mode & 0x80 != 0 {
        let mut f = frame.to_vec();
        f.resize(65_536 + usize::from(mode & 0x7f) * 8, 0);
        owned = f;
        &owned[..]
    } else {
        frame
    };
    assert_eq!(
        wire::parse(frame),
        wire::parse_full(frame),
        "the common frame's path differs from the full parser"
    );
    hand_off(frame);
    let Ok(p) = wire::parse(frame) else {
        return;
    };
    assert_eq!(wire::parse(frame), Ok(p), "deterministic");
    assert!(p.vlan_count as usize <= MAX_VLANS);
    if p.kind == Kind::NonIp {
        return;
    }
    check_offsets(frame, &p);
    // Bytes after the IP packet are Ethernet padding: they change nothing.
    let mut padded = frame.to_vec();
    padded.extend_from_slice(&[0xee; 17]);
    assert_eq!(wire::parse(&padded), Ok(p), "padding changed the parse");
    assert_eq!(
        p.key.hash64(),
        p.key.reversed().hash64(),
        "hash is symmetric"
    );
    // The worker choice: the flow's hash, or for a fragment its addresses' (`wire::owner_key`).
    assert_eq!(wire::flow_hash(frame), Some(wire::owner_key(&p).hash64()));
    if p.key.family == 4 {
        assert_eq!(
            p.key.src[..12],
            synwall_engine::flow::v4_mapped([0; 4])[..12]
        );
    }
    if p.icmp.kind == IcmpKind::Error {
        assert!(
            p.inner.is_some(),
            "an ICMP error that parses has an inner flow"
        );
    }
    forged(frame, &p);
}

/// Workers of the hand-off check: not a power of two, so that `owner_worker`'s scaling shows.
pub(crate) const HAND_OFF_WORKERS: u8 = 3;

thread_local! {
    /// One engine per worker of a software hand-off, fed every frame the target sees.
    static HAND_OFF_ENGINES: RefCell<Vec<(Engine, Arc<RecordRing>)>> =
        RefCell::new(hand_off_engines());
}

fn hand_off_engines() -> Vec<(Engine, Arc<RecordRing>)> {
    const CONFIG: &str = r#"
dataplane:
  workers: [1, 2, 3]
  ports:
    - { name: a, device: net_tap0, zone: trust }
    - { name: b, device: net_tap1, zone: untrust }
  vwires: [[a, b]]
session:
  max_sessions: 192
rules:
  - { name: all, from: [any], to: [any], action: allow }
"#;
    let config = Config::from_yaml_str(CONFIG).expect("the hand-off config is valid");
    let policy = Arc::new(Policy::compile(&config).expect("compiles"));
    (0..HAND_OFF_WORKERS)
        .map(|w| {
            let mut cfg =
                EngineConfig::from_config(&config, Arc::clone(&policy), w, HAND_OFF_WORKERS.into());
            cfg.hand_off_workers = HAND_OFF_WORKERS;
            let ring = Arc::new(RecordRing::new(1 << 12));
            let engine = Engine::new(cfg, CounterBlock::standalone(), Arc::clone(&ring), 0);
            (engine, ring)
        })
        .collect()
}

/// The software hand-off: every worker's engine hands `frame` to the worker that
/// `wire::flow_hash` and `owner_worker` name, in its burst's first stage, and keeps it when that
/// is itself or when the frame has no flow (not IP, malformed). A frame is handed off whole,
/// unprocessed: the owner's engine takes it.
fn hand_off(frame: &[u8]) {
    let owner = wire::flow_hash(frame).map(|hash| owner_worker(hash, HAND_OFF_WORKERS));
    HAND_OFF_ENGINES.with(|engines| {
        for (me, (engine, ring)) in engines.borrow_mut().iter_mut().enumerate() {
            let mut verdicts = [Verdict::Forward(synwall_engine::verdict::NO_PORT)];
            let mut copy = frame.to_vec();
            let forwarded = engine.process_burst(1, &mut [&mut copy[..]], &[0], &mut verdicts);
            let verdict = verdicts[0];
            // A handed-off packet is not counted as forwarded (the worker would send the burst
            // on whole otherwise).
            assert_eq!(forwarded, usize::from(verdict.forwards()));
            engine.clear_emits();
            while ring.pop().is_some() {}
            match owner {
                Some(owner) if usize::from(owner) != me => {
                    assert_eq!(verdict, Verdict::HandOff(owner), "worker {me}")
                }
                _ => assert!(
                    !matches!(verdict, Verdict::HandOff(_)),
                    "worker {me} handed off a frame it owns: {verdict:?}"
                ),
            }
        }
    });
}

fn check_offsets(frame: &[u8], p: &Parsed) {
    let (l3, l4, pay) = (
        usize::from(p.l3_offset),
        usize::from(p.l4_offset),
        usize::from(p.payload_offset),
    );
    let ip_end = l3 + usize::from(p.ip_len);
    let pay_end = pay + usize::from(p.payload_len);
    assert!(
        14 <= l3 && l3 <= l4 && l4 <= pay,
        "header order: l3 {l3} l4 {l4} payload {pay}"
    );
    assert!(
        pay_end <= ip_end && ip_end <= frame.len(),
        "payload {pay}+{} and IP end {ip_end} in a frame of {}",
        p.payload_len,
        frame.len()
    );
    let min_ip = if p.key.family == 4 { 20 } else { 40 };
    assert!(l4 - l3 >= min_ip, "IP header of {} bytes", l4 - l3);
}

/// A forging function of `forge`: offending frame, its parse, output buffer.
type Forge = fn(&[u8], &Parsed, &mut [u8]) -> Option<usize>;

/// The packets the engine forges in answer to `p` are valid frames, within the emit buffer.
fn forged(frame: &[u8], p: &Parsed) {
    let mut out = vec![0u8; EMIT_BYTES];
    let builders: [(&str, Forge); 4] = [
        ("reset to sender", forge::tcp_reset_to_sender),
        ("reset to receiver", forge::tcp_reset_to_receiver),
        ("admin prohibited", |f, p, o| {
            forge::icmp_unreachable(f, p, Unreachable::AdminProhibited, o)
        }),
        ("port unreachable", |f, p, o| {
            forge::icmp_unreachable(f, p, Unreachable::PortUnreachable, o)
        }),
    ];
    for (what, build) in builders {
        let Some(len) = build(frame, p, &mut out) else {
            continue;
        };
        assert!(len <= out.len(), "{what}: {len} bytes");
        if let Err(reason) = wire::parse(&out[..len]) {
            panic!("{what} does not parse ({reason}): {:02x?}", &out[..len]);
        }
    }
}

/// The `config` target: the YAML loader on arbitrary text. It answers Ok or Err, never
/// panics; an accepted config round-trips through `to_yaml` and compiles (or is refused by
/// the policy compiler with a message) into engine settings; a refused one has at least one
/// error, each printed on one line, each with a key path or a line.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match Config::from_yaml_str(&text) {
        Ok(config) => {
            let again = Config::from_yaml_str(&config.to_yaml());
            assert_eq!(again.as_ref().ok(), Some(&config), "round trip");
            let _ = config.check_applications(&text, synwall_engine::app::APP_NAMES);
            if let Ok(policy) = Policy::compile(&config) {
                let policy = Arc::new(policy);
                let workers = config.dataplane.workers.len();
                for w in 0..workers.min(4) {
                    let _ =
                        EngineConfig::from_config(&config, Arc::clone(&policy), w as u8, workers);
                }
            }
        }
        Err(errors) => {
            assert!(!errors.0.is_empty());
            let printed = errors.to_string();
            assert_eq!(printed.lines().count(), errors.0.len(), "{printed}");
            for e in &errors.0 {
                assert!(
                    !e.path.is_empty() || e.line.is_some() || text.trim().is_empty(),
                    "an error with neither path nor line: {e:?}"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
