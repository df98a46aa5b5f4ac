//! The index's invariants, checked against the slab (tests and fuzzing).

use super::*;

impl<K: TableKey, V: Default + Copy> SessionTable<K, V> {
    /// Checks the index and the free list against the slab (tests and fuzzing): every live
    /// slot is indexed once by its first key and once by its second if it has one, each
    /// reachable from its home bucket; every bucket names a live slot; every free slot is on
    /// the free list once and has no second key.
    pub fn check_index(&self) -> Result<(), String> {
        let mut seen = vec![false; self.entries.len()];
        let mut seen_second = vec![false; self.entries.len()];
        let mut used = 0;
        let old = match &self.other {
            Some(other) => &other[..],
            None => &[],
        };
        let in_use = [(self.index(), "index"), (&old[..self.old_len], "old index")];
        for (index, name) in in_use {
            for &b in index {
                if b == EMPTY {
                    continue;
                }
                used += 1;
                let slot = (b & SLOT_MASK) - 1;
                if !self.is_live(slot) {
                    return Err(format!("{name} bucket names free slot {slot}"));
                }
                let seen = if b & SECOND != 0 {
                    if self.second_key(slot).is_none() {
                        return Err(format!("second-key bucket for slot {slot} without one"));
                    }
                    &mut seen_second
                } else {
                    &mut seen
                };
                if std::mem::replace(&mut seen[slot as usize], true) {
                    return Err(format!("slot {slot} indexed twice"));
                }
            }
        }
        if used != self.keys() {
            return Err(format!(
                "{used} buckets for {} live slots and {} second keys",
                self.len(),
                self.seconds
            ));
        }
        let seconds = self.live_slots().filter(|&s| self.second_key(s).is_some());
        if seconds.count() != self.seconds as usize {
            return Err(format!("{} second keys counted", self.seconds));
        }
        let in_index = self.index().iter().filter(|&&b| b != EMPTY).count();
        if in_index * 4 > self.buckets.len() * 3 {
            return Err(format!(
                "{in_index} sessions in {} buckets",
                self.buckets.len()
            ));
        }
        for n in 0..self.swept {
            if old[(self.sweep_from + n) % self.old_len] != EMPTY {
                return Err(format!("swept old bucket {n} is not empty"));
            }
        }
        let keys = self.rehash();
        for slot in self.live_slots() {
            // Each of the slot's buckets must be on the probe sequence from its home, before
            // any empty bucket: the walk must find it.
            // (By slot, not tag: `hash_fn` agrees with the callers' hash in its low 32 bits
            // only.)
            let first = slot + 1;
            let buckets = [Some(first), self.second_key(slot).map(|_| SECOND | first)];
            for bucket in buckets.into_iter().flatten() {
                let hash = keys.hash_of(bucket);
                let is_it = |b: u32| b & !TAG_MASK == bucket;
                let index = self.index();
                if Self::position_in(index, home_in(hash, index.len()), is_it).is_none()
                    && self
                        .old_probe(hash)
                        .and_then(|(old, start)| Self::position_in(old, start, is_it))
                        .is_none()
                {
                    return Err(format!("slot {slot} unreachable from its home bucket"));
                }
            }
        }
        let (mut free, mut at) = (0u32, self.free_head);
        while at != NO_SLOT {
            if self.is_live(at) || std::mem::replace(&mut seen[at as usize], true) {
                return Err(format!("free list holds slot {at} twice or live"));
            }
            let second = self.second.as_ref().map(|s| s[at as usize]);
            if second.is_some_and(|key| key != K::free_link(NO_SLOT)) {
                return Err(format!("free slot {at} keeps a second key"));
            }
            free += 1;
            at = self.entries[at as usize].key.next_free();
        }
        if free != self.free_count {
            return Err(format!("free list of {free}, {} counted", self.free_count));
        }
        Ok(())
    }
}
