//! Second keys: a session found by its c2s and its s2c flow when the two do not mirror each
//! other (NAT). See the module's "Two keys a session".

use super::*;

/// Which of its keys found a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Its first key (the c2s flow's), which the slab entry holds.
    First,
    /// Its second key (a NATed session's s2c flow).
    Second,
}

impl<K: TableKey, V: Default + Copy> SessionTable<K, V> {
    /// A table whose sessions may have a second key ([`Self::set_second`]): its index is sized
    /// for two keys a session, and the second keys take a key's size a slot beside the slab.
    pub fn with_second_keys(capacity: u32, hash_fn: fn(&K) -> u64) -> Self {
        Self::build(capacity, hash_fn, true)
    }

    /// Keys in the index: every session's first, and the second keys.
    pub(super) fn keys(&self) -> usize {
        self.len() + self.seconds as usize
    }

    /// Whether sessions here may have a second key ([`Self::with_second_keys`]).
    pub fn has_second_keys(&self) -> bool {
        self.second.is_some()
    }

    /// The second key of a live slot, if it has one.
    pub fn second_key(&self, slot: u32) -> Option<&K> {
        let key = self.second.as_ref()?.get(slot as usize)?;
        // A free link is no key a caller uses (`TableKey::free_link`): it marks "none".
        (self.is_live(slot) && *key != K::free_link(NO_SLOT)).then_some(key)
    }

    /// Gives the live session in `slot` a second key (`hash` its hash); false if the table has
    /// no room for second keys, the slot is not live, or it has one already. Off the
    /// established path (a NAT session's setup).
    pub fn set_second(&mut self, slot: u32, hash: u64, key: K) -> bool {
        if self.second.is_none() || !self.is_live(slot) || self.second_key(slot).is_some() {
            return false;
        }
        if let Some(second) = self.second.as_mut() {
            second[slot as usize] = key;
        }
        self.seconds += 1;
        let len = self.buckets.len();
        place_in(&mut self.buckets, hash, tag_of(hash) | SECOND | (slot + 1));
        if self.old_len != 0 {
            self.move_buckets(MOVE_PER_INSERT);
        } else if should_grow(self.keys(), len, self.full_len) {
            self.start_growing();
        }
        true
    }

    /// [`Self::lookup_from`] that says which key found the session. A table without second
    /// keys walks its index once, as `lookup_from` does.
    #[inline]
    pub fn lookup_keyed(
        &self,
        candidate: Option<u32>,
        hash: u64,
        matches: impl Fn(&K) -> bool,
    ) -> Option<(u32, KeyKind)> {
        if let Some(slot) = candidate {
            if matches(&self.entries[slot as usize].key) {
                return Some((slot, KeyKind::First));
            }
        }
        if let Some(slot) = self.walk(hash, |slot| matches(&self.entries[slot as usize].key)) {
            return Some((slot, KeyKind::First));
        }
        let second = self.second.as_ref().filter(|_| self.seconds > 0)?;
        self.walk_tagged(hash, tag_of(hash) | SECOND, |slot| {
            matches(&second[slot as usize])
        })
        .map(|slot| (slot, KeyKind::Second))
    }
}
