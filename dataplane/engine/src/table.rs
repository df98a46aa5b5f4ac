//! A fixed-capacity session table: a slab of slots plus a hash index of slot numbers.
//!
//! All memory is allocated at construction and never grows: a full table refuses an insert
//! (`TableFull`), it does not allocate. The index is a `hashbrown::HashTable<u32>` that stores
//! only the slot number (the key lives in the slot), so it costs ~5 bytes a bucket. The caller
//! passes the hash in: the flow key's symmetric hash is computed once per packet in the burst's
//! parse stage and reused for the worker choice and the lookup.
//!
//! Why the index has twice the buckets it needs: hashbrown turns deleted entries into
//! tombstones; when inserts run out of free buckets it rehashes, in place if the table is at most
//! half full, and by growing (allocating) otherwise. Keeping live entries under half of the
//! index's capacity makes every rehash an in-place one, so churn never allocates (tested below).
//!
//! Slots carry a generation: even while free, odd while live, bumped on both transitions. A
//! [`SessionHandle`] (slot, generation) is how other parts of the system name a session (timers,
//! CLI, records, later HA); a stale handle is detected rather than aliasing a new session.

use hashbrown::HashTable;

/// A session's name: slot number and generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SessionHandle {
    pub index: u32,
    pub generation: u32,
}

/// The table is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableFull;

/// Fixed-capacity table of `V` keyed by `K`.
pub struct SessionTable<K, V> {
    keys: Vec<K>,
    values: Vec<V>,
    generations: Vec<u32>,
    /// Free slot numbers, used as a stack (recently freed slots are warm in cache).
    free: Vec<u32>,
    index: HashTable<u32>,
    index_capacity: usize,
    /// The key's hash, for the index's in-place rehash (the index stores no hashes).
    hash_fn: fn(&K) -> u64,
}

impl<K: Copy + Eq + Default, V: Default> SessionTable<K, V> {
    /// A table of `capacity` sessions, all memory allocated now. `hash_fn` must be the hash the
    /// caller passes to `lookup`/`insert`/`remove`.
    pub fn new(capacity: u32, hash_fn: fn(&K) -> u64) -> Self {
        let cap = capacity as usize;
        let index = HashTable::with_capacity(cap.saturating_mul(2).max(16));
        let index_capacity = index.capacity();
        SessionTable {
            keys: vec![K::default(); cap],
            values: (0..cap).map(|_| V::default()).collect(),
            generations: vec![0; cap],
            free: (0..capacity).rev().collect(),
            index,
            index_capacity,
            hash_fn,
        }
    }

    pub fn capacity(&self) -> usize {
        self.keys.len()
    }

    pub fn len(&self) -> usize {
        self.keys.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_full(&self) -> bool {
        self.free.is_empty()
    }

    /// Whether the index still has the capacity it was built with (it never reallocated).
    pub fn index_never_grew(&self) -> bool {
        self.index.capacity() == self.index_capacity
    }

    /// Bytes the index takes per session of capacity: buckets x (slot number + control byte).
    pub fn index_bytes_per_session(&self) -> f64 {
        let buckets = (self.index_capacity * 8 / 7).next_power_of_two() as f64;
        buckets * (std::mem::size_of::<u32>() + 1) as f64 / self.capacity().max(1) as f64
    }

    /// Finds the live slot holding `key`. Hot path: no allocation.
    #[inline]
    pub fn lookup(&self, hash: u64, key: &K) -> Option<u32> {
        let keys = &self.keys;
        self.index
            .find(hash, |&i| keys[i as usize] == *key)
            .copied()
    }

    /// Inserts a new session; the caller has checked that the key is absent. Hot path: takes a
    /// free slot, no allocation (the index never grows, see the module docs).
    #[inline]
    pub fn insert(&mut self, hash: u64, key: K, value: V) -> Result<SessionHandle, TableFull> {
        let slot = self.free.pop().ok_or(TableFull)?;
        let i = slot as usize;
        self.keys[i] = key;
        self.values[i] = value;
        self.generations[i] = self.generations[i].wrapping_add(1);
        let (keys, hash_fn) = (&self.keys, self.hash_fn);
        self.index
            .insert_unique(hash, slot, |&j| hash_fn(&keys[j as usize]));
        Ok(SessionHandle {
            index: slot,
            generation: self.generations[i],
        })
    }

    /// Removes the live session in `slot` and returns its key; its value stays readable until
    /// the slot is reused (the caller usually logs it first).
    pub fn remove(&mut self, slot: u32) -> Option<K> {
        let i = slot as usize;
        if !self.is_live(slot) {
            return None;
        }
        let key = self.keys[i];
        let hash = (self.hash_fn)(&key);
        if let Ok(entry) = self.index.find_entry(hash, |&j| j == slot) {
            entry.remove();
        }
        self.generations[i] = self.generations[i].wrapping_add(1);
        self.free.push(slot);
        Some(key)
    }

    #[inline]
    pub fn is_live(&self, slot: u32) -> bool {
        self.generations
            .get(slot as usize)
            .is_some_and(|g| g & 1 == 1)
    }

    /// The handle of a live slot.
    pub fn handle(&self, slot: u32) -> Option<SessionHandle> {
        self.is_live(slot).then(|| SessionHandle {
            index: slot,
            generation: self.generations[slot as usize],
        })
    }

    /// Whether the handle still names the session it was made for.
    pub fn is_current(&self, h: SessionHandle) -> bool {
        self.generations.get(h.index as usize) == Some(&h.generation) && h.generation & 1 == 1
    }

    #[inline]
    pub fn key(&self, slot: u32) -> &K {
        &self.keys[slot as usize]
    }

    #[inline]
    pub fn value(&self, slot: u32) -> &V {
        &self.values[slot as usize]
    }

    #[inline]
    pub fn value_mut(&mut self, slot: u32) -> &mut V {
        &mut self.values[slot as usize]
    }

    /// Key and value of a slot, the value writable.
    #[inline]
    pub fn entry_mut(&mut self, slot: u32) -> (&K, &mut V) {
        (&self.keys[slot as usize], &mut self.values[slot as usize])
    }

    pub fn get(&self, h: SessionHandle) -> Option<&V> {
        self.is_current(h).then(|| &self.values[h.index as usize])
    }

    /// Live slots, in slot order (management path: CLI, reload re-checks, drain).
    pub fn live_slots(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.keys.len() as u32).filter(|&s| self.is_live(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(k: &u64) -> u64 {
        k.wrapping_mul(0x9e37_79b9_7f4a_7c15)
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

    #[test]
    fn churn_at_full_capacity_never_grows_the_index() {
        let cap = 5000u32;
        let mut t: SessionTable<u64, u32> = SessionTable::new(cap, h);
        let mut slots = Vec::new();
        for k in 0..cap as u64 {
            slots.push(t.insert(h(&k), k, 0).unwrap().index);
        }
        let mut next = cap as u64;
        for round in 0..40 {
            // Remove every other session and insert as many new ones: tombstones pile up.
            for (n, s) in slots.iter_mut().enumerate() {
                if (n + round) % 2 == 0 {
                    t.remove(*s).unwrap();
                    *s = t.insert(h(&next), next, 0).unwrap().index;
                    next += 1;
                }
            }
            assert!(t.index_never_grew(), "index reallocated in round {round}");
            assert_eq!(t.len(), cap as usize);
        }
        assert!(t.index_bytes_per_session() < 25.0);
    }
}
