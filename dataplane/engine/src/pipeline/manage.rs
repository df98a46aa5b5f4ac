//! The engine's management side: session views and clears for the CLI, and reload. These run
//! between bursts, on operator request; they may allocate. Work over the whole table goes
//! through a [`Walk`] (`walk.rs`), a bounded slice at a time.

use std::sync::Arc;

use super::walk::{Task, Walk};
use super::*;
use crate::api::{SessionFilter, SessionView};
use crate::records::NameTable;

impl Engine {
    /// A live session as the CLI shows it; names resolved through `names`. Management path.
    pub fn view(&self, slot: u32, now_ns: u64, names: &NameTable) -> SessionView {
        use crate::api::TcpSideView;
        let s = self.table.value(slot);
        let key = self.client_key(slot);
        let port = |p: u8| names.ports.get(p as usize).cloned().unwrap_or_default();
        let zone = |p: u8| names.zones.get(p as usize).cloned().unwrap_or_default();
        let tcp_sides = if s.kind == SessionKind::Tcp {
            Dir::ALL
                .iter()
                .map(|&d| {
                    let peer = s.tcp.peer(d);
                    TcpSideView {
                        side: if d == Dir::ClientToServer {
                            "client"
                        } else {
                            "server"
                        }
                        .into(),
                        flags_seen: wire::flag_code(peer.flags_sent()).to_string(),
                        window_scale: peer.scale,
                        max_window: peer.maxwin,
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let app = names
            .apps
            .get(s.app as usize)
            .cloned()
            .unwrap_or_else(|| crate::app::name(s.app).to_string());
        SessionView {
            id: self.id_of(slot).unwrap_or(0),
            worker: self.cfg.worker,
            src: key.src_ip().to_string(),
            dst: key.dst_ip().to_string(),
            sport: key.sport,
            dport: key.dport,
            proto: key.proto_name().to_string(),
            reverse_key: key.reversed().to_string(),
            state: s.state_label().to_string(),
            tcp_sides,
            ingress: port(s.ingress),
            egress: port(self.egress_of(s.ingress)),
            from_zone: zone(s.ingress),
            to_zone: zone(self.egress_of(s.ingress)),
            rule: if s.rule == NONE_ID {
                String::new()
            } else {
                names
                    .rules
                    .get(s.rule as usize)
                    .cloned()
                    .unwrap_or_default()
            },
            app,
            packets_c2s: u64::from(s.packets(Dir::ClientToServer)),
            packets_s2c: u64::from(s.packets(Dir::ServerToClient)),
            bytes_c2s: s.bytes(Dir::ClientToServer),
            bytes_s2c: s.bytes(Dir::ServerToClient),
            start: crate::records::rfc3339(self.start_ns(slot, now_ns)),
            timeout_seconds: s.timeout_ns(&self.cfg.timeouts) / 1_000_000_000,
            remaining_seconds: self.remaining_ns(slot, now_ns) / 1_000_000_000,
        }
    }

    /// The live session `id` names, as the CLI shows it; `None` if it is not this worker's or
    /// has ended. O(1): the id holds the slot (`show session id` asks only the owning worker).
    pub fn view_id(&self, id: u64, now_ns: u64, names: &NameTable) -> Option<SessionView> {
        let slot = self.live_slot_of(id)?;
        (!self.table.value(slot).has(sf::ENDED)).then(|| self.view(slot, now_ns, names))
    }

    /// The slot of the live session `id` names on this worker.
    pub(super) fn live_slot_of(&self, id: u64) -> Option<u32> {
        let (worker, slot, generation) = split_session_id(id);
        let h = self.table.handle(slot)?;
        (worker == self.cfg.worker && h.generation & 0xff_ffff == generation).then_some(slot)
    }

    /// Every live session matching `filter`, at most `limit`, in one call (a [`Walk`] run to
    /// its end: tests and tools; a worker steps the walk between bursts instead).
    pub fn list(
        &mut self,
        filter: &SessionFilter,
        now_ns: u64,
        names: &NameTable,
        limit: usize,
    ) -> Vec<SessionView> {
        let mut walk = Walk::new(Task::List {
            filter: filter.clone(),
            limit,
            found: Vec::new(),
        });
        self.finish_walk(&mut walk, now_ns, names);
        match walk.task {
            Task::List { found, .. } => found,
            _ => unreachable!("a listing walk"),
        }
    }

    /// Ends every live session matching `filter` with `reason`, in one call; returns how many.
    pub fn clear_matching(
        &mut self,
        filter: &SessionFilter,
        reason: EndReason,
        now_ns: u64,
        names: &NameTable,
    ) -> usize {
        let mut walk = Walk::new(Task::Clear {
            filter: filter.clone(),
            reason,
            cleared: 0,
        });
        self.finish_walk(&mut walk, now_ns, names);
        match walk.task {
            Task::Clear { cleared, .. } => cleared,
            _ => unreachable!("a clearing walk"),
        }
    }
}

impl Engine {
    /// Takes new zone protection limits (a reload): protected (zone, flood) pairs keep their
    /// rate windows. Between bursts.
    pub fn set_protection(&mut self, protection: crate::protect::ProtectionConfig) {
        self.protect.configure(&protection);
        self.protect
            .publish(&self.counters, self.cfg.policy.zones().len());
        self.cfg.protection = protection;
    }

    /// Puts a new policy in force (a reload) for every session opened from now on; the live
    /// ones are re-checked by a [`Task::Recheck`] walk. Between bursts.
    pub fn swap_policy(&mut self, policy: Arc<Policy>, port_zone: Vec<u8>) {
        self.cfg.policy = policy;
        self.cfg.port_zone = port_zone;
    }

    /// Takes a new policy and re-checks every live session against it in one call (tests,
    /// replay, fuzzing; a worker steps the walk between bursts). Returns how many ended.
    pub fn reload(&mut self, policy: Arc<Policy>, port_zone: Vec<u8>, now_ns: u64) -> usize {
        self.swap_policy(policy, port_zone);
        let mut walk = Walk::new(Task::Recheck { ended: 0 });
        self.finish_walk(&mut walk, now_ns, &NameTable::default());
        match walk.task {
            Task::Recheck { ended } => ended,
            _ => unreachable!("a re-checking walk"),
        }
    }

    /// Re-checks one live session against the policy in force: one it now refuses ends
    /// `policy-deny` (logged with the refusing rule's action), another goes on with its rule
    /// updated. Returns whether it ended.
    pub(super) fn recheck_session(&mut self, slot: u32, now_ns: u64) -> bool {
        let s = *self.table.value(slot);
        if s.has(sf::ENDED) || s.has(sf::DISCARD) {
            return false;
        }
        let identified = s.app > crate::app::NON_SYN_TCP;
        let d = self.recheck(slot, identified.then(|| crate::app::name(s.app)));
        if d.action == Action::Allow {
            self.table.value_mut(slot).rule = d.rule;
            return false;
        }
        let v = self.table.value_mut(slot);
        v.flags |= sf::DISCARD | sf::LOG_END;
        v.pending_end = d.action as u8;
        v.rule = d.rule;
        self.end_with(slot, Some(EndReason::PolicyDeny), now_ns);
        true
    }
}

impl Engine {
    /// The (canonical) flow key of a live slot.
    pub fn flow_key(&self, slot: u32) -> FlowKey {
        self.keys.flow_key(self.table.key(slot))
    }

    /// The session id of a live slot.
    pub fn id_of(&self, slot: u32) -> Option<u64> {
        self.table
            .handle(slot)
            .map(|h| session_id(self.cfg.worker, slot, h.generation))
    }

    /// Seconds until a session times out.
    pub fn remaining_ns(&self, slot: u32, now_ns: u64) -> u64 {
        let s = self.table.value(slot);
        let idle = (self.ms(now_ns).wrapping_sub(s.last_seen_ms) as u64) * 1_000_000;
        s.timeout_ns(&self.cfg.timeouts).saturating_sub(idle)
    }

    /// Start of a session (unix ns).
    pub fn start_ns(&self, slot: u32, now_ns: u64) -> u64 {
        self.ms_to_ns(self.table.value(slot).start_ms, now_ns)
    }

    /// The client-to-server key of a live slot.
    pub fn client_key(&self, slot: u32) -> FlowKey {
        let key = self.flow_key(slot);
        if self.table.value(slot).has(sf::CLIENT_IS_DST) {
            key.reversed()
        } else {
            key
        }
    }
}
