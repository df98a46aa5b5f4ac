//! Hierarchical timer wheel for session aging: O(1) arm and cancel, bounded work per call,
//! 12 bytes per timer, no allocation after construction (but for deadlines beyond the wheel's
//! reach, see Levels).
//!
//! Timers are keyed by session index (`u32`, below the capacity given at construction). Each
//! index is a node of an intrusive doubly-linked circular list kept in two preallocated
//! arrays, `next` and `prev`; the slot heads are extra nodes at the end of the same arrays
//! (sentinels), so unlinking a timer never needs to know which slot holds it.
//!
//! ## Levels
//! `LEVELS` = 4 levels of 256 slots. Level `l` slot `i` holds timers whose expiry tick `e`
//! has `(e >> 8l) & 255 == i` and that are between `256^l` and `256^(l+1)` ticks ahead of the
//! wheel when placed. Level 0 slots are single ticks; when the wheel reaches a multiple of
//! `256^l` it *cascades* the level-`l` slot for that block: each timer moves down to the level
//! its remaining distance calls for, and ends at level 0 on its exact tick (the classic
//! Varghese & Lauck scheme, as in Linux before 4.8). With a 10 ms tick, level 3 reaches
//! 2^32 ticks = 497 days, well past the longest TCP timeout (1 599 999 s). A deadline beyond
//! the top level is placed at the top level's edge; when it gets there it is re-placed, not
//! fired: its true expiry tick waits in a side table (`far`), the only memory the wheel may
//! allocate after construction, empty unless a deadline more than 2^32 - 1 ticks ahead of the
//! wheel is armed (497 days at the engine's 10 ms tick; its longest timeout is 1.6 × 10^8 ticks).
//!
//! ## Memory
//! Per timer: the two links and `due`, the low 32 bits of the tick the timer is due at:
//! [`BYTES_PER_TIMER`] = 12 bytes, plus `HEADS + 1` list heads. The due tick is the expiry tick
//! `ceil(d / tick)` (all that firing looks at), clamped to `current_tick ..= current_tick +
//! MAX_AHEAD` when placed: a deadline already past is due at the tick the wheel is at (where it
//! fires anyway), one beyond the top level at its edge, with its expiry tick kept in `far`. As
//! `current_tick` never passes a tick at which a timer is still due, every due tick stays in
//! that span of 2^32 ticks, and its low 32 bits name it.
//!
//! ## Firing
//! A timer with deadline `d` has expiry tick `e = ceil(d / tick)` and fires in the first
//! [`TimerWheel::expire`] call whose `now >= e * tick`, budget permitting. So it never fires
//! early, and fires less than one tick late when `expire` is called at least once per tick with
//! enough budget; levels add no delay, since cascading lands each timer on its exact tick.
//! When the caller is late (a large `now` jump), every timer due by `now` fires in this call
//! or the next ones, in wheel order rather than strict deadline order: a timer due by `now`
//! found while cascading fires there instead of moving down.
//!
//! ## Lazy aging and budget
//! The data path refreshes a session by storing its last-seen time, not by touching the
//! wheel (VPP sfdp's idea). When a timer fires early for its session, the callback returns
//! [`Rearm::At`] with the real deadline and the wheel re-arms it. Each `expire` call handles at
//! most `budget` timers (fired, moved down a level, or re-placed), so a mass expiry spreads
//! over several loops of the worker. The wheel keeps the list being worked on aside, so the
//! next call continues exactly where the last one stopped: no timer is lost or fired twice,
//! and no tick with timers is skipped. Ticks with nothing to do are jumped over using
//! per-level occupancy bitmaps, so a large time jump costs nothing per empty tick.
//!
//! Time is a `u64` of nanoseconds passed in by the caller; the wheel never reads a clock.

use std::collections::BTreeMap;

/// Bytes of per-timer state: the `next` and `prev` links and the low 32 bits of the due tick.
pub const BYTES_PER_TIMER: usize = 12;

