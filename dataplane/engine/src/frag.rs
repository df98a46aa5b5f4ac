//! The fragment table: the later fragments of an IP datagram follow the verdict of its first.
//!
//! synwall does not reassemble. A datagram's first fragment (offset 0) carries the transport
//! header, so it goes through the session path like any packet and gets a verdict; this table
//! keeps that verdict, keyed by the datagram, for the fragments after it, which carry no ports.
//! Each entry also keeps the byte ranges seen: overlapping fragments are the classic evasion
//! (RFC 1858, RFC 3128; receivers disagree on which copy of a byte wins, so what the firewall
//! judged need not be what the host reassembles), so a fragment overlapping one already seen is
//! dropped (`fragment-overlap`), and with it the rest of its datagram, as RFC 5722 asks of
//! IPv6 receivers.
//!
//! # Choices
//! - **Out of order.** A later fragment that arrives before its first finds no entry and is
//!   dropped as `fragment-orphan`, like one whose first fragment never came or expired.
//!   Firewalls that reassemble (pf's scrub, Cisco's virtual reassembly, most NGFWs) hold such
//!   a fragment until the first arrives; holding means keeping packets (mbufs) on the worker,
//!   a pool a flood of orphans would drain, which is reassembly's cost without its benefit.
//!   Senders emit a datagram's fragments in order, back to back, so reordering inside one
//!   datagram is rare; when it happens the datagram is lost and the upper layer retransmits.
//! - **Key.** IPv4 names a datagram by (source, destination, protocol, identification)
//!   (RFC 791), IPv6 by (source, destination, identification) (RFC 8200 4.5): an IPv6 later
//!   fragment does not show the transport protocol, which may sit behind extension headers
//!   only the first fragment carries. Both families share one key type with [`FlowKey`]'s
//!   address form (16 bytes, IPv4 v4-mapped) and one code path; IPv6 keys have protocol 0.
//! - **Ranges.** An entry tracks [`MAX_RANGES`] separate pieces of its datagram; a fragment
//!   touching a piece extends it, so in-order fragments use one. A fragment that would need
//!   one piece more is dropped and counted `fragment-table-full` (the entry has no room for it);
//!   only reordered or missing fragments get there. Data past the end a last fragment (MF clear)
//!   declared, a second last fragment, and a second fragment at offset 0 count as overlaps.
//! - **Life.** An entry leaves when every byte of its datagram has been seen (the last fragment
//!   and no gap), or `session.timeouts.fragment` after its first fragment, whichever is first.
//!   Every entry has the same timeout, so first-fragment order is expiry order: the entries
//!   are threaded on a list in that order and leave from its head, a bounded number per call
//!   ([`FragTable::expire`]). A lookup that finds an expired entry removes it and goes on as if
//!   it were absent, so a late fragment never follows a stale verdict.
//! - **Capacity.** Fixed at start ([`capacity_for`]). A full table refuses the new datagram's
//!   first fragment (`fragment-table-full`) and pushes no entry out, as the session table does:
//!   a flood of lone first fragments cannot evict the datagrams in flight.
//!
//! Nothing here allocates after [`FragTable::new`], takes a lock or calls the OS.

use crate::flow::FlowKey;
use crate::reasons::DropReason;
use crate::table::{SessionTable, TableKey};
use crate::verdict::Verdict;
use crate::wire::{FragInfo, Parsed};

/// Separate pieces of one datagram an entry tracks.
pub const MAX_RANGES: usize = 4;
/// Expired entries removed per call of [`FragTable::expire`] from the packet path: more than
/// one, so that removal outpaces the one entry a first fragment can add.
pub const EXPIRE_BUDGET: usize = 8;
/// Fewest and most entries per worker (see [`capacity_for`]).
pub const MIN_CAPACITY: u32 = 1024;
pub const MAX_CAPACITY: u32 = 65_536;
/// "No slot" in the expiry list.
const NIL: u32 = u32::MAX;

/// Entries for a worker whose session table holds `sessions`: one per 16 sessions, within
/// [`MIN_CAPACITY`]..=[`MAX_CAPACITY`]. An entry normally lives from a datagram's first
/// fragment to its last, the microseconds of a sender's burst, so a few entries serve a busy
/// link; the size matters only against lone first fragments, each held `fragment` seconds. At
/// the top, 65,536 entries of ~130 bytes with the index and list (8.5 MB) absorb 6,500 of
/// those a second at the default 10 s before refusing, next to a session table of over
/// 100 MB.
pub fn capacity_for(sessions: u32) -> u32 {
    (sessions / 16).clamp(MIN_CAPACITY, MAX_CAPACITY)
}

