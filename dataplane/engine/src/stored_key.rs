//! The flow key as the session table keeps it: 14 bytes instead of [`FlowKey`]'s 38.
//!
//! A [`FlowKey`] holds IPv4 addresses v4-mapped in 16 bytes, so that the engine handles both
//! families with one type. Stored that way, an IPv4 session (the common case) would carry 24
//! bytes of constant prefix in every table entry. The table stores a [`StoredKey`] instead:
//! - IPv4: the two addresses themselves, ports, protocol, family: the whole key, compared in
//!   place by a lookup.
//! - IPv6: ports, protocol, family, the low 32 bits of the key's hash, and the index of the
//!   address pair in an [`AddressStore`] beside the table. A lookup compares the in-place
//!   fields first (the hash bits reject nearly every other flow) and reads the store only for
//!   the likely match.
//!
//! (VPP keeps separate IPv4 and IPv6 session hashes for the same reason; one table with one
//! slot namespace keeps timers, records and session ids the same for both families here.)
//!
//! The address store has the table's capacity reserved but grows into it only as the number of
//! IPv6 sessions reaches new peaks (pushes within reserved capacity: never a reallocation);
//! freed pairs are reused first, their list threaded through the pairs themselves.

use crate::flow::{v4_endpoint, v4_mapped, v4_word, FlowKey, V4Flow};
use crate::table::TableKey;

/// See the module documentation. `family` 0 marks a free table slot, whose first four bytes
/// hold the next free slot.
#[derive(Clone, Copy, Debug, Default, Eq)]
#[repr(C)]
pub struct StoredKey {
    /// IPv4: the flow's endpoints in canonical orientation, as [`V4Flow`] holds them (address
    /// above port, 48 bits each): the lower in bytes 0-5, the higher in bytes 6-11, little-endian,
    /// so that the common frame's key is two shifts of the values its hash was computed from.
    /// IPv6: the index of the address pair in the [`AddressStore`] (bytes 0-3), the low 32 bits
    /// of the key's hash (4-7), the source and destination ports (8-9, 10-11).
    fields: [u8; 12],
    proto: u8,
    /// 4 or 6 (0: free slot).
    family: u8,
}

const _: () = assert!(std::mem::size_of::<StoredKey>() == 14);

const ENDPOINT_MASK: u64 = (1 << 48) - 1;

/// Equality as three words (bytes 0-7, 8-11, protocol and family) rather than field by field:
/// every established IPv4 packet compares its probe with a stored key.
impl PartialEq for StoredKey {
    #[inline(always)]
    fn eq(&self, other: &Self) -> bool {
        self.words() == other.words()
    }
}

impl TableKey for StoredKey {
    fn free_link(next: u32) -> Self {
        StoredKey::default().with_index(next)
    }
    fn next_free(&self) -> u32 {
        self.index()
    }
}

impl StoredKey {
    /// The probe for the flow of `key` (hash `hash`) in its canonical orientation, `key` being
    /// its reverse when `reversed`: for IPv4 the stored key itself; for IPv6 everything but the
    /// address pair's index, which [`AddressStore::matches`] skips. Reads the key in place (no
    /// reversed copy first: a copy on the stack read back at once would stall on store
    /// forwarding, 3-4 % of a DPDK run's cycles).
    #[inline(always)]
    pub fn probe(key: &FlowKey, reversed: bool, hash: u64) -> StoredKey {
        let (src, dst, sport, dport) = if reversed {
            (&key.dst, &key.src, key.dport, key.sport)
        } else {
            (&key.src, &key.dst, key.sport, key.dport)
        };
        if key.family == 4 {
            return StoredKey::v4(
                v4_endpoint(v4_word(src), sport),
                v4_endpoint(v4_word(dst), dport),
                key.proto,
            );
        }
        StoredKey::canonical_v6(hash, (sport, dport), key.proto)
    }

    /// The probe of an IPv6 flow with hash `hash`, ports in canonical orientation, as the
    /// parser's common path found them: equal to [`Self::probe`] of the parsed key.
    #[inline(always)]
    pub fn canonical_v6(hash: u64, (sport, dport): (u16, u16), proto: u8) -> StoredKey {
        let mut fields = [0u8; 12];
        fields[4..8].copy_from_slice(&(hash as u32).to_ne_bytes());
        fields[8..10].copy_from_slice(&sport.to_ne_bytes());
        fields[10..12].copy_from_slice(&dport.to_ne_bytes());
        StoredKey {
            fields,
            proto,
            family: 6,
        }
    }

