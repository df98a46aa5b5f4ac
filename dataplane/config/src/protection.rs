//! `zone_protection:` and `zones:`: PAN-OS zone protection profiles (Network > Network Profiles
//! > Zone Protection > Flood Protection) and the zones that use them.
//!
//! ```yaml
//! zone_protection:
//!   edge:                           # a profile
//!     flood:
//!       syn: { action: random-early-drop, alarm_rate: 10000, activate_rate: 10000,
//!              maximal_rate: 40000 }
//!       udp: { alarm_rate: 10000, activate_rate: 10000, maximal_rate: 40000 }
//!       icmp: { enable: false }
//! zones:
//!   untrust: { zone_protection_profile: edge }
//! ```
//!
//! Rates are new sessions per second entering the zone (PAN-OS "connections/sec"), with PAN-OS's
//! defaults and ranges (RED: alarm 0..2,000,000, activate 1..2,000,000, maximal 1..2,000,000,
//! activate at most maximal). A flood block that is written is enabled unless `enable: false`.
//! The engine's side is `synwall_engine::protect`.

use serde::{Deserialize, Serialize};

use super::error::Problems;
use super::path::KeyPath;
use super::schema::Config;
use super::validate::check_name;
use synwall_types::reasons::Flood;

/// `zone_protection.NAME`: one zone protection profile.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneProtection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub flood: FloodProtection,
}

/// `zone_protection.NAME.flood`: which floods the profile meters. Absent: not metered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloodProtection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syn: Option<FloodThresholds>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<FloodThresholds>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp: Option<FloodThresholds>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmpv6: Option<FloodThresholds>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_ip: Option<FloodThresholds>,
}

impl FloodProtection {
    /// The thresholds written for `flood`, and their YAML key.
    pub fn get(&self, flood: Flood) -> (Option<&FloodThresholds>, &'static str) {
        match flood {
            Flood::Syn => (self.syn.as_ref(), "syn"),
            Flood::Udp => (self.udp.as_ref(), "udp"),
            Flood::Icmp => (self.icmp.as_ref(), "icmp"),
            Flood::Icmpv6 => (self.icmpv6.as_ref(), "icmpv6"),
            Flood::OtherIp => (self.other_ip.as_ref(), "other_ip"),
        }
    }

    /// The thresholds in force for `flood`: written and enabled.
    pub fn enabled(&self, flood: Flood) -> Option<&FloodThresholds> {
        self.get(flood).0.filter(|t| t.enable)
    }
}

/// What a SYN flood's protection does past the activate rate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FloodAction {
    /// Drop new sessions' first packets with a probability rising from 0 at the activate rate
    /// to 1 at the maximal rate; all of them above it.
    #[default]
    RandomEarlyDrop,
    /// PAN-OS's SYN proxy. Recognised so that a PAN-OS operator gets a clear refusal: not
    /// supported yet.
    SynCookies,
}

/// One flood's settings (connections per second entering the zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FloodThresholds {
    pub enable: bool,
    pub action: FloodAction,
    /// Above it: an alarm (counted, exported), nothing dropped.
    pub alarm_rate: u32,
    /// Above it: random early drop.
    pub activate_rate: u32,
    /// Above it: every new session's first packet is dropped.
    pub maximal_rate: u32,
}

/// PAN-OS defaults (connections per second).
pub const DEFAULT_ALARM_RATE: u32 = 10_000;
pub const DEFAULT_ACTIVATE_RATE: u32 = 10_000;
pub const DEFAULT_MAXIMAL_RATE: u32 = 40_000;
/// PAN-OS's upper bound of every rate.
pub const MAX_FLOOD_RATE: u32 = 2_000_000;

impl Default for FloodThresholds {
    fn default() -> Self {
        FloodThresholds {
            enable: true,
            action: FloodAction::RandomEarlyDrop,
            alarm_rate: DEFAULT_ALARM_RATE,
            activate_rate: DEFAULT_ACTIVATE_RATE,
            maximal_rate: DEFAULT_MAXIMAL_RATE,
        }
    }
}

/// `zones.NAME`: settings of a zone (the zones themselves come from `dataplane.ports`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSettings {
    /// A profile of `zone_protection`, applied to packets entering the zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_protection_profile: Option<String>,
}

impl Config {
    /// The zone protection profile of zone `zone`, if it names one that exists.
    pub fn zone_protection_of(&self, zone: &str) -> Option<&ZoneProtection> {
        let name = self
            .zone_settings
            .get(zone)?
            .zone_protection_profile
            .as_ref()?;
        self.zone_protection.get(name)
    }

    pub(super) fn check_zone_protection(&self, problems: &mut Problems) {
        let at = KeyPath::keys("zone_protection");
        for (name, profile) in &self.zone_protection {
            let path = at.key(name);
            check_name(&path, "zone protection profile", name, problems);
            for &flood in Flood::ALL {
                if let (Some(t), key) = profile.flood.get(flood) {
                    check_thresholds(&path.key("flood").key(key), flood, t, problems);
                }
            }
        }
        let zones = self.zones();
        let at = KeyPath::keys("zones");
        for (zone, settings) in &self.zone_settings {
            let path = at.key(zone);
            if !zones.contains(&zone.as_str()) {
                problems.push(
                    path.clone(),
                    format!(
                        "unknown zone {zone:?} (zones come from dataplane.ports: {})",
                        zones.join(", ")
                    ),
                );
            }
            if let Some(profile) = &settings.zone_protection_profile {
                if !self.zone_protection.contains_key(profile) {
                    let known: Vec<&str> =
                        self.zone_protection.keys().map(String::as_str).collect();
                    problems.push(
                        path.key("zone_protection_profile"),
                        format!(
                            "unknown zone protection profile {profile:?} (zone_protection \
                             defines: {})",
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                    );
                }
            }
        }
    }
}

fn check_thresholds(at: &KeyPath, flood: Flood, t: &FloodThresholds, problems: &mut Problems) {
    if t.action == FloodAction::SynCookies {
        let message = if flood == Flood::Syn {
            "syn-cookies is not supported yet; use random-early-drop"
        } else {
            "syn-cookies applies to SYN floods only; use random-early-drop"
        };
        problems.push(at.key("action"), message);
    }
    for (key, value, min) in [
        ("alarm_rate", t.alarm_rate, 0),
        ("activate_rate", t.activate_rate, 1),
        ("maximal_rate", t.maximal_rate, 1),
    ] {
        if !(min..=MAX_FLOOD_RATE).contains(&value) {
            problems.push(
                at.key(key),
                format!("{value} connections/s is out of range {min}..{MAX_FLOOD_RATE}"),
            );
        }
    }
    if t.activate_rate > t.maximal_rate {
        problems.push(
            at.key("activate_rate"),
            format!(
                "activate_rate {} is above maximal_rate {}",
                t.activate_rate, t.maximal_rate
            ),
        );
    }
}
