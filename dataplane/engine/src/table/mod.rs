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
//! [`SessionTable`]). Each bucket is a `u32`: the slot number plus one in the low 24 bits (0 =
//! empty), the second-key bit (below), and a 7-bit tag from the top of the hash in the high 7
//! bits, so a probe compares a key (a cache miss into the slab) only when the tag matches (a
//! false match once in 128 probes). Buckets number
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
//! ## Two keys a session
//! A session may be found by a second key as well as its first: a NATed session's reply flow
//! (s2c) does not mirror its original flow (c2s), so each has its own bucket, pointing at the
//! same slot (VPP sfdp's primary and secondary keys; grout's and conntrack's forward and
//! reverse tuples). A plain session's reply is its key reversed, which the symmetric hash and
//! canonical key already find: it has no second key and costs no second bucket. Second keys
//! live beside the slab, only in a table made for them ([`SessionTable::with_second_keys`],
//! whose index is sized for two keys a session); their buckets carry the second-key bit, which
//! is part of the tag a walk compares, so a lookup by first keys (the established packet's
//! path) never stops at one, and a table without second keys pays nothing for them.
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

mod buckets;
mod check;
mod grow;
mod second;
#[cfg(test)]
mod tests;

use buckets::*;
use grow::*;
pub use second::KeyKind;
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
pub use synwall_types::ids::MAX_TABLE_CAPACITY as MAX_CAPACITY;

const SLOT_BITS: u32 = 24;
const _: () = assert!(MAX_CAPACITY == (1 << SLOT_BITS) - 2);
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;
/// Set in the bucket of a session's second key: compared with the tag.
const SECOND: u32 = 1 << SLOT_BITS;
/// The tag's bits of a bucket.
const TAG_MASK: u32 = !(SLOT_MASK | SECOND);
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

/// `i` wrapped into an index of `len` buckets, for an `i` below `2 * len`.
#[inline(always)]
fn wrap_in(i: usize, len: usize) -> usize {
    if i >= len {
        i - len
    } else {
        i
    }
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
    /// Each slot's second key (`K::free_link(NO_SLOT)` for none), in a table made for them.
    second: Option<HugeArray<K>>,
    /// Live sessions that have a second key.
    seconds: u32,
}

impl<K: TableKey, V: Default + Copy> SessionTable<K, V> {
    /// A table of `capacity` sessions (at most [`MAX_CAPACITY`]), all memory allocated now.
    /// `hash_fn` must agree with the hash the caller passes to `lookup`/`insert` in its low 32
    /// bits.
    pub fn new(capacity: u32, hash_fn: fn(&K) -> u64) -> Self {
        Self::build(capacity, hash_fn, false)
    }

    fn build(capacity: u32, hash_fn: fn(&K) -> u64, second_keys: bool) -> Self {
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
        let keys = if second_keys { capacity * 2 } else { capacity };
        let full_len = index_buckets(keys);
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
            second: second_keys
                .then(|| HugeArray::new(capacity as usize, |_| K::free_link(NO_SLOT))),
            seconds: 0,
        }
    }

    /// The maintenance's view of the keys (see [`Rehash`]).
    fn rehash(&self) -> Rehash<'_, K, V> {
        Rehash {
            entries: &self.entries,
            second: self.second.as_deref(),
            hash_fn: self.hash_fn,
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
    /// the slab, such as IPv6 addresses), by its first key or its second. Hot path: no
    /// allocation.
    #[inline]
    pub fn lookup_by(&self, hash: u64, matches: impl Fn(&K) -> bool) -> Option<u32> {
        self.lookup_keyed(None, hash, matches).map(|(slot, _)| slot)
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
        } else if should_grow(self.keys(), len, self.full_len) {
            self.start_growing();
        }
        Ok(SessionHandle {
            index: slot,
            generation,
        })
    }

    /// Removes the live session in `slot` and returns its key; its value stays readable until
    /// the slot is reused (the caller usually logs it first), its keys do not.
    pub fn remove(&mut self, slot: u32) -> Option<K> {
        self.remove_keys(slot).map(|(first, _)| first)
    }

    /// [`Self::remove`], returning the session's second key too, if it had one.
    pub fn remove_keys(&mut self, slot: u32) -> Option<(K, Option<K>)> {
        if !self.is_live(slot) {
            return None;
        }
        let s = slot as usize;
        let key = self.entries[s].key;
        let second = self.second_key(slot).copied();
        self.unindex((self.hash_fn)(&key), slot + 1);
        if let Some(second_key) = second {
            self.unindex((self.hash_fn)(&second_key), SECOND | (slot + 1));
            if let Some(keys) = self.second.as_mut() {
                keys[s] = K::free_link(NO_SLOT);
            }
            self.seconds -= 1;
        }
        let e = &mut self.entries[s];
        e.generation = e.generation.wrapping_add(1);
        e.key = K::free_link(self.free_head);
        self.free_head = slot;
        self.free_count += 1;
        Some((key, second))
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
}
