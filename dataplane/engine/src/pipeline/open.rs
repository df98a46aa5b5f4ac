//! A packet with no session: refuse it, or open one (the TCP opening rules, zone protection,
//! the policy decision, the insert).

use super::*;

impl Engine {
    /// A packet with no session: refuse it, or open one. `key` is its flow key in the table's
    /// (canonical) orientation, `reversed` whether the packet runs against it, `hash` its hash.
    pub(super) fn open(
        &mut self,
        key: FlowKey,
        reversed: bool,
        hash: u64,
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
        // A stateless rule (`connection_tracking: false`) decides packet by packet, before any
        // TCP state check, and opens nothing. Without such rules the policy is looked up only
        // for packets that may open a session: a flood of non-SYN segments costs no lookups.
        let early = self
            .cfg
            .policy
            .has_stateless_rules()
            .then(|| self.decide(p, ingress));
        if let Some(d) = early.filter(|d| !d.connection_tracking) {
            if d.action == Action::Allow {
                self.counters
                    .view()
                    .add(WorkerBlock::STATELESS_FORWARDED, 1);
                return self.forward(ingress);
            }
            self.enforce(d.action, p, pkt, Dir::ClientToServer);
            return Verdict::Drop(DropReason::Policy);
        }
        let mut flags = 0;
        let mut app = crate::app::INCOMPLETE;
        // The first packet's direction in its session: client to server, but for a lone
        // SYN-ACK tracked under `asymmetric_path: bypass`, whose receiver is the client.
        let mut first = Dir::ClientToServer;
        let (kind, tcp) = match p.key.proto {
            PROTO_TCP => {
                let seg = p.segment();
                let class = tcp::segment_class(p.tcp.flags);
                if class == tcp::SegClass::Syn {
                    (SessionKind::Tcp, TcpTracker::new_from_syn(&seg))
                } else if tcp::is_asymmetric(p.tcp.flags) {
                    // A SYN-ACK for a SYN never seen: only one direction of the handshake
                    // crosses this firewall. Counted with the non-SYN flag codes ("SA").
                    self.counters.view().add_non_syn(p.tcp.flags);
                    if !self.cfg.tcp.asymmetric_bypass {
                        return Verdict::Drop(DropReason::Asymmetric);
                    }
                    // Bypass: track it from the server's SYN-ACK; the client is its receiver.
                    first = Dir::ServerToClient;
                    (
                        SessionKind::Tcp,
                        TcpTracker::new_midstream(Dir::ServerToClient, &seg),
                    )
                } else if !self.cfg.reject_non_syn && tcp::can_open_midstream(p.tcp.flags) {
                    flags |= sf::MIDSTREAM;
                    app = crate::app::NON_SYN_TCP;
                    (
                        SessionKind::Tcp,
                        TcpTracker::new_midstream(Dir::ClientToServer, &seg),
                    )
                } else {
                    return self.non_syn(p, pkt);
                }
            }
            PROTO_UDP => (SessionKind::Udp, crate::session::untracked()),
            PROTO_ICMP | PROTO_ICMPV6 => {
                if p.icmp.kind != IcmpKind::EchoRequest && p.icmp.kind != IcmpKind::EchoReply {
                    // Informational ICMP other than echo: let it pass without a session.
                    return self.forward(ingress);
                }
                (SessionKind::Icmp, crate::session::untracked())
            }
            _ => (SessionKind::Other, crate::session::untracked()),
        };
        // Zone protection meters what opens sessions from the ingress zone: not a lone SYN-ACK
        // (asymmetric bypass) nor a mid-stream pickup, which open no new connection.
        if first == Dir::ClientToServer && flags & sf::MIDSTREAM == 0 {
            let zone = self.zone_of(ingress);
            let flood = Flood::of_proto(p.key.proto);
            if let Err(reason) = self.protect.admit(zone, flood, now_ns, &self.counters) {
                return Verdict::Drop(reason);
            }
        }
        if reversed != (first == Dir::ServerToClient) {
            // The client is the canonical key's destination.
            flags |= sf::CLIENT_IS_DST;
        }
        let decision = match early {
            Some(d) => d,
            // A tracked lone SYN-ACK: its receiver is the client, on the other side of the wire.
            None if first == Dir::ServerToClient => {
                self.policy_for(&p.key.reversed(), self.egress_of(ingress), None)
            }
            None => self.decide(p, ingress),
        };
        if decision.log_end {
            flags |= sf::LOG_END;
        }
        let refused = decision.action != Action::Allow;
        if refused {
            // A short discard entry: its retransmissions are dropped fast and logged once. Refused
            // before identification: the application is `not-applicable`.
            flags |= sf::DISCARD | sf::LOG_END | sf::APP_DECIDED;
            app = crate::app::NOT_APPLICABLE;
            self.enforce(decision.action, p, pkt, Dir::ClientToServer);
        }
        if decision.app_pending {
            flags |= sf::APP_PENDING;
        }
        if flags & sf::MIDSTREAM != 0 {
            // Picked up mid-stream: `non-syn-tcp`, nothing to identify. (ICMP and other
            // protocols are named by `final_reason` when they end.)
            flags |= sf::APP_DECIDED;
        }
        let mut session = Session {
            tcp,
            start_ms: now_ms,
            ingress,
            kind,
            flags,
            app,
            rule: decision.rule,
            // A discard entry keeps its action here (it never has an end reason pending).
            pending_end: if refused {
                decision.action as u8
            } else {
                NO_END
            },
            ..Session::default()
        };
        session.count(first, len, now_ms);
        let inserted = if self.table.is_full() {
            Err(TableFull)
        } else {
            let stored = self
                .keys
                .store(&key, hash)
                .expect("the store has the table's room");
            self.table.insert(hash, stored, session)
        };
        match inserted {
            Ok(handle) => {
                let c = self.counters.view();
                c.add(WorkerBlock::SESSIONS_CREATED, 1);
                self.arm(handle.index, now_ns);
                let (client_port, server_port) = if first == Dir::ServerToClient {
                    (p.key.dport, p.key.sport)
                } else {
                    (p.key.sport, p.key.dport)
                };
                self.app_states[handle.index as usize] =
                    AppState::for_ports(client_port, server_port);
                self.snis.remove(&handle.index);
                if refused {
                    self.finish(handle.index, EndReason::PolicyDeny, now_ns);
                    return Verdict::Drop(DropReason::Policy);
                }
                if decision.log_start {
                    let mut r = self.record_of(&p.key, ingress, now_ns);
                    if first == Dir::ServerToClient {
                        let k = p.key.reversed();
                        (r.src, r.dst, r.sport, r.dport) = (k.src, k.dst, k.sport, k.dport);
                    }
                    r.subtype = Subtype::Start;
                    r.session_id = session_id(self.cfg.worker, handle.index, handle.generation);
                    r.rule = decision.rule;
                    r.end_reason = EndReason::NotApplicable;
                    self.push_record(r);
                }
                if p.payload_len > 0 && flags & sf::APP_DECIDED == 0 {
                    // The first packet's payload (a UDP query, data on a mid-stream pickup).
                    return self.identify(handle.index, first, p, pkt);
                }
                self.forward(ingress)
            }
            Err(_) if refused => Verdict::Drop(DropReason::Policy),
            Err(_) => Verdict::Drop(DropReason::TableFull),
        }
    }
}
