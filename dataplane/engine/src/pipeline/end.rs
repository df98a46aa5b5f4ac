//! How sessions end: timers armed and expired in bounded batches, the end record, removal.

use super::*;

impl Engine {
    /// Arms (or re-arms) a session's timer for its current timeout.
    pub(super) fn arm(&mut self, slot: u32, now_ns: u64) {
        let timeout = self.table.value(slot).timeout_ns(&self.cfg.timeouts);
        self.wheel.arm(slot, now_ns.saturating_add(timeout));
    }

    /// Records the end of a session (counters, log record) without removing it.
    pub(super) fn finish(&mut self, slot: u32, reason: EndReason, now_ns: u64) {
        // A session ending undecided gets PAN-OS's reason for not naming its application.
        if !self.table.value(slot).has(sf::APP_DECIDED) {
            let s = *self.table.value(slot);
            let client = s.tcp.peer(Dir::ClientToServer).flags_sent();
            let server = s.tcp.peer(Dir::ServerToClient).flags_sent();
            let handshake = s.kind == SessionKind::Tcp
                && server & crate::tcp::flags::SYN != 0
                && client & crate::tcp::flags::ACK != 0;
            let proto = self.table.key(slot).proto();
            let app = appid::final_reason(
                &self.app_states[slot as usize],
                proto,
                handshake,
                s.kind == SessionKind::Icmp,
            );
            let v = self.table.value_mut(slot);
            v.app = app;
            v.flags |= sf::APP_DECIDED;
        }
        let c = self.counters.view();
        c.add_end(reason);
        let session = *self.table.value(slot);
        if session.has(sf::LOG_END) {
            let key = self.flow_key(slot);
            let handle = self.table.handle(slot).expect("live slot");
            let mut r = self.record_of(&key, session.ingress, now_ns);
            if session.has(sf::CLIENT_IS_DST) {
                let k = key.reversed();
                r.src = k.src;
                r.dst = k.dst;
                r.sport = k.sport;
                r.dport = k.dport;
            }
            r.session_id = session_id(self.cfg.worker, slot, handle.generation);
            r.rule = session.rule;
            r.app = session.app;
            r.end_reason = reason;
            if let Some(sni) = self.snis.get(&slot) {
                r.sni = *sni;
            }
            if session.has(sf::DISCARD) {
                let action = Action::ALL
                    .get(session.pending_end as usize)
                    .copied()
                    .unwrap_or(Action::Deny);
                r.action = action;
                r.subtype = if matches!(action, Action::Drop | Action::DropIcmp) {
                    Subtype::Drop
                } else {
                    Subtype::Deny
                };
                r.drop_reason = Some(DropReason::Policy);
            }
            self.counters.view().add_app(session.app as usize);
            r.packets_sent = u64::from(session.packets(Dir::ClientToServer));
            r.packets_received = u64::from(session.packets(Dir::ServerToClient));
            r.bytes_sent = session.bytes(Dir::ClientToServer);
            r.bytes_received = session.bytes(Dir::ServerToClient);
            r.start_ns = self.ms_to_ns(session.start_ms, now_ns);
            r.elapsed_ns = now_ns.saturating_sub(r.start_ns);
            self.push_record(r);
        }
        self.table.value_mut(slot).flags |= sf::ENDED;
    }

    /// Ends a session with `reason` and removes it.
    pub(super) fn end(&mut self, slot: u32, reason: EndReason, now_ns: u64) {
        self.end_with(slot, Some(reason), now_ns);
    }

    /// Removes a session, first recording its end unless it has ended already (`None`).
    pub(super) fn end_with(&mut self, slot: u32, reason: Option<EndReason>, now_ns: u64) {
        // A decided but unlogged reason (a closed TCP session in TIME_WAIT) is how it ended,
        // whatever removes the entry now (aging, `clear session`, a reload); only a new SYN on
        // its 5-tuple turns it into tcp-reuse (the caller passes that explicitly).
        let v = self.table.value(slot);
        let pending = if v.has(sf::DISCARD) {
            NO_END
        } else {
            v.pending_end
        };
        let reason = match (EndReason::ALL.get(pending as usize), reason) {
            (Some(&p), Some(r)) if r != EndReason::TcpReuse => Some(p),
            (_, r) => r,
        };
        if !self.table.value(slot).has(sf::ENDED) {
            self.finish(slot, reason.unwrap_or(EndReason::Unknown), now_ns);
        }
        self.wheel.cancel(slot);
        self.snis.remove(&slot);
        if let Some((key, second)) = self.table.remove_keys(slot) {
            self.keys.release(&key);
            if let Some(second) = second {
                self.keys.release(&second);
            }
        }
    }

