//! The burst's first stages: parse and hash every packet and start loading its index bucket
//! (stage 1), and the test that lets stage 3 take a packet straight to the session in its
//! candidate slot.

use super::*;

/// The parse result of a frame the parser's common path took (`parsed[i]`), written (by
/// [`wire::materialise`]) when first asked for: stage 3's straight path to an established
/// session reads nothing from it, and pays nothing to carry it (indexed only when asked for:
/// indexed before, a TCP segment paid 5 instructions more).
#[inline(always)]
pub(super) fn deferred<'p>(
    parsed: &'p mut [Parsed],
    i: usize,
    frame: &'p [u8],
) -> impl FnOnce() -> &'p Parsed {
    move || {
        let p = &mut parsed[i];
        wire::materialise(frame, p);
        p
    }
}

/// Stage 1's outcome for a packet: which path it takes, or its verdict. One byte to test
/// (`Verdict`'s spare tag values hold the two paths), where a result and a flag took two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stage {
    /// The parser's common path took the packet (untagged IPv4 TCP or UDP, not a fragment;
    /// its parse result deferred): stage 3 may take it straight to its session.
    Common,
    /// The same for IPv6 (no extension header): the session's addresses are compared with the
    /// frame's.
    Common6,
    /// Parsed by the full parser: the general path.
    Other,
    /// The packet's verdict, already reached (a drop: it did not parse; a hand-off: another
    /// worker owns its flow).
    Decided(Verdict),
}

const _: () = assert!(std::mem::size_of::<Stage>() == std::mem::size_of::<Verdict>());

/// What the first two stages of a burst learn of a packet.
#[derive(Clone, Copy, Debug)]
pub(super) struct Staged {
    pub(super) stage: Stage,
    /// The flow key's hash and orientation (when parsed).
    pub(super) hashed: FlowHash,
    /// The table key of the packet's flow (canonical orientation): from the parser's common
    /// path in stage 1, else built in stage 2.
    pub(super) probe: StoredKey,
    /// The slot stage 2's index walk found: the likely session.
    pub(super) candidate: Option<u32>,
    /// A common TCP frame's segment (`wire::parse_common`; left as it was for other frames).
    pub(super) segment: Segment,
    /// Bytes of its session's table entry that stage 2 prefetches: a common UDP packet's
    /// session work reads the entry's head only ([`UDP_ENTRY_BYTES`]); others may read all of
    /// it (the TCP tracker is at the end). Decided in stage 1, where the protocol is at hand.
    pub(super) entry_bytes: u8,
}

impl Default for Staged {
    fn default() -> Self {
        Staged {
            stage: Stage::Other,
            hashed: FlowHash::default(),
            probe: StoredKey::default(),
            candidate: None,
            segment: Segment::default(),
            entry_bytes: ENTRY_BYTES,
        }
    }
}

/// `process_burst`'s scratch, allocated once (`MAX_BURST` elements each).
#[derive(Default)]
pub(super) struct BurstScratch {
    pub(super) parsed: Vec<Parsed>,
    pub(super) staged: Vec<Staged>,
}

impl Engine {
    /// Burst stage 1: parses and hashes every frame and starts loading its index bucket.
    /// Results are written in place and borrowed by the later stages, never moved (a parse
    /// result is ~140 bytes). The common IPv4 frame takes a branch of its own, every other
    /// frame one call out of line (`parse_stage_other`: IPv6's straight path, or the full
    /// parser): with one join after both, the compiler kept the common path's values on the
    /// stack. `HAND_OFF`: packets of flows another worker owns get their verdict here
    /// (`Verdict::HandOff`) and go no further; returns how many.
    #[inline(always)]
    pub(super) fn parse_stage<const HAND_OFF: bool>(
        &self,
        frames: &[&mut [u8]],
        parsed: &mut [Parsed],
        staged: &mut [Staged],
    ) -> usize {
        let mut handed_off = 0;
        for ((frame, p), st) in frames.iter().zip(parsed.iter_mut()).zip(staged.iter_mut()) {
            if let Some(c) = wire::parse_common(frame, p, &mut st.segment) {
                let probe = StoredKey::canonical_v4(&c.flow);
                handed_off += self.stage_common::<HAND_OFF>(st, Stage::Common, c.hashed, probe);
                continue;
            }
            handed_off += self.parse_stage_other::<HAND_OFF>(frame, p, st);
        }
        handed_off
    }

