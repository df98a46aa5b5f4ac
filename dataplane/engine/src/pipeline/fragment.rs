//! Fragments on the data path: a datagram's first fragment is judged like any packet (it has
//! the transport header), and its verdict is kept in the worker's fragment table for the
//! fragments after it (`crate::frag` says why and how).

use super::{Engine, Packet, Staged, Verdict};
use crate::frag::{FragKey, Piece, EXPIRE_BUDGET};
use crate::wire::Parsed;

impl Engine {
    /// A fragment (`p.frag.is_fragment`).
    pub(super) fn fragment(&mut self, p: &Parsed, st: &Staged, pkt: Packet<'_>) -> Verdict {
        let now_ns = pkt.now_ns;
        // Only fragments use the table, so its aging runs here, a bounded batch at a time.
        self.frags.expire(now_ns, EXPIRE_BUDGET);
        let key = FragKey::of(p);
        let piece = Piece::of(&p.frag);
        if !p.frag.first {
            return self.frags.follow(&key, piece, now_ns);
        }
        // The entry first: a datagram that cannot be tracked is refused before it opens a
        // session its other fragments could never reach.
        let slot = match self
            .frags
            .open(&key, piece, now_ns, self.cfg.timeouts.fragment)
        {
            Ok(slot) => slot,
            Err(reason) => return Verdict::Drop(reason),
        };
        let verdict = self.flow_packet(p, st, pkt);
        self.frags.decide(slot, verdict);
        verdict
    }
}

#[cfg(test)]
#[path = "fragment_tests.rs"]
mod tests;
