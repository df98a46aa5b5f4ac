//! The security policy's decision for a flow, and what a refusing action sends.

use super::*;

impl Engine {
    /// The policy's decision for a flow's first packet (app not identified yet).
    #[inline]
    pub(super) fn decide(&self, p: &Parsed, ingress: u8) -> Decision {
        self.policy_for(&p.key, ingress, None)
    }

    /// The policy's decision for a flow seen from its client: `key` client to server, entering
    /// on `ingress`.
    pub(super) fn policy_for(&self, key: &FlowKey, ingress: u8, app: Option<&str>) -> Decision {
        let zone = |port: u8| {
            self.cfg
                .port_zone
                .get(port as usize)
                .copied()
                .unwrap_or(u8::MAX)
        };
        self.cfg.policy.lookup(&Query {
            from_zone: zone(ingress),
            to_zone: zone(self.egress_of(ingress)),
            src: key.src,
            dst: key.dst,
            family: key.family,
            proto: key.proto,
            dport: key.dport,
            app,
        })
    }

    /// The zone id of a port (`u8::MAX` if none).
    #[inline(always)]
    pub(super) fn zone_of(&self, port: u8) -> u8 {
        self.cfg
            .port_zone
            .get(port as usize)
            .copied()
            .unwrap_or(u8::MAX)
    }

    /// Sends what a refusing action sends: TCP resets (RFC 793 numbers, so stacks accept them)
    /// or ICMP unreachables (rate-limited), for the packet `p` going `dir` in its session (the
    /// first packet goes client to server; an app-ID decision may come on a server packet, and
    /// then "client" is its receiver).
    pub(super) fn enforce(&mut self, action: Action, p: &Parsed, pkt: Packet<'_>, dir: Dir) {
        let Packet {
            frame,
            ingress,
            now_ns,
            ..
        } = pkt;
        let tcp = p.key.proto == PROTO_TCP;
        let (to_client, to_server, icmp) = match (action, tcp) {
            (Action::Deny | Action::ResetBoth, true) => (true, true, None),
            (Action::ResetClient, true) => (true, false, None),
            (Action::ResetServer, true) => (false, true, None),
            (Action::DropIcmp, _) => (false, false, Some(Unreachable::AdminProhibited)),
            (Action::ResetClient | Action::ResetBoth | Action::ResetServer, false) => {
                (false, false, Some(Unreachable::PortUnreachable))
            }
            _ => (false, false, None),
        };
        let (to_client, to_server) = if dir == Dir::ClientToServer {
            (to_client, to_server)
        } else {
            (to_server, to_client)
        };
        let back = ingress;
        let onward = self.egress_of(ingress);
        let mut sent = 0;
        if to_client
            && self
                .emits
                .push(back, |out| forge::tcp_reset_to_sender(frame, p, out))
        {
            sent += 1;
        }
        if to_server
            && self
                .emits
                .push(onward, |out| forge::tcp_reset_to_receiver(frame, p, out))
        {
            sent += 1;
        }
        if let Some(kind) = icmp {
            if self.icmp_errors.allow(now_ns)
                && self
                    .emits
                    .push(back, |out| forge::icmp_unreachable(frame, p, kind, out))
            {
                sent += 1;
            }
        }
        if sent > 0 {
            self.counters.view().add(WorkerBlock::EMITTED, sent);
        }
    }

    /// The policy's decision for a live session, from its client's view (reload, app-ID).
    pub(super) fn recheck(&self, slot: u32, app: Option<&str>) -> Decision {
        self.policy_for(&self.client_key(slot), self.table.value(slot).ingress, app)
    }
}
