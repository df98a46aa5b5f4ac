//! `Policy::lookup` over 10,000 rules (and 100 for comparison): random /24 source and
//! destination prefixes, one random TCP or UDP port range per rule, two zones.
//!
//! `hit`: each query is built from a random rule (an address in both its prefixes, a port in
//! its range, its zones), so it matches that rule or an earlier one. `miss`: random
//! addresses and ports, nearly all of which fall through to the default rules.
mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{rules_yaml, Rng};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use synwall_engine::config::Config;
use synwall_engine::flow::v4_mapped;
use synwall_engine::policy::{Policy, Query};

const QUERIES: usize = 4096;

fn queries(
    policy: &Policy,
    shapes: &[common::RuleShape],
    hit: bool,
    seed: u64,
) -> Vec<Query<'static>> {
    let trust = policy.zone_id("trust").unwrap();
    let untrust = policy.zone_id("untrust").unwrap();
    let mut rng = Rng::new(seed);
    (0..QUERIES)
        .map(|_| {
            if hit {
                let r = shapes[rng.uniform_below(shapes.len() as u64) as usize];
                let (s, d) = (
                    [r.src[0], r.src[1], r.src[2], rng.uniform_below(256) as u8],
                    [r.dst[0], r.dst[1], r.dst[2], rng.uniform_below(256) as u8],
                );
                let (from_zone, to_zone) = if r.forward {
                    (trust, untrust)
                } else {
                    (untrust, trust)
                };
                Query {
                    from_zone,
                    to_zone,
                    src: v4_mapped(s),
                    dst: v4_mapped(d),
                    family: 4,
                    proto: r.proto,
                    dport: r.lo + rng.uniform_below((r.hi - r.lo) as u64 + 1) as u16,
                    app: None,
                }
            } else {
                let fwd = rng.uniform_below(2) == 0;
                Query {
                    from_zone: if fwd { trust } else { untrust },
                    to_zone: if fwd { untrust } else { trust },
                    src: v4_mapped((rng.next_u64() as u32).to_be_bytes()),
                    dst: v4_mapped((rng.next_u64() as u32).to_be_bytes()),
                    family: 4,
                    proto: if rng.uniform_below(2) == 0 { 6 } else { 17 },
                    dport: rng.next_u64() as u16,
                    app: None,
                }
            }
        })
        .collect()
}

fn bench_policy(c: &mut Criterion) {
    let mut g = c.benchmark_group("policy_lookup");
    g.throughput(Throughput::Elements(QUERIES as u64));
    for n in [100usize, 10_000] {
        let (yaml, shapes) = rules_yaml(n, 42 + n as u64);
        let config = Config::from_yaml_str(&yaml).expect("valid config");
        let policy = Policy::compile(&config).expect("compiles");
        eprintln!(
            "policy of {n} rules: {} bytes compiled",
            policy.memory_bytes()
        );
        for hit in [true, false] {
            let qs = queries(&policy, &shapes, hit, n as u64 * 3 + hit as u64);
            let matched = qs
                .iter()
                .filter(|q| policy.lookup(q).default_rule.is_none())
                .count();
            eprintln!(
                "  {} queries: {matched}/{QUERIES} match a rule",
                if hit { "hit" } else { "miss" }
            );
            g.bench_function(
                format!("{}/{n}_rules", if hit { "hit" } else { "miss" }),
                |b| {
                    b.iter(|| {
                        for q in &qs {
                            black_box(policy.lookup(black_box(q)));
                        }
                    })
                },
            );
        }
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! { name = benches; config = config(); targets = bench_policy }
criterion_main!(benches);