/// Which datagram a fragment belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FragKey {
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub id: u32,
    /// IPv4: the protocol field; IPv6: 0 (see the module doc).
    pub proto: u8,
    /// 4 or 6.
    pub family: u8,
}

impl TableKey for FragKey {
    fn free_link(next: u32) -> Self {
        FragKey {
            id: next,
            ..FragKey::default()
        }
    }
    fn next_free(&self) -> u32 {
        self.id
    }
}

impl FragKey {
    pub fn of(p: &Parsed) -> FragKey {
        FragKey {
            src: p.key.src,
            dst: p.key.dst,
            id: p.frag.id,
            proto: if p.key.family == 4 { p.key.proto } else { 0 },
            family: p.key.family,
        }
    }

    /// The flow hash of the key with the identification in the port fields: the same mixing
    /// as the session table's, no second hash function to trust.
    fn hash(&self) -> u64 {
        FlowKey {
            src: self.src,
            dst: self.dst,
            sport: (self.id >> 16) as u16,
            dport: self.id as u16,
            proto: self.proto,
            family: self.family,
        }
        .hash64()
    }
}

/// Where a fragment sits in its datagram: bytes `start..end` of the fragmentable part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub start: u32,
    pub end: u32,
    /// No more fragments follow (MF clear): `end` is the datagram's end.
    pub last: bool,
}

impl Piece {
    pub fn of(f: &FragInfo) -> Piece {
        let start = f.offset_bytes as u32;
        Piece {
            start,
            end: start + f.len as u32,
            last: !f.more,
        }
    }
}

/// What adding a piece to an entry did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Added {
    Yes,
    /// Every byte of the datagram has now been seen.
    Complete,
    Overlap,
    /// It needs one piece more than the entry tracks.
    NoRoom,
}

/// One datagram in flight.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// The first fragment's verdict, or `fragment-overlap` once the datagram is known hostile.
    verdict: Verdict,
    /// When the entry stops applying (first fragment + `fragment` timeout).
    deadline_ns: u64,
    /// The datagram's end, once its last fragment has been seen.
    end: Option<u32>,
    /// Pieces seen, sorted, disjoint and not touching (touching ones are merged).
    ranges: [(u32, u32); MAX_RANGES],
    n: u8,
}

impl Default for Entry {
    fn default() -> Self {
        Entry {
            // Replaced by the first fragment's verdict (`decide`) in the call that opens the
            // entry, before any later fragment reads it.
            verdict: Verdict::Forward(crate::verdict::NO_PORT),
            deadline_ns: 0,
            end: None,
            ranges: [(0, 0); MAX_RANGES],
            n: 0,
        }
    }
}

// Key and entry share a slot of the table; two cache lines at most.
const _: () = assert!(std::mem::size_of::<FragKey>() + std::mem::size_of::<Entry>() <= 128);

impl Entry {
    fn add(&mut self, piece: Piece) -> Added {
        let (s, e) = (piece.start, piece.end);
        let n = self.n as usize;
        let ranges = &self.ranges[..n];
        let past_end = match self.end {
            Some(end) => piece.last || e > end,
            None => piece.last && ranges.iter().any(|r| r.1 > e),
        };
        // `s < b && a < e` also catches an empty piece strictly inside a range.
        if past_end || ranges.iter().any(|&(a, b)| s < b && a < e) {
            return Added::Overlap;
        }
        if s < e && !self.insert(s, e) {
            return Added::NoRoom;
        }
        if piece.last {
            self.end = Some(e);
        }
        match self.end {
            Some(end) if self.n == 1 && self.ranges[0] == (0, end) => Added::Complete,
            _ => Added::Yes,
        }
    }

    /// Inserts `s..e`, which overlaps no range, merging it with ranges it touches; false if it
    /// touches none and the entry is full.
    fn insert(&mut self, s: u32, e: u32) -> bool {
        let n = self.n as usize;
        // Ranges before `i` start below `e`, so (being disjoint from `s..e`) end at or before `s`.
        let i = self.ranges[..n].iter().position(|r| r.0 >= e).unwrap_or(n);
        let joins_prev = i > 0 && self.ranges[i - 1].1 == s;
        let joins_next = i < n && self.ranges[i].0 == e;
        match (joins_prev, joins_next) {
            (true, true) => {
                self.ranges[i - 1].1 = self.ranges[i].1;
                self.ranges.copy_within(i + 1..n, i);
                self.n -= 1;
            }
            (true, false) => self.ranges[i - 1].1 = e,
            (false, true) => self.ranges[i].0 = s,
            (false, false) => {
                if n == MAX_RANGES {
                    return false;
                }
                self.ranges.copy_within(i..n, i + 1);
                self.ranges[i] = (s, e);
                self.n += 1;
            }
        }
        true
    }
}