/// Number of levels.
const LEVELS: usize = 4;
/// log2 of the slots per level.
const SLOT_BITS: u32 = 8;
const SLOTS: usize = 1 << SLOT_BITS;
const SLOT_MASK: u64 = SLOTS as u64 - 1;
/// Slot heads across all levels.
const HEADS: usize = LEVELS * SLOTS;
/// Farthest ahead (in ticks) a timer is placed: the top level's reach.
const MAX_AHEAD: u64 = (1 << (SLOT_BITS * LEVELS as u32)) - 1;
// The longest TCP timeout (1 599 999 s) at a 10 ms tick needs no clamping.
const _: () = assert!(1_599_999 * 100 < MAX_AHEAD);
/// "Not linked" in `next` / `prev`.
const NIL: u32 = u32::MAX;
/// Words of one level's occupancy bitmap.
const WORDS: usize = SLOTS / 64;

/// What the callback asks the wheel to do with the timer that just fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rearm {
    /// The timer is done (the session expired); it is no longer armed.
    Expired,
    /// Not yet: arm it again for this deadline (ns). A deadline not after the tick being
    /// processed fires on the next tick.
    At(u64),
}

/// See the module documentation.
pub struct TimerWheel {
    tick_ns: u64,
    /// First tick not yet completely processed.
    current_tick: u64,
    capacity: u32,
    /// Links. Indices `0..capacity` are timers, then `HEADS` slot heads (level-major), then
    /// the head of the list being drained.
    next: Vec<u32>,
    prev: Vec<u32>,
    /// Low 32 bits of the tick each armed timer is due at (see `schedule` and `due_tick`).
    due: Vec<u32>,
    /// Expiry tick of each armed timer that was beyond the top level's edge when last placed
    /// (its `due` is that edge). Empty unless such a deadline was armed.
    far: BTreeMap<u32, u64>,
    /// Bit `i` of `occupied[l]`: level `l` slot `i` is not empty.
    occupied: [[u64; WORDS]; LEVELS],
    /// Level whose slot for `current_tick` has been moved to the drain list and is being
    /// worked through; `None` between ticks.
    draining: Option<usize>,
    armed: u32,
}

impl TimerWheel {
    /// A wheel for timer indices `0..capacity`, ticking every `tick_ns`, starting at `now_ns`.
    /// Allocates its arrays once ([`BYTES_PER_TIMER`] = 12 bytes per timer).
    ///
    /// Panics if `tick_ns` is 0 or `capacity` leaves no room for the slot heads in `u32`.
    pub fn new(capacity: u32, tick_ns: u64, now_ns: u64) -> TimerWheel {
        assert!(tick_ns > 0, "tick_ns must be positive");
        let links = capacity as usize + HEADS + 1;
        assert!(links < NIL as usize, "timer wheel capacity too large");
        let mut next = vec![NIL; links];
        let mut prev = vec![NIL; links];
        for head in capacity as usize..links {
            next[head] = head as u32;
            prev[head] = head as u32;
        }
        TimerWheel {
            tick_ns,
            current_tick: now_ns / tick_ns,
            capacity,
            next,
            prev,
            due: vec![0; capacity as usize],
            far: BTreeMap::new(),
            occupied: [[0; WORDS]; LEVELS],
            draining: None,
            armed: 0,
        }
    }

    pub const fn capacity(&self) -> u32 {
        self.capacity
    }

    pub const fn tick_ns(&self) -> u64 {
        self.tick_ns
    }

    /// Number of armed timers.
    pub const fn len(&self) -> u32 {
        self.armed
    }

    pub const fn is_empty(&self) -> bool {
        self.armed == 0
    }

    pub fn is_armed(&self, idx: u32) -> bool {
        self.next[idx as usize] != NIL
    }

    /// The deadline `idx` is armed for, if armed, rounded up to a whole tick: the start of the
    /// tick it fires at (`expiry tick × tick_ns`). A deadline that had already passed when it
    /// was armed reads as the start of the tick the wheel was then at, where it fires.
    pub fn deadline(&self, idx: u32) -> Option<u64> {
        self.is_armed(idx)
            .then(|| self.expiry_tick(idx).saturating_mul(self.tick_ns))
    }

