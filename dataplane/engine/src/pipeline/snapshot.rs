//! A whole session out of one engine and into another.
//!
//! A session lives in several places of an engine: its table entry (key and `Session`), the
//! IPv6 address store, its app-ID progress, its TLS server name and its timer. A
//! [`SessionSnapshot`] gathers all of them into one serializable record, with times made
//! relative (idle and age in ms), so that another engine, with another clock epoch, can
//! [`Engine::install`] it and carry the session on: the TCP tracker's windows and state, the
//! counters, the rule and the application come along. This is what HA session sync sends
//! and what a bulk sync's cursor walk produces.

use serde::{Deserialize, Serialize};

use super::*;

/// Everything of one session, as another engine needs it to carry the session on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionSnapshot {
    /// The session's id where it was taken (informative: an installed session gets an id of
    /// its new slot).
    pub id: u64,
    /// The flow key in the table's (canonical) orientation; `session.flags` says which end is
    /// the client.
    pub key: FlowKey,
    /// The session's second key (canonical), when its reply flow does not mirror its first
    /// (NAT); `None` for a plain session.
    pub second_key: Option<FlowKey>,
    pub session: Session,
    /// Milliseconds since its last packet, and since its start, when it was taken.
    pub idle_ms: u32,
    pub age_ms: u32,
    /// App-ID's progress while undecided (`AppState`'s packed bits).
    pub app_state: u32,
    /// The TLS server name seen, if any (NUL-padded).
    pub sni: Option<[[u8; 16]; 3]>,
}

/// Why a snapshot was not installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstallError {
    /// The table is full (`resources-unavailable` for a packet).
    TableFull,
    /// The session has a second key and this engine's table keeps none (no NAT here).
    NoSecondKeys,
}

impl Engine {
    /// The whole of the live session in `slot` (`None` if the slot holds none).
    pub fn snapshot(&self, slot: u32, now_ns: u64) -> Option<SessionSnapshot> {
        let handle = self.table.handle(slot)?;
        let s = *self.table.value(slot);
        let now_ms = self.ms(now_ns);
        let sni = self.snis.get(&slot).map(|b| {
            let mut parts = [[0u8; 16]; 3];
            for (part, chunk) in parts.iter_mut().zip(b.chunks(16)) {
                part.copy_from_slice(chunk);
            }
            parts
        });
        Some(SessionSnapshot {
            id: session_id(self.cfg.worker, slot, handle.generation),
            key: self.flow_key(slot),
            second_key: self.table.second_key(slot).map(|k| self.keys.flow_key(k)),
            session: s,
            idle_ms: now_ms.wrapping_sub(s.last_seen_ms),
            age_ms: now_ms.wrapping_sub(s.start_ms),
            app_state: self.app_states[slot as usize].bits(),
            sni,
        })
    }

    /// Installs `snap` as a live session of this engine at `now_ns`, or refreshes the session
    /// of its flow if one is here already. Returns its slot. Between bursts.
    pub fn install(&mut self, snap: &SessionSnapshot, now_ns: u64) -> Result<u32, InstallError> {
        let key = snap.key;
        let hashed = key.hashed();
        // The key is stored canonical: a lookup from that orientation.
        let probe = StoredKey::probe(&key, false, hashed.hash);
        let now_ms = self.ms(now_ns);
        let mut session = snap.session;
        session.last_seen_ms = now_ms.wrapping_sub(snap.idle_ms);
        session.start_ms = now_ms.wrapping_sub(snap.age_ms);
        if snap.second_key.is_some() && !self.table.has_second_keys() {
            return Err(InstallError::NoSecondKeys);
        }
        let slot = match self.find(None, hashed.hash, &probe, &key, false) {
            Some(slot) => {
                *self.table.value_mut(slot) = session;
                slot
            }
            None => {
                if self.table.is_full() {
                    return Err(InstallError::TableFull);
                }
                let stored = self
                    .keys
                    .store(&key, hashed.hash)
                    .expect("the store has the table's room");
                let handle = self
                    .table
                    .insert(hashed.hash, stored, session)
                    .map_err(|_| InstallError::TableFull)?;
                self.counters.view().add(WorkerBlock::SESSIONS_CREATED, 1);
                handle.index
            }
        };
        if let Some(second) = snap
            .second_key
            .filter(|_| self.table.second_key(slot).is_none())
        {
            // (A table made for second keys has address room for them: `keys` is sized with it.)
            let hash = second.hashed().hash;
            match self.keys.store(&second, hash) {
                Some(stored) if self.table.set_second(slot, hash, stored) => {}
                Some(stored) => self.keys.release(&stored),
                None => {
                    self.end_with(slot, Some(EndReason::ResourcesUnavailable), now_ns);
                    return Err(InstallError::TableFull);
                }
            }
        }
        self.app_states[slot as usize] = AppState::from_bits(snap.app_state);
        self.snis.remove(&slot);
        if let Some(parts) = snap.sni {
            if self.snis.len() < self.sni_capacity {
                let mut sni = [0u8; 48];
                for (chunk, part) in sni.chunks_mut(16).zip(parts.iter()) {
                    chunk.copy_from_slice(part);
                }
                self.snis.insert(slot, sni);
            }
        }
        self.arm(slot, now_ns);
        self.counters
            .view()
            .set(WorkerBlock::SESSIONS_ACTIVE, self.table.len() as u64);
        Ok(slot)
    }
}