    pub(super) fn record_of(&self, key: &FlowKey, ingress: u8, now_ns: u64) -> SessionRecord {
        SessionRecord {
            time_ns: now_ns,
            src: key.src,
            dst: key.dst,
            family: key.family,
            sport: key.sport,
            dport: key.dport,
            proto: key.proto,
            ingress,
            egress: self.egress_of(ingress),
            rule: NONE_ID,
            start_ns: now_ns,
            ..SessionRecord::default()
        }
    }

    pub(super) fn push_record(&self, r: SessionRecord) {
        if !self.records.try_push(r) {
            self.counters.view().add(WorkerBlock::RECORDS_DROPPED, 1);
        }
    }

    /// Ages out idle sessions: at most [`EXPIRE_BUDGET`] timers per call, so a mass expiry
    /// never stalls the data path. Returns how many sessions ended or left.
    pub fn expire(&mut self, now_ns: u64) -> usize {
        self.protect.tick(now_ns, &self.counters);
        // The tables' indexes grow with their sessions, a few buckets per insert; this moves a
        // bounded batch more (and gives back the spare bucket array once one reaches full size).
        self.table.maintain();
        self.frags.maintain();
        let now_ms = self.ms(now_ns);
        let (table, timeouts, expired) = (&self.table, &self.cfg.timeouts, &mut self.expired);
        self.wheel.expire(now_ns, EXPIRE_BUDGET, |slot| {
            if !table.is_live(slot) {
                return Rearm::Expired;
            }
            let s = table.value(slot);
            let due_ms = s
                .last_seen_ms
                .wrapping_add((s.timeout_ns(timeouts) / 1_000_000) as u32);
            if (now_ms.wrapping_sub(due_ms) as i32) < 0 {
                // Refreshed since it was armed (lazy aging): re-arm for the new deadline.
                let ahead_ms = due_ms.wrapping_sub(now_ms) as u64;
                return Rearm::At(now_ns + ahead_ms * 1_000_000);
            }
            if expired.len() < expired.capacity() {
                expired.push(slot);
            }
            Rearm::Expired
        });
        let n = self.expired.len();
        for k in 0..n {
            let slot = self.expired[k];
            if self.table.is_live(slot) {
                self.wheel.cancel(slot);
                self.end_with(slot, Some(EndReason::AgedOut), now_ns);
            }
        }
        self.expired.clear();
        if n > 0 {
            self.counters
                .view()
                .set(WorkerBlock::SESSIONS_ACTIVE, self.table.len() as u64);
        }
        n
    }

    /// When the next timer may fire (for a replay's virtual clock).
    pub fn next_timer(&self) -> Option<u64> {
        self.wheel.next_deadline_hint()
    }

    /// Ends every session now with `reason` (shutdown, `clear session all`).
    pub fn clear_all(&mut self, reason: EndReason, now_ns: u64) -> usize {
        let slots: Vec<u32> = self.table.live_slots().collect();
        for &slot in &slots {
            self.end_with(slot, Some(reason), now_ns);
        }
        self.counters
            .view()
            .set(WorkerBlock::SESSIONS_ACTIVE, self.table.len() as u64);
        slots.len()
    }

    /// Ends one session by id; false if it does not exist (any more).
    pub fn clear_session(&mut self, id: u64, reason: EndReason, now_ns: u64) -> bool {
        let Some(slot) = self.live_slot_of(id) else {
            return false;
        };
        self.end_with(slot, Some(reason), now_ns);
        self.counters
            .view()
            .set(WorkerBlock::SESSIONS_ACTIVE, self.table.len() as u64);
        true
    }
}
