//! The engine's settings, compiled from the config, and the ids it hands out.

use std::sync::Arc;

use crate::config::{AsymmetricPath, Config, TimeoutsNs};
use crate::policy::Policy;
use crate::protect::ProtectionConfig;
use crate::tcp::TcpConfig;

#[derive(Clone, Copy, Debug, Default)]
pub struct PortInfo {
    /// Virtual-wire peer (egress) of this port.
    pub peer: Option<u8>,
}

/// The engine's settings, compiled from the config.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub worker: u8,
    /// Sessions this worker's table holds.
    pub capacity: u32,
    pub timeouts: TimeoutsNs,
    pub tcp: TcpConfig,
    pub reject_non_syn: bool,
    pub ports: Vec<PortInfo>,
    /// The compiled security policy (swapped whole on reload).
    pub policy: Arc<Policy>,
    /// Zone id (in the policy) of each port, by port index.
    pub port_zone: Vec<u8>,
    /// Datagrams this worker's fragment table holds (`crate::frag`).
    pub fragments: u32,
    /// Zone protection (flood limits) by zone id, this worker's share.
    pub protection: ProtectionConfig,
    /// Workers that share flows by software hand-off (the NIC does not send both directions of
    /// a flow to one worker): with more than one, a packet of a flow another worker owns
    /// ([`owner_worker`]) gets [`crate::verdict::Verdict::HandOff`] in the burst's first stage, from the hash
    /// that stage computes anyway. 1: this engine takes every packet it is given.
    pub hand_off_workers: u8,
    /// Whether sessions may have a second key (their reply flow not the mirror of their
    /// first: NAT). The table's index and the IPv6 address store are then sized for two keys a
    /// session; without, a second key costs nothing.
    pub second_keys: bool,
}

impl EngineConfig {
    /// Settings for worker `worker` of `workers`, each holding an equal share of
    /// `session.max_sessions`.
    pub fn from_config(
        config: &Config,
        policy: Arc<Policy>,
        worker: u8,
        workers: usize,
    ) -> EngineConfig {
        let s = &config.session;
        let share = (s.max_sessions / workers.max(1) as u64)
            .clamp(1, crate::table::MAX_CAPACITY as u64) as u32;
        let ports = config
            .dataplane
            .ports
            .iter()
            .map(|p| PortInfo {
                peer: config
                    .vwire_peer(&p.name)
                    .and_then(|peer| config.dataplane.ports.iter().position(|q| q.name == peer))
                    .map(|i| i as u8),
            })
            .collect();
        EngineConfig {
            worker,
            capacity: share,
            timeouts: s.timeouts.to_nanos(),
            tcp: TcpConfig {
                out_of_order_limit: s.out_of_order_limit,
                asymmetric_bypass: s.asymmetric_path == AsymmetricPath::Bypass,
            },
            reject_non_syn: s.tcp_reject_non_syn,
            port_zone: config
                .dataplane
                .ports
                .iter()
                .map(|p| policy.zone_id(&p.zone).unwrap_or(u8::MAX))
                .collect(),
            protection: ProtectionConfig::from_config(config, policy.zones(), workers),
            ports,
            policy,
            fragments: crate::frag::capacity_for(share),
            hand_off_workers: 1,
            second_keys: false,
        }
    }
}

/// The worker of `workers` that owns a flow whose owner hash ([`crate::wire::flow_hash`]) is `hash`.
/// A multiply-shift of hash bits 32-55, which neither the index's home bucket (bits 0-31) nor
/// its tag (bits 56-63) uses: a worker's flows spread over its whole index and all tags.
#[inline(always)]
pub fn owner_worker(hash: u64, workers: u8) -> u8 {
    ((((hash >> 32) & 0xff_ffff) * workers as u64) >> 24) as u8
}

/// A session id: worker, 24 bits of the slot's generation, slot. Unique while a slot is reused
/// fewer than 2^23 times, and it finds its session in O(1) (`show session id`).
pub fn session_id(worker: u8, slot: u32, generation: u32) -> u64 {
    ((worker as u64) << 56) | (((generation as u64) & 0xff_ffff) << 32) | slot as u64
}

/// Splits a session id into (worker, slot, generation low bits).
pub fn split_session_id(id: u64) -> (u8, u32, u32) {
    ((id >> 56) as u8, id as u32, ((id >> 32) & 0xff_ffff) as u32)
}
