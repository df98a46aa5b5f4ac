//! The engine per packet: `Engine::process_burst` over bursts of 32 64-byte frames.
//!
//! - `established/udp_100k`: 100,000 UDP flows, one datagram each way (client frames on
//!   port 0, server frames on port 1 of a virtual wire). Every frame is run once to create
//!   the sessions; then the same 200,000 frames are replayed in order, every packet hitting
//!   a live session.
//! - `cps/udp`, `cps/tcp_syn`: every frame opens a new session (a UDP datagram or a TCP SYN)
//!   in a table of 1M sessions; when the 1M frames are used up the engine is rebuilt outside
//!   the timed region. Packets per second here are sessions per second.
//!
//! The policy is two allow rules (trust to untrust and back). Timers are armed by the
//! engine but `Engine::expire` is not called (virtual time moves 1 µs per burst).
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use synwall_engine::config::Config;
use synwall_engine::pipeline::{Engine, EngineConfig, Verdict, NO_PORT};
use synwall_engine::policy::Policy;
use synwall_engine::records::RecordRing;
use synwall_engine::stats::CounterBlock;
use synwall_perf::gen::bulk::{BulkGenerator, BulkProfile, BulkProto};
use synwall_perf::gen::scenarios::SCENARIO_EPOCH_NS;
use synwall_testkit::frame::CLIENT_MAC;
use synwall_testkit::yaml::VwireConfig;

const BURST: usize = 32;
const CPS_FLOWS: u64 = 1_000_000;

fn engine_config(max_sessions: u64) -> EngineConfig {
    let yaml = VwireConfig::new()
        .section(&format!("session:\n  max_sessions: {max_sessions}"))
        .allow_both_ways()
        .yaml();
    let config = Config::from_yaml_str(&yaml).expect("valid config");
    let policy = Policy::compile(&config).expect("compiles");
    EngineConfig::from_config(&config, Arc::new(policy), 0, 1)
}

fn engine(cfg: &EngineConfig, now: u64) -> Engine {
    Engine::new(
        cfg.clone(),
        CounterBlock::standalone(),
        Arc::new(RecordRing::new(65_536)),
        now,
    )
}

/// Frames of a profile, and the port each arrives on (client side 0, server side 1).
fn frames(profile: BulkProfile) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut gen = BulkGenerator::new(profile).expect("valid profile");
    let (mut frames, mut ports) = (Vec::new(), Vec::new());
    while let Some((_, f)) = gen.next_frame() {
        ports.push(if f[6..12] == CLIENT_MAC { 0 } else { 1 });
        frames.push(f.to_vec());
    }
    // Whole bursts only.
    let whole = frames.len() / BURST * BURST;
    frames.truncate(whole);
    ports.truncate(whole);
    (frames, ports)
}

/// Runs every frame once; returns (packets forwarded, now after the run).
fn run_all(e: &mut Engine, refs: &mut [&mut [u8]], ports: &[u8], mut now: u64) -> (usize, u64) {
    let mut v = [Verdict::Forward(NO_PORT); BURST];
    let mut fwd = 0;
    for (f, p) in refs.chunks_mut(BURST).zip(ports.chunks(BURST)) {
        e.process_burst(now, f, p, &mut v[..f.len()]);
        e.clear_emits();
        fwd += v[..f.len()].iter().filter(|v| v.forwards()).count();
        now += 1_000;
    }
    (fwd, now)
}

fn bench_established(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(BURST as u64));
    let mut profile = BulkProfile::new(100_000, 2, BulkProto::Udp);
    profile.both_directions = true;
    let (mut frames, ports) = frames(profile);
    let mut refs: Vec<&mut [u8]> = frames.iter_mut().map(|f| f.as_mut_slice()).collect();
    let cfg = engine_config(1_000_000);
    let mut e = engine(&cfg, SCENARIO_EPOCH_NS);
    let (fwd, mut now) = run_all(&mut e, &mut refs, &ports, SCENARIO_EPOCH_NS);
    eprintln!(
        "established: {} frames, {fwd} forwarded on creation, {} sessions",
        refs.len(),
        e.active_sessions()
    );
    assert_eq!(fwd, refs.len());
    let mut v = [Verdict::Forward(NO_PORT); BURST];
    let mut pos = 0usize;
    g.bench_function("established/udp_100k", |b| {
        b.iter(|| {
            e.process_burst(
                now,
                &mut refs[pos..pos + BURST],
                &ports[pos..pos + BURST],
                &mut v,
            );
            e.clear_emits();
            pos = if pos + BURST == refs.len() {
                0
            } else {
                pos + BURST
            };
            now += 1_000;
        })
    });
    assert!(v.iter().all(|v| v.forwards()));
    assert_eq!(e.active_sessions(), 100_000);
    g.finish();
}

fn bench_cps(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(BURST as u64));
    let cfg = engine_config(CPS_FLOWS + 1024);
    for (name, proto) in [("cps/udp", BulkProto::Udp), ("cps/tcp_syn", BulkProto::Tcp)] {
        let (mut frames, ports) = frames(BulkProfile::cps(CPS_FLOWS, proto));
        let mut refs: Vec<&mut [u8]> = frames.iter_mut().map(|f| f.as_mut_slice()).collect();
        {
            let mut e = engine(&cfg, SCENARIO_EPOCH_NS);
            let (fwd, _) = run_all(&mut e, &mut refs, &ports, SCENARIO_EPOCH_NS);
            eprintln!(
                "{name}: {fwd}/{} forwarded, {} sessions",
                refs.len(),
                e.active_sessions()
            );
            assert_eq!(e.active_sessions(), refs.len());
        }
        let mut now = SCENARIO_EPOCH_NS;
        let mut e = engine(&cfg, now);
        let mut pos = 0usize;
        let mut v = [Verdict::Forward(NO_PORT); BURST];
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut t0 = Instant::now();
                for _ in 0..iters {
                    if pos == refs.len() {
                        total += t0.elapsed();
                        // A fresh table (drop and allocation not timed).
                        drop(std::mem::replace(&mut e, engine(&cfg, now)));
                        pos = 0;
                        t0 = Instant::now();
                    }
                    e.process_burst(
                        now,
                        &mut refs[pos..pos + BURST],
                        &ports[pos..pos + BURST],
                        &mut v,
                    );
                    e.clear_emits();
                    pos += BURST;
                    now += 1_000;
                }
                total + t0.elapsed()
            })
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! { name = benches; config = config(); targets = bench_established, bench_cps }
criterion_main!(benches);
