//! Stage 3's general path: every packet that did not go straight to its session. It finds
//! the packet's session (aging it out first if its timeout passed while the wheel had not
//! reached it), or hands it to `open`; fragments, ICMP errors and link control go their own
//! ways.

use super::*;

impl Engine {
    /// Stage 3 for every packet that did not go straight to its session: an IPv6 packet the
    /// parser's common path took ([`Stage::Common6`]) goes straight to its session here, as an
    /// IPv4 one does in stage 3's loop; every other takes the general path (`packet`). Out of
    /// line: inlined in the loop, this path's values took registers that the common IPv4
    /// packet's path then spilled.
    #[inline(never)]
    pub(super) fn general_packet(
        &mut self,
        p: &mut Parsed,
        st: &Staged,
        pkt: Packet<'_>,
    ) -> Verdict {
        if st.stage == Stage::Common6 {
            if let Some(slot) = self.candidate_hit6(st, pkt.frame, pkt.now_ms) {
                let seg = &st.segment;
                let parsed = deferred(std::slice::from_mut(p), 0, pkt.frame);
                let reversed = st.hashed.reversed;
                return self.existing(
                    slot,
                    reversed,
                    parsed,
                    seg,
                    pkt.frame,
                    pkt.ingress,
                    pkt.now_ns,
                    pkt.now_ms,
                );
            }
        }
        if matches!(st.stage, Stage::Common | Stage::Common6) {
            wire::materialise(pkt.frame, p);
        }
        self.packet(p, st, pkt)
    }

    /// One parsed packet of the burst.
    #[inline]
    pub(super) fn packet(&mut self, p: &Parsed, st: &Staged, pkt: Packet<'_>) -> Verdict {
        if p.kind == Kind::NonIp {
            // ARP and other non-IP frames cross a virtual wire untouched.
            return self.forward(pkt.ingress);
        }
        if p.frag.is_fragment {
            // The first fragment is judged by `flow_packet` like any packet; the ones after it
            // carry no ports and follow its verdict (`fragment.rs`).
            return self.fragment(p, st, pkt);
        }
        self.flow_packet(p, st, pkt)
    }

    /// An IP packet with its transport header (a whole one, or a first fragment).
    #[inline]
    pub(super) fn flow_packet(&mut self, p: &Parsed, st: &Staged, pkt: Packet<'_>) -> Verdict {
        if p.icmp.kind == IcmpKind::Error {
            return self.icmp_error(p, pkt.ingress);
        }
        if p.key.proto == PROTO_ICMPV6 && is_icmpv6_link_control(p.icmp.icmp_type) {
            // Neighbour discovery and multicast listener messages: link-local control that
            // IPv6 needs on either side of a wire, not sessions.
            return self.forward(pkt.ingress);
        }
        // The lookup compares the table key stage 2 built; the canonical copy of the flow key is
        // made only to open a session.
        let reversed = st.hashed.reversed;
        if let Some(slot) = self.find(st.candidate, st.hashed.hash, &st.probe, &p.key, reversed) {
            if self.timed_out(slot, pkt.now_ms) {
                self.end(slot, EndReason::AgedOut, pkt.now_ns);
            } else {
                let seg = &p.segment();
                return self.existing(
                    slot,
                    reversed,
                    || p,
                    seg,
                    pkt.frame,
                    pkt.ingress,
                    pkt.now_ns,
                    pkt.now_ms,
                );
            }
        }
        let key = p.key.oriented(reversed);
        self.open(key, reversed, st.hashed.hash, p, pkt)
    }

    /// The live slot of `key`'s flow: `probe` is its table key (`StoredKey::probe`), `reversed`
    /// whether `key` is the reverse of the canonical orientation; `candidate`: the slot stage 2
    /// found, tried first. Hot path.
    #[inline(always)]
    pub(super) fn find(
        &self,
        candidate: Option<u32>,
        hash: u64,
        probe: &StoredKey,
        key: &FlowKey,
        reversed: bool,
    ) -> Option<u32> {
        // IPv4 compares the stored key whole; one closure for both families (`matches` checks
        // the family per compare) cost 23 more instructions a packet (callgrind).
        if key.family == 4 {
            self.table
                .lookup_from(candidate, hash, |stored| stored == probe)
        } else {
            self.table.lookup_from(candidate, hash, |stored| {
                self.keys.matches(stored, probe, key, reversed)
            })
        }
    }

    /// An ICMP error: forwarded when it refers to a live session, never opens one.
    pub(super) fn icmp_error(&mut self, p: &Parsed, ingress: u8) -> Verdict {
        let Some(inner) = p.inner else {
            return Verdict::Drop(DropReason::MalformedIcmpInner);
        };
        let hashed = inner.hashed();
        let probe = StoredKey::probe(&inner, hashed.reversed, hashed.hash);
        match self.find(None, hashed.hash, &probe, &inner, hashed.reversed) {
            Some(_) => self.forward(ingress),
            None => Verdict::Drop(DropReason::IcmpErrorNoSession),
        }
    }

    /// A TCP packet that may not open a session: "Not a valid SYN packet".
    pub(super) fn non_syn(&mut self, p: &Parsed, pkt: Packet<'_>) -> Verdict {
        self.counters.view().add_non_syn(p.tcp.flags);
        if self.non_syn_logs.allow(pkt.now_ns) {
            let mut r = self.record_of(&p.key, pkt.ingress, pkt.now_ns);
            r.subtype = Subtype::Drop;
            r.action = Action::Drop;
            r.drop_reason = Some(DropReason::NonSyn);
            r.tcp_flags = p.tcp.flags;
            r.packets_sent = 1;
            self.push_record(r);
        }
        Verdict::Drop(DropReason::NonSyn)
    }
}

/// ICMPv6 messages of the link (router/neighbour discovery, multicast listeners).
fn is_icmpv6_link_control(icmp_type: u8) -> bool {
    matches!(icmp_type, 130..=137 | 143)
}