    /// Arms `idx` to fire at or after `deadline_ns`, replacing any earlier arming. A deadline
    /// already past fires at the next tick the wheel processes. O(1), no allocation unless the
    /// deadline is more than 2^32 - 1 ticks ahead (see the module documentation).
    ///
    /// Panics if `idx >= capacity`.
    pub fn arm(&mut self, idx: u32, deadline_ns: u64) {
        assert!(idx < self.capacity, "timer index {idx} out of range");
        if self.is_armed(idx) {
            self.unlink(idx);
        } else {
            self.armed += 1;
        }
        self.schedule(idx, self.tick_of(deadline_ns));
    }

    /// Disarms `idx`; returns whether it was armed. O(1).
    pub fn cancel(&mut self, idx: u32) -> bool {
        if !self.is_armed(idx) {
            return false;
        }
        self.unlink(idx);
        self.forget_far(idx);
        self.armed -= 1;
        true
    }

    /// Fires the timers due by `now_ns`, handling at most `budget` timers (fired, cascaded or
    /// re-placed); returns how many fired (callbacks made). `on_fire` gets the index of a
    /// timer that is no longer armed and says whether to re-arm it.
    ///
    /// Call it again with the same or a later `now_ns` to continue after the budget ran out;
    /// an earlier `now_ns` than before is treated as the latest one. Hot path: no allocation
    /// (but for a re-arm more than 2^32 - 1 ticks ahead).
    pub fn expire(
        &mut self,
        now_ns: u64,
        budget: usize,
        mut on_fire: impl FnMut(u32) -> Rearm,
    ) -> usize {
        let mut now_tick = now_ns / self.tick_ns;
        if self.draining.is_some() {
            // A tick is half done: it was due at an earlier call.
            now_tick = now_tick.max(self.current_tick);
        }
        let (mut work, mut fired) = (0, 0);
        while work < budget {
            let Some(level) = self.draining else {
                match self.next_event_tick() {
                    Some(tick) if tick <= now_tick => {
                        self.current_tick = tick;
                        self.drain_next_level(LEVELS);
                        continue;
                    }
                    _ => {
                        // Nothing left up to now: every tick up to `now_tick` is done.
                        self.current_tick = self.current_tick.max(now_tick + 1);
                        break;
                    }
                }
            };
            let idx = self.next[self.drain_head()];
            if idx as usize == self.drain_head() {
                self.drain_next_level(level);
                continue;
            }
            self.unlink(idx);
            work += 1;
            let expiry = self.expiry_tick(idx);
            if expiry > now_tick {
                // Cascading down a level, or a far deadline reaching the top level's edge.
                self.schedule(idx, expiry);
                continue;
            }
            self.forget_far(idx);
            self.armed -= 1;
            fired += 1;
            if let Rearm::At(deadline_ns) = on_fire(idx) {
                self.armed += 1;
                let expiry = self.tick_of(deadline_ns).max(self.current_tick + 1);
                self.schedule(idx, expiry);
            }
        }
        fired
    }

    /// The earliest time (ns) at which `expire` has work: the start of the first tick with a
    /// non-empty slot, on any level. A lower bound on the next firing, not the firing itself:
    /// the work due then may be a cascade that only moves timers down. A replay loop can jump
    /// its virtual clock here, call `expire`, and ask again. `None` when no timer is armed. When
    /// an earlier call stopped mid-tick on its budget, this is that tick (work is pending now).
    pub fn next_deadline_hint(&self) -> Option<u64> {
        self.next_event_tick()
            .map(|tick| tick.saturating_mul(self.tick_ns))
    }

