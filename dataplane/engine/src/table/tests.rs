//! The session table's unit tests.

use super::*;

fn h(k: &u64) -> u64 {
    k.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// A hash that sends every key to a few homes: long clusters that wrap around the end.
fn clustered(k: &u64) -> u64 {
    let low = [0xffff_fff0u64, 0x7fff_fff0, 0][(k % 3) as usize];
    (h(k) & 0xff00_0000_0000_0000) | low
}

#[test]
fn insert_lookup_remove() {
    let mut t: SessionTable<u64, u32> = SessionTable::new(4, h);
    let a = t.insert(h(&10), 10, 100).unwrap();
    let b = t.insert(h(&20), 20, 200).unwrap();
    assert_eq!(t.lookup(h(&10), &10), Some(a.index));
    assert_eq!(t.lookup(h(&20), &20), Some(b.index));
    assert_eq!(t.lookup(h(&30), &30), None);
    assert_eq!(*t.value(a.index), 100);
    assert_eq!(t.len(), 2);
    assert_eq!(t.remove(a.index), Some(10));
    assert_eq!(t.remove(a.index), None, "removing twice is refused");
    assert_eq!(t.lookup(h(&10), &10), None);
    assert_eq!(t.len(), 1);
    assert_eq!(t.live_slots().collect::<Vec<_>>(), vec![b.index]);
    t.check_index().unwrap();
}

/// The candidate from the index walk is only a hint: freed, reused or wrong, it never
/// yields a slot that does not hold the key.
#[test]
fn stale_candidates_fall_back_to_the_walk() {
    let mut t: SessionTable<u64, u32> = SessionTable::new(2, h);
    let a = t.insert(h(&10), 10, 1).unwrap().index;
    let candidate = t.prefetch_entry(h(&10));
    assert_eq!(candidate, Some(a));
    assert_eq!(t.lookup_from(candidate, h(&10), |k| *k == 10), Some(a));
    t.remove(a);
    assert_eq!(
        t.lookup_from(candidate, h(&10), |k| *k == 10),
        None,
        "freed"
    );
    let b = t.insert(h(&20), 20, 2).unwrap().index;
    assert_eq!(b, a, "the slot is reused");
    assert_eq!(
        t.lookup_from(candidate, h(&10), |k| *k == 10),
        None,
        "reused"
    );
    let c = t.insert(h(&10), 10, 3).unwrap().index;
    assert_eq!(
        t.lookup_from(candidate, h(&10), |k| *k == 10),
        Some(c),
        "moved"
    );
    assert_eq!(
        t.lookup_from(Some(c), h(&20), |k| *k == 20),
        Some(b),
        "wrong"
    );
    t.check_index().unwrap();
}

#[test]
fn stale_handles_are_detected() {
    let mut t: SessionTable<u64, u32> = SessionTable::new(1, h);
    let a = t.insert(h(&1), 1, 1).unwrap();
    assert!(t.is_current(a));
    t.remove(a.index);
    assert!(!t.is_current(a));
    let b = t.insert(h(&2), 2, 2).unwrap();
    assert_eq!(a.index, b.index, "the one slot is reused");
    assert!(!t.is_current(a) && t.is_current(b));
    assert_eq!(t.get(a), None);
    assert_eq!(t.get(b), Some(&2));
}

#[test]
fn full_table_refuses_and_keeps_existing() {
    let mut t: SessionTable<u64, u32> = SessionTable::new(3, h);
    for k in 0..3 {
        t.insert(h(&k), k, k as u32).unwrap();
    }
    assert!(t.is_full());
    assert_eq!(t.insert(h(&9), 9, 9), Err(TableFull));
    for k in 0..3 {
        assert!(t.lookup(h(&k), &k).is_some());
    }
}

/// Removal's back-shift keeps every key reachable, clusters wrapping around the end of the
/// index included.
#[test]
fn back_shift_deletion_keeps_clusters_reachable() {
    for hash in [h as fn(&u64) -> u64, clustered] {
        let cap = 200u32;
        let mut t: SessionTable<u64, u32> = SessionTable::new(cap, hash);
        let mut live: Vec<(u64, u32)> = Vec::new();
        let mut rng = synwall_testkit::Rng::xorshift(1);
        for step in 0..20_000u64 {
            let x = rng.next_u64();
            if live.len() < cap as usize && (!x.is_multiple_of(3) || live.is_empty()) {
                let k = step;
                live.push((k, t.insert(hash(&k), k, 0).unwrap().index));
            } else {
                let (k, slot) = live.swap_remove((x as usize / 3) % live.len());
                assert_eq!(t.remove(slot), Some(k));
            }
            if step.is_multiple_of(97) {
                t.check_index().unwrap();
                for &(k, slot) in &live {
                    assert_eq!(t.lookup(hash(&k), &k), Some(slot));
                }
            }
        }
    }
}

#[test]
fn churn_at_full_capacity_keeps_the_index_exact() {
    let cap = 5000u32;
    let mut t: SessionTable<u64, u32> = SessionTable::new(cap, h);
    let mut slots = Vec::new();
    for k in 0..cap as u64 {
        slots.push(t.insert(h(&k), k, 0).unwrap().index);
    }
    let mut next = cap as u64;
    for round in 0..40 {
        for (n, s) in slots.iter_mut().enumerate() {
            if (n + round) % 2 == 0 {
                t.remove(*s).unwrap();
                *s = t.insert(h(&next), next, 0).unwrap().index;
                next += 1;
            }
        }
        assert_eq!(t.len(), cap as usize);
    }
    t.check_index().unwrap();
    assert!(t.index_bytes_per_session() < 5.4);
}

/// The index grows from a few lines to its full size while sessions come and go, and
/// every key stays reachable through each growth step, mid-step included: clusters that
/// wrap around the end of the old index, sweeps that `maintain` advances, removals from
/// the old index while it is swept.
#[test]
fn the_index_grows_with_the_sessions_and_every_key_stays_reachable() {
    for hash in [h as fn(&u64) -> u64, clustered] {
        let cap = 1500u32;
        let mut t: SessionTable<u64, u32> = SessionTable::new(cap, hash);
        assert_eq!(t.index_len(), FIRST_INDEX_BUCKETS);
        let mut live: Vec<(u64, u32)> = Vec::new();
        let mut rng = synwall_testkit::Rng::xorshift(7);
        let (mut sizes, mut growing_checks) = (vec![t.index_len()], 0);
        for step in 0..15_000u64 {
            let x = rng.next_u64();
            // Mostly inserts until full, then churn: removals land in both indexes.
            if live.len() < cap as usize && (x % 5 < 3 || live.is_empty()) {
                live.push((step, t.insert(hash(&step), step, 0).unwrap().index));
            } else {
                let (k, slot) = live.swap_remove((x as usize / 5) % live.len());
                assert_eq!(t.remove(slot), Some(k));
            }
            if x.is_multiple_of(61) {
                t.maintain();
            }
            if *sizes.last().unwrap() != t.index_len() {
                sizes.push(t.index_len());
            }
            if step % 97 == 0 || t.is_growing() && step % 3 == 0 {
                growing_checks += t.is_growing() as u32;
                t.check_index().unwrap();
                for &(k, slot) in &live {
                    assert_eq!(t.lookup(hash(&k), &k), Some(slot), "key {k}");
                    assert!(t.prefetch_entry(hash(&k)).is_some());
                }
                assert_eq!(t.lookup(hash(&u64::MAX), &u64::MAX), None);
            }
        }
        let full = index_buckets(cap);
        assert_eq!(full, 2016);
        assert_eq!(sizes, [64, 128, 256, 512, 1008, full], "doubling to full");
        assert!(
            growing_checks > 20,
            "checked mid-step {growing_checks} times"
        );
        t.maintain();
        assert!(
            t.other.is_none(),
            "the spare array is given back at full size"
        );
        t.check_index().unwrap();
    }
}

/// A table sized for many sessions that holds few keeps a small index, and gives up no
/// capacity for it.
#[test]
fn a_large_table_with_few_sessions_keeps_a_small_index() {
    let cap = 100_000u32;
    let mut t: SessionTable<u64, u32> = SessionTable::new(cap, h);
    for k in 0..1000u64 {
        t.insert(h(&k), k, 0).unwrap();
    }
    while t.maintain() {}
    let len = t.index_len();
    assert!(
        (2000..4000).contains(&len),
        "1000 sessions: half of {len} buckets at most"
    );
    for k in 1000..cap as u64 {
        t.insert(h(&k), k, 0).unwrap();
    }
    assert!(t.is_full());
    while t.maintain() {}
    assert_eq!(t.index_len(), index_buckets(cap));
    t.check_index().unwrap();
    for k in 0..cap as u64 {
        assert!(t.lookup(h(&k), &k).is_some());
    }
}

#[test]
fn index_size() {
    assert_eq!(index_buckets(0), 16);
    assert!(index_buckets(7) >= 9);
    let b = index_buckets(1_000_000);
    assert!((1_333_334..1_333_334 + 16).contains(&b), "{b}");
}

/// The second key of session `k` (keys of first keys are small: these never collide).
fn second_of(k: u64) -> u64 {
    k | 1 << 40
}

/// Sessions with and without second keys come and go while the index grows: each is found by
/// either of its keys and told which, a first-key lookup never takes a second key's bucket,
/// and the index stays exact (both buckets of a session leave with it).
#[test]
fn sessions_with_second_keys_are_found_by_either_key_as_they_come_and_go() {
    for hash in [h as fn(&u64) -> u64, clustered] {
        let cap = 1200u32;
        let mut t: SessionTable<u64, u32> = SessionTable::with_second_keys(cap, hash);
        let mut live: Vec<(u64, u32, bool)> = Vec::new();
        let mut rng = synwall_testkit::Rng::xorshift(11);
        for step in 0..12_000u64 {
            let x = rng.next_u64();
            if live.len() < cap as usize && (x % 5 < 3 || live.is_empty()) {
                let slot = t.insert(hash(&step), step, 0).unwrap().index;
                // Two sessions in three get a second key (a NATed flow's reply).
                let two = step % 3 != 0;
                if two {
                    assert!(t.set_second(slot, hash(&second_of(step)), second_of(step)));
                    assert!(!t.set_second(slot, 0, 0), "one second key a session");
                }
                live.push((step, slot, two));
            } else {
                let (k, slot, two) = live.swap_remove((x as usize / 5) % live.len());
                let second = two.then(|| second_of(k));
                assert_eq!(t.remove_keys(slot), Some((k, second)));
                assert_eq!(t.lookup_keyed(None, hash(&k), |&c| c == k), None);
                if let Some(s) = second {
                    assert_eq!(t.lookup_keyed(None, hash(&s), |&c| c == s), None);
                }
            }
            if x.is_multiple_of(53) {
                t.maintain();
            }
            if step % 101 == 0 {
                t.check_index().unwrap();
                for &(k, slot, two) in &live {
                    let first = t.lookup_keyed(None, hash(&k), |&c| c == k);
                    assert_eq!(first, Some((slot, KeyKind::First)));
                    let s = second_of(k);
                    let found = t.lookup_keyed(None, hash(&s), |&c| c == s);
                    assert_eq!(found, two.then_some((slot, KeyKind::Second)));
                    assert_eq!(t.lookup_by(hash(&s), |&c| c == s), two.then_some(slot));
                    // The candidate path (stage 2's likely slot) is for first keys only.
                    assert_eq!(t.lookup_from(Some(slot), hash(&k), |&c| c == k), Some(slot));
                }
            }
        }
        t.check_index().unwrap();
    }
}

#[test]
fn a_table_without_room_for_second_keys_refuses_them() {
    let mut t: SessionTable<u64, u32> = SessionTable::new(8, h);
    let slot = t.insert(h(&1), 1, 0).unwrap().index;
    assert!(!t.set_second(slot, h(&2), 2));
    assert_eq!(t.second_key(slot), None);
    assert_eq!(t.remove_keys(slot), Some((1, None)));
    let mut t: SessionTable<u64, u32> = SessionTable::with_second_keys(8, h);
    assert!(!t.set_second(3, h(&2), 2), "not a live slot");
    assert!(
        t.index_bytes_per_session() > 8.0,
        "an index for two keys a session"
    );
}
