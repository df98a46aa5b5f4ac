//! The engine's management side: session views and clears for the CLI, and reload. These run
//! between bursts, on operator request; they may allocate.

use std::sync::Arc;

use super::*;

impl Engine {
    /// A live session as the CLI shows it; names resolved through `names`. Management path.
    pub fn view(
        &self,
        slot: u32,
        now_ns: u64,
        names: &crate::records::NameTable,
    ) -> crate::api::SessionView {
        use crate::api::{SessionView, TcpSideView};
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

    /// Every live session matching `filter` (management path: allocates).
    pub fn list(
        &self,
        filter: &crate::api::SessionFilter,
        now_ns: u64,
        names: &crate::records::NameTable,
        limit: usize,
    ) -> Vec<crate::api::SessionView> {
        self.table
            .live_slots()
            .filter(|&slot| !self.table.value(slot).has(sf::ENDED))
            .map(|slot| self.view(slot, now_ns, names))
            .filter(|v| filter.matches(v))
            .take(limit)
            .collect()
    }

    /// Ends every live session matching `filter` with `reason`; returns how many.
    pub fn clear_matching(
        &mut self,
        filter: &crate::api::SessionFilter,
        reason: EndReason,
        now_ns: u64,
        names: &crate::records::NameTable,
    ) -> usize {
        let ids: Vec<u64> = self
            .list(filter, now_ns, names, usize::MAX)
            .iter()
            .map(|v| v.id)
            .collect();
        for &id in &ids {
            self.clear_session(id, reason, now_ns);
        }
        ids.len()
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

    /// Takes a new policy (a reload) and re-checks every live session against it: sessions it
    /// now refuses end `policy-deny` (logged with the refusing rule's action), the others go on
    /// untouched with their rule updated. Runs between bursts. Returns how many ended.
    pub fn reload(&mut self, policy: Arc<Policy>, port_zone: Vec<u8>, now_ns: u64) -> usize {
        self.cfg.policy = policy;
        self.cfg.port_zone = port_zone;
        let slots: Vec<u32> = self.table.live_slots().collect();
        let mut ended = 0;
        for slot in slots {
            let s = *self.table.value(slot);
            if s.has(sf::ENDED) || s.has(sf::DISCARD) {
                continue;
            }
            let identified = s.app > crate::app::NON_SYN_TCP;
            let d = self.recheck(slot, identified.then(|| crate::app::name(s.app)));
            if d.action == Action::Allow {
                self.table.value_mut(slot).rule = d.rule;
                continue;
            }
            let v = self.table.value_mut(slot);
            v.flags |= sf::DISCARD | sf::LOG_END;
            v.pending_end = d.action as u8;
            v.rule = d.rule;
            self.end_with(slot, Some(EndReason::PolicyDeny), now_ns);
            ended += 1;
        }
        self.counters
            .view()
            .set(WorkerBlock::SESSIONS_ACTIVE, self.table.len() as u64);
        ended
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