    /// First tick at or after `current_tick` where some slot must be fired or cascaded.
    fn next_event_tick(&self) -> Option<u64> {
        if self.draining.is_some() {
            return Some(self.current_tick);
        }
        let mut earliest: Option<u64> = None;
        for level in 0..LEVELS {
            let pos = slot_index(self.current_tick, level);
            // In rotation order from `pos`, the first occupied slot is one of these three
            // (`pos` itself comes last unless its tick is still ahead: see `service_tick`).
            let candidates = [
                first_set_from(&self.occupied[level], pos),
                first_set_from(&self.occupied[level], pos + 1),
                first_set_from(&self.occupied[level], 0),
            ];
            for slot in candidates.into_iter().flatten() {
                let tick = service_tick(self.current_tick, level, slot);
                earliest = Some(earliest.map_or(tick, |e| e.min(tick)));
            }
        }
        earliest
    }

    /// Moves on to the next level below `above` that has a slot to work through at
    /// `current_tick` (level 0 always), or, when level 0 is done, to the next tick.
    fn drain_next_level(&mut self, above: usize) {
        let tick = self.current_tick;
        for level in (0..above).rev() {
            let slot = slot_index(tick, level);
            let due = level == 0 || (is_aligned(tick, level) && self.slot_occupied(level, slot));
            if due {
                self.splice_into_drain(level, slot);
                self.draining = Some(level);
                return;
            }
        }
        self.draining = None;
        self.current_tick = tick + 1;
    }

    /// Makes armed, unlinked `idx` due at `expiry` (a tick) and links it into its slot. The due
    /// tick is kept within `current_tick ..= current_tick + MAX_AHEAD`, as `due_tick` needs: a
    /// tick already past becomes the current one (it fires there, as it would have), a tick
    /// beyond the top level becomes its edge and goes to `far`, where `expire` finds it when
    /// the timer gets to the edge and schedules it again.
    fn schedule(&mut self, idx: u32, expiry: u64) {
        let now = self.current_tick;
        let edge = now.saturating_add(MAX_AHEAD);
        if expiry > edge {
            self.far.insert(idx, expiry);
        } else {
            self.forget_far(idx);
        }
        let due = expiry.clamp(now, edge);
        // The low 32 bits: `due_tick` puts back the rest.
        self.due[idx as usize] = due as u32;
        self.place(idx, due);
    }

    /// The tick armed `idx` is due at. Every armed timer's due tick lies in `current_tick ..=
    /// current_tick + MAX_AHEAD` (2^32 ticks): `schedule` clamps it there, `current_tick` only
    /// moves up to the next tick with a slot to work through, and a timer's slot is worked
    /// through no later than its due tick. So the low 32 bits name it.
    fn due_tick(&self, idx: u32) -> u64 {
        let now = self.current_tick;
        now + u64::from(self.due[idx as usize].wrapping_sub(now as u32))
    }

    /// The expiry tick armed `idx` was scheduled for: its due tick, or the one kept in `far`.
    fn expiry_tick(&self, idx: u32) -> u64 {
        if !self.far.is_empty() {
            if let Some(&tick) = self.far.get(&idx) {
                return tick;
            }
        }
        self.due_tick(idx)
    }

    /// Drops `idx`'s entry in `far`, if any.
    fn forget_far(&mut self, idx: u32) {
        if !self.far.is_empty() {
            self.far.remove(&idx);
        }
    }

    /// Links an armed, unlinked timer into the slot for `expiry` (a tick, at most `MAX_AHEAD`
    /// ahead).
    fn place(&mut self, idx: u32, expiry: u64) {
        let now = self.current_tick;
        if expiry <= now {
            // Due at the tick being processed: into the list being fired if that is already
            // under way, else into the current tick's level-0 slot.
            if self.draining == Some(0) {
                self.link_before(self.drain_head(), idx);
            } else {
                self.link_into_slot(0, slot_index(now, 0), idx);
            }
            return;
        }
        let ahead = expiry - now;
        debug_assert!(ahead <= MAX_AHEAD, "placed beyond the top level");
        let level = ((63 - ahead.leading_zeros()) / SLOT_BITS) as usize;
        self.link_into_slot(level, slot_index(now + ahead, level), idx);
    }

