//! A fixed-capacity session table: a slab of entries (key and value side by side) plus an
//! open-addressing index of 4-byte buckets.
//!
//! All memory is allocated at construction and never grows: a full table refuses an insert
//! (`TableFull`), it does not allocate. The caller passes the hash in: the flow key's symmetric
//! hash is computed once per packet in the burst's parse stage and reused for the worker choice,
//! the prefetches and the lookup.
//!
//! ## The index
//! It grows with the live sessions up to the size below, in bounded steps (see
//! [`SessionTable`]). Each bucket is a `u32`: the slot number plus one in the low 24 bits (0 = empty) and an 8-bit
//! tag from the top of the hash in the high 8 bits, so a probe compares a key (a cache miss into
//! the slab) only when the tag matches (a false match once in 256 probes). Buckets number
//! `capacity * 4 / 3` (the index is at most 3/4 full), rounded to a cache line of 16 buckets: about
//! 5.3 bytes a session. (At 7/8, 4.6 bytes, a full table's clusters were long enough that the
//! back-shift of a mass expiry spent 40 % of its time rehashing neighbours.) The home bucket is `hash_lo32 * buckets >> 32` (no power-of-two
//! rounding, which would cost up to 2x the memory), then linear probing: a probe sequence walks
//! adjacent buckets, mostly within one cache line.
//!
//! Deletion shifts later entries of the cluster back (Knuth's algorithm R) instead of leaving
//! tombstones, so probe sequences never lengthen with churn and the index never needs a rebuild
//! (hashbrown, which this replaces, keeps tombstones and rehashes; to keep that rehash in place it
//! had to be sized at 2x, ~21 bytes a session at 1M). The shift recomputes the hash of each entry
//! it considers moving: removal is rarer than lookup and happens off the per-packet path.
//!
//! ## Handles
//! Slots carry a 16-bit generation beside the key (in what would be the entry's padding): even
//! while free, odd while live, bumped on both transitions. A [`SessionHandle`] (slot,
//! generation) is how other parts of the system name a session (timers, CLI, records, later
//! HA); a stale handle is detected rather than aliasing a new session (until a slot has been
//! reused 32,768 times).
//!
//! ## Free slots
//! A free slot's key is dead, so the list of free slots is threaded through the keys
//! ([`TableKey::free_link`]): no side array, no bytes per session beyond the entry and the
//! index.

use synwall_hints::{prefetch_at, prefetch_both_at, prefetch_head_at, HugeArray};

/// A session's name: slot number and generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SessionHandle {
    pub index: u32,
    pub generation: u32,
}

/// The table is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableFull;

/// Most slots one table can have: bucket slot numbers are 24 bits (plus one).
pub const MAX_CAPACITY: u32 = (1 << 24) - 2;

const SLOT_BITS: u32 = 24;
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;
const EMPTY: u32 = 0;
/// Buckets per 64-byte cache line.
const LINE_BUCKETS: usize = 16;
/// End of the free list.
const NO_SLOT: u32 = u32::MAX;

/// What the table needs of a key beyond equality: a way to hold the free list's link while
/// its slot is free.
pub trait TableKey: Copy + Eq + Default {
    /// The key a free slot holds: "the next free slot is `next`". It must equal no key a
    /// caller looks up (see [`SessionTable::lookup_from`]).
    fn free_link(next: u32) -> Self;
    /// The link `free_link` wrote.
    fn next_free(&self) -> u32;
}

impl TableKey for u64 {
    fn free_link(next: u32) -> Self {
        !(next as u64)
    }
    fn next_free(&self) -> u32 {
        !*self as u32
    }
}

/// One slab entry: the key, the slot's generation, then the value, so a lookup's key compare
/// brings the value's first bytes into cache with it. `repr(C)` keeps this order (Rust would
/// put the more aligned value first and the key at the entry's far end); a key of 14 or 38
/// bytes leaves exactly the 2 bytes the generation takes before a 4-byte aligned value.
///
/// Aligned to 32 bytes: a 96-byte entry then starts at 0 or 32 in a cache line and spans two
/// lines. (The allocator hands a large `Vec` out 16 bytes into a line: half the entries then
/// spanned three.)
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(32))]
pub struct Entry<K, V> {
    pub key: K,
    generation: u16,
    pub value: V,
}