    /// The probe (the stored key) of an IPv4 flow given in canonical orientation, as the
    /// parser's common path computed it: equal to [`Self::probe`] of the parsed key.
    #[inline(always)]
    pub fn canonical_v4(flow: &V4Flow) -> StoredKey {
        StoredKey::v4(flow.lo, flow.hi, flow.proto)
    }

    #[inline(always)]
    fn v4(lo: u64, hi: u64, proto: u8) -> StoredKey {
        let mut fields = [0u8; 12];
        fields[..8].copy_from_slice(&(lo | hi << 48).to_le_bytes());
        fields[8..].copy_from_slice(&((hi >> 16) as u32).to_le_bytes());
        StoredKey {
            fields,
            proto,
            family: 4,
        }
    }

    /// The flow an IPv4 key stands for (the inverse of [`Self::canonical_v4`]).
    fn v4_flow(&self) -> V4Flow {
        let (head, tail, _) = self.words();
        V4Flow {
            lo: head & ENDPOINT_MASK,
            hi: head >> 48 | u64::from(tail) << 16,
            proto: self.proto,
        }
    }

    #[inline(always)]
    fn words(&self) -> (u64, u32, u16) {
        let f = &self.fields;
        (
            u64::from_le_bytes([f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]]),
            u32::from_le_bytes([f[8], f[9], f[10], f[11]]),
            u16::from(self.proto) | u16::from(self.family) << 8,
        )
    }

    /// IPv6: the address pair's index; free slot: the next free slot.
    fn index(&self) -> u32 {
        u32::from_ne_bytes([
            self.fields[0],
            self.fields[1],
            self.fields[2],
            self.fields[3],
        ])
    }

    fn with_index(mut self, index: u32) -> StoredKey {
        self.fields[..4].copy_from_slice(&index.to_ne_bytes());
        self
    }

    /// IPv6: bytes 4-11 (hash bits and ports), the in-place part a lookup compares.
    fn v6_in_place(&self) -> [u8; 8] {
        let f = &self.fields;
        [f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11]]
    }

    /// IPv6: the ports.
    fn v6_ports(&self) -> (u16, u16) {
        let f = &self.fields;
        (
            u16::from_ne_bytes([f[8], f[9]]),
            u16::from_ne_bytes([f[10], f[11]]),
        )
    }

    pub fn proto(&self) -> u8 {
        self.proto
    }
}

/// The table's hash of a stored key, for the back-shift of a removal: only the low 32 bits
/// (the home bucket) must agree with `FlowKey::hash64` of the canonical key, and for IPv6
/// those are what the key keeps.
pub fn stored_hash(k: &StoredKey) -> u64 {
    if k.family == 4 {
        k.v4_flow().hash()
    } else {
        let f = &k.fields;
        u32::from_ne_bytes([f[4], f[5], f[6], f[7]]) as u64
    }
}

fn v4_key(k: &StoredKey) -> FlowKey {
    let V4Flow { lo, hi, .. } = k.v4_flow();
    FlowKey {
        src: v4_mapped(((lo >> 16) as u32).to_be_bytes()),
        dst: v4_mapped(((hi >> 16) as u32).to_be_bytes()),
        sport: lo as u16,
        dport: hi as u16,
        proto: k.proto,
        family: 4,
    }
}

/// The address pairs of IPv6 sessions (32 bytes each), by index. See the module documentation.
pub struct AddressStore {
    pairs: Vec<[[u8; 16]; 2]>,
    /// First freed pair (`NONE` if none); the list is threaded through the freed pairs' first
    /// four bytes.
    free_head: u32,
    live: u32,
}

const NONE: u32 = u32::MAX;

impl AddressStore {
    /// Room for `capacity` pairs, reserved now (address space only; pages are touched as the
    /// pairs in use reach new peaks).
    pub fn new(capacity: u32) -> AddressStore {
        AddressStore {
            pairs: Vec::with_capacity(capacity as usize),
            free_head: NONE,
            live: 0,
        }
    }