    fn tick_of(&self, deadline_ns: u64) -> u64 {
        deadline_ns.div_ceil(self.tick_ns)
    }

    fn head(&self, level: usize, slot: usize) -> usize {
        self.capacity as usize + level * SLOTS + slot
    }

    fn drain_head(&self) -> usize {
        self.capacity as usize + HEADS
    }

    fn slot_occupied(&self, level: usize, slot: usize) -> bool {
        self.occupied[level][slot / 64] & (1 << (slot % 64)) != 0
    }

    fn link_into_slot(&mut self, level: usize, slot: usize, idx: u32) {
        self.link_before(self.head(level, slot), idx);
        self.occupied[level][slot / 64] |= 1 << (slot % 64);
    }

    /// Links `idx` just before `node` (at the tail when `node` is a head).
    fn link_before(&mut self, node: usize, idx: u32) {
        let last = self.prev[node];
        self.next[last as usize] = idx;
        self.prev[idx as usize] = last;
        self.next[idx as usize] = node as u32;
        self.prev[node] = idx;
    }

    /// Unlinks `idx` from whatever list holds it; clears the slot's bit if it became empty.
    fn unlink(&mut self, idx: u32) {
        let (p, n) = (self.prev[idx as usize], self.next[idx as usize]);
        self.next[p as usize] = n;
        self.prev[n as usize] = p;
        self.next[idx as usize] = NIL;
        self.prev[idx as usize] = NIL;
        // Neighbours equal only when the list is now just its head.
        let first_head = self.capacity as usize;
        if p == n && (first_head..first_head + HEADS).contains(&(p as usize)) {
            let offset = p as usize - first_head;
            let (level, slot) = (offset / SLOTS, offset % SLOTS);
            self.occupied[level][slot / 64] &= !(1 << (slot % 64));
        }
    }

    /// Moves a slot's whole list onto the (empty) drain list. O(1).
    fn splice_into_drain(&mut self, level: usize, slot: usize) {
        let (head, drain) = (self.head(level, slot), self.drain_head());
        debug_assert_eq!(self.next[drain] as usize, drain, "drain list not empty");
        let (first, last) = (self.next[head], self.prev[head]);
        if first as usize == head {
            return;
        }
        self.next[drain] = first;
        self.prev[first as usize] = drain as u32;
        self.prev[drain] = last;
        self.next[last as usize] = drain as u32;
        self.next[head] = head as u32;
        self.prev[head] = head as u32;
        self.occupied[level][slot / 64] &= !(1 << (slot % 64));
    }
}

/// Slot of `tick` at `level`.
const fn slot_index(tick: u64, level: usize) -> usize {
    ((tick >> (SLOT_BITS as usize * level)) & SLOT_MASK) as usize
}

/// Whether `tick` starts a level-`level` block (the ticks where that level cascades).
const fn is_aligned(tick: u64, level: usize) -> bool {
    tick & ((1u64 << (SLOT_BITS as usize * level)) - 1) == 0
}

/// The first tick at or after `current` where level `level` slot `slot` is worked through:
/// a tick that starts a level-`level` block and whose slot index at that level is `slot`.
const fn service_tick(current: u64, level: usize, slot: usize) -> u64 {
    let shift = SLOT_BITS as usize * level;
    let rotation = shift + SLOT_BITS as usize;
    let tick = ((current >> rotation) << rotation) + ((slot as u64) << shift);
    if tick < current {
        tick + (1 << rotation)
    } else {
        tick
    }
}

/// Lowest set bit at index `from` or above.
fn first_set_from(bits: &[u64; WORDS], from: usize) -> Option<usize> {
    if from >= SLOTS {
        return None;
    }
    let mut word = from / 64;
    let mut masked = bits[word] & (u64::MAX << (from % 64));
    loop {
        if masked != 0 {
            return Some(word * 64 + masked.trailing_zeros() as usize);
        }
        word += 1;
        if word == WORDS {
            return None;
        }
        masked = bits[word];
    }
}

#[cfg(test)]
mod tests;
