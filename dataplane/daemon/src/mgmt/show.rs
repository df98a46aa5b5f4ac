//! What `show counter global`, `show zone-protection` and `show system status` answer, read
//! from the stats segment.

use serde_json::json;

use super::*;

impl Mgmt<'_> {
    pub(super) fn global_counters(&self) -> serde_json::Value {
        let r = &self.reader;
        let drops: serde_json::Map<String, serde_json::Value> = DropReason::ALL
            .iter()
            .map(|d| {
                (
                    d.label().to_string(),
                    json!(r.sum(WorkerBlock::DROPS + d.index())),
                )
            })
            .collect();
        let ends: serde_json::Map<String, serde_json::Value> = EndReason::ALL
            .iter()
            .map(|e| {
                (
                    e.label().to_string(),
                    json!(r.sum(WorkerBlock::ENDS + e.index())),
                )
            })
            .collect();
        let mut non_syn = serde_json::Map::new();
        for flags in 0..=255u8 {
            let n = r.sum(WorkerBlock::NON_SYN + flags as usize);
            if n > 0 {
                let code = flag_letters(flags);
                let key = if code.is_empty() {
                    "none".to_string()
                } else {
                    code
                };
                let prev = non_syn.get(&key).and_then(|v| v.as_u64()).unwrap_or(0);
                non_syn.insert(key, json!(prev + n));
            }
        }
        json!({
            "packets": r.sum(WorkerBlock::PACKETS),
            "sessions_created": r.sum(WorkerBlock::SESSIONS_CREATED),
            "sessions_active": r.sum(WorkerBlock::SESSIONS_ACTIVE),
            "session_capacity": self.session_capacity,
            "drops": drops,
            "session_end": ends,
            "tcp_non_syn_drop": non_syn,
            "tcp_broken_handshakes": r.sum(WorkerBlock::BROKEN_HANDSHAKES),
            "tcp_out_of_order": r.sum(WorkerBlock::OUT_OF_ORDER),
            "handoff_sent": r.sum(WorkerBlock::HANDOFF_SENT),
            "handoff_received": r.sum(WorkerBlock::HANDOFF_RECEIVED),
            "log_records_written": r.records_written(),
            "log_records_dropped": r.sum(WorkerBlock::RECORDS_DROPPED) + r.records_write_dropped(),
            "zone_protection": zone_protection_counters(&summaries(r)),
        })
    }

    /// `show zone-protection [zone Z]`: each zone's profile, and per flood its configured rates
    /// (all workers) and live counters. PAN-OS: `show zone-protection zone Z`.
    pub(super) fn zone_protection(&self, only: Option<&str>) -> serde_json::Value {
        let live = summaries(&self.reader);
        let zones: Vec<serde_json::Value> = self
            .running
            .zones()
            .into_iter()
            .filter(|z| only.is_none() || only == Some(*z))
            .map(|zone| {
                let profile_name = self
                    .running
                    .zone_settings
                    .get(zone)
                    .and_then(|s| s.zone_protection_profile.clone());
                let profile = self.running.zone_protection_of(zone);
                let floods: Vec<serde_json::Value> = Flood::ALL
                    .iter()
                    .filter_map(|&flood| {
                        let configured = profile.and_then(|p| p.flood.get(flood).0);
                        let counted = live.iter().find(|m| m.zone == zone && m.flood == flood);
                        if configured.is_none() && counted.is_none() {
                            return None;
                        }
                        let mut v = json!({ "flood": flood.label() });
                        if let Some(t) = configured {
                            v["enable"] = json!(t.enable);
                            v["action"] = json!(t.action);
                            v["alarm_rate"] = json!(t.alarm_rate);
                            v["activate_rate"] = json!(t.activate_rate);
                            v["maximal_rate"] = json!(t.maximal_rate);
                        }
                        if let Some(m) = counted {
                            v["counters"] = flood_counters(m);
                        }
                        Some(v)
                    })
                    .collect();
                json!({ "zone": zone, "zone_protection_profile": profile_name, "floods": floods })
            })
            .collect();
        json!(zones)
    }

    pub(super) fn system_status(&self) -> serde_json::Value {
        let r = &self.reader;
        let port_list: Vec<_> = self
            .ports
            .iter()
            .zip(self.dpdk_ports)
            .enumerate()
            .map(|(i, (v, p))| {
                let link = p.link();
                let nic = p.stats();
                json!({
                    "name": v.name, "device": v.device, "zone": v.zone, "driver": v.driver,
                    "rss": v.rss, "link_up": link.up, "speed_mbps": link.speed_mbps,
                    "rx_packets": r.sum(WorkerBlock::PORT_RX + i),
                    "rx_bytes": nic.rx_bytes,
                    "tx_packets": r.sum(WorkerBlock::PORT_TX + i),
                    "tx_bytes": nic.tx_bytes,
                    "tx_drops": r.sum(WorkerBlock::PORT_TX_DROPS + i),
                    "nic_rx_missed": nic.rx_missed, "nic_rx_nombuf": nic.rx_nombuf,
                    "nic_rx_errors": nic.rx_errors, "nic_tx_errors": nic.tx_errors,
                })
            })
            .collect();
        let now = unix_ns();
        let workers: Vec<_> = self
            .worker_lcores
            .iter()
            .enumerate()
            .map(|(i, lcore)| {
                json!({
                    "worker": i, "lcore": lcore,
                    "packets": r.worker(i, WorkerBlock::PACKETS),
                    "sessions_active": r.worker(i, WorkerBlock::SESSIONS_ACTIVE),
                    "longest_loop_ns": r.worker(i, WorkerBlock::LONGEST_LOOP_NS),
                    "heartbeat_age_ms": now.saturating_sub(r.worker(i, WorkerBlock::HEARTBEAT)) / 1_000_000,
                })
            })
            .collect();
        json!({
            "state": "running",
            "version": env!("CARGO_PKG_VERSION"),
            "dpdk": self.dpdk_version,
            "pid": std::process::id(),
            "uptime_seconds": self.started.elapsed().as_secs(),
            "config": self.config_path,
            "sessions": {
                "active": r.sum(WorkerBlock::SESSIONS_ACTIVE),
                "created": r.sum(WorkerBlock::SESSIONS_CREATED),
                "capacity": self.session_capacity,
            },
            "workers": workers,
            "ports": port_list,
        })
    }
}

/// `zone -> flood -> counters`, for `show counter global`.
fn zone_protection_counters(live: &[FloodSummary]) -> serde_json::Value {
    let mut zones = serde_json::Map::new();
    for m in live {
        let zone = zones
            .entry(m.zone.clone())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("an object");
        zone.insert(m.flood.label().to_string(), flood_counters(m));
    }
    serde_json::Value::Object(zones)
}

/// One meter's counters and state (0/1 flags, so that tables print them as counters).
fn flood_counters(m: &FloodSummary) -> serde_json::Value {
    let bit = |b: u64| u64::from(m.state & b != 0);
    json!({
        "allowed": m.allowed,
        "red-drop": m.red_drops,
        "maximal-drop": m.maximal_drops,
        "alarms": m.alarms,
        "activations": m.activations,
        "rate": m.rate,
        "alarm": bit(FloodWord::STATE_ALARM),
        "active": bit(FloodWord::STATE_ACTIVE),
        "above-maximal": bit(FloodWord::STATE_MAXIMAL),
    })
}
