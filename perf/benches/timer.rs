//! `TimerWheel` with 1M timers and the engine's 10 ms tick: arming (re-arming an armed timer,
//! the per-packet case) and expiring 1M timers in budgets of 256.
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::Rng;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use synwall_engine::timer::{Rearm, TimerWheel};

const TIMERS: u32 = 1 << 20;
const TICK_NS: u64 = 10_000_000;
const START_NS: u64 = 1_700_000_000_000_000_000;
/// Deadlines spread over this span (a UDP timeout's worth and more).
const SPAN_NS: u64 = 120_000_000_000;
const BATCH: u32 = 4096;

fn armed_wheel(rng: &mut Rng) -> TimerWheel {
    let mut w = TimerWheel::new(TIMERS, TICK_NS, START_NS);
    for i in 0..TIMERS {
        w.arm(i, START_NS + 1 + rng.uniform_below(SPAN_NS));
    }
    w
}

fn bench_arm(c: &mut Criterion) {
    let mut g = c.benchmark_group("timer");
    g.throughput(Throughput::Elements(BATCH as u64));
    let mut rng = Rng::new(7);
    let mut w = armed_wheel(&mut rng);
    let deadlines: Vec<u64> = (0..1 << 16)
        .map(|_| START_NS + 1 + rng.uniform_below(SPAN_NS))
        .collect();
    let (mut idx, mut d) = (0u32, 0usize);
    g.bench_function("arm/1M_armed", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                // Scattered indices, as sessions are touched in traffic order.
                idx = idx.wrapping_add(0x9e37_79b9) & (TIMERS - 1);
                w.arm(idx, deadlines[d]);
                d = (d + 1) & ((1 << 16) - 1);
            }
        })
    });
    g.finish();
}

fn bench_expire(c: &mut Criterion) {
    let mut g = c.benchmark_group("timer");
    g.throughput(Throughput::Elements(TIMERS as u64));
    g.sample_size(10);
    let mut rng = Rng::new(11);
    g.bench_function("expire_1M/budget_256", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut w = armed_wheel(&mut rng);
                // Time moves in 1 s steps over the span, so cascades happen as in service.
                let t0 = Instant::now();
                let mut fired = 0usize;
                let mut now = START_NS;
                while (fired as u32) < TIMERS {
                    let n = w.expire(now, 256, |_| Rearm::Expired);
                    fired += n;
                    if n < 256 {
                        now += 1_000_000_000;
                    }
                }
                total += t0.elapsed();
                black_box(&w);
            }
            total
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! { name = benches; config = config(); targets = bench_arm, bench_expire }
criterion_main!(benches);
