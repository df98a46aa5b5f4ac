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
//! The engine's side is `synwall_engine::protect`; the checks are in `validate/protection.rs`.

use serde::{Deserialize, Serialize};

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