/// Buckets the index has for `capacity` sessions (at most 3/4 full, whole cache lines).
pub const fn index_buckets(capacity: u32) -> usize {
    let want = (capacity as usize * 4).div_ceil(3) + 1;
    let lines = want.div_ceil(LINE_BUCKETS);
    if lines < 1 {
        LINE_BUCKETS
    } else {
        lines * LINE_BUCKETS
    }
}

/// Buckets of a new table's index: at least four cache lines (up to 32 sessions before it
/// grows), or the whole index of a smaller table.
const FIRST_INDEX_BUCKETS: usize = 4 * LINE_BUCKETS;

/// Old buckets each insert moves while the index grows. The new index is twice the old one
/// and the move starts when the old one is half full, so the new one would be half full
/// (and grow again) after half the old size's inserts; at 4 buckets an insert the move is
/// done after a quarter. (Bursts and timer ticks move more: [`SessionTable::step_growth`],
/// [`SessionTable::maintain`].)
const MOVE_PER_INSERT: usize = 4;

/// Buckets of the spare array given back per timer tick once the index has its full size
/// (4 MiB: a short unmap).
const RELEASE_PER_TICK: usize = 1 << 20;

/// Old buckets moved per burst while the index grows (see [`SessionTable::step_growth`]).
const MOVE_PER_BURST: usize = 4 * LINE_BUCKETS;

/// Half an index size, in whole cache lines.
const fn half_index(len: usize) -> usize {
    (len / 2).div_ceil(LINE_BUCKETS) * LINE_BUCKETS
}

/// The size after `len` in the index's sizes: `full`, `full` halved, halved again, ... (whole
/// cache lines), down to [`FIRST_INDEX_BUCKETS`] or less. Every step doubles (to a line), and
/// the last one reaches the full size exactly.
fn next_index_len(len: usize, full: usize) -> usize {
    let mut size = full;
    while half_index(size) > len {
        size = half_index(size);
    }
    size
}

/// The first size of an index that reaches `full`, and how many growth steps follow it.
fn first_index_len(full: usize) -> (usize, u32) {
    let (mut size, mut steps) = (full, 0);
    while size > FIRST_INDEX_BUCKETS && half_index(size) < size {
        size = half_index(size);
        steps += 1;
    }
    (size, steps)
}

/// `i` wrapped into an index of `len` buckets, for an `i` below `2 * len`.
#[inline(always)]
fn wrap_in(i: usize, len: usize) -> usize {
    if i >= len {
        i - len
    } else {
        i
    }
}

/// Whether an index of `len` buckets, `full` at the table's capacity, should grow now that it
/// holds `sessions`. Below its full size the index grows at half full, which keeps probe
/// sequences short (a lookup's walk costs instructions on every packet); at full size it is
/// at most 3/4 full, as the capacity allows.
#[inline(always)]
fn should_grow(sessions: usize, len: usize, full: usize) -> bool {
    sessions * 2 > len && len < full
}

