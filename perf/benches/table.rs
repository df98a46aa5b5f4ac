//! `SessionTable<StoredKey, _>` (the engine's table key, IPv4 flows) at 1M capacity: lookups (hit, miss) at 100k and 900k live
//! entries, and insert+remove churn at a steady 900k.
//!
//! Lookups take precomputed hashes (as the engine's stage 1 does) and walk the keys in a
//! random order, so the working set is the whole table, not the cache.
mod common;

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Duration;

use common::{key_of, Rng};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use synwall_engine::stored_key::{stored_hash, StoredKey};
use synwall_engine::table::SessionTable;

const CAPACITY: u32 = 1 << 20;
/// Lookups per measured iteration.
const BATCH: usize = 4096;

type Table = SessionTable<StoredKey, [u64; 8]>;

/// The stored form of flow `id` (IPv4: the whole key) and its hash.
fn stored(id: u64) -> (u64, StoredKey) {
    let k = key_of(id);
    let h = k.hash64();
    (h, StoredKey::probe(&k, false, h))
}

/// A table holding keys `0..live` (of a random permutation of ids), plus the probe lists.
fn filled(live: u64, rng: &mut Rng) -> (Table, Vec<u64>) {
    let mut t = Table::new(CAPACITY, stored_hash);
    let mut ids: Vec<u64> = (0..live).map(|i| i * 7 + 3).collect();
    for i in (1..ids.len()).rev() {
        ids.swap(i, rng.uniform_below(i as u64 + 1) as usize);
    }
    for &id in &ids {
        let (h, k) = stored(id);
        t.insert(h, k, [id; 8]).expect("capacity");
    }
    (t, ids)
}

fn probes(ids: impl Iterator<Item = u64>) -> Vec<(u64, StoredKey)> {
    ids.map(stored).collect()
}

fn bench_lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("table_lookup");
    g.throughput(Throughput::Elements(BATCH as u64));
    for live in [100_000u64, 900_000] {
        let mut rng = Rng::new(live);
        let (table, mut ids) = filled(live, &mut rng);
        for i in (1..ids.len()).rev() {
            ids.swap(i, rng.uniform_below(i as u64 + 1) as usize);
        }
        let hits = probes(ids.iter().copied());
        // Ids never inserted (inserted ones are 3 mod 7).
        let misses = probes((0..live).map(|i| i * 7 + 5));
        for (name, set) in [("hit", &hits), ("miss", &misses)] {
            let mut pos = 0usize;
            g.bench_function(format!("{name}/{}k_live", live / 1000), |b| {
                b.iter(|| {
                    let mut found = 0u32;
                    for _ in 0..BATCH {
                        let (h, k) = &set[pos];
                        pos = if pos + 1 == set.len() { 0 } else { pos + 1 };
                        found += table.lookup(*h, k).is_some() as u32;
                    }
                    black_box(found)
                })
            });
        }
    }
    g.finish();
}

/// Steady state at 900k live: insert a new key (hash included), remove the oldest session.
fn bench_churn(c: &mut Criterion) {
    let mut g = c.benchmark_group("table_churn");
    g.throughput(Throughput::Elements(BATCH as u64));
    let live = 900_000u64;
    let mut t = Table::new(CAPACITY, stored_hash);
    let mut fifo = VecDeque::with_capacity(live as usize + BATCH);
    for id in 0..live {
        let (h, k) = stored(id);
        fifo.push_back(t.insert(h, k, [id; 8]).unwrap().index);
    }
    let mut next = live;
    g.bench_function("insert_remove/900k_live", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                let (h, k) = stored(next);
                next += 1;
                let h = t.insert(h, k, [next; 8]).expect("room");
                fifo.push_back(h.index);
                let old = fifo.pop_front().unwrap();
                black_box(t.remove(old));
            }
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! { name = benches; config = config(); targets = bench_lookup, bench_churn }
criterion_main!(benches);
