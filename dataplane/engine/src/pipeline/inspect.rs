//! App-ID on the data path: the payloads of an undecided session, and the policy looked up
//! again once the application is named.

use super::*;

impl Engine {
    /// The app-ID stage: looks at a payload of an undecided session; once it names the
    /// application, a session whose policy decision waited for it is looked up again, and ends
    /// `policy-deny` with the refusing rule's action if the rules now refuse it.
    pub(super) fn identify(&mut self, slot: u32, dir: Dir, p: &Parsed, pkt: Packet<'_>) -> Verdict {
        let Packet {
            frame,
            ingress,
            now_ns,
            ..
        } = pkt;
        let payload = frame
            .get(p.payload_offset as usize..p.payload_offset as usize + p.payload_len as usize)
            .unwrap_or(&[]);
        let mut sni = [0u8; 48];
        let state = &mut self.app_states[slot as usize];
        let Some(app) = appid::inspect(
            state,
            p.key.proto,
            dir == Dir::ClientToServer,
            payload,
            &mut sni,
        ) else {
            return self.forward(ingress);
        };
        if sni[0] != 0 && self.snis.len() < self.sni_capacity {
            self.snis.insert(slot, sni);
        }
        let session = self.table.value_mut(slot);
        session.app = app;
        session.flags |= sf::APP_DECIDED;
        if !session.has(sf::APP_PENDING) {
            return self.forward(ingress);
        }
        session.flags &= !sf::APP_PENDING;
        let d = self.recheck(slot, Some(crate::app::name(app)));
        let session = self.table.value_mut(slot);
        session.rule = d.rule;
        if d.action == Action::Allow {
            return self.forward(ingress);
        }
        self.enforce(d.action, p, pkt, dir);
        let v = self.table.value_mut(slot);
        v.flags |= sf::DISCARD | sf::LOG_END;
        v.pending_end = d.action as u8;
        self.end_with(slot, Some(EndReason::PolicyDeny), now_ns);
        Verdict::Drop(DropReason::Policy)
    }
}
