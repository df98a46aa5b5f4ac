//! The index's buckets: tags, probe sequences, placing and unlinking (Knuth's algorithm R
//! back-shift), and the walks lookups make.

use super::*;

/// The tag of `hash`'s first-key buckets: its top 7 bits, above the second-key bit.
#[inline(always)]
pub(super) fn tag_of(hash: u64) -> u32 {
    ((hash >> 57) as u32) << (SLOT_BITS + 1)
}

/// What the index's maintenance needs to hash a bucket's key again: the slab, the second
/// keys, and the hash. (Borrowed field by field, beside a writable index.)
pub(super) struct Rehash<'a, K: Copy, V: Copy> {
    pub(super) entries: &'a [Entry<K, V>],
    pub(super) second: Option<&'a [K]>,
    pub(super) hash_fn: fn(&K) -> u64,
}

impl<K: Copy, V: Copy> Rehash<'_, K, V> {
    /// The hash of the key bucket `b` stands for.
    #[inline]
    pub(super) fn hash_of(&self, b: u32) -> u64 {
        let slot = ((b & SLOT_MASK) - 1) as usize;
        match self.second.filter(|_| b & SECOND != 0) {
            Some(second) => (self.hash_fn)(&second[slot]),
            None => (self.hash_fn)(&self.entries[slot].key),
        }
    }
}

/// The home bucket of `hash` in an index of `len` buckets.
#[inline(always)]
pub(super) fn home_in(hash: u64, len: usize) -> usize {
    ((hash as u32 as u64 * len as u64) >> 32) as usize
}

/// The bucket after `i` in an index of `len` buckets.
#[inline(always)]
pub(super) fn next_in(i: usize, len: usize) -> usize {
    if i + 1 == len {
        0
    } else {
        i + 1
    }
}

/// Walks the probe sequence from `start` in `index`: the first slot whose bucket carries `tag`
/// and that `take` accepts, up to the first empty bucket.
#[inline(always)]
pub(super) fn walk_in(
    index: &[u32],
    start: usize,
    tag: u32,
    take: impl Fn(u32) -> bool,
) -> Option<u32> {
    let mut i = start;
    loop {
        let b = index[i];
        if b == EMPTY {
            return None;
        }
        if b & !SLOT_MASK == tag && take((b & SLOT_MASK) - 1) {
            return Some((b & SLOT_MASK) - 1);
        }
        i = next_in(i, index.len());
    }
}

/// Puts `bucket` in the first empty bucket of `hash`'s probe sequence; the index has one (it is
/// never more than 3/4 full).
#[inline(always)]
pub(super) fn place_in(index: &mut [u32], hash: u64, bucket: u32) {
    let mut i = home_in(hash, index.len());
    while index[i] != EMPTY {
        i = next_in(i, index.len());
    }
    index[i] = bucket;
}

impl<K: TableKey, V: Default + Copy> SessionTable<K, V> {
    /// The bucket from `start` on, up to the first empty one, that `is` accepts.
    pub(super) fn position_in(
        index: &[u32],
        start: usize,
        is: impl Fn(u32) -> bool,
    ) -> Option<usize> {
        let mut i = start;
        loop {
            let b = index[i];
            if b == EMPTY {
                return None;
            }
            if is(b) {
                return Some(i);
            }
            i = next_in(i, index.len());
        }
    }

    /// Empties bucket `hole` of `index` and shifts back the entries after it whose probe
    /// sequence passes through it, so every entry stays reachable from its home without
    /// tombstones. (In an old index being swept, the shift stops at the empty bucket the sweep
    /// began after, and moves entries only into buckets the sweep has not reached.)
    pub(super) fn unlink_bucket(index: &mut [u32], mut hole: usize, keys: &Rehash<'_, K, V>) {
        let n = index.len();
        let mut j = next_in(hole, n);
        loop {
            let b = index[j];
            if b == EMPTY {
                break;
            }
            let home = home_in(keys.hash_of(b), n);
            // Distances along the probe direction (wrapping): the entry at `j` may move to the
            // hole if its home is not strictly between the hole and `j`.
            let dist_home = (j + n - home) % n;
            let dist_hole = (j + n - hole) % n;
            if dist_home >= dist_hole {
                index[hole] = b;
                hole = j;
            }
            j = next_in(j, n);
        }
        index[hole] = EMPTY;
    }

    /// Takes the bucket `bucket` (slot and second-key bit) out of the index, or (while it
    /// grows) the old one: whichever the walk for `hash` finds it in.
    pub(super) fn unindex(&mut self, hash: u64, bucket: u32) {
        let is_it = |b: u32| b & !TAG_MASK == bucket;
        let len = self.buckets.len();
        let keys = Rehash {
            entries: &self.entries,
            second: self.second.as_deref(),
            hash_fn: self.hash_fn,
        };
        if let Some(i) = Self::position_in(&self.buckets, home_in(hash, len), is_it) {
            Self::unlink_bucket(&mut self.buckets, i, &keys);
        } else {
            let (_, start) = self.old_probe(hash).expect("a live slot is indexed");
            let old = &mut self.other.as_mut().expect("the old index")[..self.old_len];
            let i = Self::position_in(old, start, is_it).expect("a live slot is indexed");
            Self::unlink_bucket(old, i, &keys);
        }
    }

    /// The probe sequence of `hash`: the first slot whose first-key bucket carries the hash's
    /// tag and that `take` accepts, up to the first empty bucket; in the old index too while
    /// the index grows.
    #[inline(always)]
    pub(super) fn walk(&self, hash: u64, take: impl Fn(u32) -> bool) -> Option<u32> {
        self.walk_tagged(hash, tag_of(hash), take)
    }

    /// [`Self::walk`] for the buckets whose tag (and second-key bit) is `tag`.
    #[inline(always)]
    pub(super) fn walk_tagged(
        &self,
        hash: u64,
        tag: u32,
        take: impl Fn(u32) -> bool,
    ) -> Option<u32> {
        let index = self.index();
        if let Some(slot) = walk_in(index, home_in(hash, index.len()), tag, &take) {
            return Some(slot);
        }
        let (old, start) = self.old_probe(hash)?;
        walk_in(old, start, tag, take)
    }
}