/// Fixed-capacity table of `V` keyed by `K`.
///
/// ## An index that grows with the live sessions
/// The index starts small and doubles whenever it is half full, up to the size `capacity`
/// needs (at most 3/4 full): a table configured for 1 M sessions that holds 100 k probes
/// 1.3 MiB of index, which can stay in the core's L2, rather than 5.3 MiB at random. No
/// memory is allocated as it grows: two bucket arrays are allocated (and written, so that no
/// page fault waits in the worker) at construction, for the full size and the size before
/// it; each step moves the index from one to the other.
///
/// A step is spread over many calls, as Redis rehashes, so no call runs long: each insert
/// moves [`MOVE_PER_INSERT`] old buckets, each burst [`MOVE_PER_BURST`]
/// ([`Self::step_growth`]) and the timer tick's [`Self::maintain`] a batch. While it moves, a
/// lookup tries the new index, then the old one; inserts go to the new one. The old index is
/// swept in probe order from one of its empty buckets, and each bucket swept is emptied: the
/// swept part is a run of empty buckets just after an empty one, so the sweep never breaks a
/// probe sequence it has not reached. A lookup whose home is in the swept part starts at the
/// sweep's position: every entry left in the old index sits at or after it. When the last
/// step ends, the other array is not needed again and is given back (`maintain`): at full size
/// the index costs what it did before it grew (5.3 bytes a session).
pub struct SessionTable<K: Copy, V: Copy> {
    entries: HugeArray<Entry<K, V>>,
    /// First free slot (`NO_SLOT` when full); the list is threaded through the free keys and
    /// used as a stack (recently freed slots are warm in cache).
    free_head: u32,
    free_count: u32,
    /// The index: the prefix of its array in use, which is what `buckets` shows
    /// (`HugeArray::set_len`: a probe's index is then bounds-checked against the size in use,
    /// with no slicing per probe).
    buckets: HugeArray<u32>,
    /// The other bucket array: while the index grows, the old index (its first `old_len`
    /// buckets); otherwise all empty, the next step's destination. `None` once the index has
    /// its full size.
    other: Option<HugeArray<u32>>,
    /// The old index's size while the index grows, 0 otherwise.
    old_len: usize,
    /// Where the sweep of the old index began (an empty bucket), and how many buckets it has
    /// moved and emptied since.
    sweep_from: usize,
    swept: usize,
    /// The index's size at `capacity`.
    full_len: usize,
    /// The key's hash, for deletion's back-shift and the index's growth (the index stores no
    /// hashes). Only its low 32 bits are used (they pick the home bucket).
    hash_fn: fn(&K) -> u64,
}

#[inline(always)]
fn tag_of(hash: u64) -> u32 {
    ((hash >> 56) as u32) << SLOT_BITS
}

/// The home bucket of `hash` in an index of `len` buckets.
#[inline(always)]
fn home_in(hash: u64, len: usize) -> usize {
    ((hash as u32 as u64 * len as u64) >> 32) as usize
}

/// The bucket after `i` in an index of `len` buckets.
#[inline(always)]
fn next_in(i: usize, len: usize) -> usize {
    if i + 1 == len {
        0
    } else {
        i + 1
    }
}

