//! A packet of an existing session: the TCP tracker's step, the counters, and app-ID while
//! the application is undecided.

use super::*;

impl Engine {
    /// A packet of an existing session. Inlined where it is called (stage 3's common case and
    /// `flow_packet`): a UDP packet's whole work, and a TCP segment's in-order step, are the
    /// few lines here; the full TCP tracker, app-ID and a refused flow's drop are calls.
    /// `parsed` gives the packet's parse result, which only those calls read (stage 3 may have
    /// it to write yet); `seg` is a TCP packet's segment; `reversed`: whether the packet runs
    /// against its session's stored (canonical) key ([`FlowHash::reversed`]).
    ///
    /// The packet comes as its four values, not as a [`Packet`]: on this path a struct cost
    /// 14 instructions a packet (callgrind, established UDP), its fields stored for the calls
    /// out of line even when none was made. The calls get one, made where they are.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn existing<'p>(
        &mut self,
        slot: u32,
        reversed: bool,
        parsed: impl FnOnce() -> &'p Parsed,
        seg: &Segment,
        frame: &[u8],
        ingress: u8,
        now_ns: u64,
        now_ms: u32,
    ) -> Verdict {
        let pkt = || Packet {
            frame,
            ingress,
            now_ns,
            now_ms,
        };
        let session = self.table.value_mut(slot);
        if session.has(sf::DISCARD) {
            return self.discarded(slot, parsed(), pkt());
        }
        let dir = session.dir_of(reversed);
        // An in-order data or ACK segment of an established connection is the TCP tracker's
        // one step, and then handled as a datagram; any other segment goes through the whole
        // state machine.
        if session.kind == SessionKind::Tcp && !session.tcp.established_step(dir, seg) {
            let p = parsed();
            return self.existing_tcp(slot, dir, reversed, p, pkt());
        }
        session.count(dir, frame.len(), now_ms);
        if !session.has(sf::APP_DECIDED) {
            let p = parsed();
            if p.payload_len > 0 {
                return self.identify(slot, dir, p, pkt());
            }
        }
        self.forward(ingress)
    }

    /// A packet of a refused flow (a discard entry): its retransmissions are dropped fast,
    /// logged once already.
    #[inline(never)]
    pub(super) fn discarded(&mut self, slot: u32, p: &Parsed, pkt: Packet<'_>) -> Verdict {
        let action = Action::ALL[self.table.value(slot).pending_end as usize];
        self.enforce(action, p, pkt, Dir::ClientToServer);
        Verdict::Drop(DropReason::Policy)
    }

    /// A packet of an existing TCP session, going `dir`: the tracker decides.
    #[inline(never)]
    pub(super) fn existing_tcp(
        &mut self,
        slot: u32,
        dir: Dir,
        reversed: bool,
        p: &Parsed,
        pkt: Packet<'_>,
    ) -> Verdict {
        let Packet {
            frame,
            ingress,
            now_ns,
            now_ms,
        } = pkt;
        let len = frame.len();
        let session = self.table.value_mut(slot);
        let verdict = session.tcp.on_segment(dir, &p.segment(), &self.cfg.tcp);
        if verdict.forwards() {
            session.count(dir, len, now_ms);
        }
        if verdict.broken_handshake || verdict.out_of_order {
            let c = self.counters.view();
            c.add(
                WorkerBlock::BROKEN_HANDSHAKES,
                verdict.broken_handshake as u64,
            );
            c.add(WorkerBlock::OUT_OF_ORDER, verdict.out_of_order as u64);
        }
        let ended = session.has(sf::ENDED);
        let inspect = !session.has(sf::APP_DECIDED) && p.payload_len > 0;
        match verdict.action {
            TcpAction::Accept if inspect => self.identify(slot, dir, p, pkt),
            TcpAction::Accept => self.forward(ingress),
            TcpAction::AcceptAndEnd(reason) => {
                // The entry stays (TIME_WAIT / CLOSE) until its timeout absorbs late segments,
                // and is logged when it leaves; re-arm for the new, shorter timeout.
                let s = self.table.value_mut(slot);
                if !ended && s.pending_end == NO_END {
                    s.pending_end = reason as u8;
                }
                self.arm(slot, now_ns);
                self.forward(ingress)
            }
            TcpAction::Drop(reason) => Verdict::Drop(reason),
            TcpAction::DropAndEnd(drop, reason) => {
                self.end(slot, reason, now_ns);
                Verdict::Drop(drop)
            }
            TcpAction::Reuse => {
                let reason = if ended {
                    None
                } else {
                    Some(EndReason::TcpReuse)
                };
                self.end_with(slot, reason, now_ns);
                self.open(p.key.oriented(reversed), reversed, p.key.hash64(), p, pkt)
            }
        }
    }
}