    /// IPv6 pairs held.
    pub fn len(&self) -> usize {
        self.live as usize
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Bytes the store has touched (its high-water mark).
    pub fn touched_bytes(&self) -> usize {
        self.pairs.len() * std::mem::size_of::<[[u8; 16]; 2]>()
    }

    /// The stored form of a canonical `key` about to be inserted with hash `hash`: for IPv6 its
    /// addresses take a pair. `None` when the store is full, which cannot happen while it has
    /// the table's capacity and the table has room.
    #[inline]
    pub fn store(&mut self, key: &FlowKey, hash: u64) -> Option<StoredKey> {
        let k = StoredKey::probe(key, false, hash);
        if key.family == 4 {
            return Some(k);
        }
        let index = if self.free_head != NONE {
            let index = self.free_head;
            let first = &self.pairs[index as usize][0];
            self.free_head = u32::from_ne_bytes([first[0], first[1], first[2], first[3]]);
            self.pairs[index as usize] = [key.src, key.dst];
            index
        } else if self.pairs.len() < self.pairs.capacity() {
            // Within the reserved capacity: `push` does not reallocate.
            self.pairs.push([key.src, key.dst]);
            (self.pairs.len() - 1) as u32
        } else {
            return None;
        };
        self.live += 1;
        Some(k.with_index(index))
    }

    /// Gives back what a removed key held.
    #[inline]
    pub fn release(&mut self, k: &StoredKey) {
        if k.family != 6 {
            return;
        }
        let index = k.index();
        let mut link = [0u8; 16];
        link[..4].copy_from_slice(&self.free_head.to_ne_bytes());
        self.pairs[index as usize][0] = link;
        self.free_head = index;
        self.live -= 1;
    }

    /// Whether `stored` is the flow `probe` was made of (`key`, `reversed`: see
    /// [`StoredKey::probe`]).
    #[inline(always)]
    pub fn matches(
        &self,
        stored: &StoredKey,
        probe: &StoredKey,
        key: &FlowKey,
        reversed: bool,
    ) -> bool {
        if probe.family == 4 {
            return stored == probe;
        }
        let (src, dst) = if reversed {
            (&key.dst, &key.src)
        } else {
            (&key.src, &key.dst)
        };
        self.matches_v6(stored, probe, src, dst)
    }

    /// [`Self::matches`] for an IPv6 probe and the flow's addresses in canonical orientation
    /// (`src` the canonical source): the in-place fields first, the address pair only for the
    /// likely match.
    #[inline(always)]
    pub fn matches_v6(
        &self,
        stored: &StoredKey,
        probe: &StoredKey,
        src: &[u8; 16],
        dst: &[u8; 16],
    ) -> bool {
        let in_place = |k: &StoredKey| (k.v6_in_place(), k.proto, k.family);
        in_place(stored) == in_place(probe) && {
            let [s, d] = &self.pairs[stored.index() as usize];
            s == src && d == dst
        }
    }

    /// The flow key a stored key stands for.
    pub fn flow_key(&self, k: &StoredKey) -> FlowKey {
        if k.family == 4 {
            return v4_key(k);
        }
        let [src, dst] = self.pairs[k.index() as usize];
        let (sport, dport) = k.v6_ports();
        FlowKey {
            src,
            dst,
            sport,
            dport,
            proto: k.proto,
            family: k.family,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::FlowKey;
    use std::net::IpAddr;

    fn key(src: &str, dst: &str, sport: u16, dport: u16) -> FlowKey {
        FlowKey::from_ips(
            src.parse::<IpAddr>().unwrap(),
            dst.parse::<IpAddr>().unwrap(),
            sport,
            dport,
            17,
        )
    }

    #[test]
    fn both_families_round_trip_and_match() {
        let mut store = AddressStore::new(4);
        for k in [
            key("10.0.0.1", "10.0.0.2", 1000, 53),
            key("2001:db8::1", "2001:db8::2", 1000, 53),
        ] {
            let h = k.hash64();
            let stored = store.store(&k, h).unwrap();
            assert_eq!(store.flow_key(&stored), k);
            assert_eq!(stored_hash(&stored) as u32, h as u32, "home bucket agrees");
            assert!(store.matches(&stored, &StoredKey::probe(&k, false, h), &k, false));
            let r = k.reversed();
            assert!(store.matches(&stored, &StoredKey::probe(&r, true, h), &r, true));
            let other = key(
                if k.family == 4 {
                    "10.0.0.3"
                } else {
                    "2001:db8::3"
                },
                if k.family == 4 {
                    "10.0.0.2"
                } else {
                    "2001:db8::2"
                },
                1000,
                53,
            );
            assert!(!store.matches(&stored, &StoredKey::probe(&other, false, h), &other, false));
        }
        assert_eq!(store.len(), 1, "only the IPv6 key takes a pair");
    }

    #[test]
    fn freed_pairs_are_reused_and_a_full_store_refuses() {
        let mut store = AddressStore::new(2);
        let k = |n: u16| key("2001:db8::1", "2001:db8::2", n, 53);
        let a = store.store(&k(1), k(1).hash64()).unwrap();
        let b = store.store(&k(2), k(2).hash64()).unwrap();
        assert_eq!(store.store(&k(3), k(3).hash64()), None);
        store.release(&a);
        let c = store.store(&k(3), k(3).hash64()).unwrap();
        assert_eq!(store.flow_key(&c), k(3));
        assert_eq!(store.flow_key(&b), k(2));
        assert_eq!((store.len(), store.touched_bytes()), (2, 64));
    }
}