/// See the module documentation.
pub struct FragTable {
    table: SessionTable<FragKey, Entry>,
    /// The expiry list, oldest first: `newer[slot]` / `older[slot]` link live slots.
    newer: Vec<u32>,
    older: Vec<u32>,
    head: u32,
    tail: u32,
}

impl FragTable {
    /// A table of `capacity` datagrams; all its memory is allocated here.
    pub fn new(capacity: u32) -> FragTable {
        FragTable {
            table: SessionTable::new(capacity, FragKey::hash),
            newer: vec![NIL; capacity as usize],
            older: vec![NIL; capacity as usize],
            head: NIL,
            tail: NIL,
        }
    }

    /// Datagrams in flight.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.table.capacity()
    }

    /// A datagram's first fragment: makes its entry and returns its slot, for [`decide`] once
    /// the session path has judged the fragment. Refused: a second fragment at offset 0
    /// (`fragment-overlap`, and the datagram's entry turns to dropping), or no room
    /// (`fragment-table-full`).
    ///
    /// [`decide`]: FragTable::decide
    pub fn open(
        &mut self,
        key: &FragKey,
        piece: Piece,
        now_ns: u64,
        timeout_ns: u64,
    ) -> Result<u32, DropReason> {
        let hash = key.hash();
        if let Some(slot) = self.live(hash, key, now_ns) {
            self.table.value_mut(slot).verdict = Verdict::Drop(DropReason::FragmentOverlap);
            return Err(DropReason::FragmentOverlap);
        }
        if self.table.is_full() {
            self.expire(now_ns, EXPIRE_BUDGET);
        }
        let mut entry = Entry {
            deadline_ns: now_ns.saturating_add(timeout_ns),
            ..Entry::default()
        };
        // Cannot fail on an empty entry.
        entry.add(piece);
        let handle = self
            .table
            .insert(hash, *key, entry)
            .map_err(|_| DropReason::FragmentTableFull)?;
        self.link_newest(handle.index);
        Ok(handle.index)
    }

    /// Sets the verdict the rest of the datagram will follow.
    pub fn decide(&mut self, slot: u32, verdict: Verdict) {
        if self.table.is_live(slot) {
            self.table.value_mut(slot).verdict = verdict;
        }
    }

    /// A later fragment: its datagram's verdict, or why it is dropped instead.
    pub fn follow(&mut self, key: &FragKey, piece: Piece, now_ns: u64) -> Verdict {
        let Some(slot) = self.live(key.hash(), key, now_ns) else {
            return Verdict::Drop(DropReason::FragmentOrphan);
        };
        let entry = self.table.value_mut(slot);
        match entry.add(piece) {
            Added::Yes => entry.verdict,
            Added::Complete => {
                let verdict = entry.verdict;
                self.remove(slot);
                verdict
            }
            Added::Overlap => {
                entry.verdict = Verdict::Drop(DropReason::FragmentOverlap);
                entry.verdict
            }
            Added::NoRoom => Verdict::Drop(DropReason::FragmentTableFull),
        }
    }

    /// On the timer tick: the table's index growth (`SessionTable::maintain`).
    pub fn maintain(&mut self) {
        self.table.maintain();
    }

    /// Removes up to `budget` entries whose time is up; returns how many.
    pub fn expire(&mut self, now_ns: u64, budget: usize) -> usize {
        let mut removed = 0;
        while removed < budget
            && self.head != NIL
            && self.table.value(self.head).deadline_ns <= now_ns
        {
            self.remove(self.head);
            removed += 1;
        }
        removed
    }

    /// The live, unexpired entry of `key`; an expired one is removed on the way.
    fn live(&mut self, hash: u64, key: &FragKey, now_ns: u64) -> Option<u32> {
        let slot = self.table.lookup(hash, key)?;
        if self.table.value(slot).deadline_ns <= now_ns {
            self.remove(slot);
            return None;
        }
        Some(slot)
    }

    fn link_newest(&mut self, slot: u32) {
        let i = slot as usize;
        self.older[i] = self.tail;
        self.newer[i] = NIL;
        match self.tail {
            NIL => self.head = slot,
            t => self.newer[t as usize] = slot,
        }
        self.tail = slot;
    }

    fn remove(&mut self, slot: u32) {
        let i = slot as usize;
        let (older, newer) = (self.older[i], self.newer[i]);
        match older {
            NIL => self.head = newer,
            o => self.newer[o as usize] = newer,
        }
        match newer {
            NIL => self.tail = older,
            n => self.older[n as usize] = older,
        }
        self.table.remove(slot);
    }
}

#[cfg(test)]
#[path = "frag_tests.rs"]
mod tests;