/// Walks the probe sequence from `start` in `index`: the first slot whose bucket carries `tag`
/// and that `take` accepts, up to the first empty bucket.
#[inline(always)]
fn walk_in(index: &[u32], start: usize, tag: u32, take: impl Fn(u32) -> bool) -> Option<u32> {
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
fn place_in(index: &mut [u32], hash: u64, bucket: u32) {
    let mut i = home_in(hash, index.len());
    while index[i] != EMPTY {
        i = next_in(i, index.len());
    }
    index[i] = bucket;
}

impl<K: TableKey, V: Default + Copy> SessionTable<K, V> {
    /// A table of `capacity` sessions (at most [`MAX_CAPACITY`]), all memory allocated now.
    /// `hash_fn` must agree with the hash the caller passes to `lookup`/`insert` in its low 32
    /// bits.
    pub fn new(capacity: u32, hash_fn: fn(&K) -> u64) -> Self {
        assert!(
            capacity <= MAX_CAPACITY,
            "a session table holds at most {MAX_CAPACITY} sessions (config validation caps it)"
        );
        // The slab and the index are probed at random: on huge pages, allocated and advised
        // before the first touch (see `synwall_hints::HugeArray`).
        let entries = HugeArray::new(capacity as usize, |slot| Entry {
            key: K::free_link(if slot as u32 + 1 < capacity {
                slot as u32 + 1
            } else {
                NO_SLOT
            }),
            generation: 0,
            value: V::default(),
        });
        // The arrays take turns: the full size's array holds every other size before it, the
        // other array the rest, the largest of which is the size before the full one.
        let full_len = index_buckets(capacity);
        let (first_len, steps) = first_index_len(full_len);
        let full = HugeArray::new(full_len, |_| EMPTY);
        let (mut buckets, other) = if steps == 0 {
            (full, None)
        } else {
            let other = HugeArray::new(half_index(full_len), |_| EMPTY);
            // The first size is in the full array when an even number of steps follows it.
            if steps % 2 == 0 {
                (full, Some(other))
            } else {
                (other, Some(full))
            }
        };
        buckets.set_len(first_len);
        SessionTable {
            entries,
            free_head: if capacity > 0 { 0 } else { NO_SLOT },
            free_count: capacity,
            buckets,
            other,
            old_len: 0,
            sweep_from: 0,
            swept: 0,
            full_len,
            hash_fn,
        }
    }

    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    pub fn len(&self) -> usize {
        self.entries.len() - self.free_count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_full(&self) -> bool {
        self.free_head == NO_SLOT
    }

    /// Bytes the index takes per session of capacity at its full size.
    pub fn index_bytes_per_session(&self) -> f64 {
        (self.full_len * std::mem::size_of::<u32>()) as f64 / self.capacity().max(1) as f64
    }

    /// Buckets the index has now (it grows with the live sessions).
    pub fn index_len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether the index is moving to a larger one.
    pub fn is_growing(&self) -> bool {
        self.old_len != 0
    }

    #[inline(always)]
    fn index(&self) -> &[u32] {
        &self.buckets
    }

    /// The old index and where a probe for `hash` starts in it, while the index grows.
    #[inline]
    fn old_probe(&self, hash: u64) -> Option<(&[u32], usize)> {
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

    /// Burst stage 1: starts loading the index line where `hash`'s probe begins.
    #[inline(always)]
    pub fn prefetch_index(&self, hash: u64) {
        prefetch_at(&self.buckets, home_in(hash, self.buckets.len()));
    }

    /// Burst stage 2: with the index line in cache, starts loading the entry whose tag matches
    /// (the likely hit) and returns its slot, the candidate for [`Self::lookup_from`]. Reads
    /// only the index.
    #[inline(always)]
    pub fn prefetch_entry(&self, hash: u64) -> Option<u32> {
        let slot = self.walk(hash, |_| true)?;
        // Every line of the entry: the key compare reads its head, the session update its rest.
        prefetch_both_at(&self.entries, slot as usize);
        Some(slot)
    }

    /// [`Self::prefetch_entry`] for a caller that will read and write only the entry's first
    /// `bytes` bytes: the lines they span (one, for half the entries, when `bytes` fits in
    /// the 32 bytes an entry's alignment leaves to the line's end).
    #[inline(always)]
    pub fn prefetch_entry_head(&self, hash: u64, bytes: usize) -> Option<u32> {
        let slot = self.walk(hash, |_| true)?;
        prefetch_head_at(&self.entries, slot as usize, bytes);
        Some(slot)
    }

    /// [`Self::lookup_by`], trying first the slot `prefetch_entry` found for this hash (the
    /// common hit costs one key compare instead of a second walk of the index). The candidate
    /// may be stale (the table changed since): it is taken only if its key matches, and a free
    /// slot's key matches no probe (`TableKey::free_link`).
    #[inline]
    pub fn lookup_from(
        &self,
        candidate: Option<u32>,
        hash: u64,
        matches: impl Fn(&K) -> bool,
    ) -> Option<u32> {
        if let Some(slot) = candidate {
            if matches(&self.entries[slot as usize].key) {
                return Some(slot);
            }
        }
        self.lookup_by(hash, matches)
    }

    /// Finds the live slot holding `key`. Hot path: no allocation.
    #[inline]
    pub fn lookup(&self, hash: u64, key: &K) -> Option<u32> {
        self.lookup_by(hash, |k| k == key)
    }

    /// Finds the live slot whose key `matches` (for keys that keep part of themselves outside
    /// the slab, such as IPv6 addresses). Hot path: no allocation.
    #[inline]
    pub fn lookup_by(&self, hash: u64, matches: impl Fn(&K) -> bool) -> Option<u32> {
        self.walk(hash, |slot| matches(&self.entries[slot as usize].key))
    }

    /// The probe sequence of `hash`: the first slot whose bucket carries the hash's tag and
    /// that `take` accepts, up to the first empty bucket; in the old index too while the
    /// index grows.
    #[inline(always)]
    fn walk(&self, hash: u64, take: impl Fn(u32) -> bool) -> Option<u32> {
        let tag = tag_of(hash);
        let index = self.index();
        if let Some(slot) = walk_in(index, home_in(hash, index.len()), tag, &take) {
            return Some(slot);
        }
        let (old, start) = self.old_probe(hash)?;
        walk_in(old, start, tag, take)
    }

    /// Inserts a new session; the caller has checked that the key is absent. Hot path: takes a
    /// free slot and the first empty bucket of the probe sequence, no allocation; while the
    /// index grows, moves a few of the old index's buckets too.
    #[inline]
    pub fn insert(&mut self, hash: u64, key: K, value: V) -> Result<SessionHandle, TableFull> {
        if self.free_head == NO_SLOT {
            return Err(TableFull);
        }
        let slot = self.free_head;
        let e = &mut self.entries[slot as usize];
        self.free_head = e.key.next_free();
        self.free_count -= 1;
        e.key = key;
        e.value = value;
        e.generation = e.generation.wrapping_add(1);
        let generation = e.generation as u32;
        let len = self.buckets.len();
        place_in(&mut self.buckets, hash, tag_of(hash) | (slot + 1));
        if self.old_len != 0 {
            self.move_buckets(MOVE_PER_INSERT);
        } else if should_grow(self.len(), len, self.full_len) {
            self.start_growing();
        }
        Ok(SessionHandle {
            index: slot,
            generation,
        })
    }

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
    fn start_growing(&mut self) {
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
    fn move_buckets(&mut self, budget: usize) {
        let Some(old) = self.other.as_mut() else {
            return;
        };
        let old = &mut old[..self.old_len];
        let index = &mut self.buckets[..];
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
                    let slot = ((b & SLOT_MASK) - 1) as usize;
                    let hash = (self.hash_fn)(&self.entries[slot].key);
                    place_in(index, hash, b);
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

    /// Removes the live session in `slot` and returns its key; its value stays readable until
    /// the slot is reused (the caller usually logs it first), its key does not.
    pub fn remove(&mut self, slot: u32) -> Option<K> {
        if !self.is_live(slot) {
            return None;
        }
        let s = slot as usize;
        let key = self.entries[s].key;
        let hash = (self.hash_fn)(&key);
        let target = slot + 1;
        let is_slot = |b: u32| b & SLOT_MASK == target;
        // In the index, or (while it grows) in the old one: whichever the walk finds it in.
        let len = self.buckets.len();
        if let Some(i) = Self::position_in(&self.buckets, home_in(hash, len), is_slot) {
            Self::unlink_bucket(&mut self.buckets, i, &self.entries, self.hash_fn);
        } else {
            let (_, start) = self.old_probe(hash).expect("a live slot is indexed");
            let old = &mut self.other.as_mut().expect("the old index")[..self.old_len];
            let i = Self::position_in(old, start, is_slot).expect("a live slot is indexed");
            Self::unlink_bucket(old, i, &self.entries, self.hash_fn);
        }
        let e = &mut self.entries[s];
        e.generation = e.generation.wrapping_add(1);
        e.key = K::free_link(self.free_head);
        self.free_head = slot;
        self.free_count += 1;
        Some(key)
    }

    /// The bucket from `start` on, up to the first empty one, that `is` accepts.
    fn position_in(index: &[u32], start: usize, is: impl Fn(u32) -> bool) -> Option<usize> {
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
    fn unlink_bucket(
        index: &mut [u32],
        mut hole: usize,
        entries: &[Entry<K, V>],
        hash_fn: fn(&K) -> u64,
    ) {
        let n = index.len();
        let mut j = next_in(hole, n);
        loop {
            let b = index[j];
            if b == EMPTY {
                break;
            }
            let slot = ((b & SLOT_MASK) - 1) as usize;
            let home = home_in(hash_fn(&entries[slot].key), n);
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

    #[inline]
    pub fn is_live(&self, slot: u32) -> bool {
        self.entries
            .get(slot as usize)
            .is_some_and(|e| e.generation & 1 == 1)
    }

    /// The handle of a live slot.
    pub fn handle(&self, slot: u32) -> Option<SessionHandle> {
        self.is_live(slot).then(|| SessionHandle {
            index: slot,
            generation: self.entries[slot as usize].generation as u32,
        })
    }

    /// Whether the handle still names the session it was made for.
    pub fn is_current(&self, h: SessionHandle) -> bool {
        self.entries
            .get(h.index as usize)
            .is_some_and(|e| e.generation as u32 == h.generation)
            && h.generation & 1 == 1
    }

    #[inline]
    pub fn key(&self, slot: u32) -> &K {
        &self.entries[slot as usize].key
    }

    #[inline]
    pub fn value(&self, slot: u32) -> &V {
        &self.entries[slot as usize].value
    }

    #[inline]
    pub fn value_mut(&mut self, slot: u32) -> &mut V {
        &mut self.entries[slot as usize].value
    }

    /// Key and value of a slot, the value writable.
    #[inline]
    pub fn entry_mut(&mut self, slot: u32) -> (&K, &mut V) {
        let e = &mut self.entries[slot as usize];
        (&e.key, &mut e.value)
    }

    pub fn get(&self, h: SessionHandle) -> Option<&V> {
        self.is_current(h)
            .then(|| &self.entries[h.index as usize].value)
    }

    /// Live slots, in slot order (management path: CLI, reload re-checks, drain).
    pub fn live_slots(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.entries.len() as u32).filter(|&s| self.is_live(s))
    }

    /// Checks the index and the free list against the slab (tests and fuzzing): every live
    /// slot is indexed once and reachable from its home bucket, every bucket names a live slot,
    /// every free slot is on the free list once.
    pub fn check_index(&self) -> Result<(), String> {
        let mut seen = vec![false; self.entries.len()];
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
                if std::mem::replace(&mut seen[slot as usize], true) {
                    return Err(format!("slot {slot} indexed twice"));
                }
            }
        }
        if used != self.len() {
            return Err(format!("{used} buckets for {} live slots", self.len()));
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
        for slot in self.live_slots() {
            // The slot's bucket must be on the probe sequence from its home, before any empty
            // bucket: the walk must find it.
            // (By slot, not tag: `hash_fn` agrees with the callers' hash in its low 32 bits
            // only.)
            let hash = (self.hash_fn)(&self.entries[slot as usize].key);
            let is_slot = |b: u32| b & SLOT_MASK == slot + 1;
            let index = self.index();
            if Self::position_in(index, home_in(hash, index.len()), is_slot).is_none()
                && self
                    .old_probe(hash)
                    .and_then(|(old, start)| Self::position_in(old, start, is_slot))
                    .is_none()
            {
                return Err(format!("slot {slot} unreachable from its home bucket"));
            }
        }
        let (mut free, mut at) = (0u32, self.free_head);
        while at != NO_SLOT {
            if self.is_live(at) || std::mem::replace(&mut seen[at as usize], true) {
                return Err(format!("free list holds slot {at} twice or live"));
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

#[cfg(test)]
mod tests {
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
            let mut rng = crate::test_rng::XorShift(1);
            for step in 0..20_000u64 {
                let x = rng.next();
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
            let mut rng = crate::test_rng::XorShift(7);
            let (mut sizes, mut growing_checks) = (vec![t.index_len()], 0);
            for step in 0..15_000u64 {
                let x = rng.next();
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
}
