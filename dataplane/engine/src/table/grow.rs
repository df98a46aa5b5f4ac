//! The index grows with the live sessions, in bounded steps spread over inserts, bursts and
//! timer ticks (see [`SessionTable`]'s "An index that grows with the live sessions").

use super::*;

/// Buckets of a new table's index: at least four cache lines (up to 32 sessions before it
/// grows), or the whole index of a smaller table.
pub(super) const FIRST_INDEX_BUCKETS: usize = 4 * LINE_BUCKETS;

/// Old buckets each insert moves while the index grows. The new index is twice the old one
/// and the move starts when the old one is half full, so the new one would be half full
/// (and grow again) after half the old size's inserts; at 4 buckets an insert the move is
/// done after a quarter. (Bursts and timer ticks move more: [`SessionTable::step_growth`],
/// [`SessionTable::maintain`].)
pub(super) const MOVE_PER_INSERT: usize = 4;

/// Buckets of the spare array given back per timer tick once the index has its full size
/// (4 MiB: a short unmap).
pub(super) const RELEASE_PER_TICK: usize = 1 << 20;

/// Old buckets moved per burst while the index grows (see [`SessionTable::step_growth`]).
pub(super) const MOVE_PER_BURST: usize = 4 * LINE_BUCKETS;

/// Half an index size, in whole cache lines.
pub(super) const fn half_index(len: usize) -> usize {
    (len / 2).div_ceil(LINE_BUCKETS) * LINE_BUCKETS
}

/// The size after `len` in the index's sizes: `full`, `full` halved, halved again, ... (whole
/// cache lines), down to [`FIRST_INDEX_BUCKETS`] or less. Every step doubles (to a line), and
/// the last one reaches the full size exactly.
pub(super) fn next_index_len(len: usize, full: usize) -> usize {
    let mut size = full;
    while half_index(size) > len {
        size = half_index(size);
    }
    size
}

/// The first size of an index that reaches `full`, and how many growth steps follow it.
pub(super) fn first_index_len(full: usize) -> (usize, u32) {
    let (mut size, mut steps) = (full, 0);
    while size > FIRST_INDEX_BUCKETS && half_index(size) < size {
        size = half_index(size);
        steps += 1;
    }
    (size, steps)
}

/// Whether an index of `len` buckets, `full` at the table's capacity, should grow now that it
/// holds `sessions`. Below its full size the index grows at half full, which keeps probe
/// sequences short (a lookup's walk costs instructions on every packet); at full size it is
/// at most 3/4 full, as the capacity allows.
#[inline(always)]
pub(super) fn should_grow(sessions: usize, len: usize, full: usize) -> bool {
    sessions * 2 > len && len < full
}

impl<K: TableKey, V: Default + Copy> SessionTable<K, V> {
    /// On the worker's timer tick: moves a batch of the old index's buckets while the index
    /// grows, and gives back the second bucket array, 4 MiB a tick, once the index has its
    /// full size. Bounded work (256 buckets, or one short unmap); returns whether the index is
    /// still growing.
    pub fn maintain(&mut self) -> bool {
        if self.old_len != 0 {
            self.move_buckets(16 * LINE_BUCKETS);
        } else if let Some(other) = self
            .other
            .as_mut()
            .filter(|_| self.buckets.len() == self.full_len)
        {
            // The full index never moves again: its spare array is given back, a few MiB a
            // tick (one unmap of a 27 MiB array took up to 0.66 ms here; of 4 MiB, tens of us).
            match other.capacity().checked_sub(RELEASE_PER_TICK) {
                Some(keep) if keep > 0 => other.release_tail(keep),
                _ => self.other = None,
            }
        }
        self.old_len != 0
    }

    /// Makes the index the old one and a twice larger, empty one the index; the sweep of the
    /// old one starts after one of its empty buckets (it has some: at most 3/4 full).
    pub(super) fn start_growing(&mut self) {
        let Some(other) = self.other.take() else {
            return;
        };
        let old = std::mem::replace(&mut self.buckets, other);
        self.sweep_from = old
            .iter()
            .position(|&b| b == EMPTY)
            .expect("an index at most 3/4 full has an empty bucket");
        self.old_len = old.len();
        self.other = Some(old);
        self.swept = 0;
        self.buckets
            .set_len(next_index_len(self.old_len, self.full_len));
        debug_assert!(
            self.buckets.iter().all(|&b| b == EMPTY),
            "a new index is empty"
        );
    }

    /// Per burst: while the index grows, moves [`MOVE_PER_BURST`] more old buckets, so a
    /// step ends soon after the inserts that started it stop (the lookups of a growing
    /// index walk both). One branch otherwise.
    #[inline(always)]
    pub fn step_growth(&mut self) {
        if self.old_len != 0 {
            self.move_buckets(MOVE_PER_BURST);
        }
    }

    /// Moves up to `budget` buckets of the old index, in probe order from `sweep_from`, to the
    /// index and empties them; ends the growth step after the last. A cache line of buckets at
    /// a time: the entries whose keys are hashed again are prefetched first (they are
    /// scattered over the slab).
    pub(super) fn move_buckets(&mut self, budget: usize) {
        let Some(old) = self.other.as_mut() else {
            return;
        };
        let old = &mut old[..self.old_len];
        let index = &mut self.buckets[..];
        let keys = Rehash {
            entries: &self.entries,
            second: self.second.as_deref(),
            hash_fn: self.hash_fn,
        };
        let end = (self.swept + budget).min(old.len());
        let mut n = self.swept;
        while n < end {
            let batch = (end - n).min(LINE_BUCKETS);
            let (from, len) = (self.sweep_from + n, old.len());
            let at = |k: usize| wrap_in(from + k, len);
            for k in 0..batch {
                let b = old[at(k)];
                if b != EMPTY {
                    prefetch_at(&self.entries, ((b & SLOT_MASK) - 1) as usize);
                }
            }
            for k in 0..batch {
                let b = std::mem::replace(&mut old[at(k)], EMPTY);
                if b != EMPTY {
                    place_in(index, keys.hash_of(b), b);
                }
            }
            n += batch;
        }
        self.swept = end;
        if end == old.len() {
            // Every old bucket is empty again: that array is the next step's destination.
            self.old_len = 0;
            self.swept = 0;
        }
    }

    /// The old index and where a probe for `hash` starts in it, while the index grows.
    #[inline]
    pub(super) fn old_probe(&self, hash: u64) -> Option<(&[u32], usize)> {
        if self.old_len == 0 {
            return None;
        }
        let old = &self.other.as_ref()?[..self.old_len];
        let home = home_in(hash, old.len());
        // Homes in the swept part (from `sweep_from`, `swept` buckets on) start where the sweep
        // is: all that part is empty now, and no entry left lies in it. (Wrapping by a compare,
        // not a division.)
        let swept = wrap_in(home + old.len() - self.sweep_from, old.len()) < self.swept;
        let start = if swept {
            wrap_in(self.sweep_from + self.swept, old.len())
        } else {
            home
        };
        Some((old, start))
    }
}