    /// Stage 1 for a frame the IPv4 common path did not take: the IPv6 common path, or the
    /// full parser. Out of line, so that the IPv4 common path's loop keeps its registers (with
    /// this inlined, the IPv4 frame cost 20 more instructions). Returns 1 for a hand-off.
    #[inline(never)]
    pub(super) fn parse_stage_other<const HAND_OFF: bool>(
        &self,
        frame: &[u8],
        p: &mut Parsed,
        st: &mut Staged,
    ) -> usize {
        if let Some(c) = wire::parse_common6(frame, p, &mut st.segment) {
            let probe = StoredKey::canonical_v6(c.hashed.hash, c.ports, c.proto);
            return self.stage_common::<HAND_OFF>(st, Stage::Common6, c.hashed, probe);
        }
        st.entry_bytes = ENTRY_BYTES;
        let hashed = match wire::parse_other(frame, p) {
            Err(reason) => {
                st.stage = Stage::Decided(Verdict::Drop(reason));
                return 0;
            }
            Ok(hashed) => hashed,
        };
        st.hashed = hashed;
        if HAND_OFF {
            let owner = wire::owner_hash(p, hashed.hash)
                .map(|hash| owner_worker(hash, self.cfg.hand_off_workers));
            if let Some(owner) = owner.filter(|&owner| owner != self.cfg.worker) {
                st.stage = Stage::Decided(Verdict::HandOff(owner));
                return 1;
            }
        }
        self.table.prefetch_index(hashed.hash);
        st.stage = Stage::Other;
        0
    }

    /// Stage 1 for a frame the parser's common path took (`stage`: which family's), with its
    /// flow's hash and table key: a hand-off (returns 1) or its index bucket on its way.
    #[inline(always)]
    pub(super) fn stage_common<const HAND_OFF: bool>(
        &self,
        st: &mut Staged,
        stage: Stage,
        hashed: FlowHash,
        probe: StoredKey,
    ) -> usize {
        st.hashed = hashed;
        if HAND_OFF {
            // A common frame is never a fragment: its flow hash is its owner hash.
            let owner = owner_worker(hashed.hash, self.cfg.hand_off_workers);
            if owner != self.cfg.worker {
                st.stage = Stage::Decided(Verdict::HandOff(owner));
                return 1;
            }
        }
        st.stage = stage;
        self.table.prefetch_index(hashed.hash);
        st.probe = probe;
        st.entry_bytes = if probe.proto() == PROTO_UDP {
            UDP_ENTRY_BYTES as u8
        } else {
            ENTRY_BYTES
        };
        0
    }

    /// The session slot of a packet that needs none of `flow_packet`'s general checks, for one
    /// the parser's common path took ([`Stage::Common`]: IPv4 TCP or UDP, not a fragment: no
    /// ICMP error to relate, no link control to pass): its session is in its candidate slot
    /// (stage 2) and has not timed out. `None` leaves the packet to `packet`, which decides the
    /// same way for these and handles all others.
    #[inline(always)]
    pub(super) fn candidate_hit(&self, st: &Staged, now_ms: u32) -> Option<u32> {
        let slot = st.candidate?;
        (*self.table.key(slot) == st.probe && !self.timed_out(slot, now_ms)).then_some(slot)
    }

    /// [`Self::candidate_hit`] for a packet the parser's IPv6 common path took
    /// ([`Stage::Common6`]): the stored key's in-place fields, then its address pair against the
    /// frame's addresses.
    #[inline(always)]
    pub(super) fn candidate_hit6(&self, st: &Staged, frame: &[u8], now_ms: u32) -> Option<u32> {
        let slot = st.candidate?;
        let (src, dst) = wire::common6_addresses(frame)?;
        let (src, dst) = if st.hashed.reversed {
            (dst, src)
        } else {
            (src, dst)
        };
        let stored = self.table.key(slot);
        (self.keys.matches_v6(stored, &st.probe, src, dst) && !self.timed_out(slot, now_ms))
            .then_some(slot)
    }

    /// Whether the live session in `slot` saw no packet for longer than its timeout (the wheel
    /// has not reached it yet): it ages out on this packet's arrival.
    #[inline(always)]
    pub(super) fn timed_out(&self, slot: u32, now_ms: u32) -> bool {
        let session = self.table.value(slot);
        session.idle_past_timeout(
            now_ms.wrapping_sub(session.last_seen_ms),
            &self.cfg.timeouts,
        )
    }
}
